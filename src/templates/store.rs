//! The template library: one SQLite file (WAL mode) holding the templates with their history
//! and approval state, the embedding cache and the feedback log.
//!
//! Every write is one transaction, so an interrupted import leaves the library as it was. The
//! file is marked with an application id and a schema version; a foreign or damaged file is
//! refused with a message instead of being "repaired".

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use serde::{Deserialize, Serialize};

use super::{Status, Template};
use crate::error::{Error, Result};

/// Environment variable naming the library file when `--db` is not given.
pub const DB_ENV: &str = "SUFLER_DB";
/// `PRAGMA application_id` of a sufler library ("SUF1").
const APPLICATION_ID: i32 = 0x5355_4631;
/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i32 = 3;
/// How long a write waits for another process holding the lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(3);

const SCHEMA: &str = "
CREATE TABLE templates (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,
    examples TEXT NOT NULL,
    profile TEXT NOT NULL,
    requires TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'retired')),
    version INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- One row per change of content or status, oldest first: who approved what, and when.
CREATE TABLE template_history (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    category TEXT NOT NULL,
    tags TEXT NOT NULL,
    examples TEXT NOT NULL,
    profile TEXT NOT NULL,
    requires TEXT NOT NULL DEFAULT '[]',
    changed_at INTEGER NOT NULL
);
CREATE INDEX template_history_id ON template_history (id, seq);
-- Unit vectors as little-endian f32, keyed by the model and the hash of the exact input text.
CREATE TABLE embeddings (
    model TEXT NOT NULL,
    hash BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model, hash)
) WITHOUT ROWID;
CREATE TABLE feedback (
    seq INTEGER PRIMARY KEY,
    at INTEGER NOT NULL,
    text TEXT NOT NULL,
    chosen_id TEXT NOT NULL,
    edited INTEGER NOT NULL,
    suggestion_id TEXT
);
";
/// Schema 3: the library's own abstention threshold per encoder model ([`Calibration`] as JSON).
const CALIBRATION_TABLE: &str = "
CREATE TABLE calibration (
    model TEXT PRIMARY KEY,
    calibration TEXT NOT NULL,
    at INTEGER NOT NULL
);
";

/// What an import changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// New ids.
    pub added: usize,
    /// Ids whose content or status changed.
    pub updated: usize,
    /// Ids already in the library exactly as imported.
    pub unchanged: usize,
}

/// One entry of a template's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Revision {
    /// The template as it was after the change.
    pub template: Template,
    /// Unix seconds of the change.
    pub changed_at: i64,
}

/// One click: the operator chose `chosen_id` for the client's message `text`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Feedback {
    /// The client's message the suggestions were for.
    pub text: String,
    /// The template the operator sent.
    pub chosen_id: String,
    /// Whether the operator edited the text before sending.
    #[serde(default)]
    pub edited: bool,
    /// The suggestion request this click answers, when the client keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion_id: Option<String>,
}

/// A library's own abstention threshold: chosen on its operators' labelled messages (some with
/// a right template, some that none answers) for one encoder model, since fits are on that
/// model's scale. `sufler templates calibrate` makes it; the ranking uses it in place of the
/// default threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// The encoder model the fits were measured with.
    pub model: String,
    /// Abstain when the best template's fit is below this.
    pub abstain_below: f32,
    /// The stated most share of messages with a right template that may be abstained on.
    pub max_false_rate: f64,
    /// The stated least share of abstentions that must be right, if one was stated.
    pub min_precision: Option<f64>,
    /// On the calibration messages at this threshold: share of those with no right template
    /// abstained on …
    pub recall: f64,
    /// … share of those with a right template abstained on …
    pub false_rate: f64,
    /// … and share of abstentions that were right (None: none).
    pub precision: Option<f64>,
    /// Calibration messages with a right template.
    pub in_scope: usize,
    /// Calibration messages no template answers.
    pub out_of_scope: usize,
}

/// An open template library.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// (device, inode) of the file when it was opened (`None` in memory or off Unix).
    file_id: Option<(u64, u64)>,
}

impl Store {
    /// The library file: `flag`, else `$SUFLER_DB`, else `sufler/library.db` in the user's data
    /// directory.
    pub fn locate(flag: Option<&Path>) -> Result<PathBuf> {
        if let Some(path) = flag {
            return Ok(path.to_path_buf());
        }
        if let Some(path) = std::env::var_os(DB_ENV).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        dirs::data_dir()
            .map(|d| d.join("sufler").join("library.db"))
            .ok_or_else(|| Error::InvalidInput(format!("no user data directory: pass --db PATH or set {DB_ENV}")))
    }

    /// Opens the library at `path`, creating the file (and its directory) if needed.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let conn = Connection::open(path).map_err(|e| store_error(path, e))?;
        let mut store = Store { conn, path: path.to_path_buf(), file_id: None };
        store.init().map_err(|e| store_error(path, e))?;
        store.file_id = std::fs::metadata(path).ok().and_then(|m| file_id(&m));
        Ok(store)
    }

    /// An in-memory library (tests, evaluation runs that must not touch the user's file).
    pub fn in_memory() -> Result<Store> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|e| store_error(&path, e))?;
        let store = Store { conn, path, file_id: None };
        store.init().map_err(|e| store_error(&store.path, e))?;
        Ok(store)
    }

    /// The file this library lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file this library was opened from is still there, the same file, and
    /// writable. SQLite keeps writing to a deleted file (the open descriptor keeps it alive), so
    /// without this check writes would be acknowledged and then lost; every write calls it.
    pub fn check_available(&self) -> Result<()> {
        let Some(opened) = self.file_id else { return Ok(()) };
        let unavailable = |reason: &str| Error::StoreUnavailable { path: self.path.clone(), reason: reason.into() };
        let meta = match std::fs::metadata(&self.path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(unavailable("the library file was deleted while the library was open"))
            }
            Err(e) => return Err(unavailable(&format!("the library file cannot be read: {e}"))),
        };
        if file_id(&meta) != Some(opened) {
            return Err(unavailable("the library file was replaced by another file while the library was open"));
        }
        let dir = self.path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !writable(&self.path) || !writable(dir) {
            return Err(unavailable("the library file or its directory became read-only"));
        }
        Ok(())
    }

    fn init(&self) -> rusqlite::Result<()> {
        self.conn.busy_timeout(BUSY_TIMEOUT)?;
        // Reading the header is the first access: a file that is not SQLite fails here.
        let app: i32 = self.conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
        let version: i32 = self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let tables: i64 = self.conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        if tables > 0 && app != APPLICATION_ID {
            return Err(refusal("this is an SQLite file of another program, not a sufler library"));
        }
        if version > SCHEMA_VERSION {
            return Err(refusal(&format!("written by a newer sufler (schema {version}); update sufler")));
        }
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "NORMAL")?;
        if version == 0 {
            self.conn.execute_batch(&format!(
                "BEGIN; {SCHEMA} {CALIBRATION_TABLE} PRAGMA application_id = {APPLICATION_ID}; \
                 PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))?;
            return Ok(());
        }
        if version < 2 {
            // Schema 2 adds the templates' preconditions; older templates have none.
            self.conn.execute_batch(
                "BEGIN;
                 ALTER TABLE templates ADD COLUMN requires TEXT NOT NULL DEFAULT '[]';
                 ALTER TABLE template_history ADD COLUMN requires TEXT NOT NULL DEFAULT '[]';
                 PRAGMA user_version = 2;
                 COMMIT;",
            )?;
        }
        if version < 3 {
            self.conn.execute_batch(&format!("BEGIN; {CALIBRATION_TABLE} PRAGMA user_version = 3; COMMIT;"))?;
        }
        Ok(())
    }

    fn fail(&self, e: rusqlite::Error) -> Error {
        store_error(&self.path, e)
    }

    /// Adds or updates templates in one transaction. `status` overrides each template's own.
    /// Changed content gets the next version (or the file's, if higher); every change is
    /// recorded in the history.
    pub fn import(&mut self, templates: &[Template], status: Option<Status>) -> Result<ImportSummary> {
        self.import_with_progress(templates, status, |_| ())
    }

    /// [`Store::import`] reporting each template done.
    pub fn import_with_progress(
        &mut self,
        templates: &[Template],
        status: Option<Status>,
        mut progress: impl FnMut(usize),
    ) -> Result<ImportSummary> {
        self.check_available()?;
        let now = unix_now();
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))?;
        let mut summary = ImportSummary::default();
        for (done, t) in templates.iter().enumerate() {
            let mut t = t.clone();
            if let Some(status) = status {
                t.status = status;
            }
            let current = get(&tx, &t.id).map_err(|e| store_error(&path, e))?;
            match current {
                Some(old) if old.same_content(&t) && old.status == t.status => {
                    summary.unchanged += 1;
                    progress(done + 1);
                    continue;
                }
                Some(old) => {
                    t.version = if old.same_content(&t) { old.version } else { t.version.max(old.version + 1) };
                    summary.updated += 1;
                }
                None => summary.added += 1,
            }
            put(&tx, &t, now).map_err(|e| store_error(&path, e))?;
            progress(done + 1);
        }
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(summary)
    }

    /// Templates in id order; only those with `status` if given.
    pub fn templates(&self, status: Option<Status>) -> Result<Vec<Template>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM templates WHERE ?1 IS NULL OR status = ?1 ORDER BY id"))
            .map_err(|e| self.fail(e))?;
        let rows = stmt.query_map([status.map(Status::as_str)], row_template).map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.fail(e))
    }

    /// At most `limit` templates in id order after the id `after` (from the first without it);
    /// only those with `status` if given. Pages of a listing that changes in between neither
    /// repeat nor skip a template that stays.
    pub fn templates_page(&self, status: Option<Status>, after: Option<&str>, limit: usize) -> Result<Vec<Template>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM templates WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR id > ?2) ORDER BY id LIMIT ?3"
            ))
            .map_err(|e| self.fail(e))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt
            .query_map(rusqlite::params![status.map(Status::as_str), after, limit], row_template)
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.fail(e))
    }

    /// One template by id.
    pub fn get(&self, id: &str) -> Result<Option<Template>> {
        get(&self.conn, id).map_err(|e| self.fail(e))
    }

    /// Number of templates with `status` (all if `None`).
    pub fn count(&self, status: Option<Status>) -> Result<usize> {
        self.conn
            .query_row(
                "SELECT count(*) FROM templates WHERE ?1 IS NULL OR status = ?1",
                [status.map(Status::as_str)],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    /// Moves a template to `status` (approve, retire, back to draft); recorded in the history.
    pub fn set_status(&mut self, id: &str, status: Status) -> Result<Template> {
        self.check_available()?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))?;
        let mut t = get(&tx, id)
            .map_err(|e| store_error(&path, e))?
            .ok_or_else(|| Error::InvalidInput(format!("no template with id {id:?}")))?;
        if t.status != status {
            t.status = status;
            put(&tx, &t, unix_now()).map_err(|e| store_error(&path, e))?;
        }
        tx.commit().map_err(|e| store_error(&path, e))?;
        Ok(t)
    }

    /// Every recorded state of a template, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<Revision>> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS}, changed_at FROM template_history WHERE id = ?1 ORDER BY seq"))
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([id], |r| Ok(Revision { template: row_template(r)?, changed_at: r.get(10)? }))
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.fail(e))
    }

    /// Cached vectors of `model` for the given text hashes (absent ones are simply missing).
    pub fn embeddings(&self, model: &str, hashes: &[[u8; 32]]) -> Result<HashMap<[u8; 32], Vec<f32>>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT vector FROM embeddings WHERE model = ?1 AND hash = ?2")
            .map_err(|e| self.fail(e))?;
        let mut found = HashMap::new();
        for hash in hashes {
            let blob: Option<Vec<u8>> =
                stmt.query_row(params![model, &hash[..]], |r| r.get(0)).optional().map_err(|e| self.fail(e))?;
            if let Some(blob) = blob {
                found.insert(
                    *hash,
                    blob.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect(),
                );
            }
        }
        Ok(found)
    }

    /// Stores vectors of `model` in one transaction.
    pub fn put_embeddings(&mut self, model: &str, items: &[([u8; 32], &[f32])]) -> Result<()> {
        self.check_available()?;
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT OR REPLACE INTO embeddings (model, hash, vector) VALUES (?1, ?2, ?3)")
                .map_err(|e| store_error(&path, e))?;
            for (hash, vector) in items {
                let blob: Vec<u8> = vector.iter().flat_map(|v| v.to_le_bytes()).collect();
                stmt.execute(params![model, &hash[..], blob]).map_err(|e| store_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| store_error(&path, e))
    }

    /// Appends clicks to the feedback log in one transaction. Every chosen id must be in the
    /// library; otherwise nothing is stored and the error names the first unknown one.
    pub fn add_feedback(&mut self, clicks: &[Feedback]) -> Result<()> {
        self.check_available()?;
        let path = self.path.clone();
        let now = unix_now();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| store_error(&path, e))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO feedback (at, text, chosen_id, edited, suggestion_id) VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(|e| store_error(&path, e))?;
            for (i, click) in clicks.iter().enumerate() {
                if get(&tx, &click.chosen_id).map_err(|e| store_error(&path, e))?.is_none() {
                    return Err(Error::InvalidInput(format!(
                        "click {}: no template with id {:?} in the library",
                        i + 1,
                        click.chosen_id
                    )));
                }
                stmt.execute(params![now, click.text, click.chosen_id, click.edited, click.suggestion_id])
                    .map_err(|e| store_error(&path, e))?;
            }
        }
        tx.commit().map_err(|e| store_error(&path, e))
    }

    /// The whole feedback log, oldest first.
    pub fn feedback(&self) -> Result<Vec<Feedback>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT text, chosen_id, edited, suggestion_id FROM feedback ORDER BY seq")
            .map_err(|e| self.fail(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Feedback { text: r.get(0)?, chosen_id: r.get(1)?, edited: r.get(2)?, suggestion_id: r.get(3)? })
            })
            .map_err(|e| self.fail(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(|e| self.fail(e))
    }

    /// The library's calibration for `model`, if `sufler templates calibrate` made one.
    pub fn calibration(&self, model: &str) -> Result<Option<Calibration>> {
        let json: Option<String> = self
            .conn
            .query_row("SELECT calibration FROM calibration WHERE model = ?1", [model], |r| r.get(0))
            .optional()
            .map_err(|e| self.fail(e))?;
        json.map(|j| {
            serde_json::from_str(&j).map_err(|e| Error::Store {
                path: self.path.clone(),
                reason: format!("the stored calibration is damaged ({e}); run `sufler templates calibrate` again"),
            })
        })
        .transpose()
    }

    /// Forgets every calibration; returns how many there were.
    pub fn clear_calibrations(&mut self) -> Result<usize> {
        self.check_available()?;
        self.conn.execute("DELETE FROM calibration", []).map_err(|e| self.fail(e))
    }

    /// Keeps `calibration` for its model (replacing an earlier one).
    pub fn set_calibration(&mut self, calibration: &Calibration) -> Result<()> {
        self.check_available()?;
        let json = serde_json::to_string(calibration).expect("a calibration serialises");
        self.conn
            .execute(
                "INSERT OR REPLACE INTO calibration (model, calibration, at) VALUES (?1, ?2, ?3)",
                params![calibration.model, json, unix_now()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }
}

const COLUMNS: &str = "id, title, text, category, tags, examples, profile, status, version, requires";

fn row_template(r: &rusqlite::Row<'_>) -> rusqlite::Result<Template> {
    let json_list = |i: usize| -> rusqlite::Result<Vec<String>> {
        let text: String = r.get(i)?;
        serde_json::from_str(&text)
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into()))
    };
    let status: String = r.get(7)?;
    Ok(Template {
        id: r.get(0)?,
        title: r.get(1)?,
        text: r.get(2)?,
        category: r.get(3)?,
        tags: json_list(4)?,
        examples: json_list(5)?,
        profile: r.get(6)?,
        status: status
            .parse()
            .map_err(|e: String| rusqlite::Error::FromSqlConversionFailure(7, rusqlite::types::Type::Text, e.into()))?,
        version: r.get(8)?,
        requires: json_list(9)?,
    })
}

fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Template>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM templates WHERE id = ?1"))?
        .query_row([id], row_template)
        .optional()
}

/// Writes the current state of `t` and appends it to the history.
fn put(conn: &Connection, t: &Template, now: i64) -> rusqlite::Result<()> {
    let tags = serde_json::to_string(&t.tags).unwrap_or_else(|_| "[]".into());
    let examples = serde_json::to_string(&t.examples).unwrap_or_else(|_| "[]".into());
    let requires = serde_json::to_string(&t.requires).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "INSERT INTO templates (id, title, text, category, tags, examples, profile, status, version, updated_at, requires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO UPDATE SET title = ?2, text = ?3, category = ?4, tags = ?5, examples = ?6,
             profile = ?7, status = ?8, version = ?9, updated_at = ?10, requires = ?11",
    )?
    .execute(params![
        t.id,
        t.title,
        t.text,
        t.category,
        tags,
        examples,
        t.profile,
        t.status.as_str(),
        t.version,
        now,
        requires
    ])?;
    conn.prepare_cached(
        "INSERT INTO template_history (id, version, status, title, text, category, tags, examples, profile, changed_at, requires)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        t.id,
        t.version,
        t.status.as_str(),
        t.title,
        t.text,
        t.category,
        tags,
        examples,
        t.profile,
        now,
        requires
    ])?;
    Ok(())
}

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

/// A refusal raised by our own checks, carried through rusqlite's error type.
fn refusal(reason: &str) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_NOTADB), Some(reason.to_string()))
}

/// Turns SQLite's error codes into reasons a user can act on.
/// (device, inode): what identifies a file across renames and deletion.
fn file_id(meta: &std::fs::Metadata) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((meta.dev(), meta.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        None
    }
}

/// Whether this process may write `path` (a read-only mount or permissions say no).
fn writable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else { return false };
        // SAFETY: `c_path` is a valid NUL-terminated string that outlives the call.
        unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
    }
}

fn store_error(path: &Path, e: rusqlite::Error) -> Error {
    let reason = match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == ErrorCode::NotADatabase && !msg.starts_with("file is") =>
        {
            msg.clone()
        }
        rusqlite::Error::SqliteFailure(f, _) => match f.code {
            ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                "the file is damaged or is not a database; restore it from a backup or pass another --db".into()
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                format!(
                    "locked by another process for more than {} s; try again when it finishes",
                    BUSY_TIMEOUT.as_secs()
                )
            }
            ErrorCode::ReadOnly | ErrorCode::PermissionDenied | ErrorCode::CannotOpen => {
                format!("cannot open or write the file ({e})")
            }
            ErrorCode::DiskFull => "the disk is full".into(),
            _ => e.to_string(),
        },
        _ => e.to_string(),
    };
    Error::Store { path: path.to_path_buf(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::pack::default_pack;

    fn template(id: &str, text: &str) -> Template {
        Template {
            id: id.into(),
            title: "Заголовок".into(),
            text: text.into(),
            category: String::new(),
            tags: vec![],
            examples: vec![],
            requires: vec![],
            profile: String::new(),
            status: Status::Approved,
            version: 1,
        }
    }

    #[test]
    fn import_round_trips_and_reimport_changes_nothing() {
        let mut store = Store::in_memory().unwrap();
        let pack = default_pack();
        let summary = store.import(&pack, None).unwrap();
        assert_eq!(summary, ImportSummary { added: pack.len(), updated: 0, unchanged: 0 });
        let mut sorted = pack.clone();
        sorted.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(store.templates(None).unwrap(), sorted);
        assert_eq!(store.import(&pack, None).unwrap().unchanged, pack.len());
    }

    #[test]
    fn a_changed_text_is_a_new_version_with_history() {
        let mut store = Store::in_memory().unwrap();
        store.import(&[template("a", "Первый текст.")], Some(Status::Draft)).unwrap();
        store.set_status("a", Status::Approved).unwrap();
        let summary = store.import(&[template("a", "Второй текст.")], None).unwrap();
        assert_eq!(summary.updated, 1);
        let now = store.get("a").unwrap().unwrap();
        assert_eq!((now.version, now.text.as_str()), (2, "Второй текст."));
        let history: Vec<(u32, Status, String)> = store
            .history("a")
            .unwrap()
            .into_iter()
            .map(|r| (r.template.version, r.template.status, r.template.text))
            .collect();
        assert_eq!(
            history,
            [
                (1, Status::Draft, "Первый текст.".to_string()),
                (1, Status::Approved, "Первый текст.".to_string()),
                (2, Status::Approved, "Второй текст.".to_string())
            ]
        );
        assert_eq!(store.count(Some(Status::Approved)).unwrap(), 1);
        assert_eq!(store.count(Some(Status::Draft)).unwrap(), 0);
    }

    #[test]
    fn the_library_survives_reopening_and_a_failed_write_leaves_it_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/library.db");
        {
            let mut store = Store::open(&path).unwrap();
            store.import(&[template("a", "Текст.")], None).unwrap();
            store.put_embeddings("m", &[([7; 32], &[0.5, -1.0][..])]).unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.count(None).unwrap(), 1);
        assert_eq!(store.embeddings("m", &[[7; 32], [8; 32]]).unwrap().get(&[7; 32]), Some(&vec![0.5, -1.0]));
        assert!(store.embeddings("other-model", &[[7; 32]]).unwrap().is_empty());
        let clicks = [
            Feedback { text: "где заказ".into(), chosen_id: "a".into(), edited: false, suggestion_id: None },
            Feedback { text: "и ещё".into(), chosen_id: "missing".into(), edited: true, suggestion_id: None },
        ];
        let err = store.add_feedback(&clicks).unwrap_err().to_string();
        assert!(err.contains("click 2") && err.contains("missing"), "{err}");
        assert!(store.feedback().unwrap().is_empty(), "nothing stored from a failed batch");
        store.add_feedback(&clicks[..1]).unwrap();
        assert_eq!(store.feedback().unwrap(), clicks[..1]);
    }

    #[test]
    fn a_library_file_deleted_or_replaced_while_open_refuses_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.db");
        let mut store = Store::open(&path).unwrap();
        store.import(&[template("a", "Текст.")], None).unwrap();
        assert!(store.check_available().is_ok());
        let moved = dir.path().join("moved.db");
        std::fs::rename(&path, &moved).unwrap();
        assert!(matches!(store.check_available(), Err(Error::StoreUnavailable { .. })));
        let err = store.import(&[template("b", "Ещё.")], None).unwrap_err();
        assert!(err.to_string().contains("deleted"), "{err}");
        assert!(matches!(store.set_status("a", Status::Retired), Err(Error::StoreUnavailable { .. })));
        let click =
            Feedback { text: "где заказ".into(), chosen_id: "a".into(), edited: false, suggestion_id: None };
        assert!(matches!(store.add_feedback(&[click]), Err(Error::StoreUnavailable { .. })));
        assert!(matches!(store.put_embeddings("m", &[([7; 32], &[0.5][..])]), Err(Error::StoreUnavailable { .. })));
        // Another file in its place is not the library that was opened either.
        Store::open(&path).unwrap();
        let err = store.check_available().unwrap_err();
        assert!(err.to_string().contains("replaced"), "{err}");
    }

    #[test]
    fn foreign_and_damaged_files_are_refused_with_a_reason() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, vec![b'x'; 4096]).unwrap();
        let err = Store::open(&junk).err().unwrap().to_string();
        assert!(err.contains("damaged or is not a database"), "{err}");
        assert_eq!(std::fs::read(&junk).unwrap(), vec![b'x'; 4096], "the file is left as it was");

        let foreign = dir.path().join("foreign.db");
        Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE t (x)").unwrap();
        let err = Store::open(&foreign).err().unwrap().to_string();
        assert!(err.contains("another program"), "{err}");
    }

    #[test]
    fn a_locked_library_is_reported_not_waited_on_forever() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.db");
        let mut first = Store::open(&path).unwrap();
        first.import(&[template("a", "Текст.")], None).unwrap();
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("BEGIN EXCLUSIVE").unwrap();
        let err = first.import(&[template("b", "Ещё.")], None).unwrap_err().to_string();
        assert!(err.contains("locked by another process"), "{err}");
        holder.execute_batch("ROLLBACK").unwrap();
        assert_eq!(first.count(None).unwrap(), 1);
    }

    #[test]
    fn a_library_of_schema_1_gains_preconditions_and_keeps_its_templates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            let conn = Connection::open(&path).unwrap();
            let old = SCHEMA.replace("    requires TEXT NOT NULL DEFAULT '[]',\n", "");
            assert!(!old.contains("requires"));
            conn.execute_batch(&format!(
                "{old} PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = 1;
                 INSERT INTO templates (id, title, text, category, tags, examples, profile, status, version, updated_at)
                 VALUES ('a', 'A', 'Текст.', '', '[]', '[]', '', 'approved', 1, 0);"
            ))
            .unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().requires, Vec::<String>::new());
        assert_eq!(store.calibration("any").unwrap(), None, "schema 3's calibration table is added too");
        let with = Template { requires: vec!["order-cancelled".into()], ..template("a", "Текст.") };
        assert_eq!(store.import(&[with], None).unwrap().updated, 1, "a new precondition is a change");
        drop(store);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get("a").unwrap().unwrap().requires, ["order-cancelled"]);
        assert_eq!(store.history("a").unwrap().last().unwrap().template.requires, ["order-cancelled"]);
    }

    #[test]
    fn a_calibration_is_kept_per_model_and_can_be_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("library.db");
        let calibration = Calibration {
            model: "e5-int8".into(),
            abstain_below: 0.81,
            max_false_rate: 0.02,
            min_precision: Some(0.9),
            recall: 0.7,
            false_rate: 0.011,
            precision: Some(0.95),
            in_scope: 90,
            out_of_scope: 70,
        };
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.calibration("e5-int8").unwrap(), None);
        store.set_calibration(&calibration).unwrap();
        store.set_calibration(&Calibration { abstain_below: 0.79, ..calibration.clone() }).unwrap();
        drop(store);
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.calibration("e5-int8").unwrap().unwrap().abstain_below, 0.79, "the latest one is kept");
        assert_eq!(store.calibration("e5-f32").unwrap(), None, "another model's fits are on another scale");
        assert_eq!(store.clear_calibrations().unwrap(), 1);
        assert_eq!(store.calibration("e5-int8").unwrap(), None);
    }
}
