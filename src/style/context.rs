//! What the engine knows about the dialogue around a draft, and the company profile.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use super::catalog::Severity;
use crate::error::{Error, Result};

/// The dialogue around the draft, as sent with a check or rewrite request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The client's name exactly as they gave it («Евгений Александрович»).
    #[serde(default)]
    pub client_name: Option<String>,
    /// The client's recent messages, latest last.
    #[serde(default)]
    pub client_messages: Vec<String>,
    /// The operator's name.
    #[serde(default)]
    pub operator_name: Option<String>,
    /// Whether this is the operator's first message in the dialogue; `None` when the caller does
    /// not know (then no greeting or introduction is demanded or inserted).
    #[serde(default)]
    pub first_message: Option<bool>,
    /// How many times the operator already used the client's name in this dialogue.
    #[serde(default)]
    pub name_uses: u32,
    /// The client's local time.
    #[serde(default)]
    pub client_time: Option<ClockTime>,
    /// Profile name (`chat` when absent).
    #[serde(default)]
    pub profile: Option<String>,
}

impl Context {
    /// The client's latest message, if any.
    pub fn latest_client_message(&self) -> Option<&str> {
        self.client_messages.last().map(String::as_str).filter(|m| !m.trim().is_empty())
    }

    /// Known to be the operator's first message in the dialogue.
    pub fn is_first(&self) -> bool {
        self.first_message == Some(true)
    }

    /// Known to be a later message of the dialogue.
    pub fn is_later(&self) -> bool {
        self.first_message == Some(false)
    }

    /// The client's name, trimmed, when it can address a person: one to four words of letters
    /// (with «-», «'», «.» for initials), at most 64 characters. A CRM field or messenger handle
    /// that holds anything else («user_4821», a pasted message) is no name to greet the client by,
    /// and inserting it would make the rewrite grow with it.
    pub fn client_name(&self) -> Option<&str> {
        let name = self.client_name.as_deref().map(str::trim).filter(|n| !n.is_empty())?;
        let words = name.split_whitespace().count();
        let letters =
            name.chars().all(|c| c.is_alphabetic() || c.is_whitespace() || matches!(c, '-' | '\'' | '’' | '.'));
        (words <= 4 && name.chars().count() <= 64 && letters).then_some(name)
    }

    /// The operator's name, trimmed, when it is not empty.
    pub fn operator_name(&self) -> Option<&str> {
        self.operator_name.as_deref().map(str::trim).filter(|n| !n.is_empty())
    }
}

/// A wall-clock time of day («23:40»).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClockTime {
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
}

impl FromStr for ClockTime {
    type Err = Error;

    /// Accepts «HH:MM» and RFC 3339 timestamps («2026-11-23T23:40:00+03:00»: the local part).
    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim();
        let clock = s.split_once('T').map_or(s, |(_, t)| t);
        let mut parts = clock.splitn(3, ':');
        let parse = |p: Option<&str>, max: u8| {
            p.map(|p| p.get(..2.min(p.len())).unwrap_or(p)).and_then(|p| p.parse::<u8>().ok()).filter(|&v| v <= max)
        };
        match (parse(parts.next(), 23), parse(parts.next(), 59)) {
            (Some(hour), Some(minute)) => Ok(ClockTime { hour, minute }),
            _ => Err(Error::InvalidInput(format!(
                "время клиента «{s}» не распознано: укажите его в виде ЧЧ:ММ, например 23:40"
            ))),
        }
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.hour, self.minute)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Per-rule switch in a profile.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// Turns the rule on or off.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Changes its severity.
    #[serde(default)]
    pub severity: Option<Severity>,
}

/// A company's channel profile: which rules run, with what severity and settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile name («chat»).
    pub name: String,
    /// One-line Russian description.
    pub description: String,
    /// Capitalise «Вы» (A2). Some brands write «вы».
    #[serde(default = "yes")]
    pub capital_you: bool,
    /// Allow emoji when the client used them first and it is not the first contact (C9).
    #[serde(default)]
    pub emoji_mirroring: bool,
    /// Address clients by name and patronymic when they gave both (B2).
    #[serde(default)]
    pub patronymic: bool,
    /// Longest paragraph in sentences (D8).
    #[serde(default = "three")]
    pub paragraph_sentences: usize,
    /// Meaning guard: below this draft ↔ rewrite similarity, risky edits are withheld.
    #[serde(default = "guard")]
    pub meaning_guard: f32,
    /// How soon a client should get a reply (E3, checked over dialogue logs by `sufler
    /// audit`); absent: the profile sets no deadline.
    #[serde(default)]
    pub response_time: Option<ResponseTime>,
    /// Per-rule overrides by rule id.
    #[serde(default)]
    pub rules: HashMap<String, RuleOverride>,
    /// The company's own word lists, added to the built-in ones for this profile.
    #[serde(default)]
    pub words: ProfileWords,
}

/// A profile's reply deadlines (`[response_time]` in the profile file), in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseTime {
    /// A reply should come within this time.
    pub target_secs: u64,
    /// A reply must never come later than this (`target_secs` when absent).
    #[serde(default)]
    pub max_secs: Option<u64>,
}

impl ResponseTime {
    /// The hard deadline.
    pub fn max_secs(&self) -> u64 {
        self.max_secs.unwrap_or(self.target_secs).max(self.target_secs)
    }
}

/// A profile's additions to the word lists (`[words]` in the profile file).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileWords {
    /// Slang → neutral wording (empty: delete), like `slang.tsv`.
    #[serde(default)]
    pub slang: std::collections::BTreeMap<String, String>,
    /// Cute diminutive → neutral word, like `cutesy.tsv`.
    #[serde(default)]
    pub cutesy: std::collections::BTreeMap<String, String>,
    /// Jargon → replacement (empty: flag only), like `jargon.tsv`.
    #[serde(default)]
    pub jargon: std::collections::BTreeMap<String, String>,
    /// Acronyms that may stay in capitals (the company's product codes).
    #[serde(default)]
    pub acronyms: Vec<String>,
}

fn guard() -> f32 {
    0.85
}

fn yes() -> bool {
    true
}

fn three() -> usize {
    3
}

impl Profile {
    /// Whether rule `id` runs under this profile.
    pub fn enabled(&self, id: &str) -> bool {
        self.rules.get(id).and_then(|o| o.enabled).unwrap_or(true) && (id != "capital-you" || self.capital_you)
    }

    /// The severity of rule `id` under this profile.
    pub fn severity(&self, id: &str, default: Severity) -> Severity {
        self.rules.get(id).and_then(|o| o.severity).unwrap_or(default)
    }
}

/// The profiles compiled into the binary.
const PROFILE_FILES: [(&str, &str); 3] = [
    ("chat", include_str!("../../prompts/style/profiles/chat.toml")),
    ("messenger-b2b", include_str!("../../prompts/style/profiles/messenger-b2b.toml")),
    ("email", include_str!("../../prompts/style/profiles/email.toml")),
];

/// The default profile's name.
pub const DEFAULT_PROFILE: &str = "chat";

/// The embedded profiles, with those in `dir/profiles/*.toml` (if any) added or replacing the
/// built-in ones of the same name.
pub fn profiles_from_dir(dir: &std::path::Path) -> Result<Vec<Profile>> {
    let mut profiles = embedded_profiles()?;
    let Ok(entries) = std::fs::read_dir(dir.join("profiles")) else { return Ok(profiles) };
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        let profile: Profile = toml::from_str(&text).map_err(|e| Error::toml(&path, &text, &e))?;
        profiles.retain(|p| p.name != profile.name);
        profiles.push(profile);
    }
    Ok(profiles)
}

/// Loads the embedded profiles.
pub fn embedded_profiles() -> Result<Vec<Profile>> {
    PROFILE_FILES
        .iter()
        .map(|(name, text)| {
            toml::from_str::<Profile>(text)
                .map_err(|e| Error::toml(format!("prompts/style/profiles/{name}.toml"), text, &e))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_time_parses_plain_and_rfc3339() {
        assert_eq!("23:40".parse::<ClockTime>().unwrap(), ClockTime { hour: 23, minute: 40 });
        assert_eq!("2026-11-23T07:05:00+03:00".parse::<ClockTime>().unwrap(), ClockTime { hour: 7, minute: 5 });
        for bad in ["", "24:00", "ночь", "7", "12:61"] {
            assert!(bad.parse::<ClockTime>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_name_a_person_can_be_addressed_by_is_the_client_name() {
        let with = |name: &str| Context { client_name: Some(name.into()), ..Context::default() };
        for name in ["Анна", " Анна Петровна ", "Анна-Мария д'Арк", "Иванов А. С.", "John O’Neil"]
        {
            assert_eq!(with(name).client_name(), Some(name.trim()), "{name}");
        }
        let long = "Анна ".repeat(20);
        for junk in [
            "",
            "user_4821",
            "Анна (VIP)",
            "здравствуйте, где мой заказ 4821?",
            "Анна Петровна Иванова Сергеевна Ли",
            &long,
        ] {
            assert_eq!(with(junk).client_name(), None, "{junk}");
        }
    }

    #[test]
    fn embedded_profiles_parse_and_chat_is_there() {
        let profiles = embedded_profiles().unwrap();
        assert!(profiles.iter().any(|p| p.name == DEFAULT_PROFILE));
        assert!(profiles.iter().any(|p| p.name == "messenger-b2b" && p.patronymic));
    }
}
