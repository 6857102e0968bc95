//! The rudeness set (`eval/sets/rude/`): rude drafts (obscene, disguised, insult, threat,
//! contempt, mild) and clean ones (ordinary, and traps: real words that contain an obscene
//! root). It measures rule A10 — recall per category, false alarms on the clean side — and the
//! rewrite's promise: a rude draft is never returned with a rude word in a rewritten text, nor
//! decorated with a softener.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::input::{read_jsonl, Loaded};
use crate::error::Result;
use crate::report::{CaseView, Report, Section};
use crate::style::{Context, StyleEngine};
use crate::text::fold;

/// One labelled text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// The draft.
    pub text: String,
    /// Whether it is rude.
    pub rude: bool,
    /// obscene | disguised | insult | threat | contempt | mild; clean | trap.
    pub category: String,
    /// Rude lines: the rude words or phrases as written; trap lines: the innocent look-alikes.
    #[serde(default)]
    pub spans: Vec<String>,
}

/// One case's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// A10 reported something.
    pub flagged: bool,
    /// The rewrite was refused as a whole.
    pub refused: bool,
    /// The rewritten text (when not refused).
    pub rewrite: Option<String>,
    /// What the rewrite got wrong: a listed rude span left in a rewritten text, a softener
    /// added next to one.
    pub rewrite_faults: Vec<String>,
}

/// Reads a set; a case whose span is not in its text is left out with a warning.
pub fn load(path: &Path) -> Result<Loaded<Case>> {
    read_jsonl(
        path,
        |c: &Case| &c.id,
        |c| {
            crate::encoder::check_text(&c.text).map_err(|why| format!("текст не подходит: {why}"))?;
            match c.spans.iter().find(|s| !c.text.contains(s.as_str())) {
                Some(s) => Err(format!("фрагмента {s:?} нет в тексте")),
                None => Ok(()),
            }
        },
    )
}

/// Checks and rewrites every case (no encoder: the rule and the refusal need none);
/// `progress(done, total)` after each.
pub fn run(engine: &StyleEngine, cases: &[Case], progress: &dyn Fn(usize, usize)) -> Result<Vec<CaseResult>> {
    let ctx = Context::default();
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let report = engine.check(&case.text, &ctx, None)?;
        let flagged = report.issues.iter().any(|i| i.rule == "no-rudeness");
        let rewrite = engine.rewrite(&case.text, &ctx, None)?;
        let refused = rewrite.withheld.iter().any(|e| e.rule == "no-rudeness" && e.after.is_empty());
        let mut faults = Vec::new();
        if case.rude && !refused {
            let out = fold(&rewrite.text);
            let left: Vec<&String> = case.spans.iter().filter(|s| out.contains(&fold(s))).collect();
            faults.extend(left.iter().map(|s| format!("в переписанном тексте осталось «{s}»")));
            let softeners = |t: &str| fold(t).matches("пожалуйста").count();
            if !left.is_empty() && softeners(&rewrite.text) > softeners(&case.text) {
                faults.push("к грубым словам добавлено «пожалуйста»".into());
            }
        }
        results.push(CaseResult {
            id: case.id.clone(),
            flagged,
            refused,
            rewrite: (!refused).then_some(rewrite.text),
            rewrite_faults: faults,
        });
        progress(i + 1, cases.len());
    }
    Ok(results)
}

/// The report of a run: recall per rude category, false alarms per clean category, rewrite faults.
pub fn report(input: &str, cases: &[Case], results: &[CaseResult]) -> Report {
    let mut r = Report::new("eval-rudeness", "Грубость: что правило A10 находит и что пропускает", input);
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut per: BTreeMap<(bool, &str), [usize; 2]> = BTreeMap::new();
    for (case, result) in cases.iter().zip(results) {
        let row = per.entry((case.rude, case.category.as_str())).or_default();
        row[0] += 1;
        row[1] += usize::from(result.flagged);
    }
    let total = |rude: bool| per.iter().filter(|((r, _), _)| *r == rude).fold([0, 0], |a, (_, n)| [a[0] + n[0], a[1] + n[1]]);
    let (rude, clean) = (total(true), total(false));
    let faults = results.iter().filter(|r| !r.rewrite_faults.is_empty()).count();
    r.push_metric("recall", "доля грубых черновиков, на которых сработало A10", share(rude[1], rude[0]), true);
    r.push_metric(
        "false_positive_rate",
        "доля чистых черновиков, на которых A10 сработало зря",
        share(clean[1], clean[0]),
        false,
    );
    r.push_metric("rude_cases", "грубых черновиков", rude[0] as f64, true);
    r.push_metric("clean_cases", "чистых черновиков", clean[0] as f64, true);
    r.push_metric("rewrite_faults", "грубых черновиков, испорченных переписыванием", faults as f64, false);
    r.sections.push(Section::Table {
        title: "По категориям".into(),
        columns: ["категория", "грубый", "черновиков", "сработало", "доля"].map(String::from).to_vec(),
        rows: per
            .iter()
            .map(|((rude, category), n)| {
                vec![
                    category.to_string(),
                    if *rude { "да" } else { "нет" }.to_string(),
                    n[0].to_string(),
                    n[1].to_string(),
                    format!("{:.3}", share(n[1], n[0])),
                ]
            })
            .collect(),
    });
    r.sections.push(Section::Cases {
        title: "Ошибки: пропущенная грубость, ложные срабатывания, испорченные переписывания".into(),
        cases: cases
            .iter()
            .zip(results)
            .filter(|(c, res)| c.rude != res.flagged || !res.rewrite_faults.is_empty())
            .map(|(c, res)| CaseView {
                id: c.id.clone(),
                summary: c.category.clone(),
                before: c.text.clone(),
                after: res.rewrite.clone(),
                notes: if c.rude && !res.flagged {
                    vec![format!("не сработало A10: {}", c.spans.join(", "))]
                } else if !c.rude && res.flagged {
                    vec!["A10 сработало на чистом тексте".into()]
                } else {
                    res.rewrite_faults.clone()
                },
            })
            .collect(),
    });
    r
}
