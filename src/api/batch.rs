//! Dynamic batching of the encoder for concurrent requests, as text-embeddings-inference does:
//! callers tokenize their own texts, queue them, and one worker thread runs whatever is waiting
//! (up to a token budget) as one forward pass. The queue is bounded in texts; a full queue
//! refuses at once ([`Error::Busy`], HTTP 503 with Retry-After) instead of growing memory.
//!
//! In front of the queue sits a small LRU cache of vectors by (kind, text). An operator's work
//! on one dialogue embeds the same texts again and again: the page checks the draft at every
//! pause in typing, suggest and the answer-all rule both embed the client's question, and a
//! rewrite re-checks sentences the draft already had. Hits skip the queue entirely.

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use lru::LruCache;

use crate::encoder::{Embedder, Encoder, TextKind};
use crate::error::{Error, Result};

/// What a refused caller is told.
const OVERLOADED: &str = "сервер перегружен: повторите, пожалуйста, запрос через секунду";

/// One caller's texts, tokenized, with where to send the vectors.
struct Job {
    content: Vec<Vec<u32>>,
    /// Texts in `content` (kept after the content moves into a batch).
    texts: usize,
    tokens: usize,
    reply: mpsc::SyncSender<Result<Vec<Vec<f32>>>>,
}

/// Queue settings.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Most texts waiting at once; more are refused.
    pub max_queued_texts: usize,
    /// Most tokens in one forward pass (a single larger job still runs, alone).
    pub batch_tokens: usize,
    /// How long a caller waits for its vectors before giving up.
    pub timeout: Duration,
    /// Vectors kept in the cache (0: no cache). 384 floats each: 4096 take ~7 MB.
    pub cache_texts: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        // 1 024 tokens is ~60 chat messages, a ~80 ms pass on 2 cores. Measured under the load
        // test's mix: 2 048 gains no throughput over it, 512 loses ~15 % (668 against 590
        // requests/s), and at a rate below capacity passes are small anyway (mean 2–3 texts).
        BatchOptions { max_queued_texts: 512, batch_tokens: 1024, timeout: Duration::from_secs(10), cache_texts: 4096 }
    }
}

type CacheKey = (TextKind, String);
/// Vectors by (kind, text), shared by the handles.
type VectorCache = Arc<Mutex<LruCache<CacheKey, Vec<f32>>>>;

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Texts waiting or running now.
    pub queued_texts: AtomicUsize,
}

/// An [`Embedder`] that sends its work to the shared batching worker. Cheap to clone.
#[derive(Clone)]
pub struct BatchingEmbedder {
    encoder: Arc<Encoder>,
    sender: mpsc::SyncSender<Job>,
    stats: Arc<QueueStats>,
    options: BatchOptions,
    cache: Option<VectorCache>,
}

impl BatchingEmbedder {
    /// Starts the worker thread; it stops when the last handle is dropped.
    pub fn start(encoder: Arc<Encoder>, options: BatchOptions) -> BatchingEmbedder {
        // The channel's own bound only has to hold jobs; the text bound is `queued_texts`.
        let (sender, receiver) = mpsc::sync_channel::<Job>(options.max_queued_texts.max(1));
        let stats = Arc::new(QueueStats::default());
        let worker = (Arc::clone(&encoder), Arc::clone(&stats), options.batch_tokens);
        std::thread::Builder::new()
            .name("sufler-encoder".into())
            .spawn(move || run_worker(receiver, worker.0, worker.1, worker.2))
            .expect("spawning the encoder thread");
        let cache = NonZeroUsize::new(options.cache_texts).map(|n| Arc::new(Mutex::new(LruCache::new(n))));
        BatchingEmbedder { encoder, sender, stats, options, cache }
    }

    /// Queue counters.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }

    /// The encoder behind the queue.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }
}

fn run_worker(receiver: mpsc::Receiver<Job>, encoder: Arc<Encoder>, stats: Arc<QueueStats>, batch_tokens: usize) {
    let mut pending: Option<Job> = None;
    loop {
        let first = match pending.take() {
            Some(job) => job,
            None => match receiver.recv() {
                Ok(job) => job,
                Err(_) => return, // every handle dropped
            },
        };
        let mut tokens = first.tokens;
        let mut jobs = vec![first];
        // Take what is already waiting, up to the budget; no waiting for more.
        while let Ok(job) = receiver.try_recv() {
            if tokens + job.tokens > batch_tokens {
                pending = Some(job);
                break;
            }
            tokens += job.tokens;
            jobs.push(job);
        }
        let texts: usize = jobs.iter().map(|j| j.content.len()).sum();
        metrics::histogram!("sufler_encoder_batch_texts").record(texts as f64);
        metrics::histogram!("sufler_encoder_batch_tokens").record(tokens as f64);
        let content: Vec<Vec<u32>> = jobs.iter_mut().flat_map(|j| std::mem::take(&mut j.content)).collect();
        let started = std::time::Instant::now();
        let result = encoder.embed_content(&content);
        metrics::histogram!("sufler_encoder_batch_seconds").record(started.elapsed().as_secs_f64());
        stats.queued_texts.fetch_sub(texts, Ordering::SeqCst);
        match result {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for job in jobs {
                    // A caller that timed out has gone; its vectors are dropped.
                    let _ = job.reply.send(Ok(vectors.by_ref().take(job.texts).collect()));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(Error::Encoder(message.clone())));
                }
            }
        }
    }
}

impl Embedder for BatchingEmbedder {
    fn dim(&self) -> usize {
        self.encoder.dim()
    }
    fn model_id(&self) -> &str {
        self.encoder.model_id()
    }
    fn embed(&self, texts: &[&str], kind: TextKind) -> Result<Vec<Vec<f32>>> {
        let items: Vec<(&str, TextKind)> = texts.iter().map(|t| (*t, kind)).collect();
        self.embed_mixed(&items)
    }

    fn embed_mixed(&self, items: &[(&str, TextKind)]) -> Result<Vec<Vec<f32>>> {
        let Some(cache) = &self.cache else { return self.embed_queued(items) };
        let key = |(text, kind): &(&str, TextKind)| (*kind, (*text).to_owned());
        let mut found: Vec<Option<Vec<f32>>> = {
            let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
            items.iter().map(|item| cache.get(&key(item)).cloned()).collect()
        };
        let missing: Vec<(&str, TextKind)> =
            items.iter().zip(&found).filter(|(_, v)| v.is_none()).map(|(item, _)| *item).collect();
        metrics::counter!("sufler_encoder_cache_hits_total").increment((items.len() - missing.len()) as u64);
        metrics::counter!("sufler_encoder_cache_misses_total").increment(missing.len() as u64);
        let fresh = self.embed_queued(&missing)?;
        let mut cache = cache.lock().unwrap_or_else(|e| e.into_inner());
        let mut fresh = missing.iter().zip(fresh);
        for slot in found.iter_mut().filter(|v| v.is_none()) {
            let (item, vector) = fresh.next().expect("one vector per missing text");
            cache.put(key(item), vector.clone());
            *slot = Some(vector);
        }
        Ok(found.into_iter().map(|v| v.expect("every text embedded")).collect())
    }
}

impl BatchingEmbedder {
    /// Embeds through the batching queue, without the cache: one job, whatever the kinds.
    fn embed_queued(&self, items: &[(&str, TextKind)]) -> Result<Vec<Vec<f32>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // Tokenized here, on the caller's thread: the worker only runs the model.
        let mut inputs = Vec::with_capacity(items.len());
        for (text, kind) in items {
            inputs.extend(Encoder::prefixed(&[text], *kind)?);
        }
        let content = self.encoder.tokenizer().content_ids(&inputs)?;
        let tokens = content.iter().map(|c| c.len() + 2).sum();
        let n = items.len();
        let queued = self.stats.queued_texts.fetch_add(n, Ordering::SeqCst);
        if queued + n > self.options.max_queued_texts {
            self.stats.queued_texts.fetch_sub(n, Ordering::SeqCst);
            metrics::counter!("sufler_encoder_rejected_total").increment(1);
            return Err(Error::Busy(OVERLOADED.into()));
        }
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job { content, texts: n, tokens, reply };
        if self.sender.try_send(job).is_err() {
            self.stats.queued_texts.fetch_sub(n, Ordering::SeqCst);
            return Err(Error::Busy(OVERLOADED.into()));
        }
        match answer.recv_timeout(self.options.timeout) {
            Ok(result) => result,
            Err(_) => Err(Error::Busy("кодировщик не ответил вовремя: повторите, пожалуйста, запрос".into())),
        }
    }
}
