//! The one error shape of the HTTP API: `{"error":{"code","message"}}` with a 4xx or 503
//! status. Library errors, extractor rejections (bad JSON, wrong content type, a body over the
//! limit) and overload all end here, so no handler writes an error body of its own.

use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (`invalid_input`, `unauthorized`, …).
    pub code: &'static str,
    /// Human-readable message (Russian where an operator may read it).
    pub message: String,
    /// Seconds to wait before retrying (503 only).
    pub retry_after: Option<u64>,
}

/// The JSON body of an error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// Code and message of an error.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), retry_after: None }
    }

    /// 422: the request is well-formed but its content cannot be processed.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", message)
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// 503 with Retry-After: overloaded, timed out or still loading.
    pub fn unavailable(code: &'static str, message: impl Into<String>, retry_after: u64) -> Self {
        ApiError { retry_after: Some(retry_after), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message) }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() && self.status != StatusCode::SERVICE_UNAVAILABLE {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        } else {
            tracing::debug!(status = %self.status, code = self.code, message = %self.message, "request refused");
        }
        let body = ErrorBody { error: ErrorDetail { code: self.code.to_string(), message: self.message } };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

impl From<crate::Error> for ApiError {
    fn from(e: crate::Error) -> Self {
        use crate::Error as E;
        match e {
            E::InvalidInput(m) => ApiError::invalid(m),
            E::Dataset { .. } | E::Import { .. } => ApiError::invalid(e.to_string()),
            E::Json(j) => ApiError::new(StatusCode::BAD_REQUEST, "bad_json", j.to_string()),
            E::Busy(m) => ApiError::unavailable("overloaded", m, 1),
            E::DeadlineExceeded => ApiError::unavailable(
                "timeout",
                "запрос не уложился в отведённое время, повторите его, пожалуйста, позже",
                1,
            ),
            E::ModelNotFound(_) | E::CorruptModel { .. } | E::Hub(_) => {
                ApiError::unavailable("model_unavailable", e.to_string(), 30)
            }
            E::StoreUnavailable { .. } => {
                tracing::error!(error = %e, "the template library is unavailable");
                ApiError::unavailable("library_unavailable", LIBRARY_UNAVAILABLE, 30)
            }
            // Paths and SQLite's words go to the log, not to the caller.
            E::Io { .. } | E::Store { .. } => {
                tracing::error!(error = %e, "template library error");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "ошибка библиотеки шаблонов: сообщите, пожалуйста, администратору; подробности — в журнале сервера",
                )
            }
            E::Encoder(_) | E::Tokenizer(_) | E::Tensor(_) | E::Simd(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

/// What a caller is told while the template library cannot take writes.
pub const LIBRARY_UNAVAILABLE: &str = "библиотека шаблонов недоступна: файл библиотеки удалён или открыт только для \
     чтения, изменения не сохраняются; сообщите, пожалуйста, администратору";

/// Maps axum's body rejections: a body over the limit is 413, a wrong content type 415,
/// malformed JSON 400, JSON of the wrong shape 422.
fn from_body_rejection(status: StatusCode, text: String) -> ApiError {
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_input",
        _ => "bad_request",
    };
    let status = if status.is_client_error() { status } else { StatusCode::BAD_REQUEST };
    // axum's own text (English, technical) stays after a Russian explanation.
    let explanation = match code {
        "body_too_large" => "Тело запроса превышает допустимый размер",
        "unsupported_media_type" => "Неподдерживаемый тип содержимого: проверьте, пожалуйста, заголовок Content-Type",
        "invalid_input" => "Поля запроса заполнены неверно",
        _ => "Тело запроса не удалось прочитать",
    };
    ApiError::new(status, code, format!("{explanation}. {text}"))
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        from_body_rejection(r.status(), r.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(r: FormRejection) -> Self {
        from_body_rejection(r.status(), r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("Параметры запроса заданы неверно. {}", r.body_text()),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", format!("Адрес запроса задан неверно. {}", r.body_text()))
    }
}

/// `axum::Json` whose rejections are [`ApiError`]s, and which also refuses (415) a JSON body
/// that declares a charset other than UTF-8: JSON is UTF-8, and a body a client encoded
/// otherwise would be read wrongly.
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        utf8_body(&request, "JSON в UTF-8 (Content-Type: application/json или application/json; charset=utf-8)")?;
        let axum::Json(value) = axum::Json::<T>::from_request(request, state).await?;
        Ok(Json(value))
    }
}

/// `axum::Form` whose rejections are [`ApiError`]s, and which refuses (415) a body that
/// declares a charset other than UTF-8, as [`Json`] does: its percent-encoded bytes are read
/// as UTF-8.
pub struct Form<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Form<T> {
    type Rejection = ApiError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        utf8_body(&request, "форму в UTF-8 (Content-Type: application/x-www-form-urlencoded; charset=utf-8)")?;
        let axum::Form(value) = axum::Form::<T>::from_request(request, state).await?;
        Ok(Form(value))
    }
}

/// 415 for a request whose Content-Type declares a charset other than UTF-8; `what` is what
/// to send instead.
fn utf8_body(request: &axum::extract::Request, what: &str) -> Result<(), ApiError> {
    match request.headers().get(header::CONTENT_TYPE) {
        Some(content_type) if !utf8_or_no_charset(content_type.as_bytes()) => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("Неподдерживаемая кодировка: отправьте, пожалуйста, {what}"),
        )),
        _ => Ok(()),
    }
}

/// Whether a Content-Type names no charset or UTF-8 (and is readable text at all).
fn utf8_or_no_charset(content_type: &[u8]) -> bool {
    let Ok(content_type) = std::str::from_utf8(content_type) else { return false };
    content_type.split(';').skip(1).all(|parameter| match parameter.split_once('=') {
        Some((name, value)) if name.trim().eq_ignore_ascii_case("charset") => {
            value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Query` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct Query<T>(pub T);

/// `axum::extract::Path` whose rejections are [`ApiError`]s.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct Path<T>(pub T);
