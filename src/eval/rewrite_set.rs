//! The rewrite dev set (`eval/sets/rewrite-dev.jsonl`): realistic operator drafts with the
//! properties a correct check and rewrite must have. Each case passes when every property holds:
//! the expected rules fire and the guarded ones do not, the rewrite contains and lacks what it
//! should, good drafts stay byte for byte, facts survive, and rewriting again changes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::input::{read_jsonl, Loaded};
use crate::encoder::Embedder;
use crate::error::Result;
use crate::report::{CaseView, NamedValues, Section};
use crate::style::{Context, StyleEngine};
use crate::text::fold;
use crate::tone::{ToneLabel, ToneModel};

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
    /// Rules the check reported on the draft (one entry per finding).
    pub draft_rules: Vec<String>,
    /// Rules still reported on the rewrite.
    pub rewrite_rules: Vec<String>,
    /// Time of the check and the rewrite, ms.
    pub millis: f64,
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

/// Reads a JSONL set; a bad line is left out with a warning naming its number.
pub fn load(path: &Path) -> Result<Loaded<Case>> {
    read_jsonl(
        path,
        |c: &Case| &c.id,
        |c| crate::encoder::check_text(&c.draft).map_err(|why| format!("черновик: {why}")),
    )
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
    let started = Instant::now();
    let check = engine.check(&case.draft, &case.context, embedder)?;
    let fired: Vec<&str> = check.issues.iter().map(|i| i.rule.as_str()).collect();
    for rule in &case.expect.rules {
        if !fired.contains(&rule.as_str()) {
            failures.push(format!("не сработало {rule}"));
        }
    }
    for rule in &case.expect.absent {
        if fired.contains(&rule.as_str()) {
            failures.push(format!("сработало лишнее {rule}"));
        }
    }
    let rewrite = engine.rewrite(&case.draft, &case.context, embedder)?;
    let millis = started.elapsed().as_secs_f64() * 1e3;
    let text = &rewrite.text;
    for needle in &case.expect.rewrite_contains {
        // A word the rewrite moved to the head of a sentence is capitalised there.
        let capitalised = crate::text::words::capitalize(needle);
        if !text.contains(needle.as_str()) && !text.contains(capitalised.as_str()) {
            failures.push(format!("в переписанном тексте нет «{needle}»"));
        }
    }
    for phrase in &case.expect.rewrite_excludes {
        if has_phrase(text, phrase) {
            failures.push(format!("в переписанном тексте осталось «{phrase}»"));
        }
    }
    if case.expect.unchanged && *text != case.draft {
        failures.push("хороший черновик изменён".into());
    }
    for fact in &case.expect.facts {
        if !text.contains(fact.as_str()) {
            failures.push(format!("потерян факт «{fact}»"));
        }
    }
    let again = engine.rewrite(text, &case.context, embedder)?;
    if again.text != *text {
        failures.push(format!("повторное переписывание дало другой текст: «{}»", again.text));
    }
    Ok(CaseResult {
        id: case.id.clone(),
        passed: failures.is_empty(),
        failures,
        similarity: rewrite.similarity,
        withheld: rewrite.withheld.iter().map(|e| e.rule.clone()).collect(),
        draft_rules: check.issues.iter().map(|i| i.rule.clone()).collect(),
        rewrite_rules: rewrite.issues.iter().map(|i| i.rule.clone()).collect(),
        rewrite: rewrite.text,
        millis,
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

/// Adds the tone of the drafts and of their rewrites to `report`: the label distribution before
/// and after (a grouped bar plot) and the mean politeness of each.
pub fn add_tone(
    report: &mut crate::report::Report,
    tone: &ToneModel,
    embedder: &dyn Embedder,
    cases: &[Case],
    result: &Report,
) -> Result<()> {
    let drafts: Vec<&str> = cases.iter().map(|c| c.draft.as_str()).filter(|t| !t.trim().is_empty()).collect();
    let rewrites: Vec<&str> =
        result.results.iter().map(|r| r.rewrite.as_str()).filter(|t| !t.trim().is_empty()).collect();
    let mut series = Vec::new();
    for (name, id, texts) in
        [("черновики", "politeness_before", &drafts), ("после переписывания", "politeness_after", &rewrites)]
    {
        let mut scores = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(128) {
            scores.extend(tone.score(embedder, chunk)?);
        }
        let mean = scores.iter().map(|s| f64::from(s.politeness)).sum::<f64>() / scores.len().max(1) as f64;
        report.push_metric(id, &format!("средняя вежливость, {name} (0–100)"), mean, true);
        let values = ToneLabel::ALL.iter().map(|l| scores.iter().filter(|s| s.label == *l).count() as f64).collect();
        series.push(NamedValues { name: name.into(), values });
    }
    report.sections.insert(
        0,
        Section::GroupedBars {
            title: "Тон черновиков и их переписанных версий".into(),
            y_label: "сообщений".into(),
            categories: ToneLabel::ALL.iter().map(|l| l.russian().to_string()).collect(),
            series,
        },
    );
    Ok(())
}

/// Rules shown in the before / after plot.
const MOST_RULES_PLOTTED: usize = 12;

impl Report {
    /// The shared report form: pass rate, findings per rule before and after the rewrite, the
    /// time per case and the failing cases with their diffs.
    pub fn to_report(&self, input: &str, cases: &[Case]) -> crate::report::Report {
        let mut r = crate::report::Report::new("eval-rewrite", "Переписывание черновиков", input);
        r.push_metric("pass_rate", "доля черновиков, где все ожидания выполнены", self.pass_rate, true);
        r.push_metric("cases", "черновиков", self.cases as f64, true);
        let per_100 = |n: usize| n as f64 * 100.0 / self.cases.max(1) as f64;
        let before: usize = self.results.iter().map(|c| c.draft_rules.len()).sum();
        let after: usize = self.results.iter().map(|c| c.rewrite_rules.len()).sum();
        r.push_metric(
            "findings_per_100_before",
            "замечаний на 100 черновиков до переписывания",
            per_100(before),
            false,
        );
        r.push_metric(
            "findings_per_100_after",
            "замечаний на 100 черновиков после переписывания",
            per_100(after),
            false,
        );
        let mut by_rule: BTreeMap<&str, [f64; 2]> = BTreeMap::new();
        for c in &self.results {
            for rule in &c.draft_rules {
                by_rule.entry(rule).or_default()[0] += 1.0;
            }
            for rule in &c.rewrite_rules {
                by_rule.entry(rule).or_default()[1] += 1.0;
            }
        }
        // The rules with the most findings: a readable number of groups.
        let mut counts: Vec<(&str, [f64; 2])> = by_rule.into_iter().collect();
        counts.sort_by(|a, b| (b.1[0] + b.1[1]).total_cmp(&(a.1[0] + a.1[1])));
        counts.truncate(MOST_RULES_PLOTTED);
        r.sections.push(Section::GroupedBars {
            title: format!("Замечания по правилам до и после переписывания ({MOST_RULES_PLOTTED} самых частых)"),
            y_label: "замечаний".into(),
            categories: counts.iter().map(|(rule, _)| rule.to_string()).collect(),
            series: vec![
                NamedValues { name: "черновик".into(), values: counts.iter().map(|(_, v)| v[0]).collect() },
                NamedValues {
                    name: "после переписывания".into(), values: counts.iter().map(|(_, v)| v[1]).collect()
                },
            ],
        });
        r.sections.push(Section::Histogram {
            title: "Время проверки и переписывания одного черновика".into(),
            x_label: "мс".into(),
            values: self.results.iter().map(|c| c.millis).collect(),
            bins: 20,
        });
        // The drafts with the most findings, to read what the rewrite does to the worst ones.
        let mut worst: Vec<(&CaseResult, &Case)> =
            self.results.iter().zip(cases).filter(|(res, case)| res.rewrite != case.draft).collect();
        worst.sort_by_key(|(res, _)| std::cmp::Reverse(res.draft_rules.len()));
        r.sections.push(Section::Cases {
            title: "Самые слабые черновики и их переписанные версии".into(),
            cases: worst
                .into_iter()
                .take(10)
                .map(|(res, case)| CaseView {
                    id: res.id.clone(),
                    summary: format!(
                        "замечаний в черновике: {}, после: {}",
                        res.draft_rules.len(),
                        res.rewrite_rules.len()
                    ),
                    before: case.draft.clone(),
                    after: Some(res.rewrite.clone()),
                    notes: res.failures.clone(),
                })
                .collect(),
        });
        r.sections.push(Section::Cases {
            title: "Черновики с невыполненными ожиданиями".into(),
            cases: self
                .results
                .iter()
                .zip(cases)
                .filter(|(res, _)| !res.passed)
                .map(|(res, case)| CaseView {
                    id: res.id.clone(),
                    summary: case.note.clone(),
                    before: case.draft.clone(),
                    after: Some(res.rewrite.clone()),
                    notes: res.failures.clone(),
                })
                .collect(),
        });
        r
    }
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
