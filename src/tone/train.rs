//! Training the tone heads from `prompts/tone/` (and, optionally, the IWSLT formality pairs).
//!
//! Both heads are small linear models over 384-dimensional embeddings; the solvers are written
//! here (a Cholesky solve and batch gradient descent, ~40 lines) because the weights have to be
//! plain tensors we save ourselves, and the problem sizes (a few hundred to two thousand rows)
//! need nothing more.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::{marker_count, roc_auc, softmax, ToneLabel, ToneModel};
use crate::encoder::{Embedder, TextKind};
use crate::error::{Error, Result};

/// Ridge strength of the pairwise politeness regression (on unit-norm embeddings).
const RIDGE: f64 = 1.0;
/// Weight of the standardised marker count beside the standardised projection.
const MARKER_WEIGHT: f32 = 0.3;
/// L2 strength, steps and step size of the label head's gradient descent.
const LABEL_L2: f32 = 1e-3;
const LABEL_STEPS: usize = 400;
const LABEL_RATE: f32 = 0.5;
/// L2 strength of the toxicity head (stronger than the label head's: its data is written by a
/// few hands, and a wider margin held better on the held-out rude set).
const TOXIC_L2: f32 = 0.03;
/// Share of clean training messages the toxicity alarm may fire on in cross-validation.
const TOXIC_FALSE_ALARMS: f64 = 0.01;
/// Folds of the cross-validation reported in the model card.
const FOLDS: usize = 5;

/// The training data.
#[derive(Debug, Clone, Default)]
pub struct ToneData {
    /// (impolite, polite) versions of the same message.
    pub pairs: Vec<(String, String)>,
    /// Factual messages.
    pub neutral: Vec<String>,
    /// Colloquial messages.
    pub informal: Vec<String>,
    /// Extra (informal «ты», formal «вы») pairs, e.g. IWSLT 2022.
    pub formality: Vec<(String, String)>,
    /// Politeness marker stems.
    pub markers: Vec<String>,
    /// Messages labelled rude (true) or clean (false), for the toxicity head.
    pub toxic: Vec<(String, bool)>,
    /// SHA-256 over every input, to know when the weights are stale.
    pub sha256: String,
}

fn lines(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from).collect())
}

impl ToneData {
    /// Reads `dir` (politeness-pairs.tsv, neutral.txt, informal.txt, markers.txt, toxic*.tsv),
    /// the optional formality pairs and extra rude/clean messages (e.g. the rudeness set's dev
    /// split).
    pub fn load(dir: &Path, formality: Vec<(String, String)>, extra_toxic: Vec<(String, bool)>) -> Result<ToneData> {
        let pairs_path = dir.join("politeness-pairs.tsv");
        let mut pairs = Vec::new();
        for (i, line) in lines(&pairs_path)?.into_iter().enumerate().skip(1) {
            let Some((impolite, polite)) = line.split_once('\t') else {
                return Err(Error::dataset(&pairs_path, 0, format!("pair {}: expected two tab-separated texts", i)));
            };
            pairs.push((impolite.trim().to_string(), polite.trim().to_string()));
        }
        // Every `toxic*.tsv` in the folder, in name order (one file per batch of lines written).
        let mut toxic_paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| Error::io(dir, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("toxic") && n.ends_with(".tsv"))
            })
            .collect();
        toxic_paths.sort();
        let toxic_path = dir.join("toxic*.tsv");
        let mut toxic = Vec::new();
        for path in &toxic_paths {
            for (i, line) in lines(path)?.into_iter().enumerate().skip(1) {
                let rude = match line.split_once('\t') {
                    Some(("rude", text)) => (text.trim().to_string(), true),
                    Some(("clean", text)) => (text.trim().to_string(), false),
                    _ => return Err(Error::dataset(path, 0, format!("line {i}: expected rude|clean, a tab, a text"))),
                };
                toxic.push(rude);
            }
        }
        toxic.extend(extra_toxic);
        let data = ToneData {
            pairs,
            neutral: lines(&dir.join("neutral.txt"))?,
            informal: lines(&dir.join("informal.txt"))?,
            markers: lines(&dir.join("markers.txt"))?.into_iter().map(|m| m.to_lowercase()).collect(),
            formality,
            toxic,
            sha256: String::new(),
        };
        let rude = data.toxic.iter().filter(|(_, r)| *r).count();
        if data.pairs.len() < 20 || data.neutral.is_empty() || data.informal.is_empty() {
            return Err(Error::dataset(dir, 0, "too little tone data (≥ 20 pairs, neutral and informal lines)"));
        }
        if rude < 20 || data.toxic.len() - rude < 20 {
            return Err(Error::dataset(&toxic_path, 0, "too little toxicity data (≥ 20 rude and 20 clean messages)"));
        }
        let mut hash = Sha256::new();
        for (a, b) in data.pairs.iter().chain(&data.formality) {
            hash.update(a.as_bytes());
            hash.update(b"\t");
            hash.update(b.as_bytes());
            hash.update(b"\n");
        }
        for line in data.neutral.iter().chain(&data.informal).chain(&data.markers) {
            hash.update(line.as_bytes());
            hash.update(b"\n");
        }
        for (text, rude) in &data.toxic {
            hash.update(if *rude { "rude\t" } else { "clean\t" }.as_bytes());
            hash.update(text.as_bytes());
            hash.update(b"\n");
        }
        let sha256 = format!("{:x}", hash.finalize());
        Ok(ToneData { sha256, ..data })
    }

    /// Labelled texts of the label head.
    fn labelled(&self) -> Vec<(&str, ToneLabel)> {
        let mut out: Vec<(&str, ToneLabel)> = Vec::new();
        for (impolite, polite) in &self.pairs {
            out.push((impolite, ToneLabel::Rude));
            out.push((polite, ToneLabel::Formal));
        }
        out.extend(self.neutral.iter().map(|t| (t.as_str(), ToneLabel::Neutral)));
        out.extend(self.informal.iter().map(|t| (t.as_str(), ToneLabel::Informal)));
        for (informal, formal) in &self.formality {
            out.push((informal, ToneLabel::Informal));
            out.push((formal, ToneLabel::Formal));
        }
        out
    }
}

/// What training measured (cross-validated on the training data only).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainReport {
    /// Politeness pairs.
    pub pairs: usize,
    /// Texts of the label head, per label.
    pub labelled: Vec<(String, usize)>,
    /// Share of held-out pairs whose polite side scores higher.
    pub pair_accuracy_cv: f64,
    /// Label accuracy on held-out texts.
    pub label_accuracy_cv: f64,
    /// Macro-F1 of the labels on held-out texts.
    pub label_macro_f1_cv: f64,
    /// Messages of the toxicity head: (rude, clean).
    pub toxic: (usize, usize),
    /// ROC-AUC of the toxicity on held-out messages.
    pub toxic_auc_cv: f64,
    /// Share of held-out rude messages over the alarm threshold.
    pub toxic_recall_cv: f64,
    /// Share of held-out clean messages over it.
    pub toxic_false_alarms_cv: f64,
}

fn embed_all(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut out = Vec::with_capacity(texts.len());
    for chunk in texts.chunks(128) {
        out.extend(embedder.embed(chunk, TextKind::Query)?);
    }
    Ok(out)
}

/// Trains both heads on `data`.
pub fn train(data: &ToneData, embedder: &dyn Embedder) -> Result<(ToneModel, TrainReport)> {
    let dim = embedder.dim();
    let impolite: Vec<&str> = data.pairs.iter().map(|p| p.0.as_str()).collect();
    let polite: Vec<&str> = data.pairs.iter().map(|p| p.1.as_str()).collect();
    let (bad, good) = (embed_all(embedder, &impolite)?, embed_all(embedder, &polite)?);
    let labelled = data.labelled();
    let texts: Vec<&str> = labelled.iter().map(|(t, _)| *t).collect();
    // The toxicity head: its own messages, and the tone texts that are clean whatever their
    // register (neutral, informal, the polite sides of the pairs) — without them chatty «ты»
    // reads as rude, since so much rude text is chatty.
    let toxic: Vec<(&str, bool)> = data
        .toxic
        .iter()
        .map(|(t, rude)| (t.as_str(), *rude))
        .chain(data.neutral.iter().chain(&data.informal).map(|t| (t.as_str(), false)))
        .chain(polite.iter().map(|t| (*t, false)))
        .collect();
    let toxic_texts: Vec<&str> = toxic.iter().map(|(t, _)| *t).collect();
    let tx = embed_all(embedder, &toxic_texts)?;
    let ty: Vec<usize> = toxic.iter().map(|(_, rude)| usize::from(*rude)).collect();
    let x = embed_all(embedder, &texts)?;
    let y: Vec<usize> = labelled.iter().map(|(_, l)| l.index()).collect();

    // Cross-validation on the training data: folds by pair and by text.
    let mut pairs_right = 0usize;
    for fold in 0..FOLDS {
        let train: Vec<usize> = (0..bad.len()).filter(|i| i % FOLDS != fold).collect();
        let w = pairwise_ridge(&bad, &good, &train, dim);
        pairs_right +=
            (0..bad.len()).filter(|i| i % FOLDS == fold).filter(|&i| dot(&w, &good[i]) > dot(&w, &bad[i])).count();
    }
    let mut predicted = vec![0usize; x.len()];
    for fold in 0..FOLDS {
        let train: Vec<usize> = (0..x.len()).filter(|i| i % FOLDS != fold).collect();
        let (w, b) = softmax_regression(&x, &y, &train, dim, 4, LABEL_L2);
        for i in (0..x.len()).filter(|i| i % FOLDS == fold) {
            predicted[i] = argmax(&logits(&w, &b, &x[i], dim));
        }
    }
    let mut toxic_cv = vec![0f32; tx.len()];
    for fold in 0..FOLDS {
        let train: Vec<usize> = (0..tx.len()).filter(|i| i % FOLDS != fold).collect();
        let (w, b) = toxic_head(&tx, &ty, &train, dim);
        for i in (0..tx.len()).filter(|i| i % FOLDS == fold) {
            toxic_cv[i] = dot(&w, &tx[i]) + b;
        }
    }
    let (rude_cv, clean_cv): (Vec<f32>, Vec<f32>) = {
        let pick = |r: usize| ty.iter().zip(&toxic_cv).filter(|(y, _)| **y == r).map(|(_, s)| *s).collect::<Vec<f32>>();
        (pick(1), pick(0))
    };
    let toxic_threshold = quantile(&clean_cv, 1.0 - TOXIC_FALSE_ALARMS);
    let over = |v: &[f32]| v.iter().filter(|&&s| s >= toxic_threshold).count() as f64 / v.len().max(1) as f64;

    let all_pairs: Vec<usize> = (0..bad.len()).collect();
    let politeness = pairwise_ridge(&bad, &good, &all_pairs, dim);
    let train_texts: Vec<&str> = impolite.iter().chain(&polite).copied().collect();
    let projections: Vec<f32> = bad.iter().chain(&good).map(|e| dot(&politeness, e)).collect();
    let counts: Vec<f32> = train_texts.iter().map(|t| marker_count(&data.markers, t) as f32).collect();
    let all_texts: Vec<usize> = (0..x.len()).collect();
    let (label_weights, label_bias) = softmax_regression(&x, &y, &all_texts, dim, 4, LABEL_L2);
    let label_bias = [label_bias[0], label_bias[1], label_bias[2], label_bias[3]];
    let (toxic_weights, toxic_bias) = toxic_head(&tx, &ty, &(0..tx.len()).collect::<Vec<_>>(), dim);

    let mut metadata = HashMap::new();
    metadata.insert("data_sha256".to_string(), data.sha256.clone());
    metadata.insert("model_id".to_string(), embedder.model_id().to_string());
    let model = ToneModel {
        dim,
        politeness,
        projection_scale: mean_std(&projections),
        marker_scale: mean_std(&counts),
        marker_weight: MARKER_WEIGHT,
        markers: data.markers.clone(),
        label_weights,
        label_bias,
        toxic_weights,
        toxic_bias,
        toxic_threshold,
        metadata,
    };
    let report = TrainReport {
        pairs: data.pairs.len(),
        labelled: ToneLabel::ALL
            .iter()
            .map(|l| (l.as_str().to_string(), y.iter().filter(|&&k| k == l.index()).count()))
            .collect(),
        pair_accuracy_cv: pairs_right as f64 / bad.len() as f64,
        label_accuracy_cv: predicted.iter().zip(&y).filter(|(p, t)| p == t).count() as f64 / y.len() as f64,
        label_macro_f1_cv: macro_f1(&predicted, &y),
        toxic: (rude_cv.len(), clean_cv.len()),
        toxic_auc_cv: roc_auc(&rude_cv, &clean_cv),
        toxic_recall_cv: over(&rude_cv),
        toxic_false_alarms_cv: over(&clean_cv),
    };
    Ok((model, report))
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn mean_std(v: &[f32]) -> (f32, f32) {
    let n = v.len().max(1) as f32;
    let mean = v.iter().sum::<f32>() / n;
    let std = (v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / n).sqrt();
    (mean, if std > 1e-6 { std } else { 1.0 })
}

/// Ridge regression of ±1 on ±(polite − impolite) over the pairs `rows`: the direction that
/// ranks each polite version above its impolite twin. With X = [D; −D], y = [1; −1], the
/// normal equations reduce to (2·DᵀD + λI)·w = 2·Σ D.
fn pairwise_ridge(bad: &[Vec<f32>], good: &[Vec<f32>], rows: &[usize], dim: usize) -> Vec<f32> {
    let mut gram = vec![0f64; dim * dim];
    let mut rhs = vec![0f64; dim];
    for &i in rows {
        let d: Vec<f64> = good[i].iter().zip(&bad[i]).map(|(g, b)| f64::from(g - b)).collect();
        for r in 0..dim {
            rhs[r] += 2.0 * d[r];
            for c in 0..=r {
                gram[r * dim + c] += 2.0 * d[r] * d[c];
            }
        }
    }
    for r in 0..dim {
        gram[r * dim + r] += RIDGE;
        for c in 0..r {
            gram[c * dim + r] = gram[r * dim + c];
        }
    }
    cholesky_solve(&mut gram, &mut rhs, dim);
    rhs.into_iter().map(|v| v as f32).collect()
}

/// Solves A·x = b in place for a symmetric positive definite A (row-major n × n); x in `b`.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], n: usize) {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        let d = d.max(1e-12).sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= a[i * n + k] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= a[k * n + i] * b[k];
        }
        b[i] = s / a[i * n + i];
    }
}

fn logits(w: &[f32], b: &[f32], x: &[f32], dim: usize) -> Vec<f32> {
    b.iter().enumerate().map(|(k, bk)| dot(&w[k * dim..(k + 1) * dim], x) + bk).collect()
}

fn argmax(v: &[f32]) -> usize {
    (0..v.len()).max_by(|&a, &b| v[a].total_cmp(&v[b])).unwrap_or(0)
}

/// The toxicity head: a two-class softmax regression (clean 0, rude 1) folded into one logit.
fn toxic_head(x: &[Vec<f32>], y: &[usize], rows: &[usize], dim: usize) -> (Vec<f32>, f32) {
    let (w, b) = softmax_regression(x, y, rows, dim, 2, TOXIC_L2);
    let weights = w[dim..].iter().zip(&w[..dim]).map(|(rude, clean)| rude - clean).collect();
    (weights, b[1] - b[0])
}

/// The value below which `share` of `v` lies (nearest rank).
fn quantile(v: &[f32], share: f64) -> f32 {
    let mut sorted = v.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = ((share * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied().unwrap_or(0.0)
}

/// Multinomial logistic regression over `classes` by batch gradient descent on standardised
/// features, classes weighted by inverse frequency (the IWSLT pairs would otherwise swamp the
/// rude and neutral lines); the standardisation is folded back into the returned weights.
fn softmax_regression(
    x: &[Vec<f32>],
    y: &[usize],
    rows: &[usize],
    dim: usize,
    classes: usize,
    l2: f32,
) -> (Vec<f32>, Vec<f32>) {
    let n = rows.len().max(1) as f32;
    let mut mean = vec![0f32; dim];
    for &i in rows {
        for (m, v) in mean.iter_mut().zip(&x[i]) {
            *m += v / n;
        }
    }
    let mut std = vec![0f32; dim];
    for &i in rows {
        for ((s, v), m) in std.iter_mut().zip(&x[i]).zip(&mean) {
            *s += (v - m).powi(2) / n;
        }
    }
    let std: Vec<f32> = std.into_iter().map(|s| s.sqrt().max(1e-6)).collect();
    let z: Vec<Vec<f32>> =
        rows.iter().map(|&i| x[i].iter().zip(&mean).zip(&std).map(|((v, m), s)| (v - m) / s).collect()).collect();
    let mut count = vec![0f32; classes];
    for &i in rows {
        count[y[i]] += 1.0;
    }
    let class_weight: Vec<f32> = count.iter().map(|&c| if c > 0.0 { n / (classes as f32 * c) } else { 0.0 }).collect();
    let (mut w, mut b) = (vec![0f32; classes * dim], vec![0f32; classes]);
    for _ in 0..LABEL_STEPS {
        let mut grad_w = vec![0f32; classes * dim];
        let mut grad_b = vec![0f32; classes];
        for (zi, &i) in z.iter().zip(rows) {
            let p = softmax(&logits(&w, &b, zi, dim));
            let weight = class_weight[y[i]] / n;
            for k in 0..classes {
                let g = weight * (p[k] - f32::from(u8::from(k == y[i])));
                grad_b[k] += g;
                for (gw, v) in grad_w[k * dim..(k + 1) * dim].iter_mut().zip(zi) {
                    *gw += g * v;
                }
            }
        }
        for (wi, gi) in w.iter_mut().zip(&grad_w) {
            *wi -= LABEL_RATE * (gi + l2 * *wi);
        }
        for (bk, gk) in b.iter_mut().zip(&grad_b) {
            *bk -= LABEL_RATE * gk;
        }
    }
    // w·(x − m)/s + b = (w/s)·x + (b − Σ w·m/s).
    for k in 0..classes {
        for d in 0..dim {
            let wk = w[k * dim + d] / std[d];
            b[k] -= wk * mean[d];
            w[k * dim + d] = wk;
        }
    }
    (w, b)
}

fn macro_f1(predicted: &[usize], truth: &[usize]) -> f64 {
    let mut f1 = 0.0;
    let mut classes = 0;
    for k in 0..4 {
        let tp = predicted.iter().zip(truth).filter(|(p, t)| **p == k && **t == k).count() as f64;
        let fp = predicted.iter().zip(truth).filter(|(p, t)| **p == k && **t != k).count() as f64;
        let fn_ = predicted.iter().zip(truth).filter(|(p, t)| **p != k && **t == k).count() as f64;
        if tp + fn_ == 0.0 {
            continue;
        }
        classes += 1;
        if tp > 0.0 {
            f1 += 2.0 * tp / (2.0 * tp + fp + fn_);
        }
    }
    f1 / f64::from(classes.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_small_system() {
        // [[4, 2], [2, 3]]·x = [2, 1] → x = [0.5, 0].
        let (mut a, mut b) = (vec![4.0, 2.0, 2.0, 3.0], vec![2.0, 1.0]);
        cholesky_solve(&mut a, &mut b, 2);
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
    }

    #[test]
    fn softmax_regression_separates_clusters() {
        let x: Vec<Vec<f32>> = (0..40)
            .map(|i| {
                let k = i % 4;
                vec![(k == 0) as u8 as f32 + 0.01 * i as f32, (k == 1) as u8 as f32, (k == 2) as u8 as f32]
            })
            .collect();
        let y: Vec<usize> = (0..40).map(|i| i % 4).collect();
        let rows: Vec<usize> = (0..40).collect();
        let (w, b) = softmax_regression(&x, &y, &rows, 3, 4, LABEL_L2);
        let right = rows.iter().filter(|&&i| argmax(&logits(&w, &b, &x[i], 3)) == y[i]).count();
        assert_eq!(right, 40);
        assert_eq!(macro_f1(&[0, 1, 2, 3], &[0, 1, 2, 3]), 1.0);
    }

    #[test]
    fn toxic_head_threshold_and_auc() {
        // Rude along the first axis, with noise on the second.
        let x: Vec<Vec<f32>> = (0..60).map(|i| vec![(i % 2) as f32 * 2.0 - 1.0, (i % 7) as f32 / 7.0]).collect();
        let y: Vec<usize> = (0..60).map(|i| i % 2).collect();
        let (w, b) = toxic_head(&x, &y, &(0..60).collect::<Vec<_>>(), 2);
        assert!(w[0] > 0.0 && dot(&w, &[1.0, 0.5]) + b > 0.0 && dot(&w, &[-1.0, 0.5]) + b < 0.0, "{w:?} {b}");
        assert_eq!(roc_auc(&[2.0, 3.0], &[1.0, 0.0]), 1.0);
        assert_eq!(roc_auc(&[1.0], &[1.0, 2.0]), 0.25);
        assert_eq!(quantile(&[5.0, 1.0, 3.0, 2.0, 4.0], 0.8), 4.0);
        assert_eq!(quantile(&[5.0, 1.0, 3.0], 1.0), 5.0);
    }
}
