//! `sufler eval external`: every external benchmark in the shared data directory in one run,
//! with the published or baseline figure beside sufler's. A data set that is missing is a
//! warning; the others still run.

use std::path::Path;

use crate::encoder::Embedder;
use crate::error::Result;
use crate::report::{InputWarning, Report, Section};
use crate::style::{Context, StyleEngine};
use crate::tone::ToneModel;

use super::{encodechka, formality, tydip};

/// Folder names inside the data directory.
pub const ENCODECHKA_DIR: &str = "encodechka-intents";
/// IWSLT 2022 formality pairs.
pub const IWSLT_DIR: &str = "iwslt2022-formality-ru";
/// TyDiP ru.
pub const TYDIP_DIR: &str = "tydip-ru";
/// chrF of copying the informal input, as published with the IWSLT 2022 data.
pub const IWSLT_COPY_CHRF: f64 = 88.1;

/// Runs what `data` holds; `progress(what)` names each benchmark as it starts.
pub fn run(
    embedder: &dyn Embedder,
    engine: &StyleEngine,
    tone: Option<&ToneModel>,
    data: &Path,
    progress: &dyn Fn(&str),
) -> Result<Report> {
    let mut report = Report::new(
        "eval-external",
        "Внешние наборы: sufler рядом с опубликованными цифрами",
        &data.display().to_string(),
    );
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut warnings = Vec::new();

    let dir = data.join(ENCODECHKA_DIR);
    if dir.is_dir() {
        progress("encodechka");
        let r = encodechka::run(embedder, &dir, &|_, _| ())?;
        rows.push(row(
            "encodechka intents",
            "точность (логистическая регрессия)",
            r.accuracy,
            "опубликовано для e5-small",
            r.published,
        ));
        report.push_metric("encodechka_accuracy", "encodechka: точность", r.accuracy, true);
    } else {
        missing(&mut rows, &mut warnings, "encodechka intents", format!("нет каталога {}", dir.display()));
    }

    let dir = data.join(IWSLT_DIR);
    if dir.is_dir() {
        progress("IWSLT 2022");
        let r = formality::evaluate(&dir, |informal| engine.fix_only(informal, &Context::default(), "polite-you"))
            .map_err(|e| crate::error::Error::io(&dir, e))?;
        rows.push(row("IWSLT 2022 формальность", "точное совпадение", r.exact_match, "копия входа", 0.0));
        rows.push(row("IWSLT 2022 формальность", "chrF", r.chrf, "копия входа (опубликовано)", IWSLT_COPY_CHRF));
        report.push_metric("iwslt_exact_match", "IWSLT: точное совпадение", r.exact_match, true);
        report.push_metric("iwslt_chrf", "IWSLT: chrF", r.chrf, true);
    } else {
        missing(&mut rows, &mut warnings, "IWSLT 2022", format!("нет каталога {}", dir.display()));
    }

    let dir = data.join(TYDIP_DIR);
    match (dir.is_dir(), tone) {
        (true, Some(tone)) => {
            progress("TyDiP");
            let r = tydip::run(embedder, tone, &dir)?;
            rows.push(row(
                "TyDiP ru вежливость",
                "Спирмен с оценкой людей",
                r.spearman,
                "словарь маркеров вежливости",
                r.lexicon_spearman,
            ));
            rows.push(vec![
                "TyDiP ru вежливость".into(),
                "для масштаба".into(),
                String::new(),
                format!(
                    "ridge на самом TyDiP {:.2}; классификатор формальности {:.2}",
                    tydip::RIDGE_ON_TYDIP_CV,
                    tydip::FORMALITY_CLASSIFIER
                ),
            ]);
            report.push_metric("tydip_spearman", "TyDiP: Спирмен", r.spearman, true);
            report.push_metric("tydip_lexicon_spearman", "TyDiP: Спирмен словаря", r.lexicon_spearman, true);
        }
        (false, _) => missing(&mut rows, &mut warnings, "TyDiP ru", format!("нет каталога {}", dir.display())),
        (true, None) => missing(
            &mut rows,
            &mut warnings,
            "TyDiP ru",
            "нет весов тона: обучите их командой sufler train-tone".into(),
        ),
    }

    report.warnings = warnings.into_iter().map(|message| InputWarning { line: 0, message }).collect();
    report.sections.push(Section::Table {
        title: "Результаты".into(),
        columns: ["набор", "метрика", "sufler", "для сравнения"].map(String::from).to_vec(),
        rows,
    });
    Ok(report)
}

fn row(set: &str, metric: &str, ours: f64, what: &str, theirs: f64) -> Vec<String> {
    vec![set.into(), metric.into(), format!("{ours:.4}"), format!("{what}: {theirs:.4}")]
}

/// A benchmark that could not run: a table row and a warning.
fn missing(rows: &mut Vec<Vec<String>>, warnings: &mut Vec<String>, set: &str, why: String) {
    rows.push(vec![set.into(), "не запускался".into(), String::new(), why.clone()]);
    warnings.push(format!("{set}: {why}"));
}
