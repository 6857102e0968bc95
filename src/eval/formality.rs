//! Formality transfer evaluation on the IWSLT 2022 formality-control test set (en→ru): an
//! informal («ты») Russian translation is converted to the formal («вы») register and compared
//! with the formal reference translation of the same English sentence.
//!
//! The data directory holds line-aligned pairs `<prefix>.informal.ru` / `<prefix>.formal.ru`
//! (the `*.annotated.ru` variants, which mark the differing words with `[F]…[/F]`, are ignored).
//! Two figures are reported, both on lowercased text because capitalising «Вы» is a separate
//! style rule: the share of lines converted exactly, and corpus-level chrF computed as sacrebleu
//! does by default, together with the chrF of copying the input unchanged as the baseline.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// Suffix of the informal side of a pair.
const INFORMAL: &str = ".informal.ru";
/// Suffix of the formal side of a pair.
const FORMAL: &str = ".formal.ru";

/// chrF character n-gram orders 1..=CHAR_ORDER (sacrebleu's default).
const CHAR_ORDER: usize = 6;
/// chrF recall weight β (sacrebleu's default).
const BETA: f64 = 2.0;

/// One aligned line pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormalityPair {
    /// The informal («ты») sentence.
    pub informal: String,
    /// The formal («вы») reference.
    pub formal: String,
}

/// Scores of a converter on a formality data set.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FormalityReport {
    /// Number of line pairs evaluated.
    pub pairs: usize,
    /// Share (0–1) of lines whose conversion equals the formal reference, ignoring case and
    /// surrounding whitespace.
    pub exact_match: f64,
    /// Corpus chrF (0–100) of the lowercased conversions against the lowercased references.
    pub chrf: f64,
    /// Corpus chrF (0–100) of the lowercased unchanged input: the copy baseline.
    pub copy_chrf: f64,
}

impl fmt::Display for FormalityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} pairs: exact match {:.3}, chrF {:.2} (copying the input: {:.2})",
            self.pairs, self.exact_match, self.chrf, self.copy_chrf
        )
    }
}

/// Evaluates `convert` on every `*.informal.ru` / `*.formal.ru` pair of files in `dir`.
///
/// Fails if the directory cannot be read, holds no pair, an informal file has no formal sibling
/// or the two files of a pair differ in their number of lines.
pub fn evaluate(dir: &Path, convert: impl Fn(&str) -> String) -> io::Result<FormalityReport> {
    let pairs = load_pairs(dir)?;
    let outputs: Vec<String> = pairs.iter().map(|p| convert_unquoted(&p.informal, &convert)).collect();
    let normal = |s: &str| s.trim().to_lowercase();
    let references: Vec<String> = pairs.iter().map(|p| normal(&p.formal)).collect();
    let outputs: Vec<String> = outputs.iter().map(|o| normal(o)).collect();
    let inputs: Vec<String> = pairs.iter().map(|p| normal(&p.informal)).collect();
    let exact = outputs.iter().zip(&references).filter(|(o, r)| o == r).count();
    Ok(FormalityReport {
        pairs: pairs.len(),
        exact_match: exact as f64 / pairs.len() as f64,
        chrf: corpus_chrf(outputs.iter().map(String::as_str).zip(references.iter().map(String::as_str))),
        copy_chrf: corpus_chrf(inputs.iter().map(String::as_str).zip(references.iter().map(String::as_str))),
    })
}

/// Lines of these files are CSV-escaped: a line holding a straight quote is wrapped in quotes
/// with inner quotes doubled. The converter sees the text itself; the result is escaped back.
fn convert_unquoted(line: &str, convert: &impl Fn(&str) -> String) -> String {
    match line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
        Some(inner) if inner.replace("\"\"", "").chars().all(|c| c != '"') => {
            format!("\"{}\"", convert(&inner.replace("\"\"", "\"")).replace('"', "\"\""))
        }
        _ => convert(line),
    }
}

/// Reads the line pairs of every `*.informal.ru` file in `dir` (sorted by file name) and its
/// `*.formal.ru` sibling.
pub fn load_pairs(dir: &Path) -> io::Result<Vec<FormalityPair>> {
    let mut informal_files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(INFORMAL) && !name.ends_with(".annotated.ru") && path.is_file() {
            informal_files.push(path);
        }
    }
    informal_files.sort();
    if informal_files.is_empty() {
        return Err(io::Error::new(io::ErrorKind::NotFound, format!("{}: no *{INFORMAL} files", dir.display())));
    }
    let mut pairs = Vec::new();
    for informal_path in informal_files {
        let name = informal_path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let formal_path = informal_path.with_file_name(format!("{}{FORMAL}", &name[..name.len() - INFORMAL.len()]));
        let read = |p: &Path| {
            std::fs::read_to_string(p).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", p.display())))
        };
        let informal = read(&informal_path)?;
        let formal = read(&formal_path)?;
        let (informal, formal): (Vec<&str>, Vec<&str>) = (informal.lines().collect(), formal.lines().collect());
        if informal.len() != formal.len() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} has {} lines but {} has {}",
                    informal_path.display(),
                    informal.len(),
                    formal_path.display(),
                    formal.len()
                ),
            ));
        }
        pairs.extend(
            informal
                .into_iter()
                .zip(formal)
                .map(|(i, f)| FormalityPair { informal: i.to_string(), formal: f.to_string() }),
        );
    }
    Ok(pairs)
}

/// Corpus-level chrF (0–100) of `(hypothesis, reference)` pairs, as sacrebleu computes it by
/// default (chrF2, version 2): whitespace is removed, character n-grams of orders 1–6 are
/// counted per sentence, their hypothesis, reference and matching counts are summed over the
/// corpus, precision and recall are averaged over the orders that occur in both, and combined
/// into an F-score with β = 2. Text is compared as given (no case folding).
pub fn corpus_chrf<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> f64 {
    let mut stats = [NgramStats::default(); CHAR_ORDER];
    for (hypothesis, reference) in pairs {
        let (hypothesis, reference) = (chrf_chars(hypothesis), chrf_chars(reference));
        for (n, stat) in stats.iter_mut().enumerate() {
            let hyp = ngram_counts(&hypothesis, n + 1);
            let reference = ngram_counts(&reference, n + 1);
            stat.hypothesis += hyp.values().sum::<usize>();
            stat.reference += reference.values().sum::<usize>();
            stat.matching += hyp.iter().map(|(g, &c)| c.min(reference.get(g).copied().unwrap_or(0))).sum::<usize>();
        }
    }
    f_score(&stats)
}

/// Summed n-gram counts of one order.
#[derive(Debug, Default, Clone, Copy)]
struct NgramStats {
    hypothesis: usize,
    reference: usize,
    matching: usize,
}

/// The characters chrF looks at: all but whitespace. Python's `str.split()`, which sacrebleu
/// uses to drop whitespace, also splits on the information separators U+001C–U+001F, which Rust
/// does not count as whitespace.
fn chrf_chars(text: &str) -> Vec<char> {
    text.chars().filter(|c| !c.is_whitespace() && !('\u{1c}'..='\u{1f}').contains(c)).collect()
}

/// Counts of the character n-grams of order `n` of `chars`.
fn ngram_counts(chars: &[char], n: usize) -> HashMap<&[char], usize> {
    let mut counts = HashMap::new();
    for gram in chars.windows(n) {
        *counts.entry(gram).or_insert(0) += 1;
    }
    counts
}

fn f_score(stats: &[NgramStats]) -> f64 {
    let (mut precision, mut recall, mut orders) = (0.0, 0.0, 0usize);
    for s in stats.iter().filter(|s| s.hypothesis > 0 && s.reference > 0) {
        precision += s.matching as f64 / s.hypothesis as f64;
        recall += s.matching as f64 / s.reference as f64;
        orders += 1;
    }
    if orders == 0 {
        return 0.0;
    }
    let (precision, recall) = (precision / orders as f64, recall / orders as f64);
    let factor = BETA * BETA;
    if precision + recall == 0.0 {
        return 0.0;
    }
    100.0 * (1.0 + factor) * precision * recall / (factor * precision + recall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_escaped_lines_are_converted_inside_their_quotes() {
        let upper = |s: &str| s.to_uppercase();
        assert_eq!(convert_unquoted("\"в \"\"Спартаке\"\" ты\"", &upper), "\"В \"\"СПАРТАКЕ\"\" ТЫ\"");
        assert_eq!(convert_unquoted("просто ты", &upper), "ПРОСТО ТЫ");
    }

    #[test]
    fn chrf_of_a_toy_pair_matches_sacrebleu() {
        // sacrebleu.corpus_chrf(["ab c"], [["abd"]]).score == 38.888…: orders 1–3 occur in both
        // ("abc" vs "abd"), matching 2/3, 1/2 and 0/1, so P = R = (2/3 + 1/2 + 0) / 3 = 7/18.
        let score = corpus_chrf([("ab c", "abd")]);
        assert!((score - 100.0 * 7.0 / 18.0).abs() < 1e-9, "{score}");
        // sacrebleu.corpus_chrf(["aaaa", "b"], [["aaaa", "c"]]).score == 95.0
        assert!((corpus_chrf([("aaaa", "aaaa"), ("b", "c")]) - 95.0).abs() < 1e-9);
        assert_eq!(corpus_chrf([("тест", "тест")]), 100.0);
        assert_eq!(corpus_chrf([("abc", "xyz")]), 0.0);
        assert_eq!(corpus_chrf(std::iter::empty()), 0.0);
        // Whitespace is ignored entirely.
        assert_eq!(corpus_chrf([("a b\tc", "abc")]), 100.0);
    }

    #[test]
    fn corpus_statistics_are_summed_before_the_f_score() {
        // Sentence-level scores would average to 50; the corpus score weights by length.
        let corpus = corpus_chrf([("aaaa", "aaaa"), ("b", "c")]);
        let separate = (corpus_chrf([("aaaa", "aaaa")]) + corpus_chrf([("b", "c")])) / 2.0;
        assert!(corpus > separate, "{corpus} vs {separate}");
    }

    #[test]
    fn evaluate_reads_aligned_pairs_and_skips_annotations() {
        let dir = std::env::temp_dir().join(format!("sufler-formality-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t.informal.ru"), "Ты тут?\nА ты?\n").unwrap();
        std::fs::write(dir.join("t.formal.ru"), "Вы тут?\nА вы?\n").unwrap();
        std::fs::write(dir.join("t.informal.annotated.ru"), "[F]Ты[/F] тут?\n").unwrap();
        let report = evaluate(&dir, |s| s.replace("ты", "вы").replace("Ты", "Вы")).unwrap();
        assert_eq!(report.pairs, 2);
        assert_eq!(report.exact_match, 1.0);
        assert_eq!(report.chrf, 100.0);
        assert!(report.copy_chrf < 100.0 && report.copy_chrf > 0.0);
        let copy = evaluate(&dir, str::to_string).unwrap();
        assert_eq!((copy.exact_match, copy.chrf), (0.0, report.copy_chrf));
        std::fs::write(dir.join("t.formal.ru"), "Вы тут?\n").unwrap();
        assert_eq!(evaluate(&dir, str::to_string).unwrap_err().kind(), io::ErrorKind::InvalidData);
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(evaluate(&dir, str::to_string).is_err());
    }
}
