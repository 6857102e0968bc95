//! The morphology tagger: one softmax over the ~750 tags of the training corpus per token
//! (part of speech and all features at once), read as its argmax.

use super::body::Body;
use super::nn::{argmax, Linear};
use super::pack::Pack;
use super::tags::{MorphTag, Pos};
use crate::error::Result;

/// slovnet_morph_news_v1.
pub(crate) struct Morph {
    body: Body,
    head: Linear,
    tags: Vec<MorphTag>,
}

impl Morph {
    /// Reads the pack (see [`Body::load`] for the arguments).
    pub(crate) fn load(pack: &Pack, word_width: usize, shapes: usize) -> Result<Morph> {
        let body = Body::load(pack, word_width, shapes)?;
        let head = Linear::load(pack, "/head/proj")?;
        let vocab = pack.vocab("tag")?;
        let tags = vocab
            .iter()
            .enumerate()
            .map(|(i, tag)| match (i, tag.as_str()) {
                // The padding class, never a real answer: an empty `X` if it ever wins.
                (0, "<pad>") => Some(MorphTag { pos: Pos::X, feats: Default::default() }),
                _ => MorphTag::parse(tag),
            })
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| pack.archive.corrupt("vocabs/tag.gz: a tag outside the known POS and features"))?;
        if head.input != body.output() || head.output != tags.len() {
            return Err(pack.archive.corrupt(format!("head {}→{} for {} tags", head.input, head.output, tags.len())));
        }
        Ok(Morph { body, head, tags })
    }

    /// The encoder.
    pub(crate) fn body(&self) -> &Body {
        &self.body
    }

    /// One tag per token, from the encoder's `tokens × body().output()` context vectors.
    pub(crate) fn predict(&self, x: &[f32], tokens: usize) -> Vec<MorphTag> {
        let mut logits = Vec::new();
        self.head.forward(x, tokens, &mut logits);
        logits.chunks_exact(self.head.output).map(|row| self.tags[argmax(row)]).collect()
    }
}
