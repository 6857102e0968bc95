//! Every rule's own examples (prompts/style/rules/*.toml), run the way LanguageTool runs its
//! `<example>` elements: bad examples report exactly the marked spans and, for automatic rules,
//! fix to the expected text, which must not trigger the rule again; good examples stay silent.
//! Also checks the catalog against ../shared/STYLE-RULES.md. Rules that need the encoder run
//! their examples with the real model.

mod common;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use sufler::style::catalog::{Example, Need};
use sufler::style::{FixKind, RuleDef, StyleEngine};

fn engine() -> &'static StyleEngine {
    static ENGINE: OnceLock<StyleEngine> = OnceLock::new();
    ENGINE.get_or_init(|| StyleEngine::embedded().expect("the embedded style data loads"))
}

/// Runs one rule's examples; returns one line per failure.
pub fn run_examples(rule: &RuleDef, embedder: Option<&dyn sufler::Embedder>) -> Vec<String> {
    let engine = engine();
    let mut failures = Vec::new();
    let issues_of = |text: &str, ex: &Example| {
        let report = engine.check(text, &ex.context, embedder).expect("check runs");
        report.issues.into_iter().filter(|i| i.rule == rule.id).collect::<Vec<_>>()
    };
    for (n, ex) in rule.bad.iter().enumerate() {
        let (text, marked) = ex.unmarked();
        let issues = issues_of(&text, ex);
        let got: BTreeSet<(usize, usize)> = issues.iter().map(|i| (i.start, i.end)).collect();
        let want: BTreeSet<(usize, usize)> = marked.iter().copied().collect();
        if got != want {
            failures.push(format!("{} bad[{n}] {:?}: spans {got:?}, expected {want:?}", rule.id, ex.text));
        }
        if let (Some(expected), Some(first)) = (&ex.replacements, issues.first()) {
            if !first.replacements.starts_with(expected) {
                failures.push(format!(
                    "{} bad[{n}]: replacements {:?}, expected {expected:?}",
                    rule.id, first.replacements
                ));
            }
        }
        if rule.fix == FixKind::Auto {
            let Some(expected) = &ex.fixed else {
                failures.push(format!("{} bad[{n}]: an auto rule's example needs `fixed`", rule.id));
                continue;
            };
            let fixed = engine.fix_only(&text, &ex.context, &rule.id);
            if &fixed != expected {
                failures.push(format!("{} bad[{n}]: fixed to {fixed:?}, expected {expected:?}", rule.id));
            } else if !issues_of(&fixed, ex).iter().all(|i| i.replacements.is_empty()) {
                failures.push(format!("{} bad[{n}]: the fixed text {fixed:?} triggers the rule again", rule.id));
            }
        } else if ex.fixed.as_ref().is_some_and(|f| *f != text) {
            failures.push(format!("{} bad[{n}]: a {:?} rule cannot change the text", rule.id, rule.fix));
        }
    }
    for (n, ex) in rule.good.iter().enumerate() {
        let issues = issues_of(&ex.text, ex);
        if !issues.is_empty() {
            let spans: Vec<(usize, usize, &str)> =
                issues.iter().map(|i| (i.start, i.end, i.message.as_str())).collect();
            failures.push(format!("{} good[{n}] {:?}: reported {spans:?}", rule.id, ex.text));
        }
    }
    failures
}

#[test]
fn every_rule_example_passes() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for rule in engine().catalog().iter().filter(|r| !r.needs.contains(&Need::Encoder)) {
        if rule.needs.contains(&Need::Speller) && engine().speller().is_none() {
            panic!("rule {} needs hunspell-ru: install the hunspell-ru package (the setup step does)", rule.id);
        }
        failures.extend(run_examples(rule, None));
        ran += rule.bad.len() + rule.good.len();
    }
    assert!(ran >= 150, "only {ran} examples");
    assert!(failures.is_empty(), "{} example failures:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_rule_carries_examples_and_russian_text() {
    for rule in engine().catalog().iter() {
        assert!(rule.bad.len() >= 3 && rule.good.len() >= 3, "{}: needs ≥ 3 bad and ≥ 3 good examples", rule.id);
        for text in [&rule.message, &rule.title, &rule.explanation] {
            assert!(text.chars().any(|c| matches!(c, 'а'..='я')), "{}: operator text must be Russian: {text}", rule.id);
        }
        if rule.fix == FixKind::Auto {
            assert!(!rule.reason.is_empty(), "{}: auto rules report a reason with each edit", rule.id);
        }
    }
}

/// The rule table of ../shared/STYLE-RULES.md: (code, id, severity, fix).
fn spec_rules() -> Option<Vec<(String, String, String, String)>> {
    let spec = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/STYLE-RULES.md")).ok()?;
    let rows = spec.lines().filter_map(|line| {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let head = cells.get(1)?;
        let (code, id) = head.split_once(' ')?;
        let id = id.trim_matches('`');
        let first_word = |s: &str| s.split([' ', '/']).next().unwrap_or("").to_string();
        (code.len() == 2 && code.starts_with(|c: char| c.is_ascii_uppercase()) && cells.len() >= 5)
            .then(|| (code.to_string(), id.to_string(), first_word(cells[3]), first_word(cells[4])))
    });
    Some(rows.collect())
}

#[test]
fn catalog_matches_the_spec() {
    let Some(spec) = spec_rules() else {
        eprintln!("../shared/STYLE-RULES.md not found; skipping the comparison");
        return;
    };
    let catalog = engine().catalog();
    let mut codes = BTreeSet::new();
    for (code, id, severity, fix) in spec.iter().filter(|(code, ..)| code != "E3") {
        let rule = catalog.get(id).unwrap_or_else(|| panic!("rule {code} {id} of the spec is missing"));
        assert_eq!(&rule.code, code, "{id}");
        assert_eq!(rule.severity.as_str(), severity, "{id}: severity");
        assert_eq!(format!("{:?}", rule.fix).to_lowercase(), *fix, "{id}: fix kind");
        codes.insert(code.clone());
    }
    assert_eq!(codes.len(), 33, "A1–A9, B1–B5, C1–C9, D1–D8, E1–E2");
    assert_eq!(
        catalog.iter().count(),
        36,
        "the spec's rules, A10 `no-rudeness`, A11 `regret` (issue 18) and C10 `typos`"
    );
}

#[test]
fn answer_all_examples_pass_with_the_real_encoder() {
    let encoder = sufler::Encoder::from_dir(Some(&common::model_dir()), &sufler::EncoderOptions::default()).unwrap();
    let mut failures = Vec::new();
    for rule in engine().catalog().iter().filter(|r| r.needs.contains(&Need::Encoder)) {
        failures.extend(run_examples(rule, Some(&encoder)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_readme_rule_table_matches_the_catalog() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let rows: Vec<Vec<&str>> = readme
        .lines()
        .map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>())
        .filter(|cells| {
            let code = cells.first().map_or("", |c| *c).as_bytes();
            cells.len() == 5
                && (2..=3).contains(&code.len())
                && (b'A'..=b'E').contains(&code[0])
                && code[1..].iter().all(u8::is_ascii_digit)
        })
        .collect();
    let catalog: Vec<&RuleDef> = engine().catalog().iter().collect();
    assert_eq!(rows.len(), catalog.len(), "one README row per rule");
    for (row, rule) in rows.iter().zip(catalog) {
        let fix = format!("{:?}", rule.fix).to_lowercase();
        let id = format!("`{}`", rule.id);
        assert_eq!(
            row[..5],
            [rule.code.as_str(), id.as_str(), rule.severity.as_str(), fix.as_str(), rule.title.as_str()]
        );
    }
}
