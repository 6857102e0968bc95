//! sufler («суфлёр») — an on-device engine that helps support operators write to clients in
//! Russian: it ranks approved reply templates, checks drafts against the house style and
//! evaluates both.
//!
//! Data flows one way: text → tokens → embeddings (the [`encoder`]) → the capabilities built
//! on top of it. Model files are located, downloaded or imported by [`models`]; [`eval`] holds
//! the evaluation harnesses and [`bench`] the encoder timing used by the CLI.
#![deny(missing_docs)]

pub mod api;
pub mod audit;
pub mod bench;
pub mod deadline;
pub mod encoder;
pub mod error;
pub mod eval;
pub mod limits;
pub mod models;
pub mod rank;
pub mod report;
pub mod style;
pub mod templates;
pub mod text;
pub mod tone;

pub use deadline::Deadline;
pub use encoder::{Embedder, Encoder, EncoderOptions, TextKind, WeightKind};
pub use error::{Error, Result};
