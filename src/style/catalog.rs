//! Rule definitions: one TOML file per rule in `prompts/style/rules/` with its id, severity, fix
//! kind, Russian message, explanation, seed reference, small data lists and its own good and bad
//! examples (the test suite runs every example, as LanguageTool runs its `<example>` elements).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::context::Context;
use crate::error::{Error, Result};

/// How serious a departure from the house style is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Advice.
    Hint,
    /// Should be fixed.
    Warning,
    /// Must not be sent.
    Error,
}

impl Severity {
    /// The lower-case name used in JSON and data files.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Hint => "hint",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// What the engine may do about an issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FixKind {
    /// `rewrite` applies the first replacement.
    Auto,
    /// Replacements are offered; the operator picks.
    Suggest,
    /// Explained only; the text is never changed.
    Flag,
}

/// A capability a rule needs beyond the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Need {
    /// The sentence encoder (D2 answer-all).
    Encoder,
    /// The hunspell-ru dictionary (C3 spelling).
    Speller,
}

/// One example of a rule: a text with `⟦…⟧` markers around the spans the rule must report.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The text, with markers in bad examples.
    pub text: String,
    /// For auto rules: the text after this rule's fixes alone.
    #[serde(default)]
    pub fixed: Option<String>,
    /// Expected first replacements of the first marked span.
    #[serde(default)]
    pub replacements: Option<Vec<String>>,
    /// The dialogue around the draft.
    #[serde(default)]
    pub context: Context,
}

/// Marker opening a span in an example.
pub const MARK_OPEN: char = '⟦';
/// Marker closing a span in an example.
pub const MARK_CLOSE: char = '⟧';

impl Example {
    /// The text without markers and the marked spans as character offsets into it.
    pub fn unmarked(&self) -> (String, Vec<(usize, usize)>) {
        let mut text = String::with_capacity(self.text.len());
        let mut spans = Vec::new();
        let mut open = None;
        let mut chars = 0;
        for c in self.text.chars() {
            match c {
                MARK_OPEN => open = Some(chars),
                MARK_CLOSE => spans.extend(open.take().map(|s| (s, chars))),
                _ => {
                    text.push(c);
                    chars += 1;
                }
            }
        }
        (text, spans)
    }
}

/// One rule as defined in its data file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    /// Stable id («polite-you»).
    pub id: String,
    /// Catalog code («A1»).
    pub code: String,
    /// Short Russian title.
    pub title: String,
    /// Default severity (profiles may change it).
    pub severity: Severity,
    /// Fix kind.
    pub fix: FixKind,
    /// Operator-facing message; `{found}` and `{suggestion}` are filled in.
    pub message: String,
    /// One-line reason reported with each automatic edit.
    #[serde(default)]
    pub reason: String,
    /// Why the rule exists.
    pub explanation: String,
    /// Source article reference.
    pub seed: String,
    /// Capabilities the rule needs.
    #[serde(default)]
    pub needs: Vec<Need>,
    /// Edits of this rule are withheld when the meaning guard trips.
    #[serde(default)]
    pub risky: bool,
    /// Its edits may cover protected tokens (the client's name, facts) because they re-emit
    /// them verbatim: a vocative comma, a numbered list. The fact count still guards them.
    #[serde(default)]
    pub spans_protected: bool,
    /// Rule-specific small lists.
    #[serde(default)]
    pub data: toml::Table,
    /// Texts the rule must report, with markers.
    #[serde(default)]
    pub bad: Vec<Example>,
    /// Texts the rule must leave alone.
    #[serde(default)]
    pub good: Vec<Example>,
}

impl RuleDef {
    /// A string list from the rule's `[data]` table (empty when absent).
    pub fn list(&self, key: &str) -> Vec<String> {
        self.data
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    }

    /// A string from the rule's `[data]` table.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(|v| v.as_str())
    }

    /// The message with `{found}`, `{suggestion}` and extra `{name}` placeholders filled in.
    pub fn render(&self, found: &str, suggestion: Option<&str>, extra: &[(&str, String)]) -> String {
        self.render_from(&self.message, found, suggestion, extra)
    }

    /// [`RuleDef::render`] with another message of the rule: the `[data]` string `key` (a rule
    /// with more than one kind of finding), or the main message when the key is missing.
    pub fn render_keyed(&self, key: &str, found: &str, suggestion: Option<&str>, extra: &[(&str, String)]) -> String {
        self.render_from(self.text(key).unwrap_or(&self.message), found, suggestion, extra)
    }

    fn render_from(&self, template: &str, found: &str, suggestion: Option<&str>, extra: &[(&str, String)]) -> String {
        let mut message = template.replace("{found}", found).replace("{suggestion}", suggestion.unwrap_or(""));
        for (key, value) in extra {
            message = message.replace(&format!("{{{key}}}"), value);
        }
        message
    }
}

macro_rules! rule_files {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_str!(concat!("../../prompts/style/rules/", $name)))),*]
    };
}

/// The rule files compiled into the binary, in catalog order.
const RULE_FILES: [(&str, &str); 36] = rule_files!(
    "A1-polite-you.toml",
    "A2-capital-you.toml",
    "A3-softener.toml",
    "A4-greeting.toml",
    "A5-introduce-self.toml",
    "A6-thanks.toml",
    "A7-no-blame.toml",
    "A8-no-directive.toml",
    "A9-rude-client.toml",
    "A10-no-rudeness.toml",
    "A11-regret.toml",
    "B1-use-name.toml",
    "B2-name-form.toml",
    "B3-name-spelling.toml",
    "B4-vocative-comma.toml",
    "B5-ask-name.toml",
    "C1-capital-start.toml",
    "C2-end-punct.toml",
    "C3-spelling.toml",
    "C4-slang.toml",
    "C5-cutesy.toml",
    "C6-jargon.toml",
    "C7-shouting.toml",
    "C8-exclamations.toml",
    "C9-emoji.toml",
    "C10-typos.toml",
    "D1-no-i-dont-know.toml",
    "D2-answer-all.toml",
    "D3-numbered.toml",
    "D4-too-short.toml",
    "D5-next-step.toml",
    "D6-no-redirect.toml",
    "D7-greeting-only.toml",
    "D8-paragraphs.toml",
    "E1-pii.toml",
    "E2-night.toml",
);

/// All rule definitions, by id.
#[derive(Debug, Clone)]
pub struct Catalog {
    rules: Vec<RuleDef>,
    by_id: HashMap<String, usize>,
}

impl Catalog {
    /// The catalog compiled into the binary.
    pub fn embedded() -> Result<Catalog> {
        let mut rules = Vec::with_capacity(RULE_FILES.len());
        for (name, text) in RULE_FILES {
            let def: RuleDef =
                toml::from_str(text).map_err(|e| Error::toml(format!("prompts/style/rules/{name}"), text, &e))?;
            rules.push(def);
        }
        let by_id = rules.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        Ok(Catalog { rules, by_id })
    }

    /// The rule with `id`.
    pub fn get(&self, id: &str) -> Option<&RuleDef> {
        self.by_id.get(id).map(|&i| &self.rules[i])
    }

    /// All rules in catalog order.
    pub fn iter(&self) -> impl Iterator<Item = &RuleDef> {
        self.rules.iter()
    }
}
