//! TyDiP ru (`ru_test.csv`: `sentence,score`, higher = more polite): Spearman correlation of
//! sufler's politeness score with the human score, beside a lexicon baseline (the count of
//! politeness markers, the same list the score uses as one feature). Nothing here trains on
//! TyDiP: it is a test set.

use std::path::Path;

use crate::encoder::Embedder;
use crate::error::{Error, Result};
use crate::tone::{spearman, ToneModel};

/// Figures quoted by the issue for scale (measured by its author on this data).
pub const RIDGE_ON_TYDIP_CV: f64 = 0.43;
/// A formal-vs-informal classifier trained on IWSLT, as quoted by the issue.
pub const FORMALITY_CLASSIFIER: f64 = 0.18;

/// The result.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TydipReport {
    /// Sentences scored.
    pub sentences: usize,
    /// Spearman of sufler's politeness score with the human score.
    pub spearman: f64,
    /// Spearman of the marker count with the human score.
    pub lexicon_spearman: f64,
}

/// Reads `dir/ru_test.csv`.
pub fn read(dir: &Path) -> Result<Vec<(String, f64)>> {
    let path = dir.join("ru_test.csv");
    let mut reader = csv::Reader::from_path(&path).map_err(|e| Error::dataset(&path, 0, e.to_string()))?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| Error::dataset(&path, i + 2, e.to_string()))?;
        let (Some(sentence), Some(score)) = (record.get(0), record.get(1).and_then(|s| s.trim().parse::<f64>().ok()))
        else {
            return Err(Error::dataset(&path, i + 2, "expected sentence,score"));
        };
        rows.push((sentence.to_string(), score));
    }
    if rows.len() < 3 {
        return Err(Error::dataset(&path, 0, "fewer than 3 rows"));
    }
    Ok(rows)
}

/// Scores every sentence of `dir` and correlates.
pub fn run(embedder: &dyn Embedder, tone: &ToneModel, dir: &Path) -> Result<TydipReport> {
    let rows = read(dir)?;
    let human: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let texts: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    let mut scores = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(128) {
        scores.extend(tone.score(embedder, chunk)?.into_iter().map(|s| f64::from(s.politeness)));
    }
    let lexicon: Vec<f64> = texts.iter().map(|t| tone.marker_count(t) as f64).collect();
    Ok(TydipReport {
        sentences: rows.len(),
        spearman: spearman(&scores, &human),
        lexicon_spearman: spearman(&lexicon, &human),
    })
}
