//! `sufler check` and `sufler rewrite` as acceptance checks call them: the draft on stdin, the
//! dialogue in flags, JSON out; and bad input getting a message and a non-zero exit.

mod common;

use common::*;
use serde_json::Value;

fn json(args: &[&str], stdin: &str) -> Value {
    let out = sufler(args, stdin.as_bytes());
    assert!(out.status.success(), "{args:?}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn rules(report: &Value) -> Vec<String> {
    report["issues"].as_array().unwrap().iter().map(|i| i["rule"].as_str().unwrap().to_string()).collect()
}

#[test]
fn check_reports_issues_with_character_offsets_and_russian_messages() {
    let draft = "привет, щас скинь номер заказа 👍";
    let report = json(&["check", "--json", "--client-name", "Анна", "--first-message", "--no-encoder"], draft);
    let fired = rules(&report);
    for rule in ["greeting", "slang", "polite-you", "emoji", "capital-start"] {
        assert!(fired.contains(&rule.to_string()), "{rule} missing in {fired:?}");
    }
    let chars: Vec<char> = draft.chars().collect();
    for issue in report["issues"].as_array().unwrap() {
        let (start, end) = (issue["start"].as_u64().unwrap() as usize, issue["end"].as_u64().unwrap() as usize);
        assert!(start <= end && end <= chars.len());
        assert!(issue["message"].as_str().unwrap().chars().any(|c| ('а'..='я').contains(&c)));
        assert!(issue["severity"].is_string() && issue["replacements"].is_array());
        if issue["rule"] == "slang" && issue["start"] == 8 {
            assert_eq!(chars[start..end].iter().collect::<String>(), "щас");
            assert_eq!(issue["replacements"][0], "сейчас");
        }
    }
}

#[test]
fn rewrite_returns_text_edits_issues_and_similarity() {
    let draft = "привет, щас гляну твой заказ № 4821-1934, подожди";
    let out =
        json(&["rewrite", "--json", "--client-name", "Анна", "--first-message", "--operator-name", "Ольга"], draft);
    let text = out["text"].as_str().unwrap();
    assert!(text.starts_with("Здравствуйте, Анна! Меня зовут Ольга, я помогу Вам. Сейчас посмотрю"), "{text}");
    assert!(text.contains("Ваш заказ № 4821-1934") && text.contains("подождите, пожалуйста"), "{text}");
    assert!(!text.contains("щас") && !text.contains("твой"), "{text}");
    let sim = out["similarity"].as_f64().expect("similarity with the encoder");
    assert!(sim > 0.5 && sim <= 1.0001, "{sim}");
    for edit in out["edits"].as_array().unwrap() {
        assert!(edit["rule"].is_string() && edit["before"].is_string() && edit["after"].is_string());
        assert!(edit["reason"].as_str().unwrap().chars().any(|c| ('а'..='я').contains(&c)));
    }
    // The rewrite of a rewrite changes nothing.
    let again =
        json(&["rewrite", "--json", "--client-name", "Анна", "--first-message", "--operator-name", "Ольга"], text);
    assert_eq!(again["text"], text);
    assert!(again["edits"].as_array().unwrap().is_empty());
}

#[test]
fn answer_all_lists_the_ignored_question() {
    let report = json(
        &[
            "check",
            "--json",
            "--client-message",
            "Сколько стоит доставка в Казань? Можно ли оплатить наличными при получении?",
        ],
        "Доставка в Казань стоит 350 ₽.",
    );
    let ignored: Vec<&Value> =
        report["issues"].as_array().unwrap().iter().filter(|i| i["rule"] == "answer-all").collect();
    assert_eq!(ignored.len(), 1, "{report}");
    assert!(ignored[0]["message"].as_str().unwrap().contains("наличными"), "{report}");
}

#[test]
fn the_readable_output_is_a_diff_with_reasons() {
    let out = sufler(&["rewrite", "--no-encoder"], "щас проверю".as_bytes());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("[-щас-]") && text.contains("{+Сейчас+}"), "{text}");
    // Slang swaps are risky and run after the safe rules, so they see «Щас».
    assert!(text.contains("slang «Щас» → «Сейчас»"), "{text}");
}

#[test]
fn bad_input_gets_a_message_and_exit_1() {
    for (args, stdin, expect) in [
        (&["check", "--json"][..], &b"\xff\xfe"[..], "not valid UTF-8"),
        (&["check", "--json", "--profile", "telegram"][..], &b"text"[..], "профиль «telegram» не найден"),
        (&["check", "--json", "--client-time", "25:00"][..], &b"text"[..], "время клиента"),
        (&["rewrite", "--json", "--no-encoder"][..], "а".repeat(200 * 1024).as_bytes(), "слишком длинный"),
        (&["check", "--first-message", "--not-first-message"][..], &b"text"[..], "cannot be used with"),
    ] {
        let out = sufler(args, stdin);
        assert_eq!(out.status.code(), Some(if expect == "cannot be used with" { 2 } else { 1 }), "{args:?}");
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn empty_and_emoji_only_drafts_get_clear_results() {
    let report = json(&["check", "--json", "--no-encoder"], "");
    assert!(report["issues"].as_array().unwrap().is_empty());
    let out = json(&["rewrite", "--json", "--no-encoder"], "🙂🙂🙂");
    assert_eq!(out["text"], "");
    assert_eq!(out["edits"][0]["rule"], "emoji");
}

#[test]
fn formality_eval_reaches_the_goal() {
    let dir = root().join("../shared/data/iwslt2022-formality-ru");
    if !dir.is_dir() {
        eprintln!("../shared/data not beside the checkout; skipping");
        return;
    }
    let out = sufler(&["eval", "formality", dir.to_str().unwrap()], b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let number = |label: &str| -> f64 {
        let line = text.lines().find(|l| l.contains(label)).unwrap();
        line.split_whitespace().find_map(|w| w.parse().ok()).unwrap()
    };
    assert!(number("exact match") >= 0.85, "{text}");
    assert!(number("chrF") >= 97.0, "{text}");
}

#[test]
fn rewrite_dev_set_pass_rate() {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("rewrite.json");
    let args = ["eval", "rewrite", "eval/sets/rewrite-dev.jsonl", "--fail-under", "pass_rate=0.9", "--json"];
    let out = sufler(&[&args[..], &[json.to_str().unwrap()]].concat(), b"");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let rate = report["metrics"][0]["value"].as_f64().unwrap();
    assert_eq!(report["metrics"][0]["id"], "pass_rate");
    assert!(rate >= 0.9 && report["sections"].as_array().unwrap().len() >= 3, "{rate}");
    // Nothing in the set was left out, and the tone heads (trained by ./setup) see the
    // rewrites as more polite than the drafts.
    assert!(report["warnings"].as_array().unwrap().is_empty(), "{}", report["warnings"]);
    let metric =
        |id: &str| report["metrics"].as_array().unwrap().iter().find(|m| m["id"] == id).unwrap()["value"].as_f64();
    let (before, after) = (metric("politeness_before").unwrap(), metric("politeness_after").unwrap());
    assert!(after > before + 5.0, "politeness {before} → {after}");
}

#[test]
fn a_company_profile_brings_its_own_words_and_lower_case_vy() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("profiles")).unwrap();
    std::fs::write(
        dir.path().join("profiles/brand.toml"),
        "name = \"brand\"\ndescription = \"Бренд пишет «вы» строчными\"\ncapital_you = false\n\
         [words]\nslang = { \"промик\" = \"промокод\" }\nacronyms = [\"ЛАЙТ\"]\n",
    )
    .unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let out = json(
        &["rewrite", "--json", "--no-encoder", "--profile", "brand", "--style-dir", dir_arg],
        "введи промик ЛАЙТ в корзине",
    );
    assert_eq!(out["text"], "Введите, пожалуйста, промокод ЛАЙТ в корзине.", "{out}");
    // The built-in profiles are still there, and know nothing of the brand's words.
    let out = json(&["rewrite", "--json", "--no-encoder", "--style-dir", dir_arg], "введи промик в корзине");
    assert!(out["text"].as_str().unwrap().contains("промик"), "{out}");
}

#[test]
fn issue19_a_timeout_stops_check_and_rewrite_with_an_english_message() {
    let draft = "ты ".repeat(20_000);
    for command in ["check", "rewrite"] {
        let out = sufler(&[command, "--json", "--no-encoder", "--timeout", "0.000001"], draft.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{command}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("the {command} did not finish within")), "{}", stderr(&out));
        assert!(out.stdout.is_empty(), "{command} printed a partial result");
    }
    let out = sufler(&["check", "--timeout", "0"], b"text");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn issue19_every_input_read_whole_is_bounded() {
    // `templates import /dev/zero` once took 2 GB of memory.
    let db = std::env::temp_dir().join(format!("sufler-issue19-{}.db", std::process::id()));
    let db = db.to_str().unwrap();
    for args in [
        &["templates", "import", "/dev/zero", "--no-embed", "--db", db][..],
        &["feedback", "import", "/dev/zero", "--db", db][..],
        &["suggest", "--batch", "/dev/zero", "--db", db][..],
        &["eval", "rewrite", "/dev/zero", "--no-encoder"][..],
    ] {
        let out = sufler(args, b"");
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("/dev/zero: larger than 64 MiB"), "{args:?}: {}", stderr(&out));
    }
    let _ = std::fs::remove_file(db);
}

#[test]
fn issue19_1_the_fuzz_input_rewrites_through_the_cli_within_its_bound() {
    // The harness input of finding 1 with the dialogue the harness derives (a NUL cannot be
    // passed in an argument: the name goes without its NUL characters).
    let bytes = std::fs::read(root().join("fuzz/corpus/check_rewrite/regression-timeout-8311419.txt")).unwrap();
    let draft = String::from_utf8_lossy(&bytes).into_owned();
    let (name, message) = draft.split_once(':').unwrap();
    let name = name.trim().replace('\0', "");
    let message = message.trim().replace('\0', "");
    let args = [
        "rewrite",
        "--json",
        "--no-encoder",
        "--profile",
        "messenger-b2b",
        "--first-message",
        "--client-name",
        &name,
        "--client-message",
        &message,
        "--operator-name",
        "Ольга",
    ];
    let out = json(&args, &draft);
    let chars = |s: &str| s.chars().count();
    let text = out["text"].as_str().unwrap();
    // Within twice the draft, with no allowance: the harness's 434-character «name» is no name
    // a greeting could address the client by, so none is inserted.
    assert!(chars(text) <= 2 * chars(&draft), "{} → {} chars", chars(&draft), chars(text));
}
