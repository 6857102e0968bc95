//! Sentence embeddings with multilingual-e5-small: `query: ` / `passage: ` prefixes, the XLM-R
//! unigram tokenizer, a BERT forward pass, mean pooling over real tokens and L2 normalisation.
//!
//! Callers use the [`Embedder`] trait (texts → unit vectors). [`Encoder`] implements it on top
//! of a [`Backend`] (token batch → pooled states), so the kernels can change without touching
//! callers: the default int8 path is [`native::NativeBert`] (hand-written kernels in [`gemm`]
//! and [`ops`]); the f32 and the Q4_0 paths are two ways of loading [`bert::CandleBert`].

pub mod bert;
pub mod gemm;
pub mod native;
pub mod ops;
pub mod simd;
pub mod tokenize;

use std::path::Path;

use crate::error::{Error, Result};
use crate::models::ModelFiles;
pub use simd::{SimdError, SimdLevel};
pub use tokenize::{TextTokenizer, Window};

/// Longest text accepted, in bytes of UTF-8. Chat messages and e-mails are far shorter; the
/// limit keeps one request from occupying the encoder for seconds (texts past 510 tokens are
/// windowed, see [`TextTokenizer::windows`]).
pub const MAX_TEXT_BYTES: usize = 32 * 1024;

/// Which side of retrieval a text is on; e5 was trained with these prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TextKind {
    /// A question or client message (`query: `).
    Query,
    /// A document or template (`passage: `).
    Passage,
}

impl TextKind {
    /// The prefix e5 expects.
    pub fn prefix(self) -> &'static str {
        match self {
            TextKind::Query => "query: ",
            TextKind::Passage => "passage: ",
        }
    }
}

/// The weight format of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum WeightKind {
    /// f32 matrices from `model.safetensors`.
    #[serde(rename = "f32")]
    F32,
    /// GGML Q4_0 matrices from the importer's GGUF, int8 activations.
    #[serde(rename = "q4_0")]
    Q4_0,
    /// `model.safetensors` quantised to int8 per output row at load, int8 activations, run by
    /// [`native::NativeBert`].
    #[serde(rename = "int8")]
    Int8,
}

impl WeightKind {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            WeightKind::F32 => "f32",
            WeightKind::Q4_0 => "q4_0",
            WeightKind::Int8 => "int8",
        }
    }
}

impl std::str::FromStr for WeightKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" => Ok(WeightKind::F32),
            "q4_0" | "q4" => Ok(WeightKind::Q4_0),
            "int8" => Ok(WeightKind::Int8),
            other => Err(Error::InvalidInput(format!("unknown weights {other:?}: use f32, q4_0 or int8"))),
        }
    }
}

/// Texts → L2-normalised embeddings. Implemented by [`Encoder`]; tests of code that ranks or
/// compares texts can implement it with a cheap double.
pub trait Embedder: Send + Sync {
    /// Embedding dimension.
    fn dim(&self) -> usize;
    /// Identifies the model and weights: vectors cached under one id are only reused by an
    /// embedder with the same id.
    fn model_id(&self) -> &str;
    /// One unit vector per text, in input order.
    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>>;
    /// One unit vector per (text, kind), in input order. An embedder behind a queue overrides
    /// it to send queries and passages as one job (one wait instead of two).
    fn embed_mixed(&self, items: &[(&str, TextKind)]) -> Result<Vec<Vec<f32>>> {
        let mut out: Vec<Option<Vec<f32>>> = vec![None; items.len()];
        for kind in [TextKind::Query, TextKind::Passage] {
            let (at, texts): (Vec<usize>, Vec<&str>) =
                items.iter().enumerate().filter(|(_, (_, k))| *k == kind).map(|(i, (t, _))| (i, *t)).unzip();
            if !texts.is_empty() {
                for (i, v) in at.into_iter().zip(self.embed(&texts, kind)?) {
                    out[i] = Some(v);
                }
            }
        }
        Ok(out.into_iter().map(|v| v.expect("every kind embedded")).collect())
    }
}

/// A padded batch of token sequences, row-major `[rows, len]`, for backends that need one
/// rectangular tensor.
#[derive(Debug, Clone)]
pub struct TokenBatch {
    /// Token ids, padded with the pad id.
    pub ids: Vec<u32>,
    /// 1.0 for real tokens, 0.0 for padding.
    pub mask: Vec<f32>,
    /// Number of sequences.
    pub rows: usize,
    /// Padded length.
    pub len: usize,
}

impl TokenBatch {
    /// Pads `sequences` to the longest one.
    pub fn pad(sequences: &[&[u32]], pad_id: u32) -> Self {
        let len = sequences.iter().map(|s| s.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(sequences.len() * len);
        let mut mask = Vec::with_capacity(sequences.len() * len);
        for s in sequences {
            ids.extend_from_slice(s);
            ids.extend(std::iter::repeat_n(pad_id, len - s.len()));
            mask.extend(std::iter::repeat_n(1.0f32, s.len()));
            mask.extend(std::iter::repeat_n(0.0f32, len - s.len()));
        }
        TokenBatch { ids, mask, rows: sequences.len(), len }
    }
}

/// Token sequences → mean-pooled (not normalised) final hidden states, one row per sequence.
pub trait Backend: Send + Sync {
    /// The weight format in use.
    fn weights(&self) -> WeightKind;
    /// Longest window the model takes, `<s>` and `</s>` included.
    fn max_positions(&self) -> usize;
    /// Runs the encoder on sequences of `<s>` … `</s>` ids, each at most
    /// [`Self::max_positions`] long.
    fn forward_pooled(&self, sequences: &[&[u32]]) -> Result<Vec<Vec<f32>>>;
    /// The instruction-set level of the backend's kernels, `None` for a backend whose kernels
    /// choose their own (candle).
    fn simd(&self) -> Option<SimdLevel> {
        None
    }
    /// Same, calling `between` between steps of the pass and giving up with
    /// [`Error::DeadlineExceeded`] once it returns true. A backend that runs layer by layer
    /// calls it before each layer; the default calls it once, before the pass.
    fn forward_pooled_until(&self, sequences: &[&[u32]], between: &mut dyn FnMut() -> bool) -> Result<Vec<Vec<f32>>> {
        if between() {
            return Err(Error::DeadlineExceeded);
        }
        self.forward_pooled(sequences)
    }
}

/// Encoder settings.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Weight path; `None` picks int8 (the native kernels over `model.safetensors`) when that
    /// file is present, else Q4_0 through candle.
    pub weights: Option<WeightKind>,
    /// Padded tokens per forward pass; windows are sorted by length and grouped under it.
    pub batch_tokens: usize,
}

impl Default for EncoderOptions {
    fn default() -> Self {
        EncoderOptions { weights: None, batch_tokens: 4096 }
    }
}

/// The default encoder: tokenizer + backend + batching + pooling.
pub struct Encoder {
    tokenizer: TextTokenizer,
    backend: Box<dyn Backend>,
    dim: usize,
    batch_tokens: usize,
    model_id: String,
}

impl Encoder {
    /// Loads the model from `files` with the chosen weight path.
    pub fn load(files: &ModelFiles, opts: &EncoderOptions) -> Result<Self> {
        // A bad `SUFLER_SIMD` is refused here rather than ignored by the kernels.
        SimdLevel::configured()?;
        let tokenizer = TextTokenizer::load(&files.tokenizer)?;
        let weights =
            opts.weights.unwrap_or(if files.safetensors.is_some() { WeightKind::Int8 } else { WeightKind::Q4_0 });
        let missing = |file: &str| {
            Error::ModelNotFound(format!("{} weights need {file} in {}", weights.as_str(), files.dir.display()))
        };
        let backend: Box<dyn Backend> = match weights {
            WeightKind::F32 => {
                let path = files.safetensors.as_ref().ok_or_else(|| missing(crate::models::SAFETENSORS_FILE))?;
                Box::new(bert::CandleBert::from_safetensors(path, &files.config)?)
            }
            WeightKind::Q4_0 => {
                let path = files.gguf.as_ref().ok_or_else(|| missing(crate::models::GGUF_FILE))?;
                Box::new(bert::CandleBert::from_gguf(path, &files.config)?)
            }
            WeightKind::Int8 => {
                let path = files.safetensors.as_ref().ok_or_else(|| missing(crate::models::SAFETENSORS_FILE))?;
                Box::new(native::NativeBert::from_safetensors(path, &files.config)?)
            }
        };
        let mut encoder = Self::with_backend(tokenizer, backend, files.config.hidden_size, opts.batch_tokens);
        encoder.model_id = files.fingerprint(weights)?;
        release_freed_memory();
        Ok(encoder)
    }

    /// Locates the model (see [`ModelFiles::locate`]) and loads it.
    pub fn from_dir(dir: Option<&Path>, opts: &EncoderOptions) -> Result<Self> {
        Self::load(&ModelFiles::locate(dir)?, opts)
    }

    /// Assembles an encoder from parts (used by benches and alternative kernels).
    pub fn with_backend(tokenizer: TextTokenizer, backend: Box<dyn Backend>, dim: usize, batch_tokens: usize) -> Self {
        let model_id = format!("custom-{}-{dim}", backend.weights().as_str());
        Encoder { tokenizer, backend, dim, batch_tokens: batch_tokens.max(1), model_id }
    }

    /// The weight path in use.
    pub fn weights(&self) -> WeightKind {
        self.backend.weights()
    }

    /// The instruction-set level of the backend's kernels (`None` for the candle paths).
    pub fn simd(&self) -> Option<SimdLevel> {
        self.backend.simd()
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// The prefixed inputs the tokenizer sees, after checking each text.
    pub fn prefixed(texts: &[&str], kind: TextKind) -> Result<Vec<String>> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                check_text(t).map_err(|why| Error::InvalidInput(format!("text {}: {why}", i + 1)))?;
                Ok(format!("{}{t}", kind.prefix()))
            })
            .collect()
    }

    /// Embeds already tokenized content (no specials); used by [`Embedder::embed`] and by
    /// parity tests that feed the same ids to a reference implementation.
    pub fn embed_content(&self, content: &[Vec<u32>]) -> Result<Vec<Vec<f32>>> {
        let windows = self.windows(content);
        // Length bucketing: similar lengths share a batch, so a padding backend pads little.
        let mut order: Vec<usize> = (0..windows.len()).collect();
        order.sort_by_key(|&i| windows[i].ids.len());
        let sequences: Vec<&[u32]> = order.iter().map(|&i| windows[i].ids.as_slice()).collect();
        let mut pooled = vec![Vec::new(); windows.len()];
        for (&i, row) in order.iter().zip(self.forward_windows(&sequences, &mut || false)?) {
            pooled[i] = row;
        }
        Ok(self.pool(&windows, pooled, content.len()))
    }

    /// Splits tokenized content (no specials) into the `<s>` … `</s>` windows the model takes
    /// (see [`TextTokenizer::windows`]).
    pub fn windows(&self, content: &[Vec<u32>]) -> Vec<Window> {
        self.tokenizer.windows(content, self.backend.max_positions())
    }

    /// Mean-pooled final states of window sequences, in input order, run in groups of at most
    /// the encoder's padded batch budget. `between` is called between steps (by the backend,
    /// before each layer); once it returns true the work ends with [`Error::DeadlineExceeded`].
    pub fn forward_windows(&self, sequences: &[&[u32]], between: &mut dyn FnMut() -> bool) -> Result<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(sequences.len());
        let mut start = 0;
        while start < sequences.len() {
            let mut longest = sequences[start].len();
            let mut end = start + 1;
            while end < sequences.len() && longest.max(sequences[end].len()) * (end + 1 - start) <= self.batch_tokens {
                longest = longest.max(sequences[end].len());
                end += 1;
            }
            out.extend(self.backend.forward_pooled_until(&sequences[start..end], between)?);
            start = end;
        }
        Ok(out)
    }

    /// Each text's unit vector from its windows' pooled states (`pooled[i]` belongs to
    /// `windows[i]`): the content-weighted mean, L2-normalised.
    pub fn pool(&self, windows: &[Window], pooled: Vec<Vec<f32>>, texts: usize) -> Vec<Vec<f32>> {
        let mut sums = vec![vec![0f64; self.dim]; texts];
        let mut weights = vec![0f64; texts];
        for (w, row) in windows.iter().zip(pooled) {
            let weight = w.content.max(1) as f64;
            for (s, v) in sums[w.text].iter_mut().zip(row) {
                *s += weight * v as f64;
            }
            weights[w.text] += weight;
        }
        sums.into_iter().zip(weights).map(|(s, w)| normalize(s.iter().map(|v| (v / w) as f32).collect())).collect()
    }
}

impl Embedder for Encoder {
    fn dim(&self) -> usize {
        self.dim
    }
    fn model_id(&self) -> &str {
        &self.model_id
    }
    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>> {
        let inputs = Self::prefixed(texts, kind)?;
        let content = self.tokenizer.content_ids(&inputs)?;
        self.embed_content(&content)
    }
}

/// Hands memory freed after loading back to the system. Loading parses a 17 MB JSON file
/// and reads 85 MB of f32 weights to quantise them; glibc keeps such freed heap and RSS after
/// load stays ~25 MB higher without this.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free heap pages to the kernel; it has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Why a text cannot be embedded, if it cannot.
pub fn check_text(text: &str) -> std::result::Result<(), String> {
    if text.trim().is_empty() {
        return Err("empty text".into());
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!("{} bytes, the limit is {MAX_TEXT_BYTES}", text.len()));
    }
    Ok(())
}

/// Scales `v` to unit length (a zero vector stays zero).
pub fn normalize(mut v: Vec<f32>) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 1e-12 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
    v
}

/// Cosine similarity of two vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// Sets the number of compute threads (`None`: the cores present) and returns it. Call once,
/// before the first embedding: candle reads `RAYON_NUM_THREADS` and runs on rayon's pool.
pub fn configure_threads(threads: Option<usize>) -> usize {
    let n = threads
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    std::env::set_var("RAYON_NUM_THREADS", n.to_string());
    // Fails only if the pool already exists (a second call); the first setting then stays.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    n
}

/// Threads currently used for compute.
pub fn current_threads() -> usize {
    rayon::current_num_threads()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes each text as [kind, length]: enough to see which call served which item.
    struct Shape;
    impl Embedder for Shape {
        fn dim(&self) -> usize {
            2
        }
        fn model_id(&self) -> &str {
            "shape"
        }
        fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>> {
            Ok(texts.iter().map(|t| vec![(kind == TextKind::Passage) as u8 as f32, t.len() as f32]).collect())
        }
    }

    #[test]
    fn mixed_kinds_come_back_in_input_order() {
        let items = [("a", TextKind::Passage), ("bb", TextKind::Query), ("ccc", TextKind::Passage)];
        let got = Shape.embed_mixed(&items).unwrap();
        assert_eq!(got, vec![vec![1.0, 1.0], vec![0.0, 2.0], vec![1.0, 3.0]]);
        assert!(Shape.embed_mixed(&[]).unwrap().is_empty());
    }

    #[test]
    fn batch_padding_masks_only_real_tokens() {
        let batch = TokenBatch::pad(&[&[0, 5, 6, 2], &[0, 7, 2]], 1);
        assert_eq!((batch.rows, batch.len), (2, 4));
        assert_eq!(batch.ids, vec![0, 5, 6, 2, 0, 7, 2, 1]);
        assert_eq!(batch.mask, vec![1., 1., 1., 1., 1., 1., 1., 0.]);
    }

    #[test]
    fn empty_and_oversized_texts_are_refused() {
        assert!(check_text("  \t").is_err());
        assert!(check_text(&"я".repeat(MAX_TEXT_BYTES)).is_err());
        assert!(check_text("Здравствуйте 👋").is_ok());
        let err = Encoder::prefixed(&["ok", ""], TextKind::Query).unwrap_err();
        assert!(err.to_string().contains("text 2"), "{err}");
    }

    #[test]
    fn normalize_and_cosine() {
        let v = normalize(vec![3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert!((cosine(&[1.0, 0.0], &[1.0, 1.0]) - std::f32::consts::FRAC_1_SQRT_2).abs() < 1e-6);
        assert_eq!(normalize(vec![0.0, 0.0]), vec![0.0, 0.0]);
    }
}
