//! The BERT forward pass written for this model's shape on 2-core CPUs, without a tensor
//! framework: int8 weights × int8 activations through [`gemm`], fused row ops from [`ops`],
//! sequences packed end to end (no padding computed), buffers allocated once per call.
//!
//! Why not candle: a profile of the candle path on one short message (perf, 1 thread) spends
//! ~50 % in f32 matmul, ~15 % in page faults, copies and allocation between ops, ~10 % in
//! libm's erf for GELU and ~4 % in softmax's exp. Its Q4_0 path quantises activations and then
//! runs a matrix-vector product per token row. Here every weight tile is used for all tokens
//! of the batch, and nothing is allocated between ops.
//!
//! Weights come from `model.safetensors` (memory-mapped). The 250k × 384 word table stays in
//! the mapping and only the rows of the tokens seen are read, so it costs no resident memory
//! beyond those pages; the linear layers are quantised per output row at load (21 MB).

use std::path::Path;

use memmap2::Mmap;
use rayon::prelude::*;
use safetensors::SafeTensors;

use crate::encoder::gemm::{self, QuantMatrix, QuantRows};
use crate::encoder::{ops, Backend, TokenBatch, WeightKind};
use crate::error::{Error, Result};
use crate::models::ModelConfig;

/// Layer-norm weights.
struct Norm {
    gamma: Vec<f32>,
    beta: Vec<f32>,
}

/// A linear layer: int8 weights, or f32 where int8 activations lose too much.
enum Linear {
    Int8(QuantMatrix),
    /// Weight transposed (in × out) for `x · w`, and the bias.
    F32(ndarray::Array2<f32>, Vec<f32>),
}

impl Linear {
    /// `out = x · wᵀ + b` for `rows` rows of `x`; `scratch` holds the int8 activations.
    fn forward(&self, x: &[f32], rows: usize, scratch: &mut QuantRows, out: &mut [f32]) {
        match self {
            Linear::Int8(w) => {
                scratch.quantize(x, rows, w.k());
                gemm::matmul(scratch, w, out);
            }
            Linear::F32(w, bias) => {
                let x = ndarray::ArrayView2::from_shape((rows, w.nrows()), x).expect("rows × in");
                let mut y = ndarray::ArrayViewMut2::from_shape((rows, w.ncols()), out).expect("rows × out");
                ndarray::linalg::general_mat_mul(1.0, &x, w, 0.0, &mut y);
                ops::add_bias(out, bias.len(), bias);
            }
        }
    }
}

struct Layer {
    /// Query, key and value in one matrix (3 × hidden rows): one pass over the activations.
    qkv: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    intermediate: Linear,
    output: Linear,
    output_norm: Norm,
}

/// multilingual-e5-small (or a BERT encoder of the same layout) with int8 kernels.
pub struct NativeBert {
    mmap: Mmap,
    /// Byte offset of the f32 word table in `mmap`.
    word_offset: usize,
    vocab: usize,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    intermediate: usize,
    heads: usize,
    eps: f32,
    max_positions: usize,
}

/// Reads f32 tensors by name, with or without the `bert.` prefix of some hub checkpoints.
struct Tensors<'a> {
    inner: SafeTensors<'a>,
    prefix: &'static str,
    path: &'a Path,
}

impl<'a> Tensors<'a> {
    fn view(&self, name: &str, shape: &[usize]) -> Result<safetensors::tensor::TensorView<'a>> {
        let full = format!("{}{name}", self.prefix);
        let view = self.inner.tensor(&full).map_err(|e| Error::corrupt(self.path, format!("{full}: {e}")))?;
        if view.dtype() != safetensors::Dtype::F32 || view.shape() != shape {
            return Err(Error::corrupt(
                self.path,
                format!("{full}: expected f32 {shape:?}, found {:?} {:?}", view.dtype(), view.shape()),
            ));
        }
        Ok(view)
    }

    fn vec(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let view = self.view(name, shape)?;
        Ok(view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
    }

    fn norm(&self, prefix: &str, dim: usize) -> Result<Norm> {
        Ok(Norm {
            gamma: self.vec(&format!("{prefix}.weight"), &[dim])?,
            beta: self.vec(&format!("{prefix}.bias"), &[dim])?,
        })
    }

    /// Linear layers stacked row-wise into one quantised matrix.
    fn linear(&self, prefixes: &[String], out_dim: usize, in_dim: usize, f32: bool) -> Result<Linear> {
        let mut weight = Vec::with_capacity(prefixes.len() * out_dim * in_dim);
        let mut bias = Vec::with_capacity(prefixes.len() * out_dim);
        for p in prefixes {
            weight.extend(self.vec(&format!("{p}.weight"), &[out_dim, in_dim])?);
            bias.extend(self.vec(&format!("{p}.bias"), &[out_dim])?);
        }
        let n = prefixes.len() * out_dim;
        if f32 {
            let w = ndarray::Array2::from_shape_vec((n, in_dim), weight).expect("out × in");
            return Ok(Linear::F32(w.t().as_standard_layout().into_owned(), bias));
        }
        Ok(Linear::Int8(QuantMatrix::quantize(&weight, n, in_dim, &bias)))
    }
}

impl NativeBert {
    /// Loads and quantises the f32 weights of `model.safetensors`.
    pub fn from_safetensors(path: &Path, c: &ModelConfig) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: the file is mapped read-only and the model files are not modified while a
        // model is loaded (the importer writes new files and renames them into place).
        let mmap = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let inner = SafeTensors::deserialize(&mmap).map_err(|e| Error::corrupt(path, e.to_string()))?;
        let prefix = if inner.names().iter().any(|n| n.starts_with("bert.")) { "bert." } else { "" };
        let tensors = Tensors { inner, prefix, path };
        let (h, f) = (c.hidden_size, c.intermediate_size);
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                let qkv: Vec<String> =
                    ["query", "key", "value"].iter().map(|m| format!("{p}.attention.self.{m}")).collect();
                // The first attention reads the embedding sum straight from its layer norm, where
                // int8 rows lose the most: with it in f32 the worst parity text («🐌🐌🐌», all
                // <unk>) goes from 0.988 to 0.998 cosine against f32, for ~0.3 ms per message.
                Ok(Layer {
                    qkv: tensors.linear(&qkv, h, h, i == 0)?,
                    attention_out: tensors.linear(&[format!("{p}.attention.output.dense")], h, h, false)?,
                    attention_norm: tensors.norm(&format!("{p}.attention.output.LayerNorm"), h)?,
                    intermediate: tensors.linear(&[format!("{p}.intermediate.dense")], f, h, false)?,
                    output: tensors.linear(&[format!("{p}.output.dense")], h, f, false)?,
                    output_norm: tensors.norm(&format!("{p}.output.LayerNorm"), h)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let word = tensors.view("embeddings.word_embeddings.weight", &[c.vocab_size, h])?;
        // The view borrows the mapping; keep its offset and read rows from the mapping later.
        let word_offset = word.data().as_ptr() as usize - mmap.as_ptr() as usize;
        let positions = tensors.vec("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?;
        let token_type = tensors.vec("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
        let embedding_norm = tensors.norm("embeddings.LayerNorm", h)?;
        drop(tensors);
        #[cfg(unix)]
        // SAFETY: the mapping is read-only and nothing borrows it past this point (the views
        // above are dropped); DONTNEED only releases its resident pages, and a later read of
        // a word-table row faults the page back in from the file unchanged. Without this the
        // f32 linear weights read for quantisation stay resident (85 MB).
        unsafe {
            // Only a hint: on failure the pages stay resident, which is still correct.
            let _ = mmap.unchecked_advise(memmap2::UncheckedAdvice::DontNeed);
        }
        Ok(NativeBert {
            word_offset,
            vocab: c.vocab_size,
            positions,
            token_type: token_type[..h].to_vec(),
            embedding_norm,
            layers,
            hidden: h,
            intermediate: f,
            heads: c.num_attention_heads,
            eps: c.layer_norm_eps as f32,
            max_positions: c.max_position_embeddings,
            mmap,
        })
    }

    /// Word-table row `id` added into `out`.
    fn add_word(&self, id: u32, out: &mut [f32]) {
        let id = (id as usize).min(self.vocab - 1);
        let start = self.word_offset + id * self.hidden * 4;
        let bytes = &self.mmap[start..start + self.hidden * 4];
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *o += f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
    }

    /// Mean-pooled final hidden states of `sequences` (token ids each), packed end to end.
    pub fn forward_packed(&self, sequences: &[&[u32]]) -> Vec<Vec<f32>> {
        let h = self.hidden;
        let lengths: Vec<usize> = sequences.iter().map(|s| s.len().min(self.max_positions)).collect();
        let starts: Vec<usize> = lengths.iter().scan(0, |at, &l| Some(std::mem::replace(at, *at + l))).collect();
        let tokens: usize = lengths.iter().sum();
        if tokens == 0 {
            return vec![vec![0.0; h]; sequences.len()];
        }
        let mut x = vec![0f32; tokens * h];
        for ((seq, &len), &start) in sequences.iter().zip(&lengths).zip(&starts) {
            for (p, &id) in seq[..len].iter().enumerate() {
                let row = &mut x[(start + p) * h..(start + p + 1) * h];
                row.copy_from_slice(&self.positions[p * h..(p + 1) * h]);
                row.iter_mut().zip(&self.token_type).for_each(|(r, t)| *r += t);
                self.add_word(id, row);
            }
        }
        let norm = &self.embedding_norm;
        ops::layer_norm(&mut x, h, &norm.gamma, &norm.beta, self.eps);

        let mut quantised = QuantRows::new();
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut projected = vec![0f32; tokens * h];
        let mut hidden = vec![0f32; tokens * self.intermediate];
        let spans: Vec<(usize, usize)> = starts.iter().copied().zip(lengths.iter().copied()).collect();
        for layer in &self.layers {
            layer.qkv.forward(&x, tokens, &mut quantised, &mut qkv);
            self.attention(&qkv, &spans, &mut context);
            layer.attention_out.forward(&context, tokens, &mut quantised, &mut projected);
            let n = &layer.attention_norm;
            ops::add_layer_norm(&mut projected, &x, h, &n.gamma, &n.beta, self.eps);
            std::mem::swap(&mut x, &mut projected);
            layer.intermediate.forward(&x, tokens, &mut quantised, &mut hidden);
            ops::gelu(&mut hidden);
            layer.output.forward(&hidden, tokens, &mut quantised, &mut projected);
            let n = &layer.output_norm;
            ops::add_layer_norm(&mut projected, &x, h, &n.gamma, &n.beta, self.eps);
            std::mem::swap(&mut x, &mut projected);
        }
        spans
            .iter()
            .map(|&(start, len)| {
                let mut mean = vec![0f32; h];
                for row in x[start * h..(start + len) * h].chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                mean.iter_mut().for_each(|m| *m /= len.max(1) as f32);
                mean
            })
            .collect()
    }

    /// Self-attention of every sequence and head, in f32: `qkv` rows are [q | k | v] per token,
    /// `context` receives the heads side by side. Work is split over (sequence, head) pairs.
    fn attention(&self, qkv: &[f32], spans: &[(usize, usize)], context: &mut [f32]) {
        let h = self.hidden;
        let d = h / self.heads;
        let scale = 1.0 / (d as f32).sqrt();
        let heads = self.heads;
        // Each (sequence, head) writes a disjoint column block of its sequence's rows; collect
        // per-pair outputs and scatter them, which keeps the parallel part free of aliasing.
        let outputs: Vec<Vec<f32>> = spans
            .par_iter()
            .flat_map_iter(|&(start, len)| (0..heads).map(move |head| (start, len, head)))
            .map(|(start, len, head)| {
                let q = |t: usize| &qkv[(start + t) * 3 * h + head * d..][..d];
                let k = |t: usize| &qkv[(start + t) * 3 * h + h + head * d..][..d];
                let v = |t: usize| &qkv[(start + t) * 3 * h + 2 * h + head * d..][..d];
                let mut scores = vec![0f32; len * len];
                for i in 0..len {
                    let qi = q(i);
                    for j in 0..len {
                        scores[i * len + j] = qi.iter().zip(k(j)).map(|(a, b)| a * b).sum::<f32>() * scale;
                    }
                }
                ops::softmax_rows(&mut scores, len, None);
                let mut out = vec![0f32; len * d];
                for i in 0..len {
                    let row = &mut out[i * d..(i + 1) * d];
                    for j in 0..len {
                        let p = scores[i * len + j];
                        row.iter_mut().zip(v(j)).for_each(|(o, x)| *o += p * x);
                    }
                }
                out
            })
            .collect();
        let mut pairs = outputs.into_iter();
        for &(start, len) in spans {
            for head in 0..heads {
                let out = pairs.next().expect("one output per (sequence, head)");
                for i in 0..len {
                    context[(start + i) * h + head * d..][..d].copy_from_slice(&out[i * d..(i + 1) * d]);
                }
            }
        }
    }
}

impl Backend for NativeBert {
    fn weights(&self) -> WeightKind {
        WeightKind::Int8
    }
    fn max_positions(&self) -> usize {
        self.max_positions
    }
    fn forward_pooled(&self, batch: &TokenBatch) -> Result<Vec<Vec<f32>>> {
        // Padding is dropped: each row keeps only its real tokens.
        let sequences: Vec<&[u32]> = (0..batch.rows)
            .map(|r| {
                let row = &batch.ids[r * batch.len..(r + 1) * batch.len];
                let real = batch.mask[r * batch.len..(r + 1) * batch.len].iter().filter(|&&m| m > 0.0).count();
                &row[..real]
            })
            .collect();
        Ok(self.forward_packed(&sequences))
    }
}
