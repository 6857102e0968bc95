//! The rudeness set (`eval/sets/rude/`): rude drafts (obscene, disguised, insult, threat,
//! contempt, mild) and clean ones (ordinary, and traps: real words that contain an obscene
//! root). It measures rule A10 — recall per category, false alarms on the clean side — and the
//! rewrite's promise: a rude draft is never returned with a rude word in a rewritten text, nor
//! decorated with a softener. With the encoder and the tone heads it also measures A10's
//! learned half (the toxicity alarm) beside its word lists, and how well the tone's politeness
//! and toxicity separate rude from clean drafts (ROC-AUC).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::input::{read_jsonl, Loaded};
use crate::encoder::Embedder;
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
    /// A10's word lists alone reported something (the check without the encoder).
    pub flagged_by_words: bool,
    /// The draft's tone (with the encoder and the tone heads).
    pub tone: Option<crate::tone::ToneScore>,
    /// The rewrite was refused as a whole.
    pub refused: bool,
    /// The rewritten text (when not refused).
    pub rewrite: Option<String>,
    /// What the rewrite got wrong: a listed rude span left in a rewritten text that no longer
    /// reports A10, a softener added next to one.
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

/// Checks and rewrites every case, with `embedder` if given (then an engine with tone heads
/// also scores the tone and runs A10's learned half); `progress(done, total)` after each.
pub fn run(
    engine: &StyleEngine,
    embedder: Option<&dyn Embedder>,
    cases: &[Case],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<CaseResult>> {
    let ctx = Context::default();
    let a10 = |issues: &[crate::style::Issue]| issues.iter().any(|i| i.rule == "no-rudeness");
    let mut results = Vec::with_capacity(cases.len());
    for (i, case) in cases.iter().enumerate() {
        let by_words = engine.check(&case.text, &ctx, None)?;
        let report = if embedder.is_some() { engine.check(&case.text, &ctx, embedder)? } else { by_words.clone() };
        let rewrite = engine.rewrite(&case.text, &ctx, embedder)?;
        let refused = rewrite.withheld.iter().any(|e| e.rule == "no-rudeness" && e.after.is_empty());
        let mut faults = Vec::new();
        if case.rude && !refused {
            let out = fold(&rewrite.text);
            let left: Vec<&String> = case.spans.iter().filter(|s| out.contains(&fold(s))).collect();
            // A rewrite that still reports A10 hands the rudeness back to the operator (a sober
            // rewrite of a draft the tone model alarmed on); one that does not passes it off.
            if !a10(&rewrite.issues) {
                faults.extend(left.iter().map(|s| format!("в переписанном тексте осталось «{s}», A10 молчит")));
            }
            let softeners = |t: &str| fold(t).matches("пожалуйста").count();
            if !left.is_empty() && softeners(&rewrite.text) > softeners(&case.text) {
                faults.push("к грубым словам добавлено «пожалуйста»".into());
            }
        }
        results.push(CaseResult {
            id: case.id.clone(),
            flagged: a10(&report.issues),
            flagged_by_words: a10(&by_words.issues),
            tone: report.tone,
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
    let scored = results.iter().all(|r| r.tone.is_some()) && !results.is_empty();
    // Per category: cases, flagged by A10, flagged by its word lists, labelled rude by the tone.
    let mut per: BTreeMap<(bool, &str), [usize; 4]> = BTreeMap::new();
    for (case, result) in cases.iter().zip(results) {
        let row = per.entry((case.rude, case.category.as_str())).or_default();
        row[0] += 1;
        row[1] += usize::from(result.flagged);
        row[2] += usize::from(result.flagged_by_words);
        row[3] += usize::from(result.tone.as_ref().is_some_and(|t| t.label == crate::tone::ToneLabel::Rude));
    }
    let total = |rude: bool| {
        per.iter().filter(|((r, _), _)| *r == rude).fold([0; 4], |a, (_, n)| std::array::from_fn(|k| a[k] + n[k]))
    };
    let (rude, clean) = (total(true), total(false));
    let faults = results.iter().filter(|r| !r.rewrite_faults.is_empty()).count();
    // (id, label, value, higher is better); the learned half's figures only with the tone.
    let mut metrics = vec![
        ("recall", "доля грубых черновиков, на которых сработало A10", share(rude[1], rude[0]), true),
        (
            "false_positive_rate",
            "доля чистых черновиков, на которых A10 сработало зря",
            share(clean[1], clean[0]),
            false,
        ),
    ];
    if scored {
        let side = |rude: bool, value: fn(&crate::tone::ToneScore) -> f32| -> Vec<f32> {
            cases
                .iter()
                .zip(results)
                .filter(|(c, _)| c.rude == rude)
                .filter_map(|(_, r)| r.tone.as_ref().map(value))
                .collect()
        };
        // Politeness ranks clean above rude; toxicity ranks rude above clean.
        let auc_politeness = crate::tone::roc_auc(&side(false, |t| t.politeness), &side(true, |t| t.politeness));
        let auc_toxicity = crate::tone::roc_auc(&side(true, |t| t.toxicity), &side(false, |t| t.toxicity));
        metrics.extend([
            ("recall_words", "то же, только словари A10 (без модели)", share(rude[2], rude[0]), true),
            (
                "false_positive_rate_words",
                "ложные срабатывания словарей A10 (без модели)",
                share(clean[2], clean[0]),
                false,
            ),
            ("politeness_auc", "ROC-AUC вежливости: чистые выше грубых", auc_politeness, true),
            ("toxicity_auc", "ROC-AUC токсичности: грубые выше чистых", auc_toxicity, true),
            ("tone_rude_recall", "доля грубых черновиков с тоном «грубый»", share(rude[3], rude[0]), true),
            (
                "tone_rude_false_positive_rate",
                "доля чистых черновиков с тоном «грубый»",
                share(clean[3], clean[0]),
                false,
            ),
        ]);
    }
    for (id, label, value, higher) in metrics {
        r.push_metric(id, label, value, higher);
    }
    r.push_metric("rude_cases", "грубых черновиков", rude[0] as f64, true);
    r.push_metric("clean_cases", "чистых черновиков", clean[0] as f64, true);
    r.push_metric("rewrite_faults", "грубых черновиков, испорченных переписыванием", faults as f64, false);
    r.sections.push(Section::Table {
        title: "По категориям".into(),
        columns: ["категория", "грубый", "черновиков", "сработало A10", "доля", "словари", "тон «грубый»"]
            .map(String::from)
            .to_vec(),
        rows: per
            .iter()
            .map(|((rude, category), n)| {
                let optional = |k: usize| if scored { format!("{:.3}", share(n[k], n[0])) } else { "—".into() };
                vec![
                    category.to_string(),
                    if *rude { "да" } else { "нет" }.to_string(),
                    n[0].to_string(),
                    n[1].to_string(),
                    format!("{:.3}", share(n[1], n[0])),
                    optional(2),
                    optional(3),
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
                    std::iter::once(format!("не сработало A10: {}", c.spans.join(", ")))
                        .chain(res.rewrite_faults.iter().cloned())
                        .collect()
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
