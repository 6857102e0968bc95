//! Dynamic batching of the encoder for concurrent requests, as text-embeddings-inference does:
//! callers tokenize their own texts, queue them, and one worker thread runs whatever is waiting
//! (up to a token budget) as one forward pass.
//!
//! - **Bounded in tokens.** The queue counts the tokens waiting, not the texts (one 5 000-character
//!   text weighs as much as a hundred chat messages); a full queue refuses at once
//!   ([`Error::Busy`], HTTP 503 with Retry-After) instead of growing memory.
//! - **Fair to short requests.** A caller splits its texts into the model's windows and sends
//!   them in chunks of at most one pass's budget, one chunk at a time: a long text waits its
//!   turn between passes. Short jobs (chat messages) go first, and while a pass over long
//!   windows runs (seconds on 2 cores: attention over 512 tokens), the short jobs that arrive
//!   are run between its layers, so an ordinary message never waits behind a long one.
//! - **Cancelled with its caller.** Every job carries its request's [`Deadline`]
//!   ([`BatchingEmbedder::within`]). A job whose deadline has expired or whose caller stopped
//!   waiting is dropped before it runs, a running pass stops between layers once none of its
//!   callers waits for it, and a caller checks its deadline before each chunk.
//!
//! In front of the queue sits a small LRU cache of vectors by (kind, text). An operator's work
//! on one dialogue embeds the same texts again and again: the page checks the draft at every
//! pause in typing, suggest and the answer-all rule both embed the client's question, and a
//! rewrite re-checks sentences the draft already had. Hits skip the queue entirely.

use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::deadline::Deadline;
use crate::encoder::{Embedder, Encoder, TextKind};
use crate::error::{Error, Result};

/// What a refused caller is told.
const OVERLOADED: &str = "сервер перегружен: повторите, пожалуйста, запрос через секунду";

/// A job of at most this many tokens is short (a chat message is 20–60): it goes into the next
/// pass before longer ones, and is answered between the layers of a pass over long windows.
const SHORT_JOB_TOKENS: usize = 256;

/// How often a waiting caller looks at its deadline.
const WAIT_SLICE: Duration = Duration::from_millis(20);

/// One chunk of a caller's windows, with where to send their pooled states.
struct Job {
    /// `<s>` … `</s>` sequences.
    windows: Vec<Vec<u32>>,
    tokens: usize,
    deadline: Deadline,
    /// Set when the caller stopped waiting (its receiver is about to be dropped).
    gone: Arc<AtomicBool>,
    reply: mpsc::SyncSender<Result<Vec<Vec<f32>>>>,
}

impl Job {
    /// Nobody waits for this job's result any more.
    fn abandoned(&self) -> bool {
        self.gone.load(Ordering::Relaxed) || self.deadline.expired()
    }
}

/// Queue settings.
#[derive(Debug, Clone, Copy)]
pub struct BatchOptions {
    /// Most tokens waiting or running at once; more are refused.
    pub max_queued_tokens: usize,
    /// Most tokens in one forward pass, and in one chunk of a caller's windows (a single
    /// window longer than this still runs, alone).
    pub batch_tokens: usize,
    /// Vectors kept in the cache (0: no cache). 384 floats each: 4096 take ~7 MB.
    pub cache_texts: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        // 1 024 tokens is ~60 chat messages, a ~80 ms pass on 2 cores. Measured under the load
        // test's mix: 2 048 gains no throughput over it, 512 loses ~15 % (668 against 590
        // requests/s), and at a rate below capacity passes are small anyway (mean 2–3 texts).
        // 32 768 queued tokens are ~32 passes, ~2.5 s of work.
        BatchOptions { max_queued_tokens: 32 * 1024, batch_tokens: 1024, cache_texts: 4096 }
    }
}

type CacheKey = (TextKind, String);
/// Vectors by (kind, text), shared by the handles.
type VectorCache = Arc<Mutex<LruCache<CacheKey, Vec<f32>>>>;

/// Counters the metrics endpoint reads.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Tokens waiting or running now.
    pub queued_tokens: AtomicUsize,
}

/// An [`Embedder`] that sends its work to the shared batching worker. Cheap to clone.
#[derive(Clone)]
pub struct BatchingEmbedder {
    encoder: Arc<Encoder>,
    sender: mpsc::SyncSender<Job>,
    stats: Arc<QueueStats>,
    options: BatchOptions,
    cache: Option<VectorCache>,
    /// The deadline of the work these calls belong to (none for the shared handle).
    deadline: Deadline,
}

impl BatchingEmbedder {
    /// Starts the worker thread; it stops when the last handle is dropped.
    pub fn start(encoder: Arc<Encoder>, options: BatchOptions) -> BatchingEmbedder {
        // The channel's own bound only has to hold jobs; the token bound is `queued_tokens`.
        let (sender, receiver) = mpsc::sync_channel::<Job>(options.max_queued_tokens.clamp(1, 4096));
        let stats = Arc::new(QueueStats::default());
        let worker = Worker {
            receiver,
            encoder: Arc::clone(&encoder),
            stats: Arc::clone(&stats),
            batch_tokens: options.batch_tokens,
            waiting: VecDeque::new(),
        };
        std::thread::Builder::new()
            .name("sufler-encoder".into())
            .spawn(move || worker.run())
            .expect("spawning the encoder thread");
        let cache = NonZeroUsize::new(options.cache_texts).map(|n| Arc::new(Mutex::new(LruCache::new(n))));
        BatchingEmbedder { encoder, sender, stats, options, cache, deadline: Deadline::none() }
    }

    /// A handle whose calls are bounded by `deadline`: they fail with
    /// [`Error::DeadlineExceeded`] once it expires, and their queued work is dropped.
    pub fn within(&self, deadline: &Deadline) -> BatchingEmbedder {
        BatchingEmbedder { deadline: deadline.clone(), ..self.clone() }
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

/// The worker thread: takes jobs from the channel and runs them as passes.
struct Worker {
    receiver: mpsc::Receiver<Job>,
    encoder: Arc<Encoder>,
    stats: Arc<QueueStats>,
    batch_tokens: usize,
    /// Jobs taken from the channel, not run yet, in arrival order.
    waiting: VecDeque<Job>,
}

impl Worker {
    fn run(mut self) {
        loop {
            if self.waiting.is_empty() {
                match self.receiver.recv() {
                    Ok(job) => self.waiting.push_back(job),
                    Err(_) => return, // every handle dropped
                }
            }
            self.take_arrived();
            let jobs = self.next_batch(false);
            if !jobs.is_empty() {
                let long = jobs.iter().any(|j| j.tokens > SHORT_JOB_TOKENS);
                self.run_batch(jobs, long);
            }
        }
    }

    /// Moves the jobs sent meanwhile into `waiting`; no waiting for more.
    fn take_arrived(&mut self) {
        while let Ok(job) = self.receiver.try_recv() {
            self.waiting.push_back(job);
        }
    }

    /// The next pass, up to the token budget: short jobs first, then (unless `short_only`)
    /// the others, each in arrival order. Jobs nobody waits for are dropped on the way.
    fn next_batch(&mut self, short_only: bool) -> Vec<Job> {
        let mut batch = Vec::new();
        let mut tokens = 0;
        for short in [true, false] {
            if !short && short_only {
                break;
            }
            let mut i = 0;
            while i < self.waiting.len() {
                let job = &self.waiting[i];
                if job.abandoned() {
                    if let Some(job) = self.waiting.remove(i) {
                        self.drop_job(job);
                    }
                    continue;
                }
                // A single job over the budget still runs, alone.
                if (job.tokens <= SHORT_JOB_TOKENS) == short
                    && (batch.is_empty() || tokens + job.tokens <= self.batch_tokens)
                {
                    tokens += job.tokens;
                    batch.extend(self.waiting.remove(i));
                } else {
                    i += 1;
                }
            }
        }
        batch
    }

    /// Answers a job nobody waits for without running it.
    fn drop_job(&self, job: Job) {
        self.stats.queued_tokens.fetch_sub(job.tokens, Ordering::SeqCst);
        metrics::counter!("sufler_encoder_dropped_total").increment(1);
        let _ = job.reply.send(Err(Error::DeadlineExceeded));
    }

    /// Runs `jobs` as one pass and answers them. With `answer_short_between`, short jobs that
    /// arrive meanwhile are run between the pass's layers (a pass over 512-token windows takes
    /// seconds on 2 cores; an ordinary message then waits one layer, not the whole pass).
    fn run_batch(&mut self, jobs: Vec<Job>, answer_short_between: bool) {
        let tokens: usize = jobs.iter().map(|j| j.tokens).sum();
        let windows: usize = jobs.iter().map(|j| j.windows.len()).sum();
        metrics::histogram!("sufler_encoder_batch_texts").record(windows as f64);
        metrics::histogram!("sufler_encoder_batch_tokens").record(tokens as f64);
        let sequences: Vec<&[u32]> = jobs.iter().flat_map(|j| j.windows.iter().map(Vec::as_slice)).collect();
        let encoder = Arc::clone(&self.encoder);
        let started = Instant::now();
        let mut between = || {
            if answer_short_between {
                self.take_arrived();
                let short = self.next_batch(true);
                if !short.is_empty() {
                    self.run_batch(short, false);
                }
            }
            // A pass stops once none of its callers waits for it.
            jobs.iter().all(Job::abandoned)
        };
        let result = encoder.forward_windows(&sequences, &mut between);
        metrics::histogram!("sufler_encoder_batch_seconds").record(started.elapsed().as_secs_f64());
        self.stats.queued_tokens.fetch_sub(tokens, Ordering::SeqCst);
        match result {
            Ok(pooled) => {
                let mut pooled = pooled.into_iter();
                for job in jobs {
                    let rows = pooled.by_ref().take(job.windows.len()).collect();
                    // A caller that gave up has gone; its rows are dropped.
                    let _ = job.reply.send(Ok(rows));
                }
            }
            Err(Error::DeadlineExceeded) => {
                metrics::counter!("sufler_encoder_dropped_total").increment(jobs.len() as u64);
                for job in jobs {
                    let _ = job.reply.send(Err(Error::DeadlineExceeded));
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

/// Marks a job as abandoned when its caller stops waiting, however it leaves.
struct Waiting(Arc<AtomicBool>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
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
    /// Embeds through the batching queue, without the cache: the texts' windows in chunks of
    /// at most one pass, one chunk at a time, whatever the kinds.
    fn embed_queued(&self, items: &[(&str, TextKind)]) -> Result<Vec<Vec<f32>>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.deadline.check()?;
        // Tokenized here, on the caller's thread: the worker only runs the model.
        let mut inputs = Vec::with_capacity(items.len());
        for (text, kind) in items {
            inputs.extend(Encoder::prefixed(&[text], *kind)?);
        }
        let content = self.encoder.tokenizer().content_ids(&inputs)?;
        let windows = self.encoder.windows(&content);
        let mut pooled = Vec::with_capacity(windows.len());
        let mut start = 0;
        while start < windows.len() {
            let mut tokens = windows[start].ids.len();
            let mut end = start + 1;
            while end < windows.len() && tokens + windows[end].ids.len() <= self.options.batch_tokens {
                tokens += windows[end].ids.len();
                end += 1;
            }
            let chunk = windows[start..end].iter().map(|w| w.ids.clone()).collect();
            pooled.extend(self.run_chunk(chunk, tokens)?);
            start = end;
        }
        Ok(self.encoder.pool(&windows, pooled, content.len()))
    }

    /// Queues one chunk and waits for its pooled states, as long as the deadline allows.
    fn run_chunk(&self, windows: Vec<Vec<u32>>, tokens: usize) -> Result<Vec<Vec<f32>>> {
        self.deadline.check()?;
        let queued = self.stats.queued_tokens.fetch_add(tokens, Ordering::SeqCst);
        if queued + tokens > self.options.max_queued_tokens {
            self.stats.queued_tokens.fetch_sub(tokens, Ordering::SeqCst);
            metrics::counter!("sufler_encoder_rejected_total").increment(1);
            return Err(Error::Busy(OVERLOADED.into()));
        }
        let gone = Arc::new(AtomicBool::new(false));
        let _waiting = Waiting(Arc::clone(&gone));
        let (reply, answer) = mpsc::sync_channel(1);
        let job = Job { windows, tokens, deadline: self.deadline.clone(), gone, reply };
        if self.sender.try_send(job).is_err() {
            self.stats.queued_tokens.fetch_sub(tokens, Ordering::SeqCst);
            return Err(Error::Busy(OVERLOADED.into()));
        }
        // The worker answers every job, so only the deadline ends the wait early.
        loop {
            match answer.recv_timeout(WAIT_SLICE) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::Encoder("the encoder thread stopped".into()))
                }
                Err(mpsc::RecvTimeoutError::Timeout) => self.deadline.check()?,
            }
        }
    }
}
