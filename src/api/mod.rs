//! The HTTP API (`sufler serve`): thin axum handlers over the same library calls the CLI makes.
//!
//! - [`v1`]: suggest, check, rewrite, feedback; [`templates`]: the template library with its
//!   approval states; [`languagetool`]: LanguageTool's `/v2/check` and `/v2/languages`, so
//!   LanguageTool clients show sufler's style issues; [`service`]: health, readiness, metrics,
//!   the OpenAPI document, its docs page and the operator page.
//! - [`auth`]: tokens and roles; [`error`]: the one JSON error shape; [`batch`]: the encoder's
//!   dynamic batching queue shared by all requests; [`server`]: the accept loop with its
//!   header-read and idle timeouts.
//!
//! The model and the library load in the background after the socket is bound: `/healthz`
//! answers at once, `/readyz` and the engine routes answer 503 until loading is done (or name
//! the part that failed, [`LoadFailure`]). Engine work runs through [`AppState::run`], which
//! gives it the request's [`Deadline`] and cancels that deadline as soon as nobody waits for
//! the answer.

pub mod auth;
pub mod batch;
pub mod error;
pub mod languagetool;
pub mod server;
pub mod service;
pub mod templates;
pub mod v1;

use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::Router;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::deadline::Deadline;
use crate::encoder::Embedder;
use crate::error::Result;
use crate::rank::Library;
use crate::style::StyleEngine;
use crate::templates::Store;
use auth::Tokens;
use batch::BatchingEmbedder;
use error::ApiError;

/// Limits of the API.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body in bytes.
    pub body_bytes: usize,
    /// Longest text (message, draft, turn) in characters.
    pub text_chars: usize,
    /// Most dialogue turns in a request.
    pub turns: usize,
    /// Most suggestions per request.
    pub k: usize,
    /// Longest time a request may take.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { body_bytes: 64 * 1024, text_chars: 5000, turns: 50, k: 20, timeout: Duration::from_secs(10) }
    }
}

/// Everything the handlers need once loading is done.
pub struct Engine {
    /// The style rules.
    pub style: StyleEngine,
    /// The encoder behind the batching queue.
    pub embedder: BatchingEmbedder,
    /// `None` while the library has no approved template.
    library: RwLock<Option<Arc<Library>>>,
    store: Mutex<Store>,
    /// Whether feedback arrived since the library was last built (the learned corrections
    /// are retrained in the background, one build at a time).
    stale: Mutex<bool>,
}

impl Engine {
    /// Builds the engine: the library over the store's approved templates and clicks.
    pub fn new(style: StyleEngine, embedder: BatchingEmbedder, mut store: Store) -> Result<Engine> {
        if store.count(None)? == 0 {
            store.import(&crate::templates::pack::default_pack(), None)?;
            tracing::info!(path = %store.path().display(), "new library: imported the default pack");
        }
        let library = build_library(&mut store, &embedder)?;
        Ok(Engine {
            style,
            embedder,
            library: RwLock::new(library.map(Arc::new)),
            store: Mutex::new(store),
            stale: Mutex::new(false),
        })
    }

    /// The current ranking; an error while no template is approved.
    pub fn library(&self) -> std::result::Result<Arc<Library>, ApiError> {
        self.library.read().expect("library lock").clone().ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "no_approved_templates",
                "в библиотеке нет одобренных шаблонов: подсказки появятся, когда редактор одобрит шаблоны",
            )
        })
    }

    /// Runs `f` with the store locked.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> Result<T>) -> Result<T> {
        let mut store = self.store.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut store)
    }

    /// Rebuilds the ranking from the store now (after a template change, so the next
    /// suggestion sees it).
    pub fn rebuild(&self) -> Result<()> {
        let library = self.with_store(|store| build_library(store, &self.embedder))?;
        *self.library.write().expect("library lock") = library.map(Arc::new);
        Ok(())
    }

    /// Marks the clicks as changed and retrains in the background unless a build is running;
    /// that build's end picks the change up.
    pub fn rebuild_later(self: &Arc<Self>) {
        let mut stale = self.stale.lock().expect("stale lock");
        if *stale {
            return;
        }
        *stale = true;
        let engine = Arc::clone(self);
        std::thread::spawn(move || {
            // Let a burst of clicks land first.
            std::thread::sleep(Duration::from_millis(200));
            *engine.stale.lock().expect("stale lock") = false;
            if let Err(e) = engine.rebuild() {
                tracing::error!(error = %e, "rebuilding the library after feedback failed");
            }
        });
    }
}

/// The ranking over the store's approved templates and clicks; `None` without approved ones.
fn build_library(store: &mut Store, embedder: &dyn Embedder) -> Result<Option<Library>> {
    // A first run or a large import embeds many texts (a minute or more): the log says how far
    // it is at every tenth of each pass (passages, titles, examples).
    let (mut done, mut tenth) = (0, 0);
    let mut progress = |batch: usize, total: usize| {
        done += batch;
        if total > crate::rank::EMBED_BATCH && done * 10 / total > tenth {
            tenth = done * 10 / total;
            tracing::info!(done, total, "embedding the library's texts");
        }
        if done >= total {
            (done, tenth) = (0, 0);
        }
    };
    Library::from_store(store, embedder, &mut progress)
}

/// The part of the engine that failed to load. `/readyz` names it in Russian, without paths
/// or technical details, which go to the server's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadFailure {
    /// The morphology dictionary is missing or unreadable.
    Morphology,
    /// The style rules or a company's word lists.
    Style,
    /// The encoder model.
    Model,
    /// The template library (SQLite) cannot be opened or read.
    Library,
    /// A bug: loading panicked.
    Internal,
}

impl LoadFailure {
    /// The operator-facing message.
    pub fn message(self) -> &'static str {
        match self {
            LoadFailure::Morphology => {
                "не удалось загрузить словарь морфологии: выполните, пожалуйста, ./setup или укажите \
                 SUFLER_MORPH_DICT; подробности — в журнале сервера"
            }
            LoadFailure::Style => {
                "не удалось загрузить правила стиля: проверьте, пожалуйста, файлы --style-dir; подробности — в \
                 журнале сервера"
            }
            LoadFailure::Model => {
                "модель не загрузилась: проверьте, пожалуйста, файлы модели (models/fetch); подробности — в \
                 журнале сервера"
            }
            LoadFailure::Library => {
                "библиотека шаблонов не открылась: проверьте, пожалуйста, файл --db и права доступа к нему; \
                 подробности — в журнале сервера"
            }
            LoadFailure::Internal => {
                "загрузка прервалась из-за внутренней ошибки: сообщите, пожалуйста, администратору; подробности — \
                 в журнале сервера"
            }
        }
    }
}

/// Shared state of the server.
pub struct Shared {
    engine: OnceLock<Arc<Engine>>,
    load_error: Mutex<Option<LoadFailure>>,
    /// Known tokens.
    pub tokens: Tokens,
    /// Request limits.
    pub limits: Limits,
    /// Turns true when the server shuts down; requests in flight then stop.
    stopping: tokio::sync::watch::Sender<bool>,
}

/// The handlers' state: cheap to clone.
#[derive(Clone)]
pub struct AppState(pub Arc<Shared>);

impl AppState {
    /// State whose engine is set later with [`AppState::set_engine`].
    pub fn new(tokens: Tokens, limits: Limits) -> AppState {
        AppState(Arc::new(Shared {
            engine: OnceLock::new(),
            load_error: Mutex::new(None),
            tokens,
            limits,
            stopping: tokio::sync::watch::Sender::new(false),
        }))
    }

    /// Installs the loaded engine: the server becomes ready.
    pub fn set_engine(&self, engine: Engine) {
        let _ = self.0.engine.set(Arc::new(engine));
    }

    /// Records which part failed to load (shown by `/readyz` and the engine routes; the
    /// details, with paths, belong in the log only).
    pub fn set_load_failure(&self, failure: LoadFailure) {
        *self.0.load_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(failure);
    }

    /// The engine, or 503 while it loads.
    pub fn engine(&self) -> std::result::Result<Arc<Engine>, ApiError> {
        if let Some(engine) = self.0.engine.get() {
            return Ok(Arc::clone(engine));
        }
        match *self.0.load_error.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(failure) => Err(ApiError::unavailable("load_failed", failure.message(), 60)),
            None => Err(ApiError::unavailable("not_ready", "модель ещё загружается, повторите, пожалуйста, запрос", 2)),
        }
    }

    /// Runs blocking engine work on the blocking pool, bounded by the request timeout.
    ///
    /// The work gets the request's [`Deadline`] and must hand it on (the encoder through
    /// [`BatchingEmbedder::within`]). The deadline is cancelled as soon as nobody waits for the
    /// answer: when the time is up (the caller gets 503 `timeout`), when the client disconnects
    /// (the request's future is dropped) and when the server shuts down ([`AppState::stop`]).
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Arc<Engine>, &Deadline) -> std::result::Result<T, ApiError> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let engine = self.engine()?;
        let mut stopping = self.0.stopping.subscribe();
        if *stopping.borrow() {
            return Err(shutting_down());
        }
        let deadline = Deadline::after(self.0.limits.timeout);
        // Cancels on every way out of this function, including being dropped mid-await.
        let _cancel = CancelOnDrop(deadline.clone());
        let task = tokio::task::spawn_blocking(move || {
            deadline.check()?;
            work(&engine, &deadline)
        });
        tokio::select! {
            answer = tokio::time::timeout(self.0.limits.timeout, task) => match answer {
                Ok(Ok(result)) => result,
                Ok(Err(join)) => {
                    tracing::error!(error = %join, "request work panicked or was aborted");
                    Err(ApiError::new(
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        "internal",
                        "внутренняя ошибка сервера: обработка запроса прервалась",
                    ))
                }
                Err(_) => Err(crate::Error::DeadlineExceeded.into()),
            },
            _ = stopping.wait_for(|stop| *stop) => Err(shutting_down()),
        }
    }

    /// Ends the work of every request in flight: each answers 503 and its deadline is
    /// cancelled, so the encoder and the rules stop; later requests are refused the same way.
    pub fn stop(&self) {
        self.0.stopping.send_replace(true);
    }
}

/// Cancels a deadline when dropped.
struct CancelOnDrop(Deadline);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

fn shutting_down() -> ApiError {
    ApiError::unavailable("shutting_down", "сервер перезапускается: повторите, пожалуйста, запрос через минуту", 5)
}

/// Longest `x-request-id` a caller may choose.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// Whether a caller's `x-request-id` is kept: 1–128 characters of `A-Z a-z 0-9 . _ : -`, so it
/// can neither flood the log nor fake its fields.
pub fn valid_request_id(id: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID_CHARS).contains(&id.len())
        && id.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Middleware: removes a caller's `x-request-id` that [`valid_request_id`] refuses; the request
/// then gets a generated id, which the log and the answer carry.
async fn drop_bad_request_id(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut ids = request.headers().get_all("x-request-id").iter();
    let keep = match (ids.next(), ids.next()) {
        (Some(id), None) => valid_request_id(id.as_bytes()),
        (None, _) => true,
        (Some(_), Some(_)) => false,
    };
    if !keep {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

/// The whole API as one router.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let body_limit = state.0.limits.body_bytes;
    Router::new()
        .merge(v1::routes())
        .merge(templates::routes())
        .merge(languagetool::routes())
        .merge(service::routes())
        .merge(auth::routes())
        .fallback(|| async {
            ApiError::not_found("нет такого адреса: список методов — GET /openapi.json")
        })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "метод не поддерживается для этого адреса",
            )
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::guard))
        .layer(axum::middleware::from_fn(service::record_metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
                })
                // One line per answered request; failures are logged where they happen
                // (`ApiError`), and a 503 while loading is not an error.
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(DefaultOnFailure::new().level(Level::DEBUG)),
        )
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(axum::middleware::from_fn(drop_bad_request_id))
        .layer(RequestBodyTimeoutLayer::new(state.0.limits.timeout))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            use axum::response::IntoResponse;
            ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "внутренняя ошибка сервера")
                .into_response()
        }))
        .with_state(state)
}
