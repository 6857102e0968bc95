//! What the click log teaches the ranking: one correction vector per chosen template.
//!
//! A click says "for this message the operator chose template c over the others the engine
//! ranked near it". The nearest-click signal only helps messages that are near-copies of a past
//! one: e5 places two short chat messages in the same register (both rude, both one-liners)
//! closer than two messages on the same topic, so a neighbour found by cosine alone is often
//! about something else. Here the clicks train a small linear model on top of the ranking
//! without clicks: `score(q, t) = base(q, t) + (q − μ)·δ_t`, fitted by softmax cross-entropy
//! of each click against its message's best-ranked templates.
//! - μ is the mean clicked message. Without centring, every δ picks up the direction all
//!   client messages share, and a template that was clicked at all then outranks one that was
//!   not, for any message (on the dev set, a random half of clicks cost up to 15 points R@1).
//! - Only templates someone chose get a δ; the others take part in the softmax with their base
//!   score. A template nobody clicked yet (new, or rare) keeps the rank its text earns.
//!
//! Hand-written because it is a few dozen lines of plain gradient descent over at most
//! [`MAX_CLICKS`] × [`CANDIDATES`] dot products; a training framework would bring far more
//! than it does.

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1};

/// Clicks used for training (the most recent ones): bounds the build time of a library with a
/// long history.
pub const MAX_CLICKS: usize = 2000;
/// Weight, in clicks, of the title mean in the centre (see `Library::learn`).
pub const CENTER_PRIOR: f32 = 20.0;
/// Templates each click is trained against: the base ranking's best, plus the chosen one.
pub const CANDIDATES: usize = 32;

/// Settings of the training.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Training {
    /// Softmax temperature in fused-score units: top templates differ by a few hundredths.
    pub temperature: f32,
    /// Gradient step.
    pub rate: f32,
    /// Full passes over the clicks.
    pub rounds: u32,
}

/// One click as training data.
pub struct Click<'a> {
    /// The message's query vector (unit length).
    pub query: ArrayView1<'a, f32>,
    /// Index of the chosen template.
    pub chosen: usize,
    /// Base scores of the templates it competes with, the chosen one among them.
    pub candidates: Vec<(usize, f32)>,
}

/// Per-template correction vectors, with the centre they apply around.
#[derive(Debug, Default)]
pub struct Learned {
    /// Row in `rows` of each chosen template.
    slot: HashMap<usize, usize>,
    rows: Array2<f32>,
    center: Array1<f32>,
}

impl Learned {
    /// Fits the corrections to `clicks` (deterministic: full-batch gradient descent from zero).
    pub fn train(clicks: &[Click<'_>], center: Array1<f32>, settings: Training) -> Learned {
        let mut slot = HashMap::new();
        for click in clicks {
            let next = slot.len();
            slot.entry(click.chosen).or_insert(next);
        }
        let dim = center.len();
        let mut rows = Array2::<f32>::zeros((slot.len(), dim));
        if clicks.is_empty() {
            return Learned { slot, rows, center };
        }
        let queries: Vec<Array1<f32>> = clicks.iter().map(|c| &c.query - &center).collect();
        // Per click: (row of the candidate if it has one, base score, whether it was chosen).
        let candidates: Vec<Vec<(Option<usize>, f32, bool)>> = clicks
            .iter()
            .map(|c| c.candidates.iter().map(|&(t, base)| (slot.get(&t).copied(), base, t == c.chosen)).collect())
            .collect();
        let step = settings.rate / (clicks.len() as f32 * settings.temperature);
        let mut gradient = Array2::<f32>::zeros(rows.raw_dim());
        let mut logits = Vec::with_capacity(CANDIDATES + 1);
        for _ in 0..settings.rounds {
            gradient.fill(0.0);
            for (query, candidates) in queries.iter().zip(&candidates) {
                logits.clear();
                logits.extend(candidates.iter().map(|&(row, base, _)| {
                    (base + row.map_or(0.0, |r| rows.row(r).dot(query))) / settings.temperature
                }));
                let max = logits.iter().copied().fold(f32::MIN, f32::max);
                let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
                for (&(row, _, chosen), &l) in candidates.iter().zip(&logits) {
                    let g = (l - max).exp() / total - if chosen { 1.0 } else { 0.0 };
                    if let Some(r) = row.filter(|_| g.abs() > 1e-6) {
                        gradient.row_mut(r).scaled_add(g, query);
                    }
                }
            }
            rows.scaled_add(-step, &gradient);
        }
        Learned { slot, rows, center }
    }

    /// The correction of template `i` for `query` (`None`: nobody chose it).
    pub fn score(&self, i: usize, query: ArrayView1<f32>) -> Option<f32> {
        let (row, offset) = self.linear(i)?;
        Some(row.dot(&query) - offset)
    }

    /// What template `i`'s correction adds to the first stage's folded row, and the constant
    /// it subtracts (`row·μ`), since the correction is linear in the query.
    pub fn linear(&self, i: usize) -> Option<(ArrayView1<'_, f32>, f32)> {
        let row = self.rows.row(*self.slot.get(&i)?);
        Some((row, row.dot(&self.center)))
    }

    /// Whether any click taught anything.
    pub fn is_empty(&self) -> bool {
        self.slot.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    const SETTINGS: Training = Training { temperature: 0.01, rate: 0.1, rounds: 300 };

    fn zero() -> Array1<f32> {
        Array1::zeros(3)
    }

    #[test]
    fn a_click_lifts_the_chosen_template_above_the_one_that_won() {
        let query = array![1.0f32, 0.0, 0.0];
        // The base ranking puts template 0 first; the operator chose template 1.
        let clicks = [Click { query: query.view(), chosen: 1, candidates: vec![(0, 0.90), (1, 0.88), (2, 0.5)] }];
        let learned = Learned::train(&clicks, zero(), SETTINGS);
        let lift = |i| learned.score(i, query.view()).unwrap_or(0.0);
        assert!(0.88 + lift(1) > 0.90 + lift(0), "chosen {} vs winner {}", lift(1), lift(0));
        // Only the chosen template has a correction, and an unrelated message gets none.
        assert_eq!(learned.score(0, query.view()), None);
        assert_eq!(learned.score(1, array![0.0f32, 1.0, 0.0].view()), Some(0.0));
    }

    #[test]
    fn what_all_clicks_share_is_not_learned() {
        // Both clicks share the first axis (say, the register); the topic is the second or
        // third axis. Around their mean, only the topic separates them.
        let a = array![0.8f32, 0.6, 0.0];
        let b = array![0.8f32, 0.0, 0.6];
        let clicks = [
            Click { query: a.view(), chosen: 0, candidates: vec![(0, 0.5), (1, 0.5), (2, 0.52)] },
            Click { query: b.view(), chosen: 1, candidates: vec![(0, 0.5), (1, 0.5), (2, 0.52)] },
        ];
        let center = (&a + &b) / 2.0;
        let learned = Learned::train(&clicks, center, SETTINGS);
        // A message that is all register and no topic moves no template.
        let register = array![1.0f32, 0.0, 0.0];
        for t in [0, 1] {
            let (row, _) = learned.linear(t).unwrap();
            assert!(row[0].abs() < 1e-4, "template {t} learned the shared axis: {row}");
            assert!(learned.score(t, register.view()).unwrap() < 0.01);
        }
        let topic_a = array![0.0f32, 1.0, 0.0];
        assert!(learned.score(0, topic_a.view()).unwrap() > learned.score(1, topic_a.view()).unwrap());
    }

    #[test]
    fn no_clicks_learn_nothing() {
        let learned = Learned::train(&[], zero(), SETTINGS);
        assert!(learned.is_empty());
        assert_eq!(learned.score(0, array![1.0f32, 0.0, 0.0].view()), None);
    }
}
