//! Bounds on what is read whole into memory: an input over its bound is refused with an error
//! that names it, and never read to its end (`sufler templates import /dev/zero` once took 2 GB
//! of memory before it failed).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Most bytes read whole from one input file or stream: template packs, click histories, request
/// batches, evaluation sets, texts to embed.
pub const MAX_INPUT_BYTES: u64 = 64 << 20;

/// All of `reader`, refused when it holds more than `limit` bytes; `name` (a path, or «stdin»)
/// names it in the error.
pub fn read_bounded(reader: impl Read, limit: u64, name: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(name, e))?;
    if bytes.len() as u64 > limit {
        return Err(Error::Dataset {
            path: name.into(),
            line: 0,
            reason: format!("larger than {}, the most sufler reads", size(limit)),
        });
    }
    Ok(bytes)
}

/// The file at `path`, refused when it is larger than `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    read_bounded(file, limit, path)
}

/// «64 MiB», «128 KiB», «100 bytes».
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_input_is_refused_after_its_bound() {
        let endless = std::io::repeat(0);
        let e = read_bounded(endless, 1 << 20, Path::new("/dev/zero")).unwrap_err();
        assert_eq!(e.to_string(), "/dev/zero: larger than 1 MiB, the most sufler reads");
        let bytes = read_bounded(&b"12345"[..], 5, Path::new("stdin")).unwrap();
        assert_eq!(bytes, b"12345");
        assert!(read_bounded(&b"123456"[..], 5, Path::new("stdin")).is_err());
    }
}
