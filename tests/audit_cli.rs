//! `sufler audit` as a team lead runs it on a dialogue log: per-operator figures with the real
//! model (D2's unanswered questions, the tone head), line-numbered warnings for bad lines with
//! the rest still audited, clear errors for unusable input, stdin, JSON / HTML and the gate.

mod common;

use common::*;
use serde_json::Value;

const DEV_LOG: &str = "eval/sets/audit-dev.jsonl";

fn metric(report: &Value, id: &str) -> Option<f64> {
    report["metrics"].as_array().unwrap().iter().find(|m| m["id"] == id).map(|m| m["value"].as_f64().unwrap())
}

fn section<'r>(report: &'r Value, title_start: &str) -> &'r Value {
    report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["title"].as_str().unwrap().starts_with(title_start))
        .unwrap_or_else(|| panic!("no section «{title_start}»"))
}

/// The operator table's row of `operator`, by column name.
fn operator_cell<'r>(report: &'r Value, operator: &str, column: &str) -> &'r str {
    let table = section(report, "По операторам");
    let col = table["columns"].as_array().unwrap().iter().position(|c| c == column).expect("column");
    let row = table["rows"].as_array().unwrap().iter().find(|r| r[0] == operator).expect("operator row");
    row[col].as_str().unwrap()
}

fn audit_json(args: &[&str], stdin: &[u8]) -> (std::process::Output, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("audit.json");
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    all.extend(["--json", json.to_str().unwrap()]);
    let out = sufler(&all, stdin);
    let report = std::fs::read_to_string(&json).ok().map(|t| serde_json::from_str(&t).unwrap());
    (out, report)
}

#[test]
fn the_dev_log_is_audited_per_operator_with_the_model() {
    let (out, report) = audit_json(&[DEV_LOG], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let report = report.expect("JSON written");
    // 19 lines: 3 skipped (not JSON, unknown role, no text), 1 kept with an unknown field.
    assert_eq!(metric(&report, "messages"), Some(15.0));
    assert_eq!(metric(&report, "operator_messages"), Some(7.0));
    assert_eq!(metric(&report, "dialogues"), Some(5.0));
    // Name use in the norm (2–3 times): d1 only, of the 4 dialogues with a name and a reply.
    assert_eq!(metric(&report, "name_norm_share"), Some(0.25));
    // First replies 30 s, 3 min, 10 s (d4's goes back in time and is not timed): 2 of 3 in
    // the chat profile's minute.
    assert!((metric(&report, "first_reply_in_time").unwrap() - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(metric(&report, "reply_p90_s"), Some(180.0));

    // The polite operator beats the sloppy and the rude one on every figure.
    let rate = |op: &str| operator_cell(&report, op, "ошибок и недочётов на 100").parse::<f64>().unwrap();
    assert!(rate("op-anna") < rate("op-boris") && rate("op-anna") < rate("op-vera"));
    assert!(operator_cell(&report, "op-boris", "частые правила").contains("slang"));
    assert!(operator_cell(&report, "op-vera", "частые правила").contains("shouting"));
    // D2 with the encoder: «ща, погоди» answers nothing of «Когда снимут блокировку с карты?»;
    // d5's question got no reply at all and is nobody's.
    assert_eq!(operator_cell(&report, "op-anna", "вопросов без ответа"), "0 из 3");
    assert!(!operator_cell(&report, "op-boris", "вопросов без ответа").starts_with("0 из"));
    assert_eq!(operator_cell(&report, "(не указан)", "вопросов без ответа"), "1 из 1");
    // The tone head: the rude message is rude, the polite operator is the politest.
    assert_eq!(operator_cell(&report, "op-vera", "грубых"), "100 %");
    let politeness = |op: &str| operator_cell(&report, op, "вежливость").parse::<f64>().unwrap();
    assert!(politeness("op-anna") > politeness("op-boris") && politeness("op-boris") > politeness("op-vera"));
    assert!(metric(&report, "rude_share").unwrap() > 0.0);

    // The worst message comes with sufler's rewrite, free of what was wrong.
    let worst = &section(&report, "Сообщения с наибольшим")["cases"][0];
    let rewrite = worst["after"].as_str().expect("a rewrite");
    assert!(!rewrite.contains("!!!") && !rewrite.contains("НЕ ЗНАЮ") && !rewrite.contains("короче"), "{rewrite}");

    // Bad lines are warned by number on stderr and in the JSON; the rest was audited above.
    let err = stderr(&out);
    for (line, what) in [
        (7, "не JSON"),
        (11, "неизвестные поля: channel"),
        (15, "неизвестная роль «bot»"),
        (16, "время раньше предыдущего"),
        (17, "нет text"),
    ] {
        assert!(err.contains(&format!("строка {line}: {what}")), "line {line}: {err}");
    }
    assert_eq!(report["warnings"].as_array().unwrap().len(), 5);
    // The terminal table names every operator.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(["op-anna", "op-boris", "op-vera", "(не указан)"].iter().all(|op| stdout.contains(op)), "{stdout}");
}

#[test]
fn a_log_on_stdin_without_the_encoder_and_another_profile() {
    let log = std::fs::read(common::root().join(DEV_LOG)).unwrap();
    let (out, report) = audit_json(&["-", "--no-encoder", "--profile", "messenger-b2b"], &log);
    assert!(out.status.success(), "{}", stderr(&out));
    let report = report.unwrap();
    assert_eq!(metric(&report, "messages"), Some(15.0));
    // An hour's deadline: every first reply is in time; no tone without the encoder.
    assert_eq!(metric(&report, "first_reply_in_time"), Some(1.0));
    assert_eq!(metric(&report, "rude_share"), None);
    let about = section(&report, "Об этом прогоне")["rows"].to_string();
    assert!(about.contains("messenger-b2b") && about.contains("1 ч, не позже 3 ч"), "{about}");
    assert!(about.contains("answer-all"), "the disabled D2 is said: {about}");
}

#[test]
fn unusable_input_is_an_error_with_a_non_zero_exit() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let cases = [
        (vec![file("empty.jsonl", "")], "журнал пуст"),
        (vec![file("junk.jsonl", "1\n{\"role\":\"client\"}\n\u{1F600}\n")], "нет ни одного пригодного"),
        (vec!["no/such/log.jsonl".to_string()], "no/such/log.jsonl"),
        (vec![DEV_LOG.to_string(), "--profile".into(), "sms".into()], "профиль «sms» не найден"),
        (vec![DEV_LOG.to_string(), "--close-after-hours".into(), "0".into()], "--close-after-hours"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["audit", "--no-encoder"];
        all.extend(args.iter().map(String::as_str));
        let out = sufler(&all, b"");
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(stderr(&out).contains(expected), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn the_gate_fails_a_team_over_the_threshold_and_the_html_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("audit.html");
    let out = sufler(
        &["audit", DEV_LOG, "--no-encoder", "--report", html.to_str().unwrap(), "--fail-under", "name_norm_share=0.5"],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("пороги не пройдены") && stderr(&out).contains("name_norm_share"),
        "{}",
        stderr(&out)
    );
    let page = std::fs::read_to_string(&html).expect("the report is written before the gate");
    assert!(page.contains("<svg") && page.contains("op-boris"));
    let out = sufler(&["audit", DEV_LOG, "--no-encoder", "--fail-under", "name_norm_share=0.25"], b"");
    assert!(out.status.success(), "{}", stderr(&out));
}
