//! LanguageTool's HTTP API (`POST /v2/check`, also as `GET` with a query string, and
//! `GET /v2/languages`), so existing LanguageTool
//! clients and browser add-ons pointed at a custom server show sufler's style issues inside
//! any web chat tool. Only the parts clients read are produced, in LanguageTool's shape.
//!
//! Offsets and lengths are in UTF-16 code units, as Java strings (and JavaScript) count them:
//! an emoji before an issue moves it by two. `data` (annotated text: `text` and `markup`
//! parts) is checked as the text parts with each markup part replaced by its `interpretAs`
//! (or nothing); offsets point into the original, markup included, as LanguageTool does.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Role;
use super::error::{ApiError, ErrorBody, Form, Json, Query};
use super::AppState;
use crate::style::{Context, Issue};
use crate::text::segment::Doc;

/// Most matches in one answer; beyond it the answer says its results are incomplete.
pub const MAX_MATCHES: usize = 200;
/// Longest `sentence` of a match, in characters: a longer sentence is cut to a window around
/// the issue, so an answer grows with the number of issues, not with their product with the text.
pub const MAX_SENTENCE_CHARS: usize = 200;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/v2/check", post(check).get(check_query)).route("/v2/languages", get(languages))
}

/// The form LanguageTool clients send. Fields sufler does not use (`motherTongue`,
/// `preferredVariants`, `level`, …) are accepted and ignored.
#[derive(Debug, Deserialize, ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct CheckForm {
    /// The text to check (or use `data`).
    #[serde(default)]
    pub text: Option<String>,
    /// Annotated text as JSON: `{"annotation":[{"text":…},{"markup":…,"interpretAs":…}]}`.
    #[serde(default)]
    pub data: Option<String>,
    /// `ru-RU`, `ru` or `auto`.
    pub language: String,
    /// Rule ids to leave out, comma-separated.
    #[serde(default)]
    pub disabled_rules: Option<String>,
    /// Rule ids to check, comma-separated (with `enabledOnly=true`: only these).
    #[serde(default)]
    pub enabled_rules: Option<String>,
    /// Whether only `enabledRules` run.
    #[serde(default)]
    pub enabled_only: Option<String>,
    /// Category ids to leave out, comma-separated (`SUFLER_A` … `SUFLER_E`, see the matches).
    #[serde(default)]
    pub disabled_categories: Option<String>,
    /// The caller's token, for clients that cannot set an Authorization header.
    #[serde(default)]
    pub api_key: Option<String>,
    /// LanguageTool's user name field (ignored).
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Annotated {
    annotation: Vec<AnnotationPart>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnnotationPart {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    markup: Option<String>,
    #[serde(default)]
    interpret_as: Option<String>,
}

/// LanguageTool's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResponse {
    /// The server.
    pub software: Software,
    /// The language checked.
    pub language: Language,
    /// The issues, in text order; at most 200.
    pub matches: Vec<Match>,
    /// Whether matches were left out.
    pub warnings: Warnings,
}

/// LanguageTool's warnings about an answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Warnings {
    /// True when the text had more issues than one answer holds (200): only the first are listed.
    pub incomplete_results: bool,
    /// Why results are incomplete (Russian), when they are.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete_results_reason: Option<String>,
}

/// The server's name and version.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Software {
    /// `sufler`.
    pub name: String,
    /// sufler's version.
    pub version: String,
    /// LanguageTool API version (1).
    pub api_version: u32,
    /// Always false.
    pub premium: bool,
    /// Always empty.
    pub status: String,
}

/// The language of a check.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Language {
    /// `Russian`.
    pub name: String,
    /// `ru-RU`.
    pub code: String,
    /// Same as the requested one.
    pub detected_language: DetectedLanguage,
}

/// The detected language.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectedLanguage {
    /// `Russian`.
    pub name: String,
    /// `ru-RU`.
    pub code: String,
    /// 1.0.
    pub confidence: f32,
}

/// One issue, LanguageTool style.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Match {
    /// The Russian explanation.
    pub message: String,
    /// The rule's title.
    pub short_message: String,
    /// Suggested replacements, best first.
    pub replacements: Vec<Replacement>,
    /// Start, in UTF-16 code units.
    pub offset: usize,
    /// Length, in UTF-16 code units.
    pub length: usize,
    /// Text around the issue.
    pub context: MatchContext,
    /// The sentence of the issue; a sentence longer than 200 characters is cut to 200 around
    /// the issue.
    pub sentence: String,
    /// LanguageTool's match type.
    #[serde(rename = "type")]
    pub kind: MatchType,
    /// The rule.
    pub rule: Rule,
    /// Always false.
    pub ignore_for_incomplete_sentence: bool,
    /// Always 0.
    pub context_for_sure_match: i32,
}

/// A replacement.
#[derive(Debug, Serialize, ToSchema)]
pub struct Replacement {
    /// The replacement text.
    pub value: String,
}

/// Text around an issue.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchContext {
    /// Up to 40 characters each side.
    pub text: String,
    /// Start of the issue in `text`, UTF-16 units.
    pub offset: usize,
    /// Length of the issue, UTF-16 units.
    pub length: usize,
}

/// LanguageTool's match type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MatchType {
    /// `Other`.
    pub type_name: String,
}

/// The rule behind a match.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    /// sufler's rule id (`polite-you`, …).
    pub id: String,
    /// The rule's title.
    pub description: String,
    /// `style`, `grammar`, `misspelling` or `typographical`.
    pub issue_type: String,
    /// The rule family.
    pub category: Category,
}

/// A rule family.
#[derive(Debug, Serialize, ToSchema)]
pub struct Category {
    /// `SUFLER_A` … `SUFLER_E`.
    pub id: String,
    /// The family's Russian name.
    pub name: String,
}

/// A language LanguageTool clients may choose.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LanguageEntry {
    /// `Russian`.
    pub name: String,
    /// `ru`.
    pub code: String,
    /// `ru-RU`.
    pub long_code: String,
}

/// The family of a rule code («A1» → A).
fn category(code: &str) -> Category {
    let (id, name) = match code.chars().next() {
        Some('A') => ("SUFLER_A", "Вежливость"),
        Some('B') => ("SUFLER_B", "Обращение по имени"),
        Some('C') => ("SUFLER_C", "Грамотность"),
        Some('D') => ("SUFLER_D", "Полнота и структура ответа"),
        Some('E') => ("SUFLER_E", "Безопасность и время"),
        _ => ("SUFLER", "Стиль"),
    };
    Category { id: id.into(), name: name.into() }
}

/// The text to check, and for each of its characters the UTF-16 offset in the original.
fn plain_text(form: &CheckForm) -> Result<(String, Vec<usize>), ApiError> {
    if let Some(text) = &form.text {
        let mut offsets = Vec::with_capacity(text.len() + 1);
        let mut at = 0;
        for c in text.chars() {
            offsets.push(at);
            at += c.len_utf16();
        }
        offsets.push(at);
        return Ok((text.clone(), offsets));
    }
    let Some(data) = &form.data else {
        return Err(ApiError::new(StatusCode::BAD_REQUEST, "bad_request", "нужно поле text или data"));
    };
    let annotated: Annotated = serde_json::from_str(data)
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "bad_request", format!("поле data: {e}")))?;
    let (mut text, mut offsets, mut at) = (String::new(), Vec::new(), 0usize);
    for part in annotated.annotation {
        match (part.text, part.markup) {
            (Some(t), None) => {
                for c in t.chars() {
                    offsets.push(at);
                    at += c.len_utf16();
                    text.push(c);
                }
            }
            (None, Some(markup)) => {
                let start = at;
                at += markup.encode_utf16().count();
                // Replacement text stands at the markup's start, with no width of its own.
                for c in part.interpret_as.unwrap_or_default().chars() {
                    offsets.push(start);
                    text.push(c);
                }
            }
            _ => {
                return Err(ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_request",
                    "поле data: в каждой части annotation должно быть либо text, либо markup",
                ))
            }
        }
    }
    offsets.push(at);
    Ok((text, offsets))
}

fn rule_list(list: &Option<String>) -> Vec<String> {
    list.as_deref().unwrap_or("").split(',').map(str::trim).filter(|r| !r.is_empty()).map(String::from).collect()
}

/// Checks a text as LanguageTool would, with sufler's style rules.
#[utoipa::path(post, path = "/v2/check", tag = "languagetool",
    request_body(content = CheckForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, body = CheckResponse), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security((), ("token" = [])))]
pub async fn check(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<CheckForm>,
) -> Result<Json<CheckResponse>, ApiError> {
    check_form(state, headers, form).await
}

/// `/v2/check` with the form's fields in the query string, as LanguageTool also accepts.
#[utoipa::path(get, path = "/v2/check", tag = "languagetool", params(CheckForm),
    responses((status = 200, body = CheckResponse), (status = "4XX", body = ErrorBody), (status = 503, body = ErrorBody)),
    security((), ("token" = [])))]
pub async fn check_query(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(form): Query<CheckForm>,
) -> Result<Json<CheckResponse>, ApiError> {
    check_form(state, headers, form).await
}

async fn check_form(state: AppState, headers: HeaderMap, form: CheckForm) -> Result<Json<CheckResponse>, ApiError> {
    state.0.tokens.authorize(&headers, form.api_key.as_deref(), Role::Operator)?;
    let language = form.language.trim();
    if !matches!(language, "ru-RU" | "ru" | "auto") {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_language",
            format!("язык {language:?} не поддерживается: sufler проверяет тексты на русском (ru-RU)"),
        ));
    }
    let (text, offsets) = plain_text(&form)?;
    let limit = state.0.limits.text_chars;
    if offsets.len() - 1 > limit {
        return Err(ApiError::invalid(format!("текст длиннее {limit} символов")));
    }
    let disabled = rule_list(&form.disabled_rules);
    let enabled = rule_list(&form.enabled_rules);
    let enabled_only = form.enabled_only.as_deref() == Some("true");
    let disabled_categories = rule_list(&form.disabled_categories);
    let issues = if text.trim().is_empty() {
        Vec::new()
    } else {
        let checked = text.clone();
        state
            .run(move |e, deadline| {
                let embedder = e.embedder.within(deadline);
                Ok(e.style.check_within(&checked, &Context::default(), Some(&embedder), deadline)?.issues)
            })
            .await?
    };
    let engine = state.engine()?;
    let chars: Vec<char> = text.chars().collect();
    let sentences = sentence_ranges(&text);
    let mut matches: Vec<Match> = issues
        .into_iter()
        .filter(|i| !disabled.contains(&i.rule) && (!enabled_only || enabled.contains(&i.rule)))
        .filter(|i| !disabled_categories.contains(&category(&i.code).id))
        .map(|issue| to_match(&issue, &chars, &offsets, &sentences, engine.style.catalog()))
        .collect();
    let found = matches.len();
    matches.truncate(MAX_MATCHES);
    let warnings = Warnings {
        incomplete_results: found > MAX_MATCHES,
        incomplete_results_reason: (found > MAX_MATCHES).then(|| {
            format!(
                "Замечаний слишком много ({found}): показаны первые {MAX_MATCHES}. Исправьте, пожалуйста, их и проверьте текст снова."
            )
        }),
    };
    Ok(Json(CheckResponse {
        software: Software {
            name: "sufler".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            api_version: 1,
            premium: false,
            status: String::new(),
        },
        language: Language {
            name: "Russian".into(),
            code: "ru-RU".into(),
            detected_language: DetectedLanguage { name: "Russian".into(), code: "ru-RU".into(), confidence: 1.0 },
        },
        matches,
        warnings,
    }))
}

/// The sentences of `text` as character ranges.
fn sentence_ranges(text: &str) -> Vec<std::ops::Range<usize>> {
    let doc = Doc::new(text, &[], &[]);
    let mut chars = text.char_indices().map(|(byte, _)| byte).enumerate().peekable();
    let mut char_of = |byte: usize| {
        while let Some(&(i, b)) = chars.peek() {
            if b >= byte {
                return i;
            }
            chars.next();
        }
        text.chars().count()
    };
    // Sentence boundaries only grow, so one walk over the characters serves them all.
    doc.sentences.iter().map(|s| char_of(s.start)..char_of(s.end)).collect()
}

/// The sentence (from `sentences`) that holds `start..end`, at most [`MAX_SENTENCE_CHARS`] long.
fn sentence_of(chars: &[char], sentences: &[std::ops::Range<usize>], start: usize, end: usize) -> String {
    let i = sentences.partition_point(|s| s.end <= start).min(sentences.len().saturating_sub(1));
    let Some(sentence) = sentences.get(i) else { return String::new() };
    let (from, to) = (sentence.start.min(start), sentence.end.max(end).min(chars.len()));
    if to - from <= MAX_SENTENCE_CHARS {
        return chars[from..to].iter().collect();
    }
    // A window around the issue, the issue's own start kept inside it.
    let room = MAX_SENTENCE_CHARS.saturating_sub(end - start) / 2;
    let window_from = start.saturating_sub(room).max(from);
    let window_to = (window_from + MAX_SENTENCE_CHARS).min(to);
    chars[window_from..window_to].iter().collect()
}

fn to_match(
    issue: &Issue,
    chars: &[char],
    offsets: &[usize],
    sentences: &[std::ops::Range<usize>],
    catalog: &crate::style::Catalog,
) -> Match {
    let (start, end) = (issue.start.min(chars.len()), issue.end.min(chars.len()));
    let (start, end, replacements) = widen_insertion(chars, start, end, &issue.replacements);
    let offset = offsets[start];
    let length = offsets[end].saturating_sub(offset);
    // Context: up to 40 characters each side, in the checked text's own units.
    let from = start.saturating_sub(40);
    let to = (end + 40).min(chars.len());
    let context: String = chars[from..to].iter().collect();
    let context_offset: usize = chars[from..start].iter().map(|c| c.len_utf16()).sum();
    let context_length: usize = chars[start..end].iter().map(|c| c.len_utf16()).sum();
    let def = catalog.get(&issue.rule);
    let title = def.map(|d| d.title.clone()).unwrap_or_else(|| issue.rule.clone());
    let issue_type = match issue.code.as_str() {
        "C3" => "misspelling",
        c if c.starts_with('C') => "grammar",
        _ => "style",
    };
    Match {
        message: issue.message.clone(),
        short_message: title.clone(),
        replacements: replacements.into_iter().map(|value| Replacement { value }).collect(),
        offset,
        length,
        context: MatchContext { text: context, offset: context_offset, length: context_length },
        sentence: sentence_of(chars, sentences, start, end),
        kind: MatchType { type_name: "Other".into() },
        rule: Rule {
            id: issue.rule.clone(),
            description: title,
            issue_type: issue_type.into(),
            category: category(&issue.code),
        },
        ignore_for_incomplete_sentence: false,
        context_for_sure_match: 0,
    }
}

/// An insertion (an empty span: a missing greeting, full stop or softener) as a match over the
/// word it touches, with that word inside each replacement: LanguageTool clients cannot
/// underline an empty match, and applying the replacement must still insert only the text.
fn widen_insertion(chars: &[char], start: usize, end: usize, replacements: &[String]) -> (usize, usize, Vec<String>) {
    if start != end || chars.is_empty() {
        return (start, end, replacements.to_vec());
    }
    let word = |c: &char| !c.is_whitespace();
    if chars[start..].first().is_some_and(word) {
        // The word that begins here: the insertion goes before it.
        let to = start + chars[start..].iter().take_while(|c| word(c)).count();
        let covered: String = chars[start..to].iter().collect();
        (start, to, replacements.iter().map(|r| format!("{r}{covered}")).collect())
    } else if start > 0 && word(&chars[start - 1]) {
        // The word that ends here: the insertion goes after it.
        let from = start - chars[..start].iter().rev().take_while(|c| word(c)).count();
        let covered: String = chars[from..start].iter().collect();
        (from, start, replacements.iter().map(|r| format!("{covered}{r}")).collect())
    } else {
        (start, end, replacements.to_vec())
    }
}

/// The languages sufler checks: Russian.
#[utoipa::path(get, path = "/v2/languages", tag = "languagetool",
    responses((status = 200, body = Vec<LanguageEntry>)))]
pub async fn languages() -> Json<Vec<LanguageEntry>> {
    Json(vec![LanguageEntry { name: "Russian".into(), code: "ru".into(), long_code: "ru-RU".into() }])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(text: Option<&str>, data: Option<&str>) -> CheckForm {
        CheckForm {
            text: text.map(String::from),
            data: data.map(String::from),
            language: "ru-RU".into(),
            disabled_rules: None,
            enabled_rules: None,
            enabled_only: None,
            disabled_categories: None,
            api_key: None,
            username: None,
        }
    }

    #[test]
    fn insertions_cover_the_word_they_touch() {
        let chars: Vec<char> = "щас гляну".chars().collect();
        let at_start = widen_insertion(&chars, 0, 0, &["Здравствуйте! ".into()]);
        assert_eq!(at_start, (0, 3, vec!["Здравствуйте! щас".to_string()]));
        let at_end = widen_insertion(&chars, 9, 9, &[".".into()]);
        assert_eq!(at_end, (4, 9, vec!["гляну.".to_string()]));
        // A real span, an empty text and an insertion between spaces stay as they are.
        assert_eq!(widen_insertion(&chars, 0, 3, &["сейчас".into()]).1, 3);
        assert_eq!(widen_insertion(&[], 0, 0, &["!".into()]), (0, 0, vec!["!".to_string()]));
        let spaces: Vec<char> = "а  б".chars().collect();
        assert_eq!(widen_insertion(&spaces, 2, 2, &["x".into()]).1, 2);
    }

    #[test]
    fn offsets_count_utf16_units() {
        let (text, offsets) = plain_text(&form(Some("😀 ты"), None)).unwrap();
        assert_eq!(text, "😀 ты");
        // The emoji is two UTF-16 units, so «ты» starts at 3.
        assert_eq!(offsets, vec![0, 2, 3, 4, 5]);
    }

    #[test]
    fn markup_counts_in_offsets_but_is_not_checked() {
        let data = r#"{"annotation":[{"text":"Привет "},{"markup":"<b>"},{"text":"ты"},{"markup":"<br/>","interpretAs":"\n"}]}"#;
        let (text, offsets) = plain_text(&form(None, Some(data))).unwrap();
        assert_eq!(text, "Привет ты\n");
        // «т» comes after 7 characters of text and the 3 of «<b>».
        assert_eq!(offsets[7], 10);
        assert_eq!(*offsets.last().unwrap(), 17);
        assert!(plain_text(&form(None, Some(r#"{"annotation":[{}]}"#))).is_err());
        assert!(plain_text(&form(None, Some("not json"))).is_err());
        assert!(plain_text(&form(None, None)).is_err());
    }
}
