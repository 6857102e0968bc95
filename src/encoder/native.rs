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
//! Weights come from `model.safetensors`, memory-mapped while loading. The linear layers are
//! quantised per output row at load (21 MB). The 250k × 384 word table (384 MB in f32) stays
//! in the file: each token's row is read from it when the token is embedded, so the table
//! costs no resident memory at all (a mapping would keep every page touched, plus the
//! kernel's fault-around neighbours, ~60 MB after a few hundred chat messages).

use std::path::Path;

use std::fs::File;

use memmap2::Mmap;
use rayon::prelude::*;
use safetensors::SafeTensors;

use crate::encoder::gemm::{self, QuantMatrix, QuantRows};
use crate::encoder::{ops, Backend, SimdLevel, WeightKind};
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
    file: File,
    path: std::path::PathBuf,
    /// Byte offset of the f32 word table in `file`.
    word_offset: u64,
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
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
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
        let word_offset = (word.data().as_ptr() as usize - mmap.as_ptr() as usize) as u64;
        let positions = tensors.vec("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?;
        let token_type = tensors.vec("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
        let embedding_norm = tensors.norm("embeddings.LayerNorm", h)?;
        drop(tensors);
        // Unmapping releases the pages read for quantisation (85 MB of f32 weights).
        drop(mmap);
        Ok(NativeBert {
            file,
            path: path.to_path_buf(),
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
        })
    }

    /// Word-table row `id` added into `out`; `bytes` is scratch of `4 × hidden` bytes.
    fn add_word(&self, id: u32, out: &mut [f32], bytes: &mut [u8]) -> Result<()> {
        let id = (id as usize).min(self.vocab - 1) as u64;
        let offset = self.word_offset + id * bytes.len() as u64;
        read_exact_at(&self.file, bytes, offset).map_err(|e| Error::io(&self.path, e))?;
        for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *o += f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        }
        Ok(())
    }

    /// Mean-pooled final hidden states of `sequences` (token ids each), packed end to end.
    pub fn forward_packed(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.forward_packed_until(sequences, &mut || false)
    }

    /// Same, calling `between` before each layer (the batching queue answers short requests
    /// there, and stops a pass nobody waits for any more: once it returns true the pass ends
    /// with [`Error::DeadlineExceeded`]). The call is re-entrant: `between` may run another
    /// pass.
    pub fn forward_packed_until(
        &self,
        sequences: &[&[u32]],
        between: &mut dyn FnMut() -> bool,
    ) -> Result<Vec<Vec<f32>>> {
        let h = self.hidden;
        let lengths: Vec<usize> = sequences.iter().map(|s| s.len().min(self.max_positions)).collect();
        let starts: Vec<usize> = lengths.iter().scan(0, |at, &l| Some(std::mem::replace(at, *at + l))).collect();
        let tokens: usize = lengths.iter().sum();
        if tokens == 0 {
            return Ok(vec![vec![0.0; h]; sequences.len()]);
        }
        let mut x = vec![0f32; tokens * h];
        let mut word_bytes = vec![0u8; h * 4];
        for ((seq, &len), &start) in sequences.iter().zip(&lengths).zip(&starts) {
            for (p, &id) in seq[..len].iter().enumerate() {
                let row = &mut x[(start + p) * h..(start + p + 1) * h];
                row.copy_from_slice(&self.positions[p * h..(p + 1) * h]);
                row.iter_mut().zip(&self.token_type).for_each(|(r, t)| *r += t);
                self.add_word(id, row, &mut word_bytes)?;
            }
        }
        let norm = &self.embedding_norm;
        ops::layer_norm(&mut x, h, &norm.gamma, &norm.beta, self.eps);

        let mut quantised = QuantRows::new();
        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut by_head = vec![0f32; tokens * h];
        let mut projected = vec![0f32; tokens * h];
        let mut hidden = vec![0f32; tokens * self.intermediate];
        let spans: Vec<(usize, usize)> = starts.iter().copied().zip(lengths.iter().copied()).collect();
        for layer in &self.layers {
            if between() {
                return Err(Error::DeadlineExceeded);
            }
            layer.qkv.forward(&x, tokens, &mut quantised, &mut qkv);
            self.attention(&qkv, &spans, &mut by_head, &mut context);
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
        Ok(spans
            .iter()
            .map(|&(start, len)| {
                let mut mean = vec![0f32; h];
                for row in x[start * h..(start + len) * h].chunks_exact(h) {
                    mean.iter_mut().zip(row).for_each(|(m, v)| *m += v);
                }
                mean.iter_mut().for_each(|m| *m /= len.max(1) as f32);
                mean
            })
            .collect())
    }

    /// Self-attention of every sequence and head, in f32: `qkv` rows are [q | k | v] per token,
    /// `context` receives the heads side by side. Work is split over (sequence, head) pairs,
    /// each writing its own contiguous block of `by_head` (head-major: `[head][token][d]`),
    /// which is then transposed into `context`.
    fn attention(&self, qkv: &[f32], spans: &[(usize, usize)], by_head: &mut [f32], context: &mut [f32]) {
        let h = self.hidden;
        let d = h / self.heads;
        let tokens = context.len() / h;
        let scale = 1.0 / (d as f32).sqrt();
        let mut blocks: Vec<(usize, usize, usize, &mut [f32])> = Vec::with_capacity(spans.len() * self.heads);
        for (head, mut rest) in by_head.chunks_exact_mut(tokens * d).enumerate() {
            for &(start, len) in spans {
                let (block, tail) = rest.split_at_mut(len * d);
                blocks.push((start, len, head, block));
                rest = tail;
            }
        }
        let attend = |scores: &mut Vec<f32>, (start, len, head, out): (usize, usize, usize, &mut [f32])| {
            let at = start * 3 * h + head * d;
            scores.resize(len * len, 0.0);
            ops::attend(&qkv[at..], &qkv[at + h..], &qkv[at + 2 * h..], 3 * h, len, scale, scores, out);
        };
        // Below ~1M multiply-adds (a chat message is ~0.2M) handing work to the pool costs
        // more than it saves.
        let work: usize = spans.iter().map(|&(_, len)| len * len * h).sum();
        if work < 1 << 20 {
            let mut scores = Vec::new();
            blocks.into_iter().for_each(|block| attend(&mut scores, block));
        } else {
            blocks.into_par_iter().for_each_init(Vec::new, attend);
        }
        for (head, block) in by_head.chunks_exact(tokens * d).enumerate() {
            for (t, row) in block.chunks_exact(d).enumerate() {
                context[t * h + head * d..][..d].copy_from_slice(row);
            }
        }
    }
}

/// Reads `buf.len()` bytes at `offset` without moving a shared cursor (threads may read rows
/// of the word table at once).
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(windows)]
    {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(file, &mut buf[done..], offset + done as u64)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
}

impl Backend for NativeBert {
    fn weights(&self) -> WeightKind {
        WeightKind::Int8
    }
    fn max_positions(&self) -> usize {
        self.max_positions
    }
    fn forward_pooled(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        self.forward_packed(sequences)
    }
    /// The level of [`gemm`] and [`ops`]. The few f32 layers go through `ndarray`, which picks
    /// its own instructions.
    fn simd(&self) -> Option<SimdLevel> {
        Some(SimdLevel::active())
    }
    fn forward_pooled_until(&self, sequences: &[&[u32]], between: &mut dyn FnMut() -> bool) -> Result<Vec<Vec<f32>>> {
        self.forward_packed_until(sequences, between)
    }
}
