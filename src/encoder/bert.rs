//! The BERT encoder forward pass in candle, one implementation for both weight paths: every
//! weight matrix is a [`QMatMul`], which holds either an f32 tensor (from safetensors) or the
//! Q4_0 tensor kept by the importer (from GGUF; candle then runs int8-activation matmuls).

use std::path::Path;

use candle_core::quantized::QMatMul;
use candle_core::{DType, Device, Module, Tensor};
use candle_nn::LayerNorm;

use crate::encoder::{Backend, TokenBatch, WeightKind};
use crate::error::{Error, Result};
use crate::models::ModelConfig;

/// Where the weights are read from; both sources name tensors as Hugging Face `BertModel` does.
trait WeightSource {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatMul>;
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor>;
}

struct SafetensorsSource<'a>(candle_nn::VarBuilder<'a>);

impl WeightSource for SafetensorsSource<'_> {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatMul> {
        Ok(QMatMul::Tensor(self.0.get((rows, cols), name)?))
    }
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        Ok(self.0.get(shape, name)?)
    }
}

struct GgufSource(candle_transformers::quantized_var_builder::VarBuilder, Device);

impl WeightSource for GgufSource {
    fn matrix(&self, name: &str, rows: usize, cols: usize) -> Result<QMatMul> {
        Ok(QMatMul::from_arc(self.0.get((rows, cols), name)?)?)
    }
    fn tensor(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        Ok(self.0.get(shape, name)?.dequantize(&self.1)?)
    }
}

struct Linear {
    weight: QMatMul,
    bias: Tensor,
}

impl Linear {
    fn load(src: &dyn WeightSource, prefix: &str, out_dim: usize, in_dim: usize) -> Result<Self> {
        Ok(Linear {
            weight: src.matrix(&format!("{prefix}.weight"), out_dim, in_dim)?,
            bias: src.tensor(&format!("{prefix}.bias"), &[out_dim])?,
        })
    }
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        self.weight.forward(x)?.broadcast_add(&self.bias)
    }
}

fn layer_norm(src: &dyn WeightSource, prefix: &str, dim: usize, eps: f64) -> Result<LayerNorm> {
    Ok(LayerNorm::new(
        src.tensor(&format!("{prefix}.weight"), &[dim])?,
        src.tensor(&format!("{prefix}.bias"), &[dim])?,
        eps,
    ))
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

/// multilingual-e5-small (or any BERT encoder of the same shape) on the CPU.
pub struct CandleBert {
    word: QMatMul,
    positions: Tensor,
    token_type: Tensor,
    embedding_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    max_positions: usize,
    pad_id: u32,
    weights: WeightKind,
    device: Device,
}

impl CandleBert {
    /// Loads f32 weights from `model.safetensors` (memory-mapped).
    pub fn from_safetensors(path: &Path, config: &ModelConfig) -> Result<Self> {
        let device = Device::Cpu;
        // Safety: the file is mapped read-only and not modified while the model lives; the
        // safetensors header is validated by the loader (a truncated file is an error).
        let vb = unsafe { candle_nn::VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &device) }
            .map_err(|e| Error::corrupt(path, e.to_string()))?;
        // Hub checkpoints of BertModel sometimes carry a `bert.` prefix.
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") { vb } else { vb.pp("bert") };
        Self::build(&SafetensorsSource(vb), config, WeightKind::F32, device).map_err(|e| annotate(e, path))
    }

    /// Loads the Q4_0 weights from the importer's GGUF file.
    pub fn from_gguf(path: &Path, config: &ModelConfig) -> Result<Self> {
        let device = Device::Cpu;
        let vb = candle_transformers::quantized_var_builder::VarBuilder::from_gguf(path, &device)
            .map_err(|e| Error::corrupt(path, e.to_string()))?;
        Self::build(&GgufSource(vb, device.clone()), config, WeightKind::Q4_0, device).map_err(|e| annotate(e, path))
    }

    fn build(src: &dyn WeightSource, c: &ModelConfig, weights: WeightKind, device: Device) -> Result<Self> {
        let (h, eps) = (c.hidden_size, c.layer_norm_eps);
        let layers = (0..c.num_hidden_layers)
            .map(|i| {
                let p = format!("encoder.layer.{i}");
                Ok(Layer {
                    query: Linear::load(src, &format!("{p}.attention.self.query"), h, h)?,
                    key: Linear::load(src, &format!("{p}.attention.self.key"), h, h)?,
                    value: Linear::load(src, &format!("{p}.attention.self.value"), h, h)?,
                    attention_out: Linear::load(src, &format!("{p}.attention.output.dense"), h, h)?,
                    attention_norm: layer_norm(src, &format!("{p}.attention.output.LayerNorm"), h, eps)?,
                    intermediate: Linear::load(src, &format!("{p}.intermediate.dense"), c.intermediate_size, h)?,
                    output: Linear::load(src, &format!("{p}.output.dense"), h, c.intermediate_size)?,
                    output_norm: layer_norm(src, &format!("{p}.output.LayerNorm"), h, eps)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let token_type = src.tensor("embeddings.token_type_embeddings.weight", &[c.type_vocab_size, h])?;
        Ok(CandleBert {
            word: src.matrix("embeddings.word_embeddings.weight", c.vocab_size, h)?,
            positions: src.tensor("embeddings.position_embeddings.weight", &[c.max_position_embeddings, h])?,
            token_type: token_type.get(0)?,
            embedding_norm: layer_norm(src, "embeddings.LayerNorm", h, eps)?,
            layers,
            heads: c.num_attention_heads,
            head_dim: h / c.num_attention_heads,
            max_positions: c.max_position_embeddings,
            pad_id: c.pad_token_id,
            weights,
            device,
        })
    }

    fn forward(&self, batch: &TokenBatch) -> candle_core::Result<Tensor> {
        let (n, len) = (batch.rows, batch.len);
        let ids = Tensor::from_slice(&batch.ids, (n, len), &self.device)?;
        let mask = Tensor::from_slice(&batch.mask, (n, len), &self.device)?;
        let mut x = self
            .word
            .embedding(&ids)?
            .broadcast_add(&self.positions.narrow(0, 0, len)?)?
            .broadcast_add(&self.token_type)?;
        x = self.embedding_norm.forward(&x)?;
        // Additive attention bias: 0 for real tokens, a large negative number for padding.
        let bias = ((mask.ones_like()? - &mask)? * -1e9f64)?.reshape((n, 1, 1, len))?;
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        let split = |t: Tensor| t.reshape((n, len, self.heads, self.head_dim))?.transpose(1, 2)?.contiguous();
        for layer in &self.layers {
            let q = split(layer.query.forward(&x)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let scores = (q.matmul(&k.t()?)? * scale)?.broadcast_add(&bias)?;
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let context = probs.matmul(&v)?.transpose(1, 2)?.reshape((n, len, self.heads * self.head_dim))?;
            x = layer.attention_norm.forward(&(layer.attention_out.forward(&context)? + &x)?)?;
            let hidden = layer.intermediate.forward(&x)?.gelu_erf()?;
            x = layer.output_norm.forward(&(layer.output.forward(&hidden)? + &x)?)?;
        }
        // Mean pooling over real tokens.
        let m = mask.unsqueeze(2)?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        summed.broadcast_div(&m.sum(1)?)
    }
}

fn annotate(e: Error, path: &Path) -> Error {
    match e {
        Error::Tensor(t) => Error::corrupt(path, format!("unexpected weights: {t}")),
        other => other,
    }
}

impl Backend for CandleBert {
    fn weights(&self) -> WeightKind {
        self.weights
    }
    fn max_positions(&self) -> usize {
        self.max_positions
    }
    fn forward_pooled(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        Ok(self.forward(&TokenBatch::pad(sequences, self.pad_id))?.to_vec2::<f32>()?)
    }
}
