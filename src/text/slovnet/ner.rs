//! The named-entity tagger: per-token emission scores of the BIO tags (persons, places,
//! organisations) and a linear-chain CRF, decoded by Viterbi.

use super::body::Body;
use super::nn::{argmax, Linear};
use super::pack::Pack;
use super::tags::Ner;
use crate::error::Result;

/// slovnet_ner_news_v1.
pub(crate) struct NerModel {
    body: Body,
    proj: Linear,
    /// `tags × tags`: score of tag `j` following tag `i` at `i * tags + j`.
    transitions: Vec<f32>,
}

impl NerModel {
    /// Reads the pack (see [`Body::load`] for the arguments).
    pub(crate) fn load(pack: &Pack, word_width: usize, shapes: usize) -> Result<NerModel> {
        let body = Body::load(pack, word_width, shapes)?;
        let proj = Linear::load(pack, "/head/proj")?;
        let n = Ner::COUNT;
        let transitions = pack.weight_of("/head/crf/transitions", &[n, n])?;
        if !Ner::vocabulary_matches(&pack.vocab("tag")?) || proj.input != body.output() || proj.output != n {
            return Err(pack.archive.corrupt("the NER tags are not <pad> O B/I-PER B/I-LOC B/I-ORG"));
        }
        Ok(NerModel { body, proj, transitions })
    }

    /// The encoder.
    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    /// One tag per token, from the encoder's `tokens × body().output()` context vectors.
    pub(crate) fn predict(&self, x: &[f32], tokens: usize) -> Vec<Ner> {
        let mut emissions = Vec::new();
        self.proj.forward(x, tokens, &mut emissions);
        viterbi(&emissions, &self.transitions, Ner::COUNT).into_iter().map(Ner::from_class).collect()
    }
}

/// The best tag sequence of a linear-chain CRF: `emissions` is `tokens × n`, `transitions`
/// `n × n`. Ties go to the lowest tag, as numpy's `argmax` in the reference.
pub(crate) fn viterbi(emissions: &[f32], transitions: &[f32], n: usize) -> Vec<usize> {
    let mut rows = emissions.chunks_exact(n);
    let Some(first) = rows.next() else { return Vec::new() };
    let mut score = first.to_vec();
    let mut next = vec![0f32; n];
    let mut history: Vec<Vec<usize>> = Vec::new();
    let mut candidates = vec![0f32; n];
    for row in rows {
        let mut back = vec![0usize; n];
        for j in 0..n {
            for i in 0..n {
                candidates[i] = score[i] + transitions[i * n + j] + row[j];
            }
            back[j] = argmax(&candidates);
            next[j] = candidates[back[j]];
        }
        std::mem::swap(&mut score, &mut next);
        history.push(back);
    }
    let mut best = argmax(&score);
    let mut path = vec![best];
    for back in history.iter().rev() {
        best = back[best];
        path.push(best);
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viterbi_follows_transitions() {
        // Two tags; staying in a tag is rewarded, switching punished: the strong first emission
        // of tag 1 wins over the slight preference for tag 0 afterwards.
        let transitions = [1.0, -5.0, -5.0, 1.0];
        let emissions = [0.0, 3.0, 0.5, 0.0, 0.5, 0.0];
        assert_eq!(viterbi(&emissions, &transitions, 2), [1, 1, 1]);
        // Without the first token's push, tag 0 throughout.
        assert_eq!(viterbi(&emissions[2..], &transitions, 2), [0, 0]);
        assert_eq!(viterbi(&[0.2, 0.1], &transitions, 2), [0]);
        assert!(viterbi(&[], &transitions, 2).is_empty());
    }
}
