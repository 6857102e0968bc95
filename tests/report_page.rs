//! An evaluation report as a team lead opens it: `sufler eval rewrite --report` writes the page,
//! and `tests/web/report.mjs` renders it in headless Chromium (playwright-core, Debian's
//! chromium) and checks the title, the metrics, the plots and the diffs, and that the page
//! loads nothing from the network; `sufler audit --report` likewise. The screenshots land in
//! `target/web-artifacts/` (`rewrite.png`, `audit.png`).

mod common;

use std::time::Duration;

use common::browser::run_script;
use common::*;

/// Writes `NAME.html` with `sufler ARGS --report …`, renders it and checks at least
/// `min_plots` drawn plots and the screenshot `target/web-artifacts/NAME.png`.
fn renders_in_chromium(args: &[&str], name: &str, min_plots: usize) {
    let root = common::root();
    let dir = tempfile::tempdir().expect("temp dir");
    let html = dir.path().join(format!("{name}.html"));
    let mut all = args.to_vec();
    all.extend(["--report", html.to_str().unwrap()]);
    let out = sufler(&all, b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let artifacts = root.join("target/web-artifacts");
    let min_plots = min_plots.to_string();
    let run = run_script(
        root,
        "report.mjs",
        &[html.as_os_str(), min_plots.as_ref(), artifacts.as_os_str()],
        Duration::from_secs(120),
    );
    print!("{}", run.stdout);
    let status = run.status.expect("tests/web/report.mjs finishes within 120 s");
    assert!(status.success(), "tests/web/report.mjs failed ({status}):\n{}", run.stderr);
    assert!(artifacts.join(format!("{name}.png")).is_file(), "no screenshot");
}

#[test]
fn an_eval_report_renders_with_its_plots_in_chromium() {
    // Without the encoder: the report's shape does not depend on it, and it is fast. Two plots:
    // findings per rule before / after, and the time per draft.
    renders_in_chromium(&["eval", "rewrite", "eval/sets/rewrite-dev.jsonl", "--no-encoder"], "rewrite", 2);
}

#[test]
fn an_audit_report_renders_with_its_plots_in_chromium() {
    // With the model, so the tone plot is there too. Four plots: issues per rule, tone, reply
    // times, name use per dialogue.
    renders_in_chromium(&["audit", "eval/sets/audit-dev.jsonl"], "audit", 4);
}
