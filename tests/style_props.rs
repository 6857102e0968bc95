//! Property tests of the style engine over random chat-like drafts: no panic, the rewrite is
//! idempotent, and every fact of the draft survives byte for byte. Plus the bad inputs a user
//! can send (empty, 100 KB, only emoji, look-alike Latin letters, control characters).

use std::sync::OnceLock;

use proptest::prelude::*;
use sufler::style::{Context, StyleEngine};
use sufler::text::segment::Doc;

fn engine() -> &'static StyleEngine {
    static ENGINE: OnceLock<StyleEngine> = OnceLock::new();
    ENGINE.get_or_init(|| StyleEngine::embedded().expect("the embedded style data loads"))
}

/// Facts operators type; each must come out of a rewrite unchanged.
const FACTS: [&str; 10] = [
    "№ 4821-1934",
    "A-77812",
    "1 490 ₽",
    "300р",
    "12.03.2026",
    "14:30",
    "+7 912 345-67-89",
    "help@shop.example.ru",
    "https://shop.example.ru/returns?id=5",
    "«Тариф Плюс»",
];

const WORDS: [&str; 40] = [
    "ты",
    "тебе",
    "твой",
    "пришли",
    "скинь",
    "щас",
    "короче",
    "заказ",
    "номерочек",
    "ок",
    "привет",
    "Анна",
    "Женя",
    "Евгенй",
    "ВНИМАНИЕ",
    "СРОЧНО",
    "я не знаю",
    "ждите",
    "смотрите на сайте",
    "пожалуйста",
    "Здравствуйте",
    "вы",
    "вам",
    "спасибо",
    "доставка",
    "придёт",
    "завтра",
    "можешь",
    "готов",
    "сами виноваты",
    "ASAP",
    "апрувнуть",
    "хз",
    "Да",
    "т. д.",
    "ООО",
    "ИНН",
    "зaказ",
    "какой-то",
    "по-русски",
];

const MARKS: [&str; 16] =
    [" ", " ", " ", ", ", ". ", "!!! ", "??", "?! ", ")))", " :) ", " 🙂 ", "👍🏻", "\n", "\n\n", "....", " — "];

fn draft() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        4 => proptest::sample::select(&WORDS[..]).prop_map(str::to_string),
        2 => proptest::sample::select(&MARKS[..]).prop_map(str::to_string),
        1 => proptest::sample::select(&FACTS[..]).prop_map(str::to_string),
        1 => "\\PC{0,6}",
        1 => proptest::char::any().prop_map(|c| c.to_string()),
    ];
    // Pieces are joined by a space, as typed; glued fragments («…ruты») are not facts.
    proptest::collection::vec(piece, 0..40).prop_map(|parts| parts.join(" "))
}

fn context() -> impl Strategy<Value = Context> {
    (
        any::<bool>(),
        proptest::option::of(proptest::sample::select(vec!["Анна", "Евгений Александрович", "Женя"])),
        0u32..4,
    )
        .prop_map(|(first_message, name, name_uses)| Context {
            client_name: name.map(str::to_string),
            operator_name: Some("Ольга".into()),
            first_message: Some(first_message),
            name_uses,
            client_messages: vec!["Где мой заказ? Когда привезёте?".into()],
            ..Context::default()
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn rewrite_is_safe_idempotent_and_keeps_facts(text in draft(), ctx in context()) {
        let engine = engine();
        let check = engine.check(&text, &ctx, None).unwrap();
        let n = text.chars().count();
        for issue in &check.issues {
            prop_assert!(issue.start <= issue.end && issue.end <= n, "span {:?} out of {n}", (issue.start, issue.end));
        }
        let once = engine.rewrite(&text, &ctx, None).unwrap();
        // Every fact the segmenter finds in the draft survives byte for byte.
        let doc = Doc::new(&text, &[], &[]);
        for t in doc.tokens.iter().filter(|t| t.kind.is_fact()) {
            let fact = doc.slice(t);
            prop_assert!(once.text.matches(fact).count() >= text.matches(fact).count(), "fact {fact:?} lost: {:?} → {:?}", text, once.text);
        }
        for fact in FACTS {
            let before = text.matches(fact).count();
            prop_assert!(once.text.matches(fact).count() >= before, "fact {fact:?} lost: {:?} → {:?}", text, once.text);
        }
        if let Some(name) = &ctx.client_name {
            // Rule B1 may drop the third and later uses of the name in one message.
            let before = text.matches(name.as_str()).count().min(2);
            prop_assert!(once.text.matches(name.as_str()).count() >= before, "{:?} → {:?}", text, once.text);
        }
        let twice = engine.rewrite(&once.text, &ctx, None).unwrap();
        prop_assert_eq!(&twice.text, &once.text, "not idempotent for {:?}", text);
    }
}

#[test]
fn bad_inputs_get_clear_results_not_panics() {
    let engine = engine();
    let ctx = Context::default();
    for text in
        ["", "   ", "\n\n", "🙂🙂🙂", "👍", "зaказ готов", "\u{0}\u{7}\u{1b}[31mкрасный\u{7f}", "\u{200b}\u{feff}", "ё"]
    {
        engine.check(text, &ctx, None).unwrap();
        let out = engine.rewrite(text, &ctx, None).unwrap();
        assert_eq!(engine.rewrite(&out.text, &ctx, None).unwrap().text, out.text, "{text:?}");
    }
    // Only emoji: removed, and the removal is reported.
    let out = engine.rewrite("🙂🙂🙂", &ctx, None).unwrap();
    assert!(out.edits.iter().any(|e| e.rule == "emoji"));
    // A word typed with a Latin «a» is pointed out with its Cyrillic spelling.
    let report = engine.check("Ваш зaказ готов.", &ctx, None).unwrap();
    if engine.speller().is_some() {
        assert!(report.issues.iter().any(|i| i.rule == "spelling" && i.replacements == ["заказ"]), "{report:?}");
    }
}

#[test]
fn a_100_kb_draft_is_processed_and_a_larger_one_refused() {
    let engine = engine();
    let ctx = Context::default();
    let unit = "привет, щас скинь номер заказа № 4821-1934 на 1 490 ₽!!! ";
    let big = unit.repeat(100 * 1024 / unit.len());
    assert!(big.len() > 95 * 1024);
    let out = engine.rewrite(&big, &ctx, None).unwrap();
    assert_eq!(out.text.matches("№ 4821-1934").count(), big.matches("№ 4821-1934").count());
    let huge = "а".repeat(200 * 1024);
    let err = engine.check(&huge, &ctx, None).unwrap_err().to_string();
    assert!(err.contains("слишком длинный"), "{err}");
}

#[test]
fn an_unknown_profile_is_an_input_error() {
    let ctx = Context { profile: Some("telegram".into()), ..Context::default() };
    let err = engine().check("Здравствуйте!", &ctx, None).unwrap_err().to_string();
    assert!(err.contains("профиль «telegram» не найден"), "{err}");
}
