//! The rewrite dev set (`eval/sets/rewrite-dev.jsonl`): realistic operator drafts with the
//! properties a correct check and rewrite must have. Each case passes when every property holds:
//! the expected rules fire and the guarded ones do not, the rewrite contains and lacks what it
//! should, good drafts stay byte for byte, facts survive, and rewriting again changes nothing.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::encoder::Embedder;
use crate::error::{Error, Result};
use crate::style::lexicon::fold;
use crate::style::{Context, StyleEngine};

/// Expected properties of one case.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Rule ids the check must report.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Rule ids the check must not report.
    #[serde(default)]
    pub absent: Vec<String>,
    /// Case-sensitive substrings of the rewrite.
    #[serde(default)]
    pub rewrite_contains: Vec<String>,
    /// Case-insensitive whole words or phrases that must be gone from the rewrite.
    #[serde(default)]
    pub rewrite_excludes: Vec<String>,
    /// The rewrite equals the draft.
    #[serde(default)]
    pub unchanged: bool,
    /// Verbatim substrings that must survive.
    #[serde(default)]
    pub facts: Vec<String>,
}

/// One case of the set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// Business domain.
    #[serde(default)]
    pub domain: String,
    /// What the case is about.
    #[serde(default)]
    pub note: String,
    /// The operator's draft.
    pub draft: String,
    /// The dialogue around it.
    #[serde(default)]
    pub context: Context,
    /// Expected properties.
    pub expect: Expect,
}

/// The outcome of one case.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Every property held.
    pub passed: bool,
    /// What failed, one line each.
    pub failures: Vec<String>,
    /// The rewrite.
    pub rewrite: String,
    /// Draft ↔ rewrite similarity (with an encoder).
    pub similarity: Option<f32>,
    /// Rules whose edits the meaning guard withheld.
    pub withheld: Vec<String>,
}

/// The outcome of the whole set.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Number of cases.
    pub cases: usize,
    /// Cases that passed.
    pub passed: usize,
    /// passed / cases.
    pub pass_rate: f64,
    /// Per-case results.
    pub results: Vec<CaseResult>,
}

/// Reads a JSONL set; a bad line is reported with its number.
pub fn load(path: &Path) -> Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let case: Case = serde_json::from_str(line).map_err(|e| Error::dataset(path, i + 1, e.to_string()))?;
        cases.push(case);
    }
    if cases.is_empty() {
        return Err(Error::dataset(path, 0, "no cases"));
    }
    Ok(cases)
}

/// Whether `phrase` occurs in `text` as whole words, ignoring case (or, for non-word phrases
/// such as «!!!» or an emoji, as a substring).
fn has_phrase(text: &str, phrase: &str) -> bool {
    if !phrase.chars().any(char::is_alphanumeric) {
        return text.contains(phrase);
    }
    let (text, phrase) = (fold(text), fold(phrase));
    text.match_indices(&phrase).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + phrase.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
    })
}

/// Runs one case.
pub fn run_case(engine: &StyleEngine, embedder: Option<&dyn Embedder>, case: &Case) -> Result<CaseResult> {
    let mut failures = Vec::new();
    let check = engine.check(&case.draft, &case.context, embedder)?;
    let fired: Vec<&str> = check.issues.iter().map(|i| i.rule.as_str()).collect();
    for rule in &case.expect.rules {
        if !fired.contains(&rule.as_str()) {
            failures.push(format!("rule {rule} did not fire"));
        }
    }
    for rule in &case.expect.absent {
        if fired.contains(&rule.as_str()) {
            failures.push(format!("rule {rule} fired but must not"));
        }
    }
    let rewrite = engine.rewrite(&case.draft, &case.context, embedder)?;
    let text = &rewrite.text;
    for needle in &case.expect.rewrite_contains {
        if !text.contains(needle.as_str()) {
            failures.push(format!("rewrite lacks «{needle}»"));
        }
    }
    for phrase in &case.expect.rewrite_excludes {
        if has_phrase(text, phrase) {
            failures.push(format!("rewrite still has «{phrase}»"));
        }
    }
    if case.expect.unchanged && *text != case.draft {
        failures.push("a good draft was changed".into());
    }
    for fact in &case.expect.facts {
        if !text.contains(fact.as_str()) {
            failures.push(format!("fact «{fact}» lost"));
        }
    }
    let again = engine.rewrite(text, &case.context, embedder)?;
    if again.text != *text {
        failures.push(format!("not idempotent: second rewrite gave «{}»", again.text));
    }
    Ok(CaseResult {
        id: case.id.clone(),
        passed: failures.is_empty(),
        failures,
        similarity: rewrite.similarity,
        withheld: rewrite.withheld.iter().map(|e| e.rule.clone()).collect(),
        rewrite: rewrite.text,
    })
}

/// Runs every case; `progress(done, total)` is called after each.
pub fn run(
    engine: &StyleEngine,
    embedder: Option<&dyn Embedder>,
    cases: &[Case],
    progress: &dyn Fn(usize, usize),
) -> Result<Report> {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        results.push(run_case(engine, embedder, case)?);
        progress(i + 1, cases.len());
    }
    let passed = results.iter().filter(|r| r.passed).count();
    Ok(Report { cases: cases.len(), passed, pass_rate: passed as f64 / cases.len() as f64, results })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrases_match_whole_words_only() {
        assert!(has_phrase("Пришлите твой номер", "твой"));
        assert!(!has_phrase("Пришлите твойный номер", "твой"));
        assert!(has_phrase("Ура!!!", "!!!"));
        assert!(has_phrase("Щас проверю", "щас"));
    }
}
