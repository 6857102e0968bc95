//! Tone of a message: a label (formal, neutral, informal, rude) and a 0–100 politeness score,
//! from small heads over the encoder's embeddings, trained by `sufler train-tone` on data
//! written for this project (`prompts/tone/`) and saved as safetensors.
//!
//! Politeness is not formality: a «Вы» can be cold and a «ты» warm. The politeness head is
//! trained on *pairs* — the same request said impolitely and politely — as a pairwise ridge
//! regression on the embedding differences, so the topic of a message cancels out and only
//! the way it is said is learnt. A count of politeness markers (greetings, «пожалуйста»,
//! «не могли бы», thanks, apologies) is added as one standardised feature, because e5's
//! sentence vectors carry the request's topic far more strongly than these small words.
//!
//! Rudeness is not impoliteness either: a curt «Ждите» and «заткнись, дебил» differ in kind.
//! A third head, a logistic regression trained on rude and clean chat messages (insults,
//! threats, contempt, obscene and disguised words against civil complaints and firm refusals),
//! gives the toxicity; it pulls the politeness down and raises the `rude` label, and its alarm
//! (a threshold fixed in cross-validation at a ~1 % false alarm rate on clean messages) is what
//! rule A10 adds to its word lists when the encoder is there.

mod train;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::encoder::{Embedder, TextKind};
use crate::error::{Error, Result};

pub use train::{train, ToneData, TrainReport};

/// Where `sufler train-tone` writes the weights by default.
pub const DEFAULT_PATH: &str = "models/cache/tone/tone.safetensors";
/// Overrides [`DEFAULT_PATH`].
pub const PATH_ENV: &str = "SUFLER_TONE";

/// A message's register and manner.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ToneLabel {
    /// Polite and formal («Будьте добры, уточните, пожалуйста, …»).
    Formal,
    /// Factual, neither softened nor curt.
    Neutral,
    /// Colloquial, chatty («ща гляну»), not necessarily rude.
    Informal,
    /// Curt, demanding, reproachful or insulting.
    Rude,
}

impl ToneLabel {
    /// Every label, in the order of [`ToneScore::probabilities`].
    pub const ALL: [ToneLabel; 4] = [ToneLabel::Formal, ToneLabel::Neutral, ToneLabel::Informal, ToneLabel::Rude];

    /// The id used in data files and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            ToneLabel::Formal => "formal",
            ToneLabel::Neutral => "neutral",
            ToneLabel::Informal => "informal",
            ToneLabel::Rude => "rude",
        }
    }

    /// The label as shown to people.
    pub fn russian(self) -> &'static str {
        match self {
            ToneLabel::Formal => "официальный",
            ToneLabel::Neutral => "нейтральный",
            ToneLabel::Informal => "разговорный",
            ToneLabel::Rude => "грубый",
        }
    }

    fn index(self) -> usize {
        ToneLabel::ALL.iter().position(|l| *l == self).expect("a label of ALL")
    }
}

/// The tone of one message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ToneScore {
    /// The most likely label.
    pub label: ToneLabel,
    /// Probability of each label, in the order of [`ToneLabel::ALL`].
    pub probabilities: [f32; 4],
    /// Politeness, 0 (rude) to 100 (very polite); 50 is an ordinary message.
    pub politeness: f32,
    /// How rude or toxic the message is (insults, threats, contempt, obscenity), 0–1; from 0.5
    /// on, the alarm is raised.
    pub toxicity: f32,
    /// Whether the toxicity passes the alarm threshold: the message should not be sent as is.
    pub toxic: bool,
}

/// The trained heads.
#[derive(Clone, Debug, PartialEq)]
pub struct ToneModel {
    dim: usize,
    /// Politeness direction in embedding space.
    politeness: Vec<f32>,
    /// Mean and spread of the raw politeness projection over the training texts.
    projection_scale: (f32, f32),
    /// Mean and spread of the marker count over the training texts.
    marker_scale: (f32, f32),
    /// Weight of the standardised marker count beside the standardised projection.
    marker_weight: f32,
    /// Lower-case stems counted as politeness markers.
    markers: Vec<String>,
    /// Label head: 4 × dim weights (row per label) and 4 biases.
    label_weights: Vec<f32>,
    label_bias: [f32; 4],
    /// Toxicity head: dim weights and a bias (the logit of «rude or toxic»).
    toxic_weights: Vec<f32>,
    toxic_bias: f32,
    /// The logit above which [`ToneScore::toxic`] is set.
    toxic_threshold: f32,
    /// Free-form facts about the training run, kept in the file's metadata.
    metadata: HashMap<String, String>,
}

impl ToneModel {
    /// The weights' path: `$SUFLER_TONE`, else the first of [`DEFAULT_PATH`]'s
    /// [`crate::models::local_candidates`] that exists (the working directory's when none does).
    pub fn default_path() -> PathBuf {
        if let Some(path) = std::env::var_os(PATH_ENV).filter(|v| !v.is_empty()) {
            return PathBuf::from(path);
        }
        let candidates = crate::models::local_candidates(Path::new(DEFAULT_PATH));
        candidates.iter().find(|p| p.is_file()).unwrap_or(&candidates[0]).clone()
    }

    /// Loads the weights from [`ToneModel::default_path`].
    pub fn load_default() -> Result<ToneModel> {
        let path = Self::default_path();
        if !path.is_file() {
            return Err(Error::ModelNotFound(format!(
                "нет весов тона {}: обучите их командой `sufler train-tone` (её запускает ./setup)",
                path.display()
            )));
        }
        Self::load(&path)
    }

    /// Reads weights written by [`ToneModel::save`].
    pub fn load(path: &Path) -> Result<ToneModel> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let corrupt = |reason: String| Error::CorruptModel { path: path.into(), reason };
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let tensors = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let read = |name: &str| -> Result<Vec<f32>> {
            let t = tensors.tensor(name).map_err(|e| corrupt(format!("{name}: {e}")))?;
            if t.dtype() != Dtype::F32 {
                return Err(corrupt(format!("{name}: expected f32")));
            }
            Ok(t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        };
        let metadata: HashMap<String, String> = header.metadata().clone().unwrap_or_default();
        let number = |key: &str| -> Result<f32> {
            metadata.get(key).and_then(|v| v.parse().ok()).ok_or_else(|| corrupt(format!("metadata {key} missing")))
        };
        let politeness = read("politeness")?;
        let label_weights = read("labels.weight")?;
        let bias = read("labels.bias")?;
        let toxic_weights = read("toxic.weight")?;
        let toxic_bias = read("toxic.bias")?;
        let dim = politeness.len();
        if dim == 0
            || label_weights.len() != 4 * dim
            || bias.len() != 4
            || toxic_weights.len() != dim
            || toxic_bias.len() != 1
        {
            return Err(corrupt("tensor shapes do not match".into()));
        }
        let markers: Vec<String> = metadata
            .get("markers")
            .map(|m| m.split('\n').filter(|s| !s.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        Ok(ToneModel {
            dim,
            politeness,
            projection_scale: (number("projection_mean")?, number("projection_std")?),
            marker_scale: (number("marker_mean")?, number("marker_std")?),
            marker_weight: number("marker_weight")?,
            markers,
            label_weights,
            label_bias: [bias[0], bias[1], bias[2], bias[3]],
            toxic_weights,
            toxic_bias: toxic_bias[0],
            toxic_threshold: number("toxic_threshold")?,
            metadata,
        })
    }

    /// Writes the weights (and the training facts) as safetensors, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut metadata = self.metadata.clone();
        for (key, value) in [
            ("projection_mean", self.projection_scale.0),
            ("projection_std", self.projection_scale.1),
            ("marker_mean", self.marker_scale.0),
            ("marker_std", self.marker_scale.1),
            ("marker_weight", self.marker_weight),
            ("toxic_threshold", self.toxic_threshold),
        ] {
            metadata.insert(key.into(), value.to_string());
        }
        metadata.insert("markers".into(), self.markers.join("\n"));
        let bytes = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (p, w, b) = (bytes(&self.politeness), bytes(&self.label_weights), bytes(&self.label_bias));
        let (tw, tb) = (bytes(&self.toxic_weights), bytes(&[self.toxic_bias]));
        fn view(data: &[u8], shape: Vec<usize>) -> Result<TensorView<'_>> {
            TensorView::new(Dtype::F32, shape, data).map_err(|e| Error::InvalidInput(e.to_string()))
        }
        let tensors = vec![
            ("politeness", view(&p, vec![self.dim])?),
            ("labels.weight", view(&w, vec![4, self.dim])?),
            ("labels.bias", view(&b, vec![4])?),
            ("toxic.weight", view(&tw, vec![self.dim])?),
            ("toxic.bias", view(&tb, vec![1])?),
        ];
        let data = safetensors::serialize(tensors, Some(metadata)).map_err(|e| Error::InvalidInput(e.to_string()))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let partial = path.with_extension("safetensors.partial");
        std::fs::write(&partial, data).map_err(|e| Error::io(&partial, e))?;
        std::fs::rename(&partial, path).map_err(|e| Error::io(path, e))
    }

    /// A training fact recorded in the file (e.g. `data_sha256`).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).map(String::as_str)
    }

    /// Politeness markers found in `text` (lower-case stems, counted with repeats).
    pub fn marker_count(&self, text: &str) -> usize {
        marker_count(&self.markers, text)
    }

    /// Tones of `texts`, embedding them with `embedder`.
    pub fn score(&self, embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<ToneScore>> {
        let embeddings = embedder.embed(texts, TextKind::Query)?;
        Ok(texts.iter().zip(&embeddings).map(|(t, e)| self.score_embedded(t, e)).collect())
    }

    /// The tone of `text` whose `query:` embedding is `embedding`.
    pub fn score_embedded(&self, text: &str, embedding: &[f32]) -> ToneScore {
        self.score_with_words(text, embedding, false)
    }

    /// [`ToneModel::score_embedded`] knowing whether the text has rude words (found by rule
    /// A10's lists): they are evidence the sentence vector cannot outweigh, so the toxicity logit
    /// is raised to at least [`WORDS_MARGIN`] over the alarm.
    ///
    /// The toxicity lowers the politeness by softplus(logit) (≈ 0 for a clean message, about
    /// the logit for a rude one) and lifts the `rude` label to at least its own probability.
    pub fn score_with_words(&self, text: &str, embedding: &[f32], rude_words: bool) -> ToneScore {
        let dot = |w: &[f32]| w.iter().zip(embedding).map(|(a, b)| a * b).sum::<f32>();
        let mut toxic_logit = dot(&self.toxic_weights) + self.toxic_bias;
        if rude_words {
            toxic_logit = toxic_logit.max(self.toxic_threshold + WORDS_MARGIN);
        }
        // Calibrated to the alarm: 0.5 at the threshold, so `toxic` and a `rude` label from
        // the toxicity agree.
        let toxicity = sigmoid(toxic_logit - self.toxic_threshold);
        let projection = (dot(&self.politeness) - self.projection_scale.0) / self.projection_scale.1;
        let markers = (self.marker_count(text) as f32 - self.marker_scale.0) / self.marker_scale.1;
        let z = projection + self.marker_weight * markers - TOXIC_WEIGHT * softplus(toxic_logit);
        let politeness = 100.0 * sigmoid(z);
        let logits: Vec<f32> =
            (0..4).map(|k| dot(&self.label_weights[k * self.dim..(k + 1) * self.dim]) + self.label_bias[k]).collect();
        let p = softmax(&logits);
        let mut probabilities = [p[0], p[1], p[2], p[3]];
        let rude = ToneLabel::Rude.index();
        if toxicity > probabilities[rude] {
            // The other labels share what is left in their own proportions.
            let rest = (1.0 - toxicity) / (1.0 - probabilities[rude]).max(1e-6);
            for (k, p) in probabilities.iter_mut().enumerate() {
                *p = if k == rude { toxicity } else { *p * rest };
            }
        }
        let best = (0..4).max_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b])).unwrap_or(1);
        ToneScore { label: ToneLabel::ALL[best], probabilities, politeness, toxicity, toxic: toxicity >= 0.5 }
    }
}

/// How far over the alarm threshold rude words put the toxicity logit (σ(2) ≈ 0.88).
pub const WORDS_MARGIN: f32 = 2.0;

/// How far under the alarm threshold a toxicity is still doubtful (σ(−1.4) ≈ 0.2). On the
/// rewrite sets' drafts about 1.5 % are that doubtful; on the rudeness set's dev split, six of
/// the eight rude drafts the alarm missed.
pub const DOUBT_MARGIN: f32 = 1.4;

impl ToneScore {
    /// Whether the toxicity is as high as rude words would make it: sure enough to refuse a
    /// rewrite on the sentence vector alone.
    pub fn as_sure_as_words(&self) -> bool {
        self.toxicity >= sigmoid(WORDS_MARGIN)
    }

    /// Whether the toxicity is within [`DOUBT_MARGIN`] under the alarm: not rude enough to
    /// report, but too doubtful to decorate (a softener or a greeting added to a veiled threat
    /// the alarm just missed would make it worse). The label head's «rude» is no such signal: it
    /// also calls curt drafts rude, and the rewrite sets lost 1–5 % of their drafts with it.
    pub fn doubtful(&self) -> bool {
        self.toxicity >= sigmoid(-DOUBT_MARGIN)
    }
}

/// How strongly the toxicity pulls the politeness down (one unit of the standardised score per
/// unit of softplus(toxicity logit)).
const TOXIC_WEIGHT: f32 = 1.0;

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::MIN, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Probability that a random positive scores above a random negative (ties count half).
pub fn roc_auc(positive: &[f32], negative: &[f32]) -> f64 {
    if positive.is_empty() || negative.is_empty() {
        return 0.0;
    }
    let mut wins = 0.0;
    for p in positive {
        for n in negative {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    wins / (positive.len() * negative.len()) as f64
}

/// Occurrences of `markers` (lower-case stems) in lower-cased `text`.
pub fn marker_count(markers: &[String], text: &str) -> usize {
    let lower = crate::text::fold(text);
    markers.iter().map(|m| lower.matches(m.as_str()).count()).sum()
}

/// Spearman's rank correlation, ties given their average rank.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    fn ranks(v: &[f64]) -> Vec<f64> {
        let mut order: Vec<usize> = (0..v.len()).collect();
        order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
        let mut ranks = vec![0.0; v.len()];
        let mut i = 0;
        while i < order.len() {
            let mut j = i;
            while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
                j += 1;
            }
            let average = (i + j) as f64 / 2.0;
            for &k in &order[i..=j] {
                ranks[k] = average;
            }
            i = j + 1;
        }
        ranks
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let (va, vb): (f64, f64) = (ra.iter().map(|x| (x - ma).powi(2)).sum(), rb.iter().map(|y| (y - mb).powi(2)).sum());
    if va == 0.0 || vb == 0.0 {
        0.0
    } else {
        cov / (va * vb).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubt_lies_under_the_alarm() {
        let score = |toxicity: f32| ToneScore {
            label: ToneLabel::Neutral,
            probabilities: [0.0, 1.0, 0.0, 0.0],
            politeness: 50.0,
            toxicity,
            toxic: toxicity >= 0.5,
        };
        assert!(!score(0.1).doubtful());
        assert!(score(0.3).doubtful() && !score(0.3).toxic && !score(0.3).as_sure_as_words());
        assert!(score(0.95).doubtful() && score(0.95).as_sure_as_words());
    }

    fn toy() -> ToneModel {
        // dim 2: politeness along x; labels: formal +x, rude −x, informal +y, neutral 0.
        ToneModel {
            dim: 2,
            politeness: vec![1.0, 0.0],
            projection_scale: (0.0, 0.5),
            marker_scale: (0.5, 1.0),
            marker_weight: 0.3,
            markers: vec!["пожалуйст".into()],
            label_weights: vec![4.0, 0.0, 0.0, 0.0, 0.0, 4.0, -4.0, 0.0],
            label_bias: [0.0, 0.5, 0.0, 0.0],
            // Toxic along −y, alarm from logit 2.
            toxic_weights: vec![0.0, -8.0],
            toxic_bias: -3.0,
            toxic_threshold: 2.0,
            metadata: HashMap::from([("data_sha256".into(), "abc".into())]),
        }
    }

    #[test]
    fn scores_follow_the_heads() {
        let m = toy();
        let polite = m.score_embedded("Подождите, пожалуйста", &[1.0, 0.0]);
        let rude = m.score_embedded("Ждите", &[-1.0, 0.0]);
        assert_eq!((polite.label, rude.label), (ToneLabel::Formal, ToneLabel::Rude));
        assert!(polite.politeness > 85.0 && rude.politeness < 15.0, "{polite:?} {rude:?}");
        assert!((polite.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(m.score_embedded("ну", &[0.0, 1.0]).label, ToneLabel::Informal);
        assert!(!polite.toxic && polite.toxicity < 0.1, "{polite:?}");
    }

    #[test]
    fn toxicity_lowers_politeness_and_lifts_the_rude_label() {
        let m = toy();
        // Neutral by the label head and the politeness projection; toxic by the third head.
        let toxic = m.score_embedded("ну", &[0.0, -1.0]);
        let calm = m.score_embedded("ну", &[0.0, 0.0]);
        assert!(toxic.toxic && toxic.toxicity > 0.95, "{toxic:?}");
        assert_eq!(toxic.label, ToneLabel::Rude);
        assert!(toxic.politeness < calm.politeness, "{toxic:?} {calm:?}");
        assert!((toxic.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // Below the alarm threshold: not alarmed, unless rude words were found.
        let doubtful = m.score_embedded("ну", &[0.0, -0.5]);
        assert!(!doubtful.toxic && doubtful.toxicity > 0.2, "{doubtful:?}");
        let worded = m.score_with_words("ну", &[0.0, -0.5], true);
        assert!(worded.toxic && worded.toxicity > 0.85 && worded.label == ToneLabel::Rude, "{worded:?}");
        assert!(worded.politeness < doubtful.politeness);
    }

    #[test]
    fn weights_round_trip_through_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone/tone.safetensors");
        let m = toy();
        m.save(&path).unwrap();
        let back = ToneModel::load(&path).unwrap();
        assert_eq!(back.metadata("data_sha256"), Some("abc"));
        assert_eq!(back.score_embedded("пожалуйста", &[0.3, 0.2]), m.score_embedded("пожалуйста", &[0.3, 0.2]));
        std::fs::write(&path, b"not safetensors").unwrap();
        assert!(matches!(ToneModel::load(&path), Err(Error::CorruptModel { .. })));
    }

    #[test]
    fn markers_and_ranks() {
        let markers = vec!["пожалуйст".to_string(), "спасиб".to_string()];
        assert_eq!(marker_count(&markers, "Спасибо! Пожалуйста, пожалуйста."), 3);
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]) - 1.0).abs() < 1e-12);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // Ties share their average rank: x = [0, 0, 1] against y = [1, 2, 3] is 0.866.
        assert!((spearman(&[0.0, 0.0, 1.0], &[1.0, 2.0, 3.0]) - 0.8660254).abs() < 1e-6);
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), 0.0);
    }
}
