//! The tone set (`eval/sets/tone-dev.jsonl`): messages with a tone label and/or a 0–100
//! politeness judged by a person, for the tone heads.

use std::path::Path;

use serde::Deserialize;

use super::input::{read_jsonl, Loaded};
use crate::encoder::Embedder;
use crate::error::Result;
use crate::report::{Bar, CaseView, Report, Section};
use crate::tone::{spearman, ToneLabel, ToneModel, ToneScore};

/// One message.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Unique id.
    pub id: String,
    /// The message.
    pub text: String,
    /// Its tone, if judged.
    #[serde(default)]
    pub label: Option<ToneLabel>,
    /// Its politeness 0–100, if judged.
    #[serde(default)]
    pub politeness: Option<f32>,
}

/// Reads a tone set; a case with neither label nor politeness, or a politeness outside 0–100,
/// is left out with a warning.
pub fn load(path: &Path) -> Result<Loaded<Case>> {
    read_jsonl(
        path,
        |c: &Case| &c.id,
        |c| {
            crate::encoder::check_text(&c.text).map_err(|why| format!("текст не подходит: {why}"))?;
            if c.label.is_none() && c.politeness.is_none() {
                return Err("не указано ни label, ни politeness".into());
            }
            match c.politeness {
                Some(p) if !(0.0..=100.0).contains(&p) => Err(format!("politeness {p} вне 0–100")),
                _ => Ok(()),
            }
        },
    )
}

/// Scores every case.
pub fn run(
    tone: &ToneModel,
    embedder: &dyn Embedder,
    cases: &[Case],
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<ToneScore>> {
    let mut scores = Vec::with_capacity(cases.len());
    for chunk in cases.chunks(64) {
        let texts: Vec<&str> = chunk.iter().map(|c| c.text.as_str()).collect();
        scores.extend(tone.score(embedder, &texts)?);
        progress(scores.len(), cases.len());
    }
    Ok(scores)
}

/// The report: accuracy and macro-F1 of the labels, Spearman of the politeness, the
/// confusion table, the predicted distribution and the misjudged messages.
pub fn report(input: &str, cases: &[Case], scores: &[ToneScore]) -> Report {
    let mut r = Report::new("eval-tone", "Тон сообщений", input);
    let labelled: Vec<(ToneLabel, ToneLabel)> =
        cases.iter().zip(scores).filter_map(|(c, s)| c.label.map(|l| (l, s.label))).collect();
    if !labelled.is_empty() {
        let right = labelled.iter().filter(|(t, p)| t == p).count();
        r.push_metric("accuracy", "доля верно определённого тона", right as f64 / labelled.len() as f64, true);
        let f1: Vec<f64> = ToneLabel::ALL
            .iter()
            .filter(|l| labelled.iter().any(|(t, _)| t == *l))
            .map(|l| {
                let tp = labelled.iter().filter(|(t, p)| t == l && p == l).count() as f64;
                let fp = labelled.iter().filter(|(t, p)| t != l && p == l).count() as f64;
                let fn_ = labelled.iter().filter(|(t, p)| t == l && p != l).count() as f64;
                if tp == 0.0 {
                    0.0
                } else {
                    2.0 * tp / (2.0 * tp + fp + fn_)
                }
            })
            .collect();
        r.push_metric("macro_f1", "макро-F1 по тонам", f1.iter().sum::<f64>() / f1.len() as f64, true);
        let mut rows = Vec::new();
        for truth in ToneLabel::ALL {
            let mut row = vec![truth.russian().to_string()];
            row.extend(
                ToneLabel::ALL
                    .iter()
                    .map(|p| labelled.iter().filter(|(t, q)| *t == truth && q == p).count().to_string()),
            );
            rows.push(row);
        }
        let mut columns = vec!["верный тон \\ определён".to_string()];
        columns.extend(ToneLabel::ALL.iter().map(|l| l.russian().to_string()));
        r.sections.push(Section::Table { title: "Матрица ошибок".into(), columns, rows });
    }
    let judged: Vec<(f64, f64)> = cases
        .iter()
        .zip(scores)
        .filter_map(|(c, s)| c.politeness.map(|p| (f64::from(p), f64::from(s.politeness))))
        .collect();
    if judged.len() >= 3 {
        let (human, ours): (Vec<f64>, Vec<f64>) = judged.into_iter().unzip();
        r.push_metric("politeness_spearman", "Спирмен вежливости с оценкой человека", spearman(&ours, &human), true);
    }
    r.push_metric("cases", "сообщений", cases.len() as f64, true);
    r.sections.push(Section::Bars {
        title: "Определённый тон".into(),
        x_label: "сообщений".into(),
        y_label: "тон".into(),
        bars: ToneLabel::ALL
            .iter()
            .map(|l| Bar { label: l.russian().into(), value: scores.iter().filter(|s| s.label == *l).count() as f64 })
            .collect(),
    });
    r.sections.push(Section::Cases {
        title: "Сообщения с неверно определённым тоном".into(),
        cases: cases
            .iter()
            .zip(scores)
            .filter(|(c, s)| c.label.is_some_and(|l| l != s.label))
            .map(|(c, s)| CaseView {
                id: c.id.clone(),
                summary: format!(
                    "ожидался {}, определён {} (вежливость {:.0})",
                    c.label.map_or("—", ToneLabel::russian),
                    s.label.russian(),
                    s.politeness
                ),
                before: c.text.clone(),
                after: None,
                notes: Vec::new(),
            })
            .collect(),
    });
    r
}
