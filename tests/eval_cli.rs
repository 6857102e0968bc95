//! `sufler eval check|rewrite` as a team lead runs them: line-numbered warnings for bad lines
//! (the rest still evaluated), clear errors for unusable files, JSON and HTML reports,
//! `--compare` and `--fail-under` as a CI gate.

mod common;

use common::*;
use serde_json::Value;

const GOOD: &str = r#"{"id": "a", "text": "ВАШ ЗАКАЗ ОТПРАВЛЕН.", "must": ["shouting"], "must_not": ["emoji"]}"#;
const GOOD2: &str = r#"{"id": "b", "text": "Ваш заказ отправлен 😊", "must": ["emoji"]}"#;

fn metric(report: &Value, id: &str) -> f64 {
    report["metrics"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["value"].as_f64().unwrap()
}

#[test]
fn bad_lines_are_reported_by_number_and_the_rest_is_evaluated() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.jsonl");
    let lines = [
        GOOD,
        "{not json",
        r#"{"id": "c", "text": "Ок.", "must": ["shouting"], "colour": "red"}"#,
        r#"{"id": "a", "text": "Другой текст.", "must": ["emoji"]}"#,
        r#"{"id": "d", "text": "Текст.", "must": ["no-such-rule"]}"#,
        "",
        GOOD2,
    ];
    std::fs::write(&set, lines.join("\n")).unwrap();
    let json = dir.path().join("r.json");
    let out = sufler(&["eval", "check", set.to_str().unwrap(), "--no-encoder", "--json", json.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    for (line, what) in [
        (2, "это не JSON"),
        (3, "неизвестное поле"),
        (4, "идентификатор \"a\" уже встречался"),
        (5, "правила \"no-such-rule\" нет в каталоге"),
    ] {
        assert!(err.contains(&format!("строка {line}: строка пропущена: {what}")), "line {line}: {err}");
    }
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(metric(&report, "cases"), 2.0);
    assert_eq!(metric(&report, "pass_rate"), 1.0);
    assert_eq!(report["warnings"].as_array().unwrap().len(), 4);
}

#[test]
fn unusable_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").unwrap();
    let out = sufler(&["eval", "check", empty.to_str().unwrap(), "--no-encoder"], b"");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("файл пуст"), "{}", stderr(&out));
    let junk = dir.path().join("junk.jsonl");
    std::fs::write(&junk, "1\n2\n").unwrap();
    let out = sufler(&["eval", "rewrite", junk.to_str().unwrap(), "--no-encoder"], b"");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("нет ни одной пригодной строки"), "{}", stderr(&out));
    let out = sufler(&["eval", "check", "no/such/file.jsonl", "--no-encoder"], b"");
    assert!(!out.status.success() && stderr(&out).contains("no/such/file.jsonl"));
}

#[test]
fn reports_compare_and_gate() {
    let dir = tempfile::tempdir().unwrap();
    let set = dir.path().join("set.jsonl");
    // One case the checker gets right, one whose `must` is wrong on purpose.
    std::fs::write(
        &set,
        format!("{GOOD}\n{}\n", r#"{"id": "z", "text": "Ваш заказ отправлен.", "must": ["shouting"]}"#),
    )
    .unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_string();
    let run = |extra: &[&str]| {
        let mut args = vec!["eval", "check", set.to_str().unwrap(), "--no-encoder"];
        args.extend_from_slice(extra);
        sufler(&args, b"")
    };
    let (old, html) = (path("old.json"), path("report.html"));
    let out = run(&["--json", &old, "--report", &html, "--fail-under", "pass_rate=0.5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("lang=\"ru\"") && page.contains("не сработало shouting"));
    // The gate fails below its value, and says which metric.
    let out = run(&["--fail-under", "pass_rate=0.9"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("pass_rate = 0.5000 ниже порога 0.9"), "{}", stderr(&out));
    let out = run(&["--fail-under", "pass_rate"]);
    assert!(!out.status.success() && stderr(&out).contains("метрика=число"), "{}", stderr(&out));
    // Fix the wrong case: the comparison shows the improvement.
    std::fs::write(
        &set,
        format!("{GOOD}\n{}\n", r#"{"id": "z", "text": "Ваш заказ отправлен.", "must_not": ["shouting"]}"#),
    )
    .unwrap();
    let out = run(&["--compare", &old]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("было") && text.contains("+0.5000 ↑ лучше"), "{text}");
    let out = run(&["--compare", &path("missing.json")]);
    assert!(!out.status.success() && stderr(&out).contains("не удалось прочитать отчёт"), "{}", stderr(&out));
}

#[test]
fn the_check_set_meets_its_goals() {
    // With the encoder (answer-all is in the set): every guard holds, nearly every rule fires.
    let out = sufler(
        &[
            "eval",
            "check",
            "eval/sets/check-dev.jsonl",
            "--fail-under",
            "must_not_kept=1",
            "--fail-under",
            "must_recall=0.95",
        ],
        b"",
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
}

#[test]
fn external_benchmarks_run_what_the_data_holds() {
    // TyDiP and IWSLT only (encodechka left out: it is tested on its own and takes a minute).
    let dir = tempfile::tempdir().unwrap();
    let shared = root().join("../shared/data");
    for set in ["tydip-ru", "iwslt2022-formality-ru"] {
        std::os::unix::fs::symlink(shared.join(set), dir.path().join(set)).unwrap();
    }
    let json = dir.path().join("external.json");
    let out = sufler(
        &[
            "eval",
            "external",
            "--data",
            dir.path().to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
            "--fail-under",
            "tydip_spearman=0.45",
            "--fail-under",
            "iwslt_exact_match=0.85",
        ],
        b"",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("encodechka intents: нет каталога"), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("словарь маркеров вежливости") && text.contains("копия входа"), "{text}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert!(metric(&report, "tydip_spearman") > metric(&report, "tydip_lexicon_spearman"));
    let out = sufler(&["eval", "external", "--data", "/no/such/dir"], b"");
    assert!(!out.status.success() && stderr(&out).contains("нет каталога"), "{}", stderr(&out));
}

#[test]
fn the_tone_set_meets_its_goals() {
    // The tone heads trained by ./setup, on messages written apart from their training data.
    let out = sufler(
        &[
            "eval",
            "tone",
            "eval/sets/tone-dev.jsonl",
            "--fail-under",
            "accuracy=0.85",
            "--fail-under",
            "politeness_spearman=0.6",
        ],
        b"",
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), String::from_utf8_lossy(&out.stdout));
}
