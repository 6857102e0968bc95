//! `sufler serve`: binds the socket, loads the model and the library in the background and
//! runs the HTTP API until Ctrl-C or SIGTERM, then drains the requests in flight.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::Args;
use sufler::api::auth::Tokens;
use sufler::api::batch::{BatchOptions, BatchingEmbedder};
use sufler::api::{self, AppState, Engine, Limits};
use sufler::style::StyleEngine;

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
    /// Most texts waiting for the encoder; beyond it requests get 503 + Retry-After.
    #[arg(long, default_value_t = 512)]
    queue: usize,
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
    if !positive(args.timeout)
        || !positive(args.header_timeout)
        || args.body_limit == 0
        || args.queue == 0
        || args.batch_tokens == 0
    {
        bail!("--timeout, --header-timeout, --body-limit, --queue and --batch-tokens must be positive");
    }
    let limits =
        Limits { body_bytes: args.body_limit, timeout: Duration::from_secs_f64(args.timeout), ..Limits::default() };
    let batch = BatchOptions {
        max_queued_texts: args.queue,
        batch_tokens: args.batch_tokens,
        timeout: limits.timeout,
        cache_texts: args.embedding_cache,
    };
    let state = AppState::new(tokens, limits);

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
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
        let (db, encoder, style_dir) = (args.db.clone(), args.encoder.clone(), args.style_dir.clone());
        tokio::task::spawn_blocking(move || {
            let load = || -> Result<Engine> {
                let style = match &style_dir {
                    Some(dir) => StyleEngine::with_style_dir(dir)?,
                    None => StyleEngine::embedded()?,
                };
                let embedder = BatchingEmbedder::start(Arc::new(encoder.load()?), batch);
                Ok(Engine::new(style, embedder, db.open()?)?)
            };
            match load() {
                Ok(engine) => {
                    loading.set_engine(engine);
                    tracing::info!("ready");
                    eprintln!("sufler: ready");
                }
                Err(e) => {
                    eprintln!("sufler: error: loading failed: {e:#}");
                    loading.set_load_error(format!("{e:#}"));
                }
            }
        });

        let options = api::server::ServeOptions { header_timeout: Duration::from_secs_f64(args.header_timeout) };
        api::server::serve(listener, api::router(state), options, shutdown_signal()).await?;
        eprintln!("sufler: stopped");
        Ok(())
    })
}

/// Ctrl-C or SIGTERM; axum then stops accepting and waits for the requests in flight.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    eprintln!("sufler: shutting down, finishing the requests in flight");
}
