//! `sufler serve`: binds the socket, loads the model and the library in the background and
//! runs the HTTP API until Ctrl-C or SIGTERM, then drains the requests in flight for at most
//! `--shutdown-grace` and stops what is still running.
//!
//! Loading runs on a thread of its own: a signal during loading ends the process at once, a
//! panic while loading becomes a load failure that `/readyz` names (in Russian, without paths;
//! the details go to the log).

use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use sufler::api::auth::Tokens;
use sufler::api::batch::{BatchOptions, BatchingEmbedder};
use sufler::api::{self, AppState, Engine, Limits, LoadFailure};
use sufler::style::StyleEngine;
use sufler::templates::Store;
use sufler::text::morph::Morph;
use sufler::tone::ToneModel;

use super::library::DbArgs;
use super::EncoderArgs;

/// `sufler serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "SUFLER_ADDR")]
    addr: SocketAddr,
    /// Development mode: no tokens, every request allowed; loopback addresses only.
    #[arg(long)]
    dev: bool,
    /// API tokens (TOML: [[tokens]] name, role, token or sha256). Also $SUFLER_TOKENS: role=token,…
    #[arg(long, env = "SUFLER_TOKENS_FILE")]
    tokens: Option<PathBuf>,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    body_limit: usize,
    /// Longest time one request may take, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Longest wait for a request's headers, in seconds, on a new connection and between the
    /// requests of a kept-alive one; then the connection is closed.
    #[arg(long, default_value_t = 10.0)]
    header_timeout: f64,
    /// On SIGTERM, how long requests in flight may still finish, in seconds (at most --timeout);
    /// then they are stopped and answered 503.
    #[arg(long, default_value_t = 5.0)]
    shutdown_grace: f64,
    /// Create a new template library (with the default pack) if the --db file does not exist.
    /// Without it a missing file is an error, except on the first run with the default path.
    #[arg(long)]
    init: bool,
    /// Most tokens waiting for the encoder; beyond it requests get 503 + Retry-After.
    #[arg(long, default_value_t = BatchOptions::default().max_queued_tokens)]
    queue_tokens: usize,
    /// Most tokens in one encoder pass (larger: more throughput, longer waits behind a pass).
    #[arg(long, default_value_t = BatchOptions::default().batch_tokens)]
    batch_tokens: usize,
    /// Embeddings kept in memory by text (0 turns the cache off).
    #[arg(long, default_value_t = BatchOptions::default().cache_texts)]
    embedding_cache: usize,
    /// Company word lists and profiles (see `sufler check --help`).
    #[arg(long)]
    style_dir: Option<PathBuf>,
    #[command(flatten)]
    db: DbArgs,
    #[command(flatten)]
    encoder: EncoderArgs,
}

pub fn serve(args: ServeArgs) -> Result<()> {
    let tokens = if args.dev {
        if !args.addr.ip().is_loopback() {
            bail!("--dev runs without tokens and only on a loopback address (127.0.0.1 or ::1), not {}", args.addr);
        }
        Tokens::dev()
    } else {
        let env = std::env::var("SUFLER_TOKENS").ok();
        let tokens = Tokens::load(args.tokens.as_deref(), env.as_deref())?;
        if tokens.is_empty() {
            bail!("no API tokens: pass --tokens FILE or set SUFLER_TOKENS=role=token,… (or use --dev on loopback)");
        }
        tokens
    };
    let positive = |seconds: f64| seconds > 0.0 && seconds.is_finite();
    let times_ok = positive(args.timeout)
        && positive(args.header_timeout)
        && args.shutdown_grace >= 0.0
        && args.shutdown_grace.is_finite();
    if !times_ok || args.body_limit == 0 || args.batch_tokens == 0 {
        bail!(
            "--timeout, --header-timeout, --body-limit and --batch-tokens must be positive, --shutdown-grace not negative"
        );
    }
    if args.queue_tokens < args.batch_tokens {
        bail!(
            "--queue-tokens ({}) must hold at least one pass (--batch-tokens {})",
            args.queue_tokens,
            args.batch_tokens
        );
    }
    let db = library_path(&args.db, args.init)?;
    let limits =
        Limits { body_bytes: args.body_limit, timeout: Duration::from_secs_f64(args.timeout), ..Limits::default() };
    let grace = Duration::from_secs_f64(args.shutdown_grace).min(limits.timeout);
    let batch = BatchOptions {
        max_queued_tokens: args.queue_tokens,
        batch_tokens: args.batch_tokens,
        cache_texts: args.embedding_cache,
    };
    let state = AppState::new(tokens, limits);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let served = runtime.block_on(async move {
        let signal = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let addr = listener.local_addr()?;
        if args.dev {
            eprintln!("sufler: DEVELOPMENT MODE: no tokens, every request is allowed (loopback only)");
        }
        // Tests and scripts read this line for the port.
        eprintln!("sufler: listening on http://{addr} (loading the model; /readyz says when ready)");

        let loading = state.clone();
        let (encoder, style_dir) = (args.encoder.clone(), args.style_dir.clone());
        // A plain thread, not the runtime's blocking pool: the runtime's shutdown never waits
        // for loading to end.
        std::thread::Builder::new().name("sufler-load".into()).spawn(move || {
            let loaded = std::panic::catch_unwind(AssertUnwindSafe(|| load(&style_dir, &encoder, &db, batch)));
            match loaded {
                Ok(Ok(engine)) => {
                    let encoder = engine.embedder.encoder();
                    let (weights, threads) = (encoder.weights().as_str(), sufler::encoder::current_threads());
                    let simd = encoder.simd().map_or("chosen by candle", |l| l.name());
                    tracing::info!(weights, simd, threads, "ready");
                    eprintln!("sufler: ready (encoder {weights}, SIMD {simd}, {threads} threads)");
                    loading.set_engine(engine);
                }
                Ok(Err((failure, e))) => {
                    eprintln!("sufler: error: loading failed: {e:#}");
                    loading.set_load_failure(failure);
                }
                Err(panic) => {
                    let what = panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("(no message)");
                    eprintln!("sufler: error: loading failed: panic: {what}");
                    loading.set_load_failure(LoadFailure::Internal);
                }
            }
        })?;

        let stopping = state.clone();
        let shutdown = async move {
            signal.await;
            eprintln!("sufler: shutting down, finishing the requests in flight (at most {:.1} s)", grace.as_secs_f64());
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                stopping.stop();
            });
        };
        let options = api::server::ServeOptions { header_timeout: Duration::from_secs_f64(args.header_timeout) };
        api::server::serve(listener, api::router(state), options, shutdown).await?;
        anyhow::Ok(())
    });
    // Work that has not reached a deadline check yet (or a load in progress) is not waited for.
    runtime.shutdown_timeout(Duration::from_millis(500));
    served?;
    eprintln!("sufler: stopped");
    Ok(())
}

/// Loads the engine; a failure says which part failed (for `/readyz`) and why (for the log).
fn load(
    style_dir: &Option<PathBuf>,
    encoder: &EncoderArgs,
    db: &std::path::Path,
    batch: BatchOptions,
) -> std::result::Result<Engine, (LoadFailure, anyhow::Error)> {
    Morph::try_global().map_err(|e| (LoadFailure::Morphology, e.into()))?;
    let style = match style_dir {
        Some(dir) => StyleEngine::with_style_dir(dir),
        None => StyleEngine::embedded(),
    }
    .map_err(|e| (LoadFailure::Style, e.into()))?;
    // The tone heads are optional: without them /v1/check answers without the tone and A10
    // with its word lists only.
    let style = match ToneModel::load_default() {
        Ok(tone) => style.with_tone(tone),
        Err(e) => {
            eprintln!("sufler: serving without the tone heads: {e}");
            style
        }
    };
    let store = Store::open(db).map_err(|e| (LoadFailure::Library, e.into()))?;
    let encoder = encoder.load().map_err(|e| (LoadFailure::Model, e))?;
    let embedder = BatchingEmbedder::start(Arc::new(encoder), batch);
    Engine::new(style, embedder, store).map_err(|e| {
        let failure = match &e {
            sufler::Error::Store { .. } | sufler::Error::StoreUnavailable { .. } | sufler::Error::Io { .. } => {
                LoadFailure::Library
            }
            _ => LoadFailure::Model,
        };
        (failure, e.into())
    })
}

/// The library file to open. A missing file is created only with `--init`, or on the first run
/// with the default path (nothing in the user's `sufler` data directory yet); the log says so.
fn library_path(db: &DbArgs, init: bool) -> Result<PathBuf> {
    let path = db.path()?;
    if path.exists() {
        return Ok(path);
    }
    let first_run = !db.is_explicit() && path.parent().is_some_and(|dir| !dir.exists());
    if init || first_run {
        let why = if init { "--init" } else { "first run" };
        eprintln!("sufler: creating a new template library {} ({why}); it gets the default pack", path.display());
        return Ok(path);
    }
    bail!(
        "the template library {} does not exist: pass --init to create a new one (with the default pack), \
         or point --db / $SUFLER_DB at the existing file",
        path.display()
    )
}

/// Ctrl-C or SIGTERM. The handlers are installed here, before the socket is announced, so a
/// signal sent right after start-up is never the default (killing) one; axum then stops
/// accepting and waits for the requests in flight.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let (mut interrupt, mut terminate) = {
        use tokio::signal::unix::{signal, SignalKind};
        (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?)
    };
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = interrupt.recv() => {},
            _ = terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}
