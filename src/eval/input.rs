//! Reading an evaluation set: JSONL, one case per line, checked line by line. A bad line (not
//! JSON, an unknown field, a wrong type, a repeated id, a case that fails its own check) becomes
//! a warning with its line number and is left out; the rest of the file is still evaluated. A
//! file with no usable line is an error.

use std::collections::HashSet;
use std::path::Path;

use serde::de::DeserializeOwned;

use crate::error::{Error, Result};
use crate::report::InputWarning;

/// The usable cases of a set and what was wrong with the other lines.
#[derive(Debug)]
pub struct Loaded<T> {
    /// Cases in file order.
    pub cases: Vec<T>,
    /// One per left-out line.
    pub warnings: Vec<InputWarning>,
}

/// Reads `path`; `id` names a case (ids must be unique) and `check` rejects a parsed case with
/// a reason (Russian).
pub fn read_jsonl<T: DeserializeOwned>(
    path: &Path,
    id: impl Fn(&T) -> &str,
    check: impl Fn(&T) -> std::result::Result<(), String>,
) -> Result<Loaded<T>> {
    let bytes = crate::limits::read_file(path, crate::limits::MAX_INPUT_BYTES)?;
    let (mut cases, mut warnings, mut seen) = (Vec::new(), Vec::new(), HashSet::new());
    let mut line = 0;
    for buf in bytes.split_inclusive(|&b| b == b'\n') {
        line += 1;
        let mut warn = |message: String| warnings.push(InputWarning { line, message });
        let Ok(text) = std::str::from_utf8(buf) else {
            warn("строка не в кодировке UTF-8, пропущена".into());
            continue;
        };
        let text = text.trim_start_matches('\u{feff}').trim();
        if text.is_empty() {
            continue;
        }
        let case: T = match serde_json::from_str(text) {
            Ok(case) => case,
            Err(e) => {
                warn(format!("строка пропущена: {}", describe(&e)));
                continue;
            }
        };
        if let Err(why) = check(&case) {
            warn(format!("строка пропущена: {why}"));
            continue;
        }
        if !seen.insert(id(&case).to_owned()) {
            warn(format!("строка пропущена: идентификатор {:?} уже встречался выше", id(&case)));
            continue;
        }
        cases.push(case);
    }
    if cases.is_empty() {
        let why = if line == 0 {
            "файл пуст"
        } else {
            "в файле нет ни одной пригодной строки"
        };
        let details: Vec<String> = warnings.iter().take(5).map(ToString::to_string).collect();
        let details = if details.is_empty() { String::new() } else { format!(" ({})", details.join("; ")) };
        return Err(Error::dataset(path, 0, format!("{why}{details}")));
    }
    Ok(Loaded { cases, warnings })
}

/// serde_json's message in Russian terms (its own text kept for the details).
fn describe(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("это не JSON ({e})"),
        Category::Data if e.to_string().starts_with("unknown field") => format!("неизвестное поле ({e})"),
        Category::Data if e.to_string().starts_with("missing field") => format!("нет обязательного поля ({e})"),
        Category::Data => format!("поле неверного типа или значения ({e})"),
        Category::Io => format!("ошибка чтения ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Row {
        id: String,
        n: u32,
    }

    fn read(text: &[u8]) -> Result<Loaded<Row>> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("set.jsonl");
        std::fs::write(&path, text).unwrap();
        read_jsonl(&path, |r: &Row| &r.id, |r| if r.n > 9 { Err("n больше 9".into()) } else { Ok(()) })
    }

    #[test]
    fn bad_lines_are_warned_by_number_and_the_rest_is_kept() {
        let text = b"{\"id\":\"a\",\"n\":1}\n\nnot json\n{\"id\":\"b\",\"n\":1,\"x\":2}\n{\"id\":\"a\",\"n\":2}\n\
                    {\"id\":\"c\",\"n\":\"1\"}\n{\"id\":\"d\"}\n{\"id\":\"e\",\"n\":10}\n\xff\xfe\n{\"id\":\"f\",\"n\":3}";
        let loaded = read(text).unwrap();
        assert_eq!(loaded.cases.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "f"]);
        let lines: Vec<usize> = loaded.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9]);
        let messages: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        assert!(messages[0].starts_with("строка 3: строка пропущена: это не JSON"), "{messages:?}");
        assert!(messages[1].contains("неизвестное поле") && messages[2].contains("уже встречался"));
        assert!(messages[3].contains("неверного типа") && messages[4].contains("нет обязательного поля"));
        assert!(messages[5].contains("n больше 9") && messages[6].contains("UTF-8"));
        assert_eq!(lines.len() + 2, 9);
    }

    #[test]
    fn an_empty_or_useless_file_is_an_error() {
        assert!(read(b"").unwrap_err().to_string().contains("файл пуст"));
        assert!(read(b"\n\n").unwrap_err().to_string().contains("нет ни одной пригодной строки"));
        let err = read(b"[1]\n").unwrap_err().to_string();
        assert!(err.contains("set.jsonl: ") && err.contains("строка 1"), "{err}");
    }
}
