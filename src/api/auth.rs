//! API tokens and roles. Tokens come from a TOML file (`--tokens FILE`) and/or the
//! `SUFLER_TOKENS` environment variable; a token has at least 16 characters. Only a salted
//! SHA-256 of each token (a random salt per token) is kept in memory or written to the file,
//! and no response or log line ever contains a token. Files written before salts (plain
//! `sha256`) are still read, and an old token's hash is salted on its first use. The file is
//! rewritten whole, owner-only (0600), through a temporary file and a rename; a token exists
//! only once its file is written.
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

/// Fewest characters of a token.
pub const MIN_TOKEN_CHARS: usize = 16;

/// One token as stored: a name for logs and listings, a role, the salted SHA-256 of the secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// Who or what the token is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// Hex random salt; empty in files written before salts.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub salt: String,
    /// Hex SHA-256 of the salt's bytes followed by the token (of the token alone without salt).
    #[serde(default)]
    pub sha256: String,
    /// The token in clear, accepted in a hand-written file; hashed at load and never kept.
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
    /// From `SUFLER_TOKENS`: never written to the file.
    #[serde(skip)]
    pub from_env: bool,
}

impl TokenEntry {
    /// An entry for `token` with a fresh salt.
    fn new(name: String, role: Role, token: &str, from_env: bool) -> Result<TokenEntry> {
        let salt = hex(&random::<16>()?);
        Ok(TokenEntry { sha256: salted_hash(&salt, token), name, role, salt, token: None, from_env })
    }

    /// Whether `token` is this entry's.
    fn matches(&self, token: &str) -> bool {
        let hash = if self.salt.is_empty() { hash_token(token) } else { salted_hash(&self.salt, token) };
        same(&self.sha256, &hash)
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `N` random bytes; no randomness is our failure, not the caller's.
fn random<const N: usize>() -> Result<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| Error::io("(system randomness)", std::io::Error::other(e.to_string())))?;
    Ok(bytes)
}

/// Hex SHA-256 of the bytes of hex `salt` followed by `token` (a salt that is not hex is
/// hashed as it is written).
fn salted_hash(salt: &str, token: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(token.as_bytes());
    hex(&hasher.finalize())
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

/// Hex SHA-256 of a token (unsalted: the form of files written before salts).
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
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
            #[cfg(unix)]
            if let Ok(meta) = std::fs::metadata(path) {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o077 != 0 {
                    tracing::warn!(
                        path = %path.display(),
                        "the tokens file is readable by others: run chmod 600 on it (sufler writes it 0600 from the next token on)"
                    );
                }
            }
            let parsed: TokenFile = toml::from_str(&text)
                .map_err(|e| Error::InvalidInput(format!("{}: {}", path.display(), e.message())))?;
            for (i, mut entry) in parsed.tokens.into_iter().enumerate() {
                if let Some(clear) = entry.token.take() {
                    if clear.trim().chars().count() < MIN_TOKEN_CHARS {
                        return Err(Error::InvalidInput(format!(
                            "{}: token {} ({:?}) is shorter than {MIN_TOKEN_CHARS} characters",
                            path.display(),
                            i + 1,
                            entry.name
                        )));
                    }
                    entry = TokenEntry::new(entry.name, entry.role, clear.trim(), false)?;
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
            if token.trim().chars().count() < MIN_TOKEN_CHARS {
                return Err(Error::InvalidInput(format!(
                    "SUFLER_TOKENS item {}: a token needs at least {MIN_TOKEN_CHARS} characters",
                    i + 1
                )));
            }
            entries.push(TokenEntry::new(format!("env-{}", i + 1), role.parse()?, token.trim(), true)?);
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
        let (caller, unsalted) = {
            let entries = self.entries.read().expect("tokens lock");
            let entry = entries.iter().find(|e| e.matches(token))?;
            (Caller { name: entry.name.clone(), role: entry.role }, entry.salt.is_empty())
        };
        if unsalted {
            self.salt(token);
        }
        Some(caller)
    }

    /// Replaces the unsalted hash of `token` (a file written before salts) by a salted one and
    /// rewrites the file: the first use of an old token upgrades it. A failed write is logged
    /// and changes nothing; the old entry keeps working.
    fn salt(&self, token: &str) {
        let Some(path) = &self.file else { return };
        let mut entries = self.entries.write().expect("tokens lock");
        let Some(i) = entries.iter().position(|e| e.salt.is_empty() && e.matches(token)) else { return };
        let mut updated = entries.clone();
        let old = &updated[i];
        let salted = match TokenEntry::new(old.name.clone(), old.role, token, old.from_env) {
            Ok(entry) => entry,
            Err(e) => return tracing::warn!(error = %e, "could not salt an old token's hash"),
        };
        updated[i] = salted;
        match write_private(path, &TokenFile { tokens: updated.iter().filter(|e| !e.from_env).cloned().collect() }) {
            Ok(()) => {
                tracing::info!(name = %updated[i].name, "an old token's unsalted hash was replaced by a salted one");
                *entries = updated;
            }
            Err(e) => tracing::warn!(error = %e, "could not rewrite the tokens file with a salted hash"),
        }
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

    /// Creates a token; returns it in clear (the only time it is shown). With a token file,
    /// the token exists only once the file holding it is written: a failed write leaves the
    /// tokens as they were.
    pub fn create(&self, name: &str, role: Role) -> Result<String> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::InvalidInput("имя токена: от 1 до 100 символов".into()));
        }
        let mut entries = self.entries.write().expect("tokens lock");
        if entries.iter().any(|e| e.name == name) {
            return Err(Error::InvalidInput(format!("токен с именем «{name}» уже есть")));
        }
        let token = format!("sfl_{}", hex(&random::<24>()?));
        let mut updated = entries.clone();
        updated.push(TokenEntry::new(name.to_string(), role, &token, false)?);
        if let Some(path) = &self.file {
            write_private(path, &TokenFile { tokens: updated.iter().filter(|e| !e.from_env).cloned().collect() })?;
        }
        *entries = updated;
        Ok(token)
    }
}

/// Writes the token file readable by its owner only: a temporary file (0600) beside it, synced,
/// then renamed over it, so a reader sees the old file or the new one, never a part.
fn write_private(path: &Path, file: &TokenFile) -> Result<()> {
    use std::io::Write;
    let text = toml::to_string(file).map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", hex(&random::<6>()?)));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    let result = written
        .map_err(|e| Error::io(&tmp, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
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
    /// Who or what it is for (unique), 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
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
    let token = state.0.tokens.create(&body.name, body.role).map_err(|e| match e {
        Error::InvalidInput(message) => ApiError::invalid(message),
        other => {
            tracing::error!(error = %other, "creating a token failed");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "не удалось сохранить файл токенов: токен не создан, повторите, пожалуйста, попытку позже",
            )
        }
    })?;
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
    fn an_old_unsalted_token_is_salted_on_first_use() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        let old = hash_token("old-secret-0123456789");
        std::fs::write(&path, format!("[[tokens]]\nname = \"old\"\nrole = \"editor\"\nsha256 = \"{old}\"\n")).unwrap();
        let tokens = Tokens::load(Some(&path), None).unwrap();
        assert!(tokens.identify("wrong-secret-0123456789").is_none());
        assert_eq!(std::fs::read_to_string(&path).unwrap().matches(&old).count(), 1, "a wrong token changes nothing");
        assert_eq!(tokens.identify("old-secret-0123456789").unwrap().role, Role::Editor);
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(!written.contains(&old) && written.contains("salt"), "{written}");
        let reloaded = Tokens::load(Some(&path), None).unwrap();
        assert_eq!(reloaded.identify("old-secret-0123456789").unwrap().name, "old");
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
        for public in ["/", "/healthz", "/readyz", "/info", "/openapi.json", "/docs", "/v2/languages", "/v2/check"] {
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
