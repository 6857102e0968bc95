//! An evaluation report as a team lead opens it: `sufler eval rewrite --report` writes the page,
//! and `tests/web/report.mjs` renders it in headless Chromium (playwright-core, Debian's
//! chromium) and checks the title, the metrics, the plots and the diffs, and that the page
//! loads nothing from the network; `sufler audit --report` likewise. The screenshots land in
//! `target/web-artifacts/` (`rewrite.png`, `audit.png`).

mod common;

use std::time::Duration;

use common::browser::run_script;
use common::*;

#[test]
fn an_eval_report_renders_with_its_plots_in_chromium() {
    let root = common::root();
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("rewrite.html");
    // Without the encoder: the report's shape does not depend on it, and it is fast.
    let out = sufler(
        &["eval", "rewrite", "eval/sets/rewrite-dev.jsonl", "--no-encoder", "--report", html.to_str().unwrap()],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let artifacts = root.join("target/web-artifacts");
    // Two plots: findings per rule before / after, and the time per draft.
    let run = run_script(
        root,
        "report.mjs",
        &[html.as_os_str(), "2".as_ref(), artifacts.as_os_str()],
        Duration::from_secs(120),
    );
    print!("{}", run.stdout);
    let status = run.status.expect("tests/web/report.mjs finishes within 120 s");
    assert!(status.success(), "tests/web/report.mjs failed ({status}):\n{}", run.stderr);
    assert!(artifacts.join("rewrite.png").is_file(), "no screenshot");
}

#[test]
fn an_audit_report_renders_with_its_plots_in_chromium() {
    let root = common::root();
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join("audit.html");
    // With the model: the tone plot is there too.
    let out = sufler(&["audit", "eval/sets/audit-dev.jsonl", "--report", html.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let artifacts = root.join("target/web-artifacts");
    // Four plots: issues per rule, tone, reply times, name use per dialogue.
    let run = run_script(
        root,
        "report.mjs",
        &[html.as_os_str(), "4".as_ref(), artifacts.as_os_str()],
        Duration::from_secs(120),
    );
    print!("{}", run.stdout);
    let status = run.status.expect("tests/web/report.mjs finishes within 120 s");
    assert!(status.success(), "tests/web/report.mjs failed ({status}):\n{}", run.stderr);
    assert!(artifacts.join("audit.png").is_file(), "no screenshot");
}
