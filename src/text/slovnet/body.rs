//! The part the three models share in structure (each has its own weights): every token becomes
//! its navec vector followed by a learnt embedding of its [shape](super::shape), and a CNN
//! encoder turns that sequence into one context vector per token for the model's head.

use super::nn::Encoder;
use super::pack::Pack;
use crate::error::Result;

/// A sentence as the models read it: the word vectors (shared by the three models) and the
/// shape classes (ids of the shape vocabulary, the same in the three packs).
pub(crate) struct Input {
    /// Number of tokens.
    pub(crate) tokens: usize,
    /// `tokens × dim` navec vectors.
    pub(crate) vectors: Vec<f32>,
    /// Shape id per token.
    pub(crate) shapes: Vec<u32>,
}

/// Word + shape embedding and the CNN encoder of one model.
pub(crate) struct Body {
    /// `shapes × width` embedding table.
    shape_table: Vec<f32>,
    shape_width: usize,
    word_width: usize,
    encoder: Encoder,
}

impl Body {
    /// Reads `/emb/shape` and `/encoder`; the word part must be `word_width` wide and the shape
    /// table must have a row per entry of the `shapes` vocabulary.
    pub(crate) fn load(pack: &Pack, word_width: usize, shapes: usize) -> Result<Body> {
        let (shape_table, dims) = pack.weight("/emb/shape/weight", 2)?;
        let encoder = Encoder::load(pack, "/encoder")?;
        if dims[0] != shapes || encoder.input() != word_width + dims[1] {
            return Err(pack.archive.corrupt(format!(
                "shape table {dims:?} for {shapes} shapes, encoder input {} for {word_width}-d vectors",
                encoder.input()
            )));
        }
        Ok(Body { shape_table, shape_width: dims[1], word_width, encoder })
    }

    /// Width of the context vectors.
    pub(crate) fn output(&self) -> usize {
        self.encoder.output()
    }

    /// The context vectors, `tokens × output()`.
    pub(crate) fn encode(&self, input: &Input) -> Vec<f32> {
        let width = self.word_width + self.shape_width;
        let mut x = Vec::with_capacity(input.tokens * width);
        for (vector, &shape) in input.vectors.chunks_exact(self.word_width).zip(&input.shapes) {
            x.extend_from_slice(vector);
            let at = shape as usize * self.shape_width;
            x.extend_from_slice(&self.shape_table[at..at + self.shape_width]);
        }
        self.encoder.forward(&x, input.tokens)
    }
}
