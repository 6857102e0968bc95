//! Reading and writing template packs: TOML (`[pack]` + `[[template]]`, the hand-written form in
//! `prompts/templates/`) and JSONL (one template object per line, the exchange form).
//!
//! A file is validated as a whole: every problem is reported with its line number and, if
//! there is any, nothing is imported. A library is either updated from the whole file or not
//! at all, so a half-imported pack never reaches the operators.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::{placeholder, Status, Template, MAX_TEMPLATE_BYTES};
use crate::error::{Error, ImportProblem, Result};

/// The embedded default pack (84 approved templates for common support situations).
pub const DEFAULT_PACK: &str = include_str!("../../prompts/templates/default.toml");

/// Longest template id accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// Whether `id` is a template id: 1–128 ASCII letters, digits, `-`, `_` and `.`, starting with a
/// letter or digit (so an id is safe in a URL path, a file name and a log line).
pub fn valid_id(id: &str) -> bool {
    id.len() <= MAX_ID_CHARS
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// File formats of a pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PackFormat {
    /// `[pack]` + `[[template]]` tables.
    Toml,
    /// One JSON object per line.
    Jsonl,
}

impl PackFormat {
    /// The format a file name implies (`.toml`, else JSONL).
    pub fn of_path(path: &Path) -> PackFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("toml") => PackFormat::Toml,
            _ => PackFormat::Jsonl,
        }
    }
}

/// A template as written in a file: ids may be numbers, unknown keys are collected to report.
#[derive(Deserialize)]
struct RawTemplate {
    id: RawId,
    title: String,
    text: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    examples: Vec<String>,
    #[serde(default)]
    requires: Vec<String>,
    #[serde(default, alias = "channel")]
    profile: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(flatten)]
    unknown: BTreeMap<String, IgnoredAny>,
}

/// Knowledge-base exports often number their articles; an id may be a string or an integer.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawId {
    Text(String),
    Number(u64),
}

#[derive(Deserialize)]
struct TomlPack {
    #[serde(default)]
    #[allow(dead_code)]
    pack: Option<IgnoredAny>,
    #[serde(default)]
    template: Vec<toml::Spanned<RawTemplate>>,
}

/// Reads a pack file in the format its extension names.
pub fn read_pack(path: &Path) -> Result<Vec<Template>> {
    let bytes = crate::limits::read_file(path, crate::limits::MAX_INPUT_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|e| {
        let line = e.as_bytes()[..e.utf8_error().valid_up_to()].iter().filter(|&&b| b == b'\n').count() + 1;
        Error::import(path, vec![ImportProblem::new(line, "invalid UTF-8")])
    })?;
    parse_pack(&text, PackFormat::of_path(path)).map_err(|problems| Error::import(path, problems))
}

/// The embedded default pack.
pub fn default_pack() -> Vec<Template> {
    parse_pack(DEFAULT_PACK, PackFormat::Toml).expect("the embedded default pack is valid (tested)")
}

/// Parses and validates a whole pack; all problems, with line numbers, if there is any.
pub fn parse_pack(text: &str, format: PackFormat) -> Result<Vec<Template>, Vec<ImportProblem>> {
    let raw: Vec<(usize, RawTemplate)> = match format {
        PackFormat::Toml => {
            let pack: TomlPack = toml::from_str(text).map_err(|e| {
                let line = e.span().map_or(0, |s| line_of(text, s.start));
                vec![ImportProblem::new(line, e.message())]
            })?;
            pack.template.into_iter().map(|t| (line_of(text, t.span().start), t.into_inner())).collect()
        }
        PackFormat::Jsonl => {
            let mut rows = Vec::new();
            let mut problems = Vec::new();
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                match serde_json::from_str::<RawTemplate>(line) {
                    Ok(t) => rows.push((i + 1, t)),
                    Err(e) => problems.push(ImportProblem::new(i + 1, e.to_string())),
                }
            }
            if !problems.is_empty() {
                return Err(problems);
            }
            rows
        }
    };
    let mut problems = Vec::new();
    let mut first_line: HashMap<String, usize> = HashMap::new();
    let mut templates = Vec::with_capacity(raw.len());
    for (line, raw) in raw {
        match validate(raw, format) {
            Ok(t) => {
                if let Some(previous) = first_line.insert(t.id.clone(), line) {
                    problems
                        .push(ImportProblem::new(line, format!("duplicate id {:?} (first on line {previous})", t.id)));
                }
                templates.push(t);
            }
            Err(reason) => problems.push(ImportProblem::new(line, reason)),
        }
    }
    if templates.is_empty() && problems.is_empty() {
        problems.push(ImportProblem::new(0, "no templates in the file"));
    }
    if problems.is_empty() {
        Ok(templates)
    } else {
        Err(problems)
    }
}

/// Checks one template as written and turns it into a [`Template`].
fn validate(raw: RawTemplate, format: PackFormat) -> Result<Template, String> {
    // A typo in a hand-written TOML key would silently drop a field; JSONL exports from other
    // tools legitimately carry extra fields, so only TOML is strict.
    if format == PackFormat::Toml {
        if let Some(key) = raw.unknown.keys().next() {
            return Err(format!("unknown key {key:?}"));
        }
    }
    let id = match raw.id {
        RawId::Text(s) => s.trim().to_string(),
        RawId::Number(n) => n.to_string(),
    };
    let status = match raw.status.as_deref() {
        None => Status::Approved,
        Some(s) => s.parse().map_err(|e| format!("template {id:?}: {e}"))?,
    };
    let template = Template {
        id,
        title: raw.title.trim().to_string(),
        text: raw.text.trim().to_string(),
        category: raw.category.trim().to_string(),
        tags: raw.tags.into_iter().map(|t| t.trim().to_string()).collect(),
        examples: raw.examples.into_iter().map(|t| t.trim().to_string()).collect(),
        requires: raw.requires.into_iter().map(|t| t.trim().to_string()).collect(),
        profile: raw.profile.trim().to_string(),
        status,
        version: raw.version.unwrap_or(1).max(1),
    };
    check(&template)?;
    Ok(template)
}

/// Why a template cannot enter a library, if it cannot: an empty id or one [`valid_id`] refuses,
/// empty or overlong text, bad placeholder syntax, empty examples, unknown preconditions.
pub fn check(t: &Template) -> Result<(), String> {
    if t.id.is_empty() {
        return Err("у шаблона пустой идентификатор".into());
    }
    if !valid_id(&t.id) {
        let shown: String = t.id.chars().take(40).collect();
        return Err(format!(
            "идентификатор {shown:?}: допустимы латинские буквы, цифры и знаки «-», «_», «.» (первый символ — буква или цифра), не более {MAX_ID_CHARS} символов"
        ));
    }
    if t.text.is_empty() {
        return Err(format!("шаблон {:?}: пустой текст", t.id));
    }
    for (what, s) in [("заголовок", &t.title), ("текст", &t.text)] {
        if s.len() > MAX_TEMPLATE_BYTES {
            return Err(format!(
                "шаблон {:?}: {what} занимает {} байт, допустимо не более {MAX_TEMPLATE_BYTES}",
                t.id,
                s.len()
            ));
        }
    }
    placeholder::parse(&t.text).map_err(|e| format!("шаблон {:?}: {e}", t.id))?;
    if let Some(unknown) = t.requires.iter().find(|c| super::conditions::get(c).is_none()) {
        let known: Vec<&str> = super::conditions::all().iter().map(|c| c.id.as_str()).collect();
        return Err(format!("шаблон {:?}: неизвестное условие {unknown:?}, известны: {}", t.id, known.join(", ")));
    }
    for example in &t.examples {
        if example.is_empty() || example.len() > MAX_TEMPLATE_BYTES {
            return Err(format!("шаблон {:?}: пример пустой или длиннее {MAX_TEMPLATE_BYTES} байт", t.id));
        }
    }
    Ok(())
}

fn line_of(text: &str, byte: usize) -> usize {
    text[..byte.min(text.len())].matches('\n').count() + 1
}

/// Writes templates in `format`; the output reads back to the same templates.
pub fn write_pack(templates: &[Template], format: PackFormat) -> Result<String> {
    match format {
        PackFormat::Jsonl => {
            let mut out = String::new();
            for t in templates {
                out.push_str(&serde_json::to_string(t)?);
                out.push('\n');
            }
            Ok(out)
        }
        PackFormat::Toml => {
            #[derive(Serialize)]
            struct Out<'a> {
                template: &'a [Template],
            }
            toml::to_string(&Out { template: templates }).map_err(|e| Error::InvalidInput(format!("toml: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_pack_parses_with_every_template_approved() {
        let pack = default_pack();
        assert!(pack.len() >= 80, "{} templates", pack.len());
        assert!(pack.iter().all(|t| t.status == Status::Approved && !t.examples.is_empty()));
    }

    #[test]
    fn jsonl_needs_only_id_title_text_and_accepts_numeric_ids() {
        let pack = parse_pack(
            "{\"id\": 17, \"title\": \"Часы работы\", \"text\": \"Мы работаем с 9:00 до 21:00.\", \"url\": \"x\"}\n\n",
            PackFormat::Jsonl,
        )
        .unwrap();
        assert_eq!(pack[0].id, "17");
        assert_eq!(pack[0].status, Status::Approved);
        assert_eq!(pack[0].version, 1);
    }

    #[test]
    fn every_problem_is_reported_with_its_line() {
        let text = [
            r#"{"id":"a","title":"A","text":"Текст."}"#,
            r#"{"id":"b","title":"B""#,
            r#"{"id":"a","title":"A2","text":"Другой."}"#,
            r#"{"id":"c","title":"C","text":"Здравствуйте, {Имя}"}"#,
            r#"{"id":"d","title":"D","text":"   "}"#,
            r#"{"id":"e","title":"E","text":"Ок.","status":"published"}"#,
        ]
        .join("\n");
        let problems = parse_pack(&text, PackFormat::Jsonl).unwrap_err();
        // A line that is not JSON stops validation: the rest cannot be trusted to line up.
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line, 2);
        let fixed = text.replace(r#"{"id":"b","title":"B""#, r#"{"id":"b","title":"B","text":"Б."}"#);
        let problems = parse_pack(&fixed, PackFormat::Jsonl).unwrap_err();
        let lines: Vec<usize> = problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [3, 4, 5, 6], "{problems:?}");
        assert!(problems[0].reason.contains("duplicate id \"a\" (first on line 1)"));
        assert!(problems[1].reason.contains("{Имя}"));
    }

    #[test]
    fn preconditions_are_read_and_an_unknown_one_is_refused() {
        let ok =
            r#"{"id":"a","title":"A","text":"Так как заказ отменён, деньги вернутся.","requires":["order-cancelled"]}"#;
        assert_eq!(parse_pack(ok, PackFormat::Jsonl).unwrap()[0].requires, ["order-cancelled"]);
        let bad = ok.replace("order-cancelled", "order-canceled");
        let problems = parse_pack(&bad, PackFormat::Jsonl).unwrap_err();
        assert!(problems[0].reason.contains("неизвестное условие \"order-canceled\""), "{problems:?}");
        assert!(problems[0].reason.contains("order-cancelled"), "the known ones are listed: {problems:?}");
        // The default pack states facts only under their conditions.
        let pack = default_pack();
        let requires = |id: &str| pack.iter().find(|t| t.id == id).unwrap().requires.clone();
        assert_eq!(requires("order-cancel-refund"), ["order-cancelled"]);
        assert_eq!(requires("rude-warning"), ["client-rude"]);
    }

    #[test]
    fn toml_reports_typos_in_keys_at_the_template_line() {
        let text =
            "[pack]\nname = \"x\"\n\n[[template]]\nid = \"a\"\ntitle = \"A\"\ntext = \"Т.\"\nexmaples = [\"x\"]\n";
        let problems = parse_pack(text, PackFormat::Toml).unwrap_err();
        assert_eq!((problems[0].line, problems[0].reason.as_str()), (4, "unknown key \"exmaples\""));
        let problems = parse_pack("[[template]]\nid = \"a\"\ntitle = \n", PackFormat::Toml).unwrap_err();
        assert_eq!(problems[0].line, 3);
    }

    #[test]
    fn empty_files_are_an_error_not_an_empty_library() {
        assert_eq!(parse_pack("", PackFormat::Jsonl).unwrap_err()[0].reason, "no templates in the file");
        assert_eq!(parse_pack("[pack]\nname = \"x\"\n", PackFormat::Toml).unwrap_err().len(), 1);
    }

    #[test]
    fn export_reads_back_to_the_same_templates() {
        let pack = default_pack();
        for format in [PackFormat::Jsonl, PackFormat::Toml] {
            let text = write_pack(&pack, format).unwrap();
            assert_eq!(parse_pack(&text, format).unwrap(), pack, "{format:?}");
        }
    }
}
