//! The library's error type. The CLI turns these into a message and a non-zero exit.

use std::path::PathBuf;

/// Everything that can go wrong inside the library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// No model files where we looked.
    #[error("model not found: {0}")]
    ModelNotFound(String),
    /// A model file exists but is not what it should be (bad magic, truncated, wrong checksum).
    #[error("corrupt model file {path}: {reason}")]
    CorruptModel {
        /// The offending file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The Hugging Face Hub could not be reached or refused the download.
    #[error("{0}")]
    Hub(String),
    /// The tokenizer failed to load or to encode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A tensor operation failed.
    #[error("tensor: {0}")]
    Tensor(#[from] candle_core::Error),
    /// Input that the caller has to fix.
    #[error("{0}")]
    InvalidInput(String),
    /// A data set could not be parsed.
    #[error("{path}{}: {reason}", if *line == 0 { String::new() } else { format!(":{line}") })]
    Dataset {
        /// The data file.
        path: PathBuf,
        /// 1-based line number (0 when the whole file is at fault).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A template file with problems; nothing of it was imported.
    #[error("{path}: {} problem(s), nothing imported:{}", problems.len(), problems.iter().map(|p| format!("\n  {p}")).collect::<String>())]
    Import {
        /// The file.
        path: PathBuf,
        /// Every problem found, in line order.
        problems: Vec<ImportProblem>,
    },
    /// The template library (SQLite) cannot be opened or used.
    #[error("template library {path}: {reason}")]
    Store {
        /// The database file.
        path: PathBuf,
        /// What went wrong, in words a user can act on.
        reason: String,
    },
    /// The template library's file disappeared, was replaced or became read-only while open:
    /// writes would be lost, so they are refused (HTTP 503).
    #[error("template library {path}: {reason}")]
    StoreUnavailable {
        /// The database file.
        path: PathBuf,
        /// What happened to it.
        reason: String,
    },
    /// The encoder failed on a batch (reported to every request in it).
    #[error("encoder: {0}")]
    Encoder(String),
    /// The encoder's queue is full: the caller should retry shortly (HTTP 503 + Retry-After).
    #[error("{0}")]
    Busy(String),
    /// The work ran past its [`crate::deadline::Deadline`] or its caller gave up (HTTP 503).
    #[error("the work was stopped: its time limit ran out or its caller gave up")]
    DeadlineExceeded,
    /// `SUFLER_SIMD` names no level, or one this CPU lacks.
    #[error(transparent)]
    Simd(#[from] crate::encoder::SimdError),
    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// One problem of an imported file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportProblem {
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

impl ImportProblem {
    /// A problem at `line`.
    pub fn new(line: usize, reason: impl Into<String>) -> Self {
        ImportProblem { line, reason: reason.into() }
    }
}

impl std::fmt::Display for ImportProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "line {}: {}", self.line, self.reason)
        }
    }
}

/// Library result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// A data-file error at `line` (1-based; 0 for the whole file).
    pub fn dataset(path: impl Into<PathBuf>, line: usize, reason: impl Into<String>) -> Self {
        Error::Dataset { path: path.into(), line, reason: reason.into() }
    }

    /// A TOML data file that does not parse, with the line of the problem.
    pub fn toml(path: impl Into<PathBuf>, text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map_or(0, |s| text[..s.start].lines().count().max(1));
        Error::dataset(path, line, e.message())
    }

    /// A file whose templates cannot be imported.
    pub fn import(path: impl Into<PathBuf>, problems: Vec<ImportProblem>) -> Self {
        Error::Import { path: path.into(), problems }
    }

    /// A corrupt-model error for `path`.
    pub fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::CorruptModel { path: path.into(), reason: reason.into() }
    }
}
