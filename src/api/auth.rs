//! API tokens and roles. Tokens come from a TOML file (`--tokens FILE`) and/or the
//! `SUFLER_TOKENS` environment variable; only their SHA-256 is kept in memory or written to the
//! file, and no response or log line ever contains a token.
//!
//! Roles are ordered: an `editor` may do what an `operator` may, an `admin` what an `editor`
//! may. Missing or unknown token → 401; a known token below the route's role → 403.
//! [`required_role`] is the one table of which route needs which role; [`guard`] applies it
//! before any body is read, so an unauthenticated caller learns nothing about validation.
//! `POST /v2/check` checks for itself: LanguageTool clients may send the token as a form field.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorBody, Json};
use super::AppState;
use crate::error::{Error, Result};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Suggest, check, rewrite, feedback, read templates.
    Operator,
    /// Also create, edit, approve and retire templates.
    Editor,
    /// Also list and create tokens.
    Admin,
}

impl std::str::FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "operator" => Ok(Role::Operator),
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(Error::InvalidInput(format!("unknown role {other:?}: use operator, editor or admin"))),
        }
    }
}

/// One token as stored: a name for logs and listings, a role, the SHA-256 of the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Who or what the token is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex SHA-256 of the token.
    #[serde(default)]
    pub sha256: String,
    /// The token in clear, accepted in a hand-written file; hashed at load and never kept.
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct TokenFile {
    #[serde(default)]
    tokens: Vec<TokenEntry>,
}

/// A caller whose token was accepted.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// The known tokens.
#[derive(Debug, Default)]
pub struct Tokens {
    entries: RwLock<Vec<TokenEntry>>,
    /// Where new tokens are persisted, when tokens come from a file.
    file: Option<PathBuf>,
    /// No tokens at all: every request acts as admin (loopback only, see `serve --dev`).
    dev: bool,
}

/// Hex SHA-256 of a token.
pub fn hash_token(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Equality that takes the same time wherever the strings differ.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Tokens {
    /// Development mode: no tokens, everything allowed.
    pub fn dev() -> Tokens {
        Tokens { dev: true, ..Tokens::default() }
    }

    /// Tokens from `file` (if given) plus `env` (`role=token` pairs separated by commas).
    pub fn load(file: Option<&Path>, env: Option<&str>) -> Result<Tokens> {
        let mut entries = Vec::new();
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
            let parsed: TokenFile = toml::from_str(&text)
                .map_err(|e| Error::InvalidInput(format!("{}: {}", path.display(), e.message())))?;
            for (i, mut entry) in parsed.tokens.into_iter().enumerate() {
                if let Some(clear) = entry.token.take() {
                    entry.sha256 = hash_token(&clear);
                }
                let hex = entry.sha256.len() == 64 && entry.sha256.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex {
                    return Err(Error::InvalidInput(format!(
                        "{}: token {} ({:?}) needs `token` or a 64-hex-digit `sha256`",
                        path.display(),
                        i + 1,
                        entry.name
                    )));
                }
                entry.sha256 = entry.sha256.to_ascii_lowercase();
                entries.push(entry);
            }
        }
        for (i, pair) in env.unwrap_or("").split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let (role, token) = pair
                .split_once('=')
                .ok_or_else(|| Error::InvalidInput(format!("SUFLER_TOKENS item {}: expected role=token", i + 1)))?;
            if token.trim().len() < 16 {
                return Err(Error::InvalidInput(format!(
                    "SUFLER_TOKENS item {}: a token needs at least 16 characters",
                    i + 1
                )));
            }
            entries.push(TokenEntry {
                name: format!("env-{}", i + 1),
                role: role.parse()?,
                sha256: hash_token(token.trim()),
                token: None,
            });
        }
        Ok(Tokens { entries: RwLock::new(entries), file: file.map(Path::to_path_buf), dev: false })
    }

    /// Whether no token is configured (and not in development mode).
    pub fn is_empty(&self) -> bool {
        !self.dev && self.entries.read().expect("tokens lock").is_empty()
    }

    /// Whether every request is allowed (development mode).
    pub fn is_dev(&self) -> bool {
        self.dev
    }

    /// The caller behind `token`, if it is known.
    pub fn identify(&self, token: &str) -> Option<Caller> {
        let hash = hash_token(token);
        let entries = self.entries.read().expect("tokens lock");
        entries.iter().find(|e| same(&e.sha256, &hash)).map(|e| Caller { name: e.name.clone(), role: e.role })
    }

    /// Checks the bearer token of a request (or `fallback`, e.g. a LanguageTool `apiKey` form
    /// field) against `needed`.
    pub fn authorize(&self, headers: &HeaderMap, fallback: Option<&str>, needed: Role) -> Result<Caller, ApiError> {
        if self.dev {
            return Ok(Caller { name: "dev".into(), role: Role::Admin });
        }
        let bearer = headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim);
        let Some(token) = bearer.or(fallback).filter(|t| !t.is_empty()) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "нужен токен доступа: передайте его, пожалуйста, в заголовке Authorization: Bearer …",
            ));
        };
        let Some(caller) = self.identify(token) else {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "токен доступа не подошёл"));
        };
        if caller.role < needed {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!("для этого действия нужна роль {needed:?}, у токена «{}» роль {:?}", caller.name, caller.role)
                    .to_lowercase(),
            ));
        }
        Ok(caller)
    }

    /// Names and roles of the known tokens.
    pub fn list(&self) -> Vec<(String, Role)> {
        self.entries.read().expect("tokens lock").iter().map(|e| (e.name.clone(), e.role)).collect()
    }

    /// Creates a token; returns it in clear (the only time it is shown). Persisted to the token
    /// file when there is one.
    pub fn create(&self, name: &str, role: Role) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::InvalidInput("имя токена: от 1 до 100 символов".into()));
        }
        let mut entries = self.entries.write().expect("tokens lock");
        if entries.iter().any(|e| e.name == name) {
            return Err(Error::InvalidInput(format!("токен с именем «{name}» уже есть")));
        }
        let mut secret = [0u8; 24];
        getrandom::fill(&mut secret).map_err(|e| Error::InvalidInput(format!("no randomness: {e}")))?;
        let token: String = format!("sfl_{}", secret.iter().map(|b| format!("{b:02x}")).collect::<String>());
        entries.push(TokenEntry { name: name.to_string(), role, sha256: hash_token(&token), token: None });
        if let Some(path) = &self.file {
            let file = TokenFile { tokens: entries.clone() };
            let text = toml::to_string(&file).map_err(|e| Error::InvalidInput(e.to_string()))?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).map_err(|e| Error::io(&tmp, e))?;
            std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))?;
        }
        Ok(token)
    }
}

/// The role a request needs, by method and path; `None`: public.
pub fn required_role(method: &Method, path: &str) -> Option<Role> {
    let templates = path == "/v1/templates" || path.starts_with("/v1/templates/");
    match path {
        "/metrics" => Some(Role::Admin),
        p if p == "/v1/tokens" || p.starts_with("/v1/tokens/") => Some(Role::Admin),
        _ if templates && method != Method::GET && method != Method::HEAD => Some(Role::Editor),
        p if p.starts_with("/v1/") => Some(Role::Operator),
        _ => None,
    }
}

/// Middleware: refuses a request whose token does not carry the role [`required_role`] names.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if let Some(needed) = required_role(request.method(), request.uri().path()) {
        match state.0.tokens.authorize(request.headers(), None, needed) {
            Ok(caller) => tracing::debug!(caller = %caller.name, role = ?caller.role, "authorised"),
            Err(e) => return e.into_response(),
        }
    }
    next.run(request).await
}

/// A token as listed to admins (never the token itself).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// The known tokens.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenList {
    /// Names and roles.
    pub tokens: Vec<TokenInfo>,
}

/// A token to create.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// Who or what it is for (unique).
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A created token: shown once, stored only as its hash.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    /// The name.
    pub name: String,
    /// The role.
    pub role: Role,
    /// The token; keep it, it cannot be shown again.
    pub token: String,
}

pub(super) fn routes() -> axum::Router<AppState> {
    axum::Router::new().route("/v1/tokens", axum::routing::get(list_tokens).post(create_token))
}

/// The tokens' names and roles (admin).
#[utoipa::path(get, path = "/v1/tokens", tag = "admin",
    responses((status = 200, body = TokenList), (status = "4XX", body = ErrorBody)), security(("token" = [])))]
pub async fn list_tokens(State(state): State<AppState>) -> Json<TokenList> {
    let tokens = state.0.tokens.list().into_iter().map(|(name, role)| TokenInfo { name, role }).collect();
    Json(TokenList { tokens })
}

/// Creates a token (admin); it is persisted, hashed, to the token file when there is one.
#[utoipa::path(post, path = "/v1/tokens", tag = "admin", request_body = NewToken,
    responses((status = 201, body = CreatedToken), (status = "4XX", body = ErrorBody)), security(("token" = [])))]
pub async fn create_token(
    State(state): State<AppState>,
    Json(body): Json<NewToken>,
) -> std::result::Result<(StatusCode, Json<CreatedToken>), ApiError> {
    if state.0.tokens.is_dev() {
        return Err(ApiError::new(StatusCode::CONFLICT, "dev_mode", "в режиме разработки токены не используются"));
    }
    if state.0.tokens.list().iter().any(|(name, _)| name == body.name.trim()) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("токен с именем «{}» уже есть", body.name.trim()),
        ));
    }
    let token = state.0.tokens.create(&body.name, body.role)?;
    Ok((StatusCode::CREATED, Json(CreatedToken { name: body.name.trim().to_string(), role: body.role, token })))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::AUTHORIZATION, format!("Bearer {token}").parse().unwrap());
        h
    }

    #[test]
    fn roles_are_ordered_and_checked() {
        let tokens = Tokens::load(None, Some("operator=op-token-0123456789,editor=ed-token-0123456789")).unwrap();
        assert_eq!(
            tokens.authorize(&headers("op-token-0123456789"), None, Role::Operator).unwrap().role,
            Role::Operator
        );
        assert_eq!(tokens.authorize(&headers("op-token-0123456789"), None, Role::Editor).unwrap_err().status, 403);
        assert!(tokens.authorize(&headers("ed-token-0123456789"), None, Role::Operator).is_ok());
        assert_eq!(tokens.authorize(&headers("nope"), None, Role::Operator).unwrap_err().status, 401);
        assert_eq!(tokens.authorize(&HeaderMap::new(), None, Role::Operator).unwrap_err().status, 401);
        assert!(tokens.authorize(&HeaderMap::new(), Some("op-token-0123456789"), Role::Operator).is_ok());
    }

    #[test]
    fn file_tokens_are_hashed_and_new_ones_persisted_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        std::fs::write(&path, "[[tokens]]\nname = \"lead\"\nrole = \"admin\"\ntoken = \"admin-secret-0123456789\"\n")
            .unwrap();
        let tokens = Tokens::load(Some(&path), None).unwrap();
        assert_eq!(tokens.identify("admin-secret-0123456789").unwrap().role, Role::Admin);
        let minted = tokens.create("anna", Role::Operator).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains(&minted) && !written.contains("admin-secret"), "{written}");
        let reloaded = Tokens::load(Some(&path), None).unwrap();
        assert_eq!(reloaded.identify(&minted).unwrap().name, "anna");
        assert_eq!(reloaded.identify("admin-secret-0123456789").unwrap().name, "lead");
    }

    #[test]
    fn route_table_names_the_role_of_each_route() {
        use Method as M;
        assert_eq!(required_role(&M::POST, "/v1/suggest"), Some(Role::Operator));
        assert_eq!(required_role(&M::GET, "/v1/templates/x"), Some(Role::Operator));
        assert_eq!(required_role(&M::POST, "/v1/templates"), Some(Role::Editor));
        assert_eq!(required_role(&M::DELETE, "/v1/templates/x"), Some(Role::Editor));
        assert_eq!(required_role(&M::GET, "/v1/tokens"), Some(Role::Admin));
        assert_eq!(required_role(&M::GET, "/metrics"), Some(Role::Admin));
        for public in ["/", "/healthz", "/readyz", "/openapi.json", "/docs", "/v2/languages", "/v2/check"] {
            assert_eq!(required_role(&M::GET, public), None, "{public}");
        }
    }

    #[test]
    fn bad_token_config_is_refused() {
        assert!(Tokens::load(None, Some("operator")).is_err());
        assert!(Tokens::load(None, Some("boss=long-enough-token-123")).is_err());
        assert!(Tokens::load(None, Some("operator=short")).is_err());
    }
}
