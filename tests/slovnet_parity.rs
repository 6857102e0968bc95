//! The native slovnet models against the Python reference (slovnet 0.6 + navec, numpy) on a
//! chat corpus written for this project (`eval/slovnet-corpus.txt`: one sentence per line,
//! tokens split by spaces, tokenised once with razdel). Needs the natasha tars from
//! `models/fetch-natasha` and the Python packages of `tests/python/requirements.txt`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use sufler::text::slovnet::{Analysis, Slovnet, MAX_WORDS};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The model directory; `None` (the test is skipped) only outside CI when it is missing.
fn models() -> Option<PathBuf> {
    let dir = Slovnet::find();
    if dir.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI is set but the natasha models are missing: run ./setup");
        eprintln!("SKIPPED: models/cache/natasha is missing (run models/fetch-natasha)");
    }
    dir
}

fn load(dir: &Path) -> Slovnet {
    let start = Instant::now();
    let slovnet = Slovnet::load(dir).expect("the natasha models load");
    eprintln!("loaded in {:.1} ms", start.elapsed().as_secs_f64() * 1e3);
    slovnet
}

struct Rate {
    name: &'static str,
    same: usize,
    total: usize,
}

impl Rate {
    fn add(&mut self, same: bool) {
        self.same += usize::from(same);
        self.total += 1;
    }

    fn value(&self) -> f64 {
        self.same as f64 / self.total.max(1) as f64
    }
}

#[test]
fn matches_the_python_reference_on_the_chat_corpus() {
    let Some(dir) = models() else { return };
    let corpus_path = root().join("eval/slovnet-corpus.txt");
    let corpus = std::fs::read_to_string(&corpus_path).expect("corpus readable");
    let sentences: Vec<Vec<&str>> = corpus.lines().map(|l| l.split_whitespace().collect()).collect();
    let tokens: usize = sentences.iter().map(Vec::len).sum();
    assert!(sentences.len() >= 300 && tokens >= 3000, "corpus: {} sentences, {tokens} tokens", sentences.len());

    let output = Command::new("python3")
        .arg(root().join("tests/python/slovnet_reference.py"))
        .arg(&dir)
        .arg(&corpus_path)
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "the reference failed (pip install -r tests/python/requirements.txt): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let reference: Vec<Value> =
        String::from_utf8(output.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(reference.len(), sentences.len());

    let slovnet = load(&dir);
    let mut rates = [
        Rate { name: "POS+feats", same: 0, total: 0 },
        Rate { name: "head", same: 0, total: 0 },
        Rate { name: "rel", same: 0, total: 0 },
        Rate { name: "NER", same: 0, total: 0 },
    ];
    let mut diffs = Vec::new();
    for (words, theirs) in sentences.iter().zip(&reference) {
        let ours = slovnet.analyse(words);
        assert_eq!(ours.tokens.len(), words.len());
        for (i, (tag, word)) in ours.tokens.iter().zip(words).enumerate() {
            let field = |name: &str| theirs[name][i].clone();
            let checks = [
                (tag.morph.to_string(), field("morph").as_str().unwrap_or_default().to_string()),
                (tag.head.to_string(), field("head").to_string()),
                (tag.rel.to_string(), field("rel").as_str().unwrap_or_default().to_string()),
                (tag.ner.to_string(), field("ner").as_str().unwrap_or_default().to_string()),
            ];
            for (rate, (a, b)) in rates.iter_mut().zip(checks) {
                rate.add(a == b);
                if a != b {
                    diffs.push(format!("{} {word:?} in {:?}: ours {a}, reference {b}", rate.name, words.join(" ")));
                }
            }
        }
    }
    eprintln!("{} sentences, {tokens} tokens", sentences.len());
    for rate in &rates {
        eprintln!("{:>10}: {}/{} identical ({:.2}%)", rate.name, rate.same, rate.total, rate.value() * 100.0);
    }
    for diff in &diffs {
        eprintln!("  {diff}");
    }
    for rate in &rates {
        assert!(rate.value() >= 0.995, "{} identical on only {:.2}% of tokens", rate.name, rate.value() * 100.0);
    }
}

#[test]
fn any_input_is_analysed_without_panicking() {
    let Some(dir) = models() else { return };
    let slovnet = load(&dir);
    assert_eq!(slovnet.analyse(&[]), Analysis::default());
    let long_word = "ы".repeat(10_000);
    let odd: [&str; 8] = ["🙂", &long_word, "\u{0}\u{7}\t", "", " ", "\u{202e}abc", "ǅ", "İstanbul"];
    let analysis = slovnet.analyse(&odd);
    assert_eq!(analysis.tokens.len(), odd.len());
    for tag in &analysis.tokens {
        assert!(tag.head <= odd.len());
    }
    // Beyond MAX_WORDS the sentence is analysed in chunks; heads stay inside their chunk.
    let words: Vec<&str> =
        ["я", "проверю", "ваш", "заказ", "."].iter().copied().cycle().take(MAX_WORDS * 2 + 7).collect();
    let analysis = slovnet.analyse(&words);
    assert_eq!(analysis.tokens.len(), words.len());
    for (i, tag) in analysis.tokens.iter().enumerate() {
        let chunk = i / MAX_WORDS;
        assert!(tag.head == 0 || (tag.head - 1) / MAX_WORDS == chunk, "token {i} head {}", tag.head);
    }
    // A chunk's tags are those of the chunk analysed alone.
    assert_eq!(analysis.tokens[..MAX_WORDS], slovnet.analyse(&words[..MAX_WORDS]).tokens[..]);
}

#[test]
fn the_contextual_layer_maps_tags_and_heads_onto_a_segmented_draft() {
    let Some(dir) = models() else { return };
    let slovnet = load(&dir);
    let text = "Курьер привезёт заказ № 4821 завтра. Анна, проверьте почту 😊";
    let doc = sufler::text::segment::Doc::new(text, &[], &[]);
    let context = sufler::text::context::analyse_with(&slovnet, &doc);
    let at = |word: &str| doc.tokens.iter().position(|t| doc.slice(t) == word).unwrap();
    // Every token but spaces gets a tag; heads stay inside their sentence.
    for (i, t) in doc.tokens.iter().enumerate() {
        let spacing =
            matches!(t.kind, sufler::text::segment::TokenKind::Space | sufler::text::segment::TokenKind::Newline);
        assert_eq!(context.tag(i).is_none(), spacing, "token {i} {:?}", doc.slice(t));
        if let Some(h) = context.head(i) {
            let sentence = |k: usize| doc.sentences.iter().position(|s| s.tokens.contains(&k));
            assert_eq!(sentence(h), sentence(i), "a head crosses a sentence boundary");
        }
    }
    assert_eq!(context.rel(at("Курьер")), Some("nsubj"));
    assert_eq!(context.head(at("Курьер")), Some(at("привезёт")));
    assert_eq!(context.tag(at("Анна")).map(|t| t.ner.to_string()), Some("B-PER".to_string()));
}
