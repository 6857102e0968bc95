//! Reading a dialogue log: JSONL, one message a line —
//! `{"dialogue","role":"client"|"operator","operator"?,"ts"?,"text","client_name"?}`.
//!
//! The log is streamed: lines are read one at a time with a cap on their length (a 1 GB line
//! must not need 1 GB of memory), and a bad line is a warning with its number, never the end of
//! the run. Warnings are bounded too: the first [`KEPT_WARNINGS`] are kept word for word, the
//! rest only counted by kind.

use std::collections::BTreeMap;
use std::io::{self, BufRead};

use serde_json::{Map, Value};

use crate::report::InputWarning;

/// Longest line read (bytes); the rest of a longer line is skipped with a warning.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Warnings kept word for word; later ones are counted by kind.
pub const KEPT_WARNINGS: usize = 200;

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Speaker {
    /// The client.
    Client,
    /// A support operator.
    Operator,
}

/// One usable line of the log.
#[derive(Clone, Debug, PartialEq)]
pub struct LogMessage {
    /// 1-based line number.
    pub line: u64,
    /// Dialogue id.
    pub dialogue: String,
    /// Who wrote it.
    pub speaker: Speaker,
    /// Operator id (operator lines; absent when the log did not say).
    pub operator: Option<String>,
    /// Seconds since the Unix epoch (absent or unreadable: no time figures for this message).
    pub ts: Option<i64>,
    /// The message.
    pub text: String,
    /// The client's name as the log gives it.
    pub client_name: Option<String>,
}

/// What the log's lines had wrong: the first [`KEPT_WARNINGS`] in full, every one counted.
#[derive(Debug, Default)]
pub struct Warnings {
    kept: Vec<InputWarning>,
    by_kind: BTreeMap<&'static str, u64>,
}

impl Warnings {
    /// Records a warning of `kind` (a short Russian label) at `line`.
    pub fn push(&mut self, line: u64, kind: &'static str, message: impl Into<String>) {
        *self.by_kind.entry(kind).or_default() += 1;
        if self.kept.len() < KEPT_WARNINGS {
            self.kept.push(InputWarning { line: line as usize, message: message.into() });
        }
    }

    /// How many warnings of each kind.
    pub fn counts(&self) -> &BTreeMap<&'static str, u64> {
        &self.by_kind
    }

    /// Total number of warnings.
    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// The kept warnings, then one line per kind that had more than were kept.
    pub fn into_list(self) -> Vec<InputWarning> {
        let mut shown: BTreeMap<String, u64> = BTreeMap::new();
        for w in &self.kept {
            *shown.entry(kind_of(&self.by_kind, &w.message).to_string()).or_default() += 1;
        }
        let mut list = self.kept;
        for (kind, &count) in &self.by_kind {
            let kept = shown.get(*kind).copied().unwrap_or(0);
            if count > kept {
                list.push(InputWarning {
                    line: 0,
                    message: format!("ещё строк с замечанием «{kind}»: {} (не показаны)", count - kept),
                });
            }
        }
        list
    }
}

/// The kind a kept message was filed under (messages start with their kind).
fn kind_of<'k>(kinds: &'k BTreeMap<&'static str, u64>, message: &str) -> &'k str {
    kinds.keys().find(|k| message.starts_with(*k)).copied().unwrap_or("")
}

/// Streams a log's lines with a length cap, counting bytes for progress.
pub struct LineReader<R> {
    inner: R,
    line: u64,
    bytes: u64,
    buf: Vec<u8>,
}

/// One raw line.
pub enum RawLine<'a> {
    /// The line's bytes (without the line break).
    Text(&'a [u8]),
    /// The line was longer than [`MAX_LINE_BYTES`]; it was skipped.
    TooLong,
}

impl<R: BufRead> LineReader<R> {
    /// Reads from `inner`.
    pub fn new(inner: R) -> Self {
        LineReader { inner, line: 0, bytes: 0, buf: Vec::new() }
    }

    /// Bytes read so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The next line with its 1-based number; `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<(u64, RawLine<'_>)>> {
        self.buf.clear();
        let mut overflow = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                break;
            }
            any = true;
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            let content = &available[..if done { take - 1 } else { take }];
            let room = MAX_LINE_BYTES.saturating_sub(self.buf.len());
            if content.len() > room {
                overflow = true;
            }
            if !overflow {
                self.buf.extend_from_slice(content);
            }
            self.inner.consume(take);
            self.bytes += take as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(None);
        }
        self.line += 1;
        Ok(Some((self.line, if overflow { RawLine::TooLong } else { RawLine::Text(&self.buf) })))
    }
}

/// The fields a log line may have; any other is reported and ignored.
const FIELDS: [&str; 6] = ["dialogue", "role", "operator", "ts", "text", "client_name"];

/// Parses one line; `None` (with a warning) when it cannot be used. Problems that leave the
/// line usable (an unknown field, a missing or unreadable time) are warnings too.
pub fn parse_line(line: u64, bytes: &[u8], warnings: &mut Warnings) -> Option<LogMessage> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        warnings.push(line, "не UTF-8", "не UTF-8: строка пропущена");
        return None;
    };
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return None;
    }
    let mut fields: Map<String, Value> = match serde_json::from_str(text) {
        Ok(Value::Object(map)) => map,
        Ok(_) => {
            warnings.push(line, "не объект JSON", "не объект JSON: строка пропущена");
            return None;
        }
        Err(e) => {
            warnings.push(line, "не JSON", format!("не JSON: строка пропущена ({e})"));
            return None;
        }
    };
    let unknown: Vec<&str> = fields.keys().map(String::as_str).filter(|k| !FIELDS.contains(k)).collect();
    if !unknown.is_empty() {
        warnings.push(line, "неизвестные поля", format!("неизвестные поля: {} (не учтены)", unknown.join(", ")));
    }
    let Some(dialogue) = id_field(fields.get("dialogue")) else {
        warnings.push(line, "нет dialogue", "нет dialogue: строка пропущена (нужен идентификатор диалога)");
        return None;
    };
    let speaker = match fields.get("role").and_then(Value::as_str) {
        Some("client") => Speaker::Client,
        Some("operator") => Speaker::Operator,
        Some(other) => {
            warnings.push(
                line,
                "неизвестная роль",
                format!("неизвестная роль «{other}»: строка пропущена (допустимы client и operator)"),
            );
            return None;
        }
        None => {
            warnings.push(line, "нет role", "нет role: строка пропущена (нужно client или operator)");
            return None;
        }
    };
    let text = match fields.remove("text") {
        Some(Value::String(t)) if !t.trim().is_empty() => t,
        Some(Value::String(_)) => {
            warnings.push(line, "пустой текст", "пустой текст: строка пропущена");
            return None;
        }
        _ => {
            warnings.push(line, "нет text", "нет text: строка пропущена (нужна строка с текстом сообщения)");
            return None;
        }
    };
    let operator = id_field(fields.get("operator"));
    if speaker == Speaker::Operator && operator.is_none() {
        warnings.push(line, "нет operator", "нет operator: сообщение учтено без оператора");
    }
    let ts = match fields.get("ts") {
        None | Some(Value::Null) => {
            warnings.push(line, "нет ts", "нет ts: сообщение учтено без времени");
            None
        }
        Some(value) => {
            let parsed = parse_ts(value);
            if parsed.is_none() {
                warnings.push(
                    line,
                    "время не распознано",
                    format!("время не распознано ({value}): сообщение учтено без времени; ожидается RFC 3339, например 2026-11-02T10:15:03+03:00"),
                );
            }
            parsed
        }
    };
    let client_name = fields.get("client_name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty());
    Some(LogMessage { line, dialogue, speaker, operator, ts, text, client_name: client_name.map(str::to_string) })
}

/// An id given as a non-empty string or as a number.
fn id_field(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A time as RFC 3339 («2026-11-02T10:15:03+03:00»), a civil date-time taken as UTC
/// («2026-11-02 10:15:03») or Unix seconds; seconds since the epoch.
pub fn parse_ts(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(ts) = s.parse::<jiff::Timestamp>() {
                return Some(ts.as_second());
            }
            let civil = s.parse::<jiff::civil::DateTime>().ok()?;
            jiff::tz::TimeZone::UTC.to_timestamp(civil).ok().map(|ts| ts.as_second())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8]) -> Vec<Option<Vec<u8>>> {
        let mut reader = LineReader::new(input);
        let mut out = Vec::new();
        while let Some((_, line)) = reader.next_line().unwrap() {
            out.push(match line {
                RawLine::Text(t) => Some(t.to_vec()),
                RawLine::TooLong => None,
            });
        }
        assert_eq!(reader.bytes(), input.len() as u64);
        out
    }

    #[test]
    fn lines_are_split_and_an_overlong_one_is_skipped_whole() {
        assert!(lines(b"").is_empty());
        assert_eq!(lines(b"a\nb"), [Some(b"a".to_vec()), Some(b"b".to_vec())]);
        assert_eq!(lines(b"a\n\n"), [Some(b"a".to_vec()), Some(Vec::new())]);
        let mut big = vec![b'x'; MAX_LINE_BYTES + 10];
        big.extend_from_slice(b"\nnext\n");
        assert_eq!(lines(&big), [None, Some(b"next".to_vec())]);
    }

    #[test]
    fn a_good_line_parses_and_times_in_three_forms_agree() {
        let mut w = Warnings::default();
        let m = parse_line(
            3,
            r#"{"dialogue":"d1","role":"operator","operator":"op-1","ts":"2026-11-02T10:15:03+03:00","text":"Здравствуйте!"}"#.as_bytes(),
            &mut w,
        )
        .unwrap();
        assert_eq!(
            (m.line, m.dialogue.as_str(), m.speaker, m.operator.as_deref()),
            (3, "d1", Speaker::Operator, Some("op-1"))
        );
        assert_eq!(w.total(), 0);
        let utc = parse_ts(&Value::String("2026-11-02 07:15:03".into()));
        assert_eq!(m.ts, utc);
        assert_eq!(parse_ts(&serde_json::json!(m.ts.unwrap())), m.ts);
        assert_eq!(parse_ts(&Value::String("вчера".into())), None);
    }

    #[test]
    fn bad_lines_are_warned_by_kind_and_usable_ones_kept() {
        let mut w = Warnings::default();
        let bad: [&[u8]; 7] = [
            b"not json",
            b"[1,2]",
            br#"{"role":"client","text":"a"}"#,
            br#"{"dialogue":"d","role":"bot","text":"a"}"#,
            br#"{"dialogue":"d","role":"client"}"#,
            br#"{"dialogue":"d","role":"client","text":"  "}"#,
            b"\xff\xfe",
        ];
        for (i, line) in bad.iter().enumerate() {
            assert!(parse_line(i as u64 + 1, line, &mut w).is_none(), "{i}");
        }
        let kept = parse_line(
            8,
            r#"{"dialogue":7,"role":"operator","text":"Добрый день","channel":"web","ts":"когда-то"}"#.as_bytes(),
            &mut w,
        )
        .unwrap();
        assert_eq!((kept.dialogue.as_str(), kept.operator.as_deref(), kept.ts), ("7", None, None));
        let counts = w.counts();
        for kind in
            ["не JSON", "не объект JSON", "нет dialogue", "неизвестная роль", "нет text", "пустой текст", "не UTF-8"]
        {
            assert_eq!(counts.get(kind), Some(&1), "{kind}: {counts:?}");
        }
        assert_eq!(counts.get("неизвестные поля"), Some(&1));
        let list = w.into_list();
        assert_eq!(list[0].to_string(), format!("строка 1: {}", list[0].message));
        assert!(list.iter().any(|w| w.line == 8 && w.message.contains("channel")));
    }

    #[test]
    fn warnings_beyond_the_kept_ones_are_counted() {
        let mut w = Warnings::default();
        for line in 1..=(KEPT_WARNINGS as u64 + 50) {
            w.push(line, "не JSON", "не JSON: строка пропущена");
        }
        let list = w.into_list();
        assert_eq!(list.len(), KEPT_WARNINGS + 1);
        assert!(list.last().unwrap().message.contains("50"), "{:?}", list.last());
    }
}
