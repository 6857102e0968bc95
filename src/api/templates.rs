//! The template library under `/v1/templates`: operators read it; editors create, edit,
//! approve and retire templates. An edit sends a template back to draft: only approved text is
//! ever suggested. Every write rebuilds the ranking before it answers, so the next suggestion
//! sees it; retiring keeps the template and its history.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody, Json, Path, Query};
use super::v1::{check_text, MAX_PROFILE_CHARS};
use super::AppState;
use crate::templates::{pack, Status, Template};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/templates", get(list).post(create))
        .route("/v1/templates/{id}", get(read).put(update).delete(retire))
        .route("/v1/templates/{id}/approve", post(approve))
        .route("/v1/templates/{id}/history", get(history))
}

/// Templates in one page of the list unless `limit` says otherwise, and the most it may say.
pub const DEFAULT_PAGE: usize = 100;
/// The largest `limit` of the template list.
pub const MAX_PAGE: usize = 500;

/// Filter and page of the template list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only templates with this status.
    #[serde(default)]
    pub status: Option<Status>,
    /// Templates per page: 1–500, default 100.
    #[serde(default)]
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<usize>,
    /// Start after this template id: the `next` of the previous page.
    #[serde(default)]
    #[param(max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub after: Option<String>,
}

/// One page of templates.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// In id order.
    pub templates: Vec<Template>,
    /// Pass as `after` for the next page; null on the last page.
    pub next: Option<String>,
}

/// A template's content as an editor writes it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// Stable id: 1–128 ASCII letters, digits, `-`, `_`, `.`, starting with a letter or digit;
    /// only when creating.
    #[serde(default)]
    #[schema(max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub id: Option<String>,
    /// Short title shown to the operator.
    #[schema(max_length = 200)]
    pub title: String,
    /// The reply, with placeholders such as `{name}` or `{order}`.
    #[schema(min_length = 1, max_length = 5000)]
    pub text: String,
    /// Topic group.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub category: String,
    /// Keywords: at most 50, each up to 100 characters.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub tags: Vec<String>,
    /// Client messages this template answers: at most 50, each up to 5000 characters.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub examples: Vec<String>,
    /// Preconditions the dialogue must show for its facts to hold (ids of
    /// `prompts/templates/conditions.tsv`, e.g. `order-cancelled`).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub requires: Vec<String>,
    /// Profile or channel it is written for; empty: any.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub profile: String,
}

/// One recorded version of a template.
#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionEntry {
    /// Unix time of the change.
    pub changed_at: i64,
    /// The template as it was then.
    pub template: Template,
}

/// A template's versions and status changes.
#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateHistory {
    /// Oldest first.
    pub revisions: Vec<RevisionEntry>,
}

impl TemplateBody {
    fn into_template(self, id: String, state: &AppState) -> Result<Template, ApiError> {
        check_id("идентификатор шаблона (id)", &id)?;
        let limit = state.0.limits.text_chars;
        let fields = [
            ("заголовок (title)", &self.title, MAX_TITLE_CHARS),
            ("текст (text)", &self.text, limit),
            ("категория (category)", &self.category, MAX_CATEGORY_CHARS),
            ("профиль (profile)", &self.profile, MAX_PROFILE_CHARS),
        ];
        for (what, text, max) in fields {
            check_text(what, text, max)?;
        }
        for (what, list, max_chars) in [
            ("теги (tags)", &self.tags, MAX_TAG_CHARS),
            ("примеры (examples)", &self.examples, limit),
            ("условия (requires)", &self.requires, MAX_TAG_CHARS),
        ] {
            if list.len() > MAX_LIST_ITEMS {
                return Err(ApiError::invalid(format!("{what}: {}, допустимо не более {MAX_LIST_ITEMS}", list.len())));
            }
            for item in list {
                check_text(what, item, max_chars)?;
            }
        }
        let template = Template {
            id,
            title: self.title,
            text: self.text,
            category: self.category,
            tags: self.tags,
            examples: self.examples,
            requires: self.requires,
            profile: self.profile,
            status: Status::Draft,
            version: 1,
        };
        pack::check(&template).map_err(ApiError::invalid)?;
        Ok(template)
    }
}

/// Longest title, category and tag of a template, in characters; most tags and examples.
const MAX_TITLE_CHARS: usize = 200;
const MAX_CATEGORY_CHARS: usize = 100;
const MAX_TAG_CHARS: usize = 100;
const MAX_LIST_ITEMS: usize = 50;

/// 422 unless `id` is a template id ([`pack::valid_id`]); `what` names the field.
pub(super) fn check_id(what: &str, id: &str) -> Result<(), ApiError> {
    if pack::valid_id(id) {
        return Ok(());
    }
    Err(ApiError::invalid(format!(
        "{what}: допустимы латинские буквы, цифры и знаки «-», «_», «.», первый символ — буква или цифра, не более {} символов",
        pack::MAX_ID_CHARS
    )))
}

/// The id in the address, checked.
fn path_id(Path(id): Path<String>) -> Result<String, ApiError> {
    check_id("идентификатор шаблона в адресе", &id)?;
    Ok(id)
}

fn missing(id: &str) -> ApiError {
    ApiError::not_found(format!("шаблона «{id}» нет в библиотеке"))
}

/// The library's templates.
#[utoipa::path(get, path = "/v1/templates", params(ListQuery), tag = "templates",
    responses((status = 200, body = TemplateList), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    Query(query): Query<ListQuery>,
) -> Result<Json<TemplateList>, ApiError> {
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("limit: от 1 до {MAX_PAGE}, получено {limit}"),
        ));
    }
    if let Some(after) = &query.after {
        check_id("after", after).map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_query", e.message))?;
    }
    // One more than the page: whether there is a next page.
    let mut templates = state
        .run(move |e, _| Ok(e.with_store(|s| s.templates_page(query.status, query.after.as_deref(), limit + 1))?))
        .await?;
    let next = (templates.len() > limit).then(|| {
        templates.truncate(limit);
        templates.last().map(|t| t.id.clone())
    });
    Ok(Json(TemplateList { templates, next: next.flatten() }))
}

/// One template.
#[utoipa::path(get, path = "/v1/templates/{id}", params(("id" = String, Path, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")), tag = "templates",
    responses((status = 200, body = Template), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn read(State(state): State<AppState>, id: Path<String>) -> Result<Json<Template>, ApiError> {
    let id = path_id(id)?;
    let template = state.run(move |e, _| e.with_store(|s| s.get(&id))?.ok_or_else(|| missing(&id))).await?;
    Ok(Json(template))
}

/// Creates a template as a draft.
#[utoipa::path(post, path = "/v1/templates", request_body = TemplateBody, tag = "templates",
    responses((status = 201, body = Template), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Json(mut body): Json<TemplateBody>,
) -> Result<(StatusCode, Json<Template>), ApiError> {
    let id = body.id.take().ok_or_else(|| ApiError::invalid("нужен id нового шаблона"))?;
    let template = body.into_template(id, &state)?;
    let created = state
        .run(move |e, _| {
            e.with_store(|s| {
                if s.get(&template.id)?.is_some() {
                    return Ok(None);
                }
                s.import(std::slice::from_ref(&template), Some(Status::Draft))?;
                s.get(&template.id)
            })?
            .ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "conflict", "шаблон с таким id уже есть"))
        })
        .await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// Replaces a template's content; it returns to draft until approved again.
#[utoipa::path(put, path = "/v1/templates/{id}", params(("id" = String, Path, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")), request_body = TemplateBody,
    tag = "templates",
    responses((status = 200, body = Template), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn update(
    State(state): State<AppState>,
    id: Path<String>,
    Json(body): Json<TemplateBody>,
) -> Result<Json<Template>, ApiError> {
    let id = path_id(id)?;
    if body.id.as_ref().is_some_and(|b| *b != id) {
        return Err(ApiError::invalid("id в теле не совпадает с id в адресе"));
    }
    let template = body.into_template(id, &state)?;
    let updated = state
        .run(move |e, _| {
            let was_approved =
                e.with_store(|s| s.get(&template.id))?.ok_or_else(|| missing(&template.id))?.status == Status::Approved;
            let updated = e.with_store(|s| {
                s.import(std::slice::from_ref(&template), Some(Status::Draft))?;
                s.get(&template.id)
            })?;
            if was_approved {
                e.rebuild()?;
            }
            updated.ok_or_else(|| missing(&template.id))
        })
        .await?;
    Ok(Json(updated))
}

async fn set_status(state: AppState, id: Path<String>, status: Status) -> Result<Json<Template>, ApiError> {
    let id = path_id(id)?;
    let template = state
        .run(move |e, _| {
            e.with_store(|s| s.get(&id))?.ok_or_else(|| missing(&id))?;
            let t = e.with_store(|s| s.set_status(&id, status))?;
            e.rebuild()?;
            Ok(t)
        })
        .await?;
    Ok(Json(template))
}

/// Approves a template: from now on it is suggested.
#[utoipa::path(post, path = "/v1/templates/{id}/approve", params(("id" = String, Path, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")), tag = "templates",
    responses((status = 200, body = Template), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn approve(State(state): State<AppState>, id: Path<String>) -> Result<Json<Template>, ApiError> {
    set_status(state, id, Status::Approved).await
}

/// Retires a template: never suggested again, kept with its history.
#[utoipa::path(delete, path = "/v1/templates/{id}", params(("id" = String, Path, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")), tag = "templates",
    responses((status = 200, body = Template), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn retire(State(state): State<AppState>, id: Path<String>) -> Result<Json<Template>, ApiError> {
    set_status(state, id, Status::Retired).await
}

/// Every recorded version and status change of a template.
#[utoipa::path(get, path = "/v1/templates/{id}/history", params(("id" = String, Path, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")), tag = "templates",
    responses((status = 200, body = TemplateHistory), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn history(State(state): State<AppState>, id: Path<String>) -> Result<Json<TemplateHistory>, ApiError> {
    let id = path_id(id)?;
    let revisions = state
        .run(move |e, _| {
            let revisions = e.with_store(|s| s.history(&id))?;
            if revisions.is_empty() {
                return Err(missing(&id));
            }
            Ok(revisions
                .into_iter()
                .map(|r| RevisionEntry { changed_at: r.changed_at, template: r.template })
                .collect())
        })
        .await?;
    Ok(Json(TemplateHistory { revisions }))
}
