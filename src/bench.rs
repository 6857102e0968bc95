//! Encoder timing for `sufler bench encoder`: single-message latency and batch throughput
//! over a corpus of short chat messages.

use std::time::Instant;

use crate::encoder::{current_threads, Embedder, Encoder, TextKind};
use crate::error::{Error, Result};

/// The bundled corpus: short Russian support-chat messages written for this project.
pub const BUNDLED_CORPUS: &str = include_str!("../eval/chat-messages.txt");

/// What `sufler bench encoder` prints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EncoderBench {
    /// Median single-message latency, ms.
    pub p50_ms: f64,
    /// 95th percentile single-message latency, ms.
    pub p95_ms: f64,
    /// Throughput when the whole corpus is embedded in one call.
    pub batch_texts_per_s: f64,
    /// Compute threads.
    pub threads: usize,
    /// Weight path (`f32`, `q4_0` or `int8`).
    pub weights: String,
    /// Instruction-set level of the native kernels (`avx512-vnni`, `avx512`, `avx2`,
    /// `scalar`; see `SUFLER_SIMD`); `None` for the candle paths, whose kernels choose their own.
    pub simd: Option<String>,
    /// Texts in the corpus.
    pub texts: usize,
    /// Mean tokens per text, `query: ` prefix and specials included.
    pub mean_tokens: f64,
    /// Resident memory of the process with the encoder loaded, before the first text, MB
    /// (Linux; `None` elsewhere).
    pub rss_after_load_mb: Option<f64>,
    /// … and after the whole run.
    pub rss_after_run_mb: Option<f64>,
}

/// The process's resident set size in MB, from `/proc/self/status`.
pub fn resident_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 =
        status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb / 1024.0)
}

/// Non-empty lines of a corpus.
pub fn corpus_lines(text: &str) -> Vec<&str> {
    text.lines().map(str::trim_end).filter(|l| !l.trim().is_empty()).collect()
}

/// Times `encoder` on `texts`: each text alone (after a short warm-up), then all in one call.
pub fn run(encoder: &Encoder, texts: &[&str]) -> Result<EncoderBench> {
    if texts.is_empty() {
        return Err(Error::InvalidInput("the corpus has no texts".into()));
    }
    let rss_after_load_mb = resident_mb();
    for t in texts.iter().take(5) {
        encoder.embed(&[t], TextKind::Query)?;
    }
    let mut latencies = Vec::with_capacity(texts.len());
    for t in texts {
        let start = Instant::now();
        encoder.embed(&[t], TextKind::Query)?;
        latencies.push(start.elapsed().as_secs_f64() * 1e3);
    }
    latencies.sort_by(f64::total_cmp);
    let start = Instant::now();
    encoder.embed(texts, TextKind::Query)?;
    let batch_seconds = start.elapsed().as_secs_f64();

    let prefixed = Encoder::prefixed(texts, TextKind::Query)?;
    let tokens: usize = encoder.tokenizer().ids_with_specials(&prefixed)?.iter().map(Vec::len).sum();
    Ok(EncoderBench {
        p50_ms: percentile(&latencies, 0.50),
        p95_ms: percentile(&latencies, 0.95),
        batch_texts_per_s: texts.len() as f64 / batch_seconds,
        threads: current_threads(),
        weights: encoder.weights().as_str().to_string(),
        simd: encoder.simd().map(|l| l.name().to_string()),
        texts: texts.len(),
        mean_tokens: tokens as f64 / texts.len() as f64,
        rss_after_load_mb,
        rss_after_run_mb: resident_mb(),
    })
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 10.0);
        assert_eq!(percentile(&v, 0.95), 19.0);
        assert_eq!(percentile(&[7.0], 0.95), 7.0);
    }

    #[test]
    fn bundled_corpus_is_large_and_varied() {
        let lines = corpus_lines(BUNDLED_CORPUS);
        assert!(lines.len() >= 300, "{} lines", lines.len());
        let distinct: std::collections::HashSet<_> = lines.iter().collect();
        assert!(distinct.len() * 100 >= lines.len() * 95, "too many repeated lines");
    }
}
