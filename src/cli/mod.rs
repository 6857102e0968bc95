//! The command-line layer: argument structs and output formatting around library calls, one
//! module per command family. `main.rs` only parses and dispatches.

pub mod audit;
pub mod library;
pub mod model;
pub mod progress;
pub mod report;
pub mod serve;
pub mod style;
pub mod tone;

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use sufler::encoder::{self, Encoder, EncoderOptions, WeightKind};

/// Flags shared by every command that runs the encoder.
#[derive(Args, Clone)]
pub struct EncoderArgs {
    /// Model directory (config.json, tokenizer.json, weights); default: models/cache, then the HF cache.
    #[arg(long, env = "SUFLER_MODEL_DIR", global = true)]
    model_dir: Option<PathBuf>,
    /// Weight path: int8 (native kernels; default when model.safetensors is present), f32 or q4_0 (candle).
    #[arg(long, env = "SUFLER_WEIGHTS", global = true)]
    weights: Option<WeightKind>,
    /// Compute threads (default: the cores present).
    #[arg(long, env = "SUFLER_THREADS", global = true)]
    threads: Option<usize>,
}

impl EncoderArgs {
    pub fn load(&self) -> Result<Encoder> {
        encoder::configure_threads(self.threads);
        let opts = EncoderOptions { weights: self.weights, ..EncoderOptions::default() };
        Ok(Encoder::from_dir(self.model_dir.as_deref(), &opts)?)
    }
}

/// One error listing the first ten problems of an input (each "line N: …") and how many more.
pub fn bad_input(what: &str, problems: &[String]) -> anyhow::Error {
    let shown: Vec<&str> = problems.iter().take(10).map(String::as_str).collect();
    let more = if problems.len() > 10 { format!(" (and {} more)", problems.len() - 10) } else { String::new() };
    anyhow::anyhow!("{what}:\n  {}{more}", shown.join("\n  "))
}
