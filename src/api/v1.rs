//! `POST /v1/suggest`, `/v1/check`, `/v1/rewrite`, `/v1/feedback`: request bodies as the
//! design gives them, translated into the library's requests; answers are the library's own
//! types.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, Json};
use super::AppState;
use crate::rank::{Role as Speaker, SuggestRequest, SuggestResponse, Turn};
use crate::style::{CheckReport, Context, Rewrite};
use crate::templates::fill::Values;
use crate::templates::store::Feedback;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/suggest", post(suggest))
        .route("/v1/check", post(check))
        .route("/v1/rewrite", post(rewrite))
        .route("/v1/feedback", post(feedback))
}

/// One message of the dialogue.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DialogueTurn {
    /// `client` or `operator`.
    pub role: Speaker,
    /// What was written.
    #[schema(max_length = 5000)]
    pub text: String,
    /// When (RFC 3339); the client's latest timestamp gives their local time for rule E2.
    #[serde(default)]
    #[schema(max_length = 40)]
    pub ts: Option<String>,
}

/// A person in the dialogue.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Person {
    /// The name as the person gave it.
    #[serde(default)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
}

/// `POST /v1/suggest`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuggestBody {
    /// The dialogue, oldest first; its last client turn is the message to answer.
    #[schema(min_items = 1, max_items = 50)]
    pub dialogue: Vec<DialogueTurn>,
    /// The client.
    #[serde(default)]
    pub client: Option<Person>,
    /// The operator.
    #[serde(default)]
    pub operator: Option<Person>,
    /// Placeholder values the caller knows (`order`, `date`, …): at most 20, names up to 40
    /// characters, values up to 200.
    #[serde(default)]
    pub values: Option<Values>,
    /// How many suggestions (1–20, default 3).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 20)]
    pub k: Option<usize>,
}

/// Ranked suggestions with the id to quote in feedback.
#[derive(Debug, Serialize, ToSchema)]
pub struct SuggestAnswer {
    /// Identifies this answer in `POST /v1/feedback`.
    pub suggestion_id: String,
    /// The ranking.
    #[serde(flatten)]
    pub response: SuggestResponse,
}

/// `POST /v1/check` and `POST /v1/rewrite`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    /// The operator's draft.
    #[schema(min_length = 1, max_length = 5000)]
    pub text: String,
    /// The dialogue so far, oldest first (client messages give context to the rules).
    #[serde(default)]
    #[schema(max_items = 50)]
    pub dialogue: Vec<DialogueTurn>,
    /// The client.
    #[serde(default)]
    pub client: Option<Person>,
    /// The operator.
    #[serde(default)]
    pub operator: Option<Person>,
    /// Profile: `chat` (default), `messenger-b2b` or `email`, or a company's own.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub profile: Option<String>,
    /// Whether this is the operator's first message. Absent: `false` when `dialogue` holds an
    /// operator turn, `true` when it holds only the client's messages, unknown with no
    /// dialogue (then no greeting or introduction is demanded).
    #[serde(default)]
    pub first_message: Option<bool>,
    /// How many times the operator already used the client's name.
    #[serde(default)]
    pub name_uses: Option<u32>,
    /// The client's local time, `HH:MM` or RFC 3339.
    #[serde(default)]
    #[schema(max_length = 40)]
    pub client_time: Option<String>,
}

/// `POST /v1/feedback`: the template the operator sent.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FeedbackBody {
    /// The `suggestion_id` of the answer the click belongs to.
    #[serde(default)]
    #[schema(max_length = 64, pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    pub suggestion_id: Option<String>,
    /// The client's message the suggestions were for.
    #[schema(min_length = 1, max_length = 5000)]
    pub message: String,
    /// The template id the operator chose.
    #[schema(min_length = 1, max_length = 128, pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")]
    pub chosen: String,
    /// Whether the operator edited the text before sending.
    #[serde(default)]
    pub edited: bool,
}

/// Acknowledgement of a feedback record.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedbackAnswer {
    /// Records stored.
    pub recorded: usize,
}

/// Length checks shared by every text of a request.
pub(super) fn check_text(what: &str, text: &str, limit: usize) -> Result<(), ApiError> {
    let chars = text.chars().count();
    if chars > limit {
        return Err(ApiError::invalid(format!("{what}: {chars} символов, допустимо не более {limit}")));
    }
    Ok(())
}

/// Most placeholder values in a request, and their longest name and value in characters.
const MAX_VALUES: usize = 20;
const MAX_VALUE_NAME_CHARS: usize = 40;
const MAX_VALUE_CHARS: usize = 200;
/// Longest name of a person, profile, timestamp and suggestion id, in characters.
const MAX_NAME_CHARS: usize = 100;
pub(super) const MAX_PROFILE_CHARS: usize = 64;
const MAX_TIME_CHARS: usize = 40;
const MAX_SUGGESTION_ID_CHARS: usize = 64;

/// Length checks of the people's names.
fn check_people(client: &Option<Person>, operator: &Option<Person>) -> Result<(), ApiError> {
    for (what, person) in [("имя клиента (client.name)", client), ("имя оператора (operator.name)", operator)]
    {
        if let Some(name) = person.as_ref().and_then(|p| p.name.as_deref()) {
            check_text(what, name, MAX_NAME_CHARS)?;
        }
    }
    Ok(())
}

fn check_dialogue(state: &AppState, dialogue: &[DialogueTurn]) -> Result<(), ApiError> {
    let limits = &state.0.limits;
    if dialogue.len() > limits.turns {
        return Err(ApiError::invalid(format!(
            "диалог: {} реплик, допустимо не более {}",
            dialogue.len(),
            limits.turns
        )));
    }
    for (i, turn) in dialogue.iter().enumerate() {
        check_text(&format!("реплика {}", i + 1), &turn.text, limits.text_chars)?;
        if let Some(ts) = &turn.ts {
            check_text(&format!("время реплики {} (ts)", i + 1), ts, MAX_TIME_CHARS)?;
        }
    }
    Ok(())
}

fn name(person: &Option<Person>) -> Option<String> {
    person.as_ref().and_then(|p| p.name.clone()).filter(|n| !n.trim().is_empty())
}

impl SuggestBody {
    fn into_request(self, state: &AppState) -> Result<(SuggestRequest, usize), ApiError> {
        check_dialogue(state, &self.dialogue)?;
        check_people(&self.client, &self.operator)?;
        let values = self.values.unwrap_or_default();
        if values.len() > MAX_VALUES {
            return Err(ApiError::invalid(format!(
                "значения подстановок (values): {}, допустимо не более {MAX_VALUES}",
                values.len()
            )));
        }
        for (key, value) in &values {
            check_text("название значения подстановки (values)", key, MAX_VALUE_NAME_CHARS)?;
            check_text("значение подстановки (values)", value, MAX_VALUE_CHARS)?;
        }
        let k = self.k.unwrap_or(3);
        if k == 0 || k > state.0.limits.k {
            return Err(ApiError::invalid(format!("k: от 1 до {}, получено {k}", state.0.limits.k)));
        }
        let Some(last_client) = self.dialogue.iter().rposition(|t| t.role == Speaker::Client) else {
            return Err(ApiError::invalid("в диалоге нет сообщения клиента: подсказки подбираются к нему"));
        };
        let mut dialogue = self.dialogue;
        let latest = dialogue.remove(last_client);
        if latest.text.trim().is_empty() {
            return Err(ApiError::invalid("сообщение клиента пустое: подсказки подбираются к его тексту"));
        }
        let request = SuggestRequest {
            text: latest.text,
            dialogue: dialogue.into_iter().map(|t| Turn { role: t.role, text: t.text }).collect(),
            client_name: name(&self.client),
            operator_name: name(&self.operator),
            values,
        };
        crate::rank::check_request(&request, k)?;
        Ok((request, k))
    }
}

impl DraftBody {
    fn into_context(self, state: &AppState) -> Result<(String, Context), ApiError> {
        check_dialogue(state, &self.dialogue)?;
        check_people(&self.client, &self.operator)?;
        check_text("текст", &self.text, state.0.limits.text_chars)?;
        if let Some(profile) = &self.profile {
            check_text("профиль (profile)", profile, MAX_PROFILE_CHARS)?;
        }
        if let Some(time) = &self.client_time {
            check_text("время клиента (client_time)", time, MAX_TIME_CHARS)?;
        }
        if self.text.trim().is_empty() {
            return Err(ApiError::invalid("текст пустой: введите, пожалуйста, черновик ответа"));
        }
        let client_time = match self.client_time.as_deref() {
            Some(t) => Some(t.parse()?),
            None => self
                .dialogue
                .iter()
                .rev()
                .find(|t| t.role == Speaker::Client)
                .and_then(|t| t.ts.as_deref())
                .and_then(|ts| ts.parse().ok()),
        };
        // Absent: a dialogue with an operator turn is under way; one with only the client's
        // messages waits for its first reply; with no dialogue at all nothing is known.
        let operator_spoke = self.dialogue.iter().any(|t| t.role == Speaker::Operator);
        let first_message = self.first_message.or_else(|| (!self.dialogue.is_empty()).then_some(!operator_spoke));
        let context = Context {
            client_name: name(&self.client),
            client_messages: self
                .dialogue
                .iter()
                .filter(|t| t.role == Speaker::Client)
                .map(|t| t.text.clone())
                .collect(),
            operator_name: name(&self.operator),
            first_message,
            name_uses: self.name_uses.unwrap_or(0),
            client_time,
            profile: self.profile,
        };
        Ok((self.text, context))
    }
}

/// Ranks the approved templates for the client's latest message.
#[utoipa::path(post, path = "/v1/suggest", request_body = SuggestBody, tag = "operator",
    responses((status = 200, body = SuggestAnswer), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn suggest(
    State(state): State<AppState>,
    Json(body): Json<SuggestBody>,
) -> Result<Json<SuggestAnswer>, ApiError> {
    let (request, k) = body.into_request(&state)?;
    let response = state
        .run(move |engine, deadline| Ok(engine.library()?.suggest(&request, k, &engine.embedder.within(deadline))?))
        .await?;
    Ok(Json(SuggestAnswer { suggestion_id: new_id(), response }))
}

/// Every departure of a draft from the house style.
#[utoipa::path(post, path = "/v1/check", request_body = DraftBody, tag = "operator",
    responses((status = 200, body = CheckReport), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn check(State(state): State<AppState>, Json(body): Json<DraftBody>) -> Result<Json<CheckReport>, ApiError> {
    let (text, context) = body.into_context(&state)?;
    let report = state
        .run(move |engine, deadline| {
            let embedder = engine.embedder.within(deadline);
            Ok(engine.style.check_within(&text, &context, Some(&embedder), deadline)?)
        })
        .await?;
    Ok(Json(report))
}

/// The draft rewritten toward the house style, with every edit and its reason.
#[utoipa::path(post, path = "/v1/rewrite", request_body = DraftBody, tag = "operator",
    responses((status = 200, body = Rewrite), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn rewrite(State(state): State<AppState>, Json(body): Json<DraftBody>) -> Result<Json<Rewrite>, ApiError> {
    let (text, context) = body.into_context(&state)?;
    let rewrite = state
        .run(move |engine, deadline| {
            let embedder = engine.embedder.within(deadline);
            Ok(engine.style.rewrite_within(&text, &context, Some(&embedder), deadline)?)
        })
        .await?;
    Ok(Json(rewrite))
}

/// Records which template the operator sent; the ranking learns from it.
#[utoipa::path(post, path = "/v1/feedback", request_body = FeedbackBody, tag = "operator",
    responses((status = 201, body = FeedbackAnswer), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("token" = [])))]
pub async fn feedback(
    State(state): State<AppState>,
    Json(body): Json<FeedbackBody>,
) -> Result<(StatusCode, Json<FeedbackAnswer>), ApiError> {
    check_text("сообщение", &body.message, state.0.limits.text_chars)?;
    if body.message.trim().is_empty() || body.chosen.trim().is_empty() {
        return Err(ApiError::invalid("нужны сообщение клиента (message) и выбранный шаблон (chosen)"));
    }
    super::templates::check_id("выбранный шаблон (chosen)", &body.chosen)?;
    if let Some(id) = &body.suggestion_id {
        if id.len() > MAX_SUGGESTION_ID_CHARS || !super::valid_request_id(id.as_bytes()) {
            return Err(ApiError::invalid(format!(
                "номер подсказки (suggestion_id): допустимы латинские буквы, цифры и знаки «.», «_», «:», «-», не более {MAX_SUGGESTION_ID_CHARS} символов"
            )));
        }
    }
    let click =
        Feedback { text: body.message, chosen_id: body.chosen, edited: body.edited, suggestion_id: body.suggestion_id };
    state
        .run(move |engine, _| {
            if engine.with_store(|s| s.get(&click.chosen_id))?.is_none() {
                return Err(ApiError::invalid(format!("шаблона «{}» нет в библиотеке", click.chosen_id)));
            }
            engine.with_store(|s| s.add_feedback(std::slice::from_ref(&click)))?;
            engine.rebuild_later();
            Ok(())
        })
        .await?;
    Ok((StatusCode::CREATED, Json(FeedbackAnswer { recorded: 1 })))
}

/// A random id for a suggestion answer.
fn new_id() -> String {
    let mut bytes = [0u8; 12];
    // Without randomness the id is still unique enough for a feedback link: fall back to time.
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
