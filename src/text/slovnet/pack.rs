//! The archives natasha ships its models in: plain (ustar) tar files, memory-mapped and read in
//! place. A slovnet pack holds `meta.json`, `model.json` (the module tree, each weight a shape,
//! a dtype and the number of its `arrays/N.bin`, raw little-endian) and gzipped line vocabularies
//! under `vocabs/`; the navec archive holds `meta.json`, `vocab.bin` and `pq.bin`.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use serde_json::Value;

use crate::error::{Error, Result};

/// The only archive protocol the reference reads (`meta.json`'s `protocol`).
const PROTOCOL: u64 = 1;

/// A tar file mapped into memory, with the byte range of each member.
pub(crate) struct Archive {
    path: PathBuf,
    map: Mmap,
    members: HashMap<String, Range<usize>>,
}

impl Archive {
    /// Maps `path` and indexes its members.
    pub(crate) fn open(path: &Path) -> Result<Archive> {
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: mapped read-only; the setup step writes the cache files once (rename into
        // place) and nothing modifies them while a model is loaded.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| Error::io(path, e))?;
        let members = index_tar(&map).map_err(|reason| Error::corrupt(path, reason))?;
        Ok(Archive { path: path.to_path_buf(), map, members })
    }

    /// A corrupt-model error about this archive.
    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::corrupt(&self.path, reason)
    }

    /// The byte range of member `name` in [`Archive::mapped`].
    pub(crate) fn range(&self, name: &str) -> Result<Range<usize>> {
        self.members.get(name).cloned().ok_or_else(|| self.corrupt(format!("no member {name}")))
    }

    /// The bytes of member `name`.
    pub(crate) fn bytes(&self, name: &str) -> Result<&[u8]> {
        Ok(&self.map[self.range(name)?])
    }

    /// The whole mapped file.
    pub(crate) fn mapped(&self) -> &[u8] {
        &self.map
    }

    /// Member `name` as JSON.
    pub(crate) fn json(&self, name: &str) -> Result<Value> {
        serde_json::from_slice(self.bytes(name)?).map_err(|e| self.corrupt(format!("{name}: {e}")))
    }

    /// Member `name`, gunzipped.
    pub(crate) fn gunzip(&self, name: &str) -> Result<Vec<u8>> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(self.bytes(name)?)
            .read_to_end(&mut out)
            .map_err(|e| self.corrupt(format!("{name}: {e}")))?;
        Ok(out)
    }

    /// Checks `meta.json`: the protocol, and the id when `id` is given; returns the id.
    pub(crate) fn check_meta(&self, id: Option<&str>) -> Result<String> {
        let meta = self.json("meta.json")?;
        if meta.get("protocol").and_then(Value::as_u64) != Some(PROTOCOL) {
            return Err(self.corrupt(format!("meta.json: protocol is not {PROTOCOL}")));
        }
        let found = meta.get("id").and_then(Value::as_str).unwrap_or_default();
        match id {
            Some(id) if id != found => Err(self.corrupt(format!("meta.json: id {found:?}, expected {id:?}"))),
            _ => Ok(found.to_string()),
        }
    }
}

/// Member name → data range of a ustar archive (regular files only; pax headers are skipped).
fn index_tar(data: &[u8]) -> std::result::Result<HashMap<String, Range<usize>>, String> {
    let mut members = HashMap::new();
    let mut at = 0;
    while at + 512 <= data.len() {
        let header = &data[at..at + 512];
        if header.iter().all(|&b| b == 0) {
            break;
        }
        let name = c_string(&header[..100]);
        let prefix = if &header[257..262] == b"ustar" { c_string(&header[345..500]) } else { String::new() };
        let size = octal(&header[124..136]).ok_or_else(|| format!("member {name}: bad size field"))?;
        let start = at + 512;
        let end =
            start.checked_add(size).filter(|&e| e <= data.len()).ok_or_else(|| format!("member {name} truncated"))?;
        if matches!(header[156], 0 | b'0') {
            let full = if prefix.is_empty() { name } else { format!("{prefix}/{name}") };
            members.insert(full, start..end);
        }
        at = start + size.div_ceil(512) * 512;
    }
    if members.is_empty() {
        return Err("not a tar archive".into());
    }
    Ok(members)
}

fn c_string(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(&field[..end]).into_owned()
}

fn octal(field: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(field).ok()?.trim_matches(|c: char| c == '\0' || c == ' ');
    usize::from_str_radix(text, 8).ok()
}

/// A slovnet model pack: the archive plus its parsed `model.json`.
pub(crate) struct Pack {
    pub(crate) archive: Archive,
    model: Value,
}

impl Pack {
    /// Opens the pack at `path`, checking its meta (`id`) and protocol.
    pub(crate) fn open(path: &Path, id: &str) -> Result<Pack> {
        let archive = Archive::open(path)?;
        archive.check_meta(Some(id))?;
        let model = archive.json("model.json")?;
        Ok(Pack { archive, model })
    }

    /// The node of `model.json` at the JSON pointer `at` (e.g. `/encoder/layers/0/conv`).
    pub(crate) fn node(&self, at: &str) -> Result<&Value> {
        self.model.pointer(at).ok_or_else(|| self.archive.corrupt(format!("model.json has no {at}")))
    }

    /// An integer field of `model.json`.
    pub(crate) fn integer(&self, at: &str) -> Result<usize> {
        let value =
            self.node(at)?.as_u64().ok_or_else(|| self.archive.corrupt(format!("model.json: {at} not an integer")))?;
        Ok(value as usize)
    }

    /// The float32 weight at `at` with its shape; `rank` dimensions expected.
    pub(crate) fn weight(&self, at: &str, rank: usize) -> Result<(Vec<f32>, Vec<usize>)> {
        let node = self.node(at)?;
        let bad = |what: &str| self.archive.corrupt(format!("model.json: {at}: {what}"));
        if node.get("dtype").and_then(Value::as_str) != Some("float32") {
            return Err(bad("dtype is not float32"));
        }
        let shape: Vec<usize> = node
            .get("shape")
            .and_then(Value::as_array)
            .and_then(|dims| dims.iter().map(|d| d.as_u64().map(|d| d as usize)).collect())
            .ok_or_else(|| bad("bad shape"))?;
        if shape.len() != rank {
            return Err(bad(&format!("rank {} instead of {rank}", shape.len())));
        }
        let id = node.get("array").and_then(Value::as_u64).ok_or_else(|| bad("no array"))?;
        let bytes = self.archive.bytes(&format!("arrays/{id}.bin"))?;
        let len: usize = shape.iter().product();
        if bytes.len() != len * 4 {
            return Err(bad(&format!("{} bytes for shape {shape:?}", bytes.len())));
        }
        Ok((f32s(bytes), shape))
    }

    /// The float32 weight at `at`, which must have exactly `shape`.
    pub(crate) fn weight_of(&self, at: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (data, found) = self.weight(at, shape.len())?;
        if found != shape {
            return Err(self.archive.corrupt(format!("model.json: {at} has shape {found:?}, expected {shape:?}")));
        }
        Ok(data)
    }

    /// The vocabulary `vocabs/{name}.gz`: one item per line.
    pub(crate) fn vocab(&self, name: &str) -> Result<Vec<String>> {
        let bytes = self.archive.gunzip(&format!("vocabs/{name}.gz"))?;
        let text =
            String::from_utf8(bytes).map_err(|_| self.archive.corrupt(format!("vocabs/{name}.gz: not UTF-8")))?;
        Ok(text.split('\n').map(str::to_string).collect())
    }
}

/// Little-endian float32 values (copied: members are not 4-byte aligned in general).
pub(crate) fn f32s(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, size: usize) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        let size = format!("{size:011o}\0");
        h[124..136].copy_from_slice(size.as_bytes());
        h[156] = b'0';
        h[257..262].copy_from_slice(b"ustar");
        h
    }

    #[test]
    fn indexes_members_and_rejects_truncation() {
        let mut tar = header("a.bin", 3);
        tar.extend([1, 2, 3]);
        tar.resize(1024, 0);
        tar.extend(header("b", 0));
        tar.resize(2048 + 512, 0);
        let members = index_tar(&tar).unwrap();
        assert_eq!(members["a.bin"], 512..515);
        assert_eq!(members["b"], 1536..1536);
        assert!(index_tar(&tar[..514]).is_err());
        assert!(index_tar(&[0u8; 1024]).is_err());
        assert!(index_tar(b"junk").is_err());
    }
}
