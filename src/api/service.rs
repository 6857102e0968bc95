//! Health, readiness, what the server runs (`/info`), Prometheus metrics, the OpenAPI document
//! and its docs page, and the operator page. None of these need a token, except `/metrics`
//! (admin).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Serialize;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use super::error::{ApiError, ErrorBody, Json};
use super::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/info", get(info))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/docs", get(|| async { Html(DOCS_HTML) }))
        .route("/", get(|| async { Html(PAGE_HTML) }))
        .route("/app.js", get(|| async { ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], PAGE_JS) }))
        .route("/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], PAGE_CSS) }))
}

const PAGE_HTML: &str = include_str!("page/index.html");
const PAGE_JS: &str = include_str!("page/app.js");
const PAGE_CSS: &str = include_str!("page/style.css");
const DOCS_HTML: &str = include_str!("page/docs.html");

/// The process-wide Prometheus recorder (a recorder can be installed once per process).
fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0])
            .expect("static buckets")
            .build_recorder();
        let handle = recorder.handle();
        // Another recorder may already be installed (a host application); then ours only
        // renders what it has.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// Counts every request by route and status and times it.
pub(super) async fn record_metrics(request: Request, next: Next) -> Response {
    prometheus();
    let route =
        request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "other".into());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let labels = [("route", route), ("method", method), ("status", status)];
    metrics::counter!("sufler_http_requests_total", &labels).increment(1);
    if response.status().is_client_error() || response.status().is_server_error() {
        metrics::counter!("sufler_http_errors_total", &labels).increment(1);
    }
    metrics::histogram!("sufler_http_request_seconds", &labels[..2]).record(started.elapsed().as_secs_f64());
    response
}

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`.
    pub status: String,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health { status: "ok".into() })
}

/// Ready once the model and the template library are loaded, while the library can be written.
#[utoipa::path(get, path = "/readyz", tag = "service",
    responses((status = 200, body = Health), (status = 503, body = ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    // Not ready either when the library's file has gone or turned read-only: writes would fail.
    state.engine()?.with_store(|store| store.check_available())?;
    Ok(Json(Health { status: "ready".into() }))
}

/// What the server runs, for operators and benchmark scripts.
#[derive(Debug, Serialize, ToSchema)]
pub struct Info {
    /// sufler's version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// The encoder's model and weights fingerprint.
    pub model: String,
    /// The encoder's weight path: `int8`, `q4_0` or `f32`.
    #[schema(example = "int8")]
    pub weights: String,
    /// The instruction-set level of the encoder's kernels (`avx512-vnni`, `avx512`, `avx2`,
    /// `scalar`; forced with `SUFLER_SIMD`); null for the candle weight paths.
    #[schema(example = "avx512-vnni")]
    pub simd: Option<String>,
    /// Compute threads.
    pub threads: usize,
}

/// The version, the encoder's weights and SIMD level, and the compute threads; 503 while the
/// model loads.
#[utoipa::path(get, path = "/info", tag = "service",
    responses((status = 200, body = Info), (status = 503, body = ErrorBody)))]
pub async fn info(State(state): State<AppState>) -> Result<Json<Info>, ApiError> {
    let engine = state.engine()?;
    let encoder = engine.embedder.encoder();
    Ok(Json(Info {
        version: env!("CARGO_PKG_VERSION").into(),
        model: crate::encoder::Embedder::model_id(encoder).into(),
        weights: encoder.weights().as_str().into(),
        simd: encoder.simd().map(|l| l.name().into()),
        threads: crate::encoder::current_threads(),
    }))
}

/// Prometheus metrics: requests, latencies, errors, encoder batch sizes, queue depth.
#[utoipa::path(get, path = "/metrics", tag = "service",
    responses((status = 200, content_type = "text/plain", body = String), (status = "4XX", body = ErrorBody)),
    security((), ("token" = [])))]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    if let Ok(engine) = state.engine() {
        let queued = engine.embedder.stats().queued_tokens.load(std::sync::atomic::Ordering::SeqCst);
        metrics::gauge!("sufler_encoder_queue_tokens").set(queued as f64);
    }
    metrics::gauge!("sufler_ready").set(if state.engine().is_ok() { 1.0 } else { 0.0 });
    let body = prometheus().render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// The OpenAPI document of this API.
#[utoipa::path(get, path = "/openapi.json", tag = "service", responses((status = 200, body = Object)))]
pub async fn openapi() -> Response {
    (StatusCode::OK, axum::Json(ApiDoc::openapi())).into_response()
}

struct TokenScheme;

impl Modify for TokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme("token", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The API description, generated from the handlers and types.
#[derive(OpenApi)]
#[openapi(
    info(title = "sufler", description = "Reply suggestions and house-style checks for Russian support operators"),
    paths(
        super::v1::suggest, super::v1::check, super::v1::rewrite, super::v1::feedback,
        super::templates::list, super::templates::read, super::templates::create, super::templates::update,
        super::templates::approve, super::templates::retire, super::templates::history,
        super::languagetool::check, super::languagetool::check_query, super::languagetool::languages,
        super::auth::list_tokens, super::auth::create_token,
        healthz, readyz, info, metrics, openapi,
    ),
    modifiers(&TokenScheme),
    tags(
        (name = "operator", description = "Suggestions, checks and rewrites (role operator)"),
        (name = "templates", description = "The template library (read: operator; write: editor)"),
        (name = "languagetool", description = "LanguageTool-compatible endpoints"),
        (name = "admin", description = "API tokens (role admin)"),
        (name = "service", description = "Health, readiness, server info, metrics, this document"),
    )
)]
pub struct ApiDoc;
