//! The part the three models share in structure (each has its own weights): every token becomes
//! its navec vector followed by a learnt embedding of its [shape](super::shape), and a CNN
//! encoder turns that sequence into one context vector per token for the model's head.
//!
//! The word vectors are the same for the three models, so their first convolutions run as one
//! product ([`Stem`]): the navec columns of the three first layers side by side, one
//! quantisation of the sentence's windows. The shape embedding's part of a first layer depends
//! only on the shape and the tap, so it is a table computed at load (in f32) and added per token.
//! The product is int8 ([`crate::encoder::gemm`]: windows quantised per token, weights per
//! output channel; the same results on the VNNI, AVX2 and scalar kernels), which keeps ≥ 99.6 %
//! of the reference's tags (tests/slovnet_parity.rs); the later, smaller layers stay f32.

use super::nn::{gemm_matmul, windows, Encoder, Scratch};
use super::pack::Pack;
use crate::encoder::gemm::QuantMatrix;
use crate::error::{Error, Result};

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

    /// The first layer's response to each shape at each tap: `shapes × kernel × output`.
    fn shape_taps(&self) -> Vec<f32> {
        let first = &self.encoder.layers[0];
        let (weight, _) = first.weight();
        let (kernel, _) = first.window();
        let (input, output) = (first.input(), first.output());
        let k = kernel * input;
        let mut taps = Vec::with_capacity(self.shape_table.len() / self.shape_width * kernel * output);
        for shape in self.shape_table.chunks_exact(self.shape_width) {
            for j in 0..kernel {
                for f in 0..output {
                    let w = &weight[f * k + j * input + self.word_width..f * k + (j + 1) * input];
                    taps.push(w.iter().zip(shape).map(|(w, s)| w * s).sum());
                }
            }
        }
        taps
    }
}

/// The first convolution of several models over the shared word vectors.
pub(crate) struct Stem {
    /// The navec columns of every model's first layer, `[Σ outputs × kernel · word_width]`.
    quant: QuantMatrix,
    kernel: usize,
    padding: usize,
    word_width: usize,
    /// Per model: first column in the product's output, width, [`Body::shape_taps`].
    parts: Vec<(usize, usize, Vec<f32>)>,
}

impl Stem {
    /// Joins the first layers of `bodies`, which must share the word width and the window.
    pub(crate) fn new(bodies: &[&Body]) -> Result<Stem> {
        let first = &bodies[0].encoder.layers[0];
        let (kernel, padding) = first.window();
        let word_width = bodies[0].word_width;
        if bodies.iter().any(|b| b.word_width != word_width || b.encoder.layers[0].window() != (kernel, padding)) {
            return Err(Error::corrupt(
                std::path::Path::new(super::DEFAULT_DIR),
                "the models' first convolutions differ in window or word width",
            ));
        }
        let k = kernel * word_width;
        let (mut weight, mut bias, mut parts) = (Vec::new(), Vec::new(), Vec::new());
        for body in bodies {
            let layer = &body.encoder.layers[0];
            let (w, b) = layer.weight();
            let input = layer.input();
            parts.push((bias.len(), layer.output(), body.shape_taps()));
            for row in w.chunks_exact(kernel * input) {
                for tap in row.chunks_exact(input) {
                    weight.extend_from_slice(&tap[..word_width]);
                }
            }
            bias.extend_from_slice(b);
        }
        let quant = QuantMatrix::quantize(&weight, bias.len(), k, &bias);
        Ok(Stem { quant, kernel, padding, word_width, parts })
    }

    /// Encodes `input` with every body (in the order given to [`Stem::new`]): `outs[m]` gets
    /// `tokens × bodies[m].output()` context vectors.
    pub(crate) fn encode(&self, bodies: &[&Body], input: &Input, scratch: &mut Scratch, outs: &mut [Vec<f32>]) {
        let t = input.tokens;
        let total = self.quant.n();
        windows(&input.vectors, t, self.word_width, self.kernel, self.padding, &mut scratch.cols);
        let mut all = std::mem::take(&mut scratch.a);
        all.clear();
        scratch.rows.quantize(&scratch.cols, t, self.kernel * self.word_width);
        all.resize(t * total, 0.0);
        gemm_matmul(&scratch.rows, &self.quant, &mut all);
        for ((body, out), (at, width, taps)) in bodies.iter().zip(outs.iter_mut()).zip(&self.parts) {
            out.clear();
            for row in all.chunks_exact(total) {
                out.extend_from_slice(&row[*at..at + width]);
            }
            for (i, row) in out.chunks_exact_mut(*width).enumerate() {
                for j in 0..self.kernel {
                    let src = i + j;
                    if src < self.padding || src - self.padding >= t {
                        continue;
                    }
                    let shape = input.shapes[src - self.padding] as usize;
                    let tap = &taps[(shape * self.kernel + j) * width..(shape * self.kernel + j + 1) * width];
                    for (v, s) in row.iter_mut().zip(tap) {
                        *v += s;
                    }
                }
            }
            body.encoder.layers[0].norm(out);
            body.encoder.forward_rest(out, t, scratch);
        }
        scratch.a = all;
    }
}
