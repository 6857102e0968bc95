//! The check set (`eval/sets/check-dev.jsonl`): drafts with the rules that must and must not
//! fire on them. It measures the checker alone — what it catches and what it leaves alone —
//! where the rewrite set measures the whole rewrite.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::input::{read_jsonl, Loaded};
use crate::encoder::Embedder;
use crate::error::Result;
use crate::report::{Bar, CaseView, Report, Section};
use crate::style::{Context, StyleEngine};

/// One draft with its expectations.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// What the case is about (English, for people).
    #[serde(default)]
    pub note: String,
    /// The operator's draft.
    pub text: String,
    /// The dialogue around it (as in the rewrite set).
    #[serde(default)]
    pub context: Context,
    /// Rule ids that must be reported.
    #[serde(default)]
    pub must: Vec<String>,
    /// Rule ids that must not be reported (false-alarm guards).
    #[serde(default)]
    pub must_not: Vec<String>,
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Every expectation met.
    pub passed: bool,
    /// `must` rules that did not fire.
    pub missed: Vec<String>,
    /// `must_not` rules that fired.
    pub false_alarms: Vec<String>,
    /// Every rule that fired.
    pub fired: Vec<String>,
    /// Time of the check, ms.
    pub millis: f64,
}

/// Reads a check set; a case naming a rule the catalog lacks, or with neither `must` nor
/// `must_not`, is left out with a warning.
pub fn load(path: &Path, engine: &StyleEngine) -> Result<Loaded<Case>> {
    let known: HashSet<&str> = engine.catalog().iter().map(|d| d.id.as_str()).collect();
    read_jsonl(
        path,
        |c: &Case| &c.id,
        |c| {
            crate::encoder::check_text(&c.text).map_err(|why| format!("текст не подходит: {why}"))?;
            if c.must.is_empty() && c.must_not.is_empty() {
                return Err("не указано ни must, ни must_not".into());
            }
            match c.must.iter().chain(&c.must_not).find(|r| !known.contains(r.as_str())) {
                Some(rule) => Err(format!("правила {rule:?} нет в каталоге (см. sufler rules)")),
                None => Ok(()),
            }
        },
    )
}

/// Checks every case; `progress(done, total)` after each.
pub fn run(
    engine: &StyleEngine,
    embedder: Option<&dyn Embedder>,
    cases: &[Case],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<CaseResult>> {
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let started = Instant::now();
        let report = engine.check(&case.text, &case.context, embedder)?;
        let millis = started.elapsed().as_secs_f64() * 1e3;
        let mut fired: Vec<String> = report.issues.iter().map(|i| i.rule.clone()).collect();
        fired.sort();
        fired.dedup();
        let missed: Vec<String> = case.must.iter().filter(|r| !fired.contains(r)).cloned().collect();
        let false_alarms: Vec<String> = case.must_not.iter().filter(|r| fired.contains(r)).cloned().collect();
        let passed = missed.is_empty() && false_alarms.is_empty();
        results.push(CaseResult { id: case.id.clone(), passed, missed, false_alarms, fired, millis });
        progress(i + 1, cases.len());
    }
    Ok(results)
}

/// The report of a run.
pub fn report(input: &str, cases: &[Case], results: &[CaseResult]) -> Report {
    let mut r = Report::new("eval-check", "Проверка черновиков: какие правила срабатывают", input);
    let share = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
    let musts: usize = cases.iter().map(|c| c.must.len()).sum();
    let must_nots: usize = cases.iter().map(|c| c.must_not.len()).sum();
    let missed: usize = results.iter().map(|r| r.missed.len()).sum();
    let alarms: usize = results.iter().map(|r| r.false_alarms.len()).sum();
    let passed = results.iter().filter(|r| r.passed).count();
    r.push_metric("pass_rate", "доля черновиков, где все ожидания выполнены", share(passed, results.len()), true);
    r.push_metric(
        "must_recall",
        "доля обязательных срабатываний, которые случились",
        share(musts - missed, musts),
        true,
    );
    r.push_metric("must_not_kept", "доля запретов, которые соблюдены", share(must_nots - alarms, must_nots), true);
    r.push_metric("cases", "черновиков", results.len() as f64, true);

    // Per rule: expected / caught / guarded / false alarms.
    let mut per_rule: BTreeMap<&str, [usize; 4]> = BTreeMap::new();
    for (case, result) in cases.iter().zip(results) {
        for rule in &case.must {
            let row = per_rule.entry(rule).or_default();
            row[0] += 1;
            row[1] += usize::from(!result.missed.contains(rule));
        }
        for rule in &case.must_not {
            let row = per_rule.entry(rule).or_default();
            row[2] += 1;
            row[3] += usize::from(result.false_alarms.contains(rule));
        }
    }
    r.sections.push(Section::Table {
        title: "По правилам".into(),
        columns: ["правило", "должно сработать", "сработало", "не должно", "ложные срабатывания"]
            .map(String::from)
            .to_vec(),
        rows: per_rule
            .iter()
            .map(|(rule, n)| {
                vec![rule.to_string(), n[0].to_string(), n[1].to_string(), n[2].to_string(), n[3].to_string()]
            })
            .collect(),
    });
    let mut fired: BTreeMap<&str, f64> = BTreeMap::new();
    for rule in results.iter().flat_map(|r| &r.fired) {
        *fired.entry(rule).or_default() += 1.0;
    }
    r.sections.push(Section::Bars {
        title: "Сколько раз сработало каждое правило".into(),
        x_label: "черновиков".into(),
        y_label: "правило".into(),
        bars: fired.into_iter().map(|(label, value)| Bar { label: label.into(), value }).collect(),
    });
    r.sections.push(Section::Histogram {
        title: "Время проверки одного черновика".into(),
        x_label: "мс".into(),
        values: results.iter().map(|r| r.millis).collect(),
        bins: 20,
    });
    r.sections.push(Section::Cases {
        title: "Черновики с невыполненными ожиданиями".into(),
        cases: cases
            .iter()
            .zip(results)
            .filter(|(_, r)| !r.passed)
            .map(|(c, res)| CaseView {
                id: c.id.clone(),
                summary: c.note.clone(),
                before: c.text.clone(),
                after: None,
                notes: res
                    .missed
                    .iter()
                    .map(|rule| format!("не сработало {rule}"))
                    .chain(res.false_alarms.iter().map(|rule| format!("сработало лишнее {rule}")))
                    .collect(),
            })
            .collect(),
    });
    r
}
