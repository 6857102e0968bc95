//! Approved reply templates: the pack format ([`pack`]), placeholder syntax ([`placeholder`]),
//! filling them for one dialogue ([`fill`]), the preconditions a template may declare
//! ([`conditions`]) and the SQLite library they live in ([`store`]).
//!
//! Only [`Status::Approved`] templates are ever suggested; drafts wait for review and retired
//! ones stay in the history.

pub mod conditions;
pub mod fill;
pub mod pack;
pub mod placeholder;
pub mod store;

use serde::{Deserialize, Serialize};

pub use pack::{read_pack, PackFormat};
pub use store::Store;

/// Longest template text accepted, in bytes (the encoder's limit).
pub const MAX_TEMPLATE_BYTES: usize = crate::encoder::MAX_TEXT_BYTES;

/// Where a template is in its review cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Written, not yet approved: never suggested.
    Draft,
    /// Approved by the company: may be suggested and sent.
    #[default]
    Approved,
    /// Withdrawn: kept for history, never suggested.
    Retired,
}

impl Status {
    /// The name used in files, the database and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Draft => "draft",
            Status::Approved => "approved",
            Status::Retired => "retired",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "draft" => Ok(Status::Draft),
            "approved" => Ok(Status::Approved),
            "retired" => Ok(Status::Retired),
            other => Err(format!("unknown status {other:?}: use draft, approved or retired")),
        }
    }
}

/// One reply template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Template {
    /// Stable id (eval sets and the feedback log refer to it).
    pub id: String,
    /// Short title shown to the operator.
    pub title: String,
    /// The reply, with placeholders.
    pub text: String,
    /// Topic group (`orders`, `delivery`, …); may be empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub category: String,
    /// Keywords.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Client messages this template answers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Preconditions ([`conditions`]) the dialogue must show for the template's facts to hold.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<String>,
    /// The profile or channel the template is written for (`chat`, `email`, …); empty: any.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// Review state.
    #[serde(default)]
    pub status: Status,
    /// Revision of the text, bumped on every change.
    #[serde(default = "first_version")]
    pub version: u32,
}

fn first_version() -> u32 {
    1
}

impl Template {
    /// What the encoder sees as the template's passage: title and text.
    pub fn passage(&self) -> String {
        self.titled(&self.text)
    }

    /// `text` (the text or a part of it) with the title in front, as the passage puts it.
    pub fn titled(&self, text: &str) -> String {
        if self.title.trim().is_empty() {
            text.to_string()
        } else {
            format!("{}. {text}", self.title.trim_end_matches('.'))
        }
    }

    /// Whether two records say the same thing (the version and status aside).
    pub fn same_content(&self, other: &Template) -> bool {
        self.title == other.title
            && self.text == other.text
            && self.category == other.category
            && self.tags == other.tags
            && self.examples == other.examples
            && self.requires == other.requires
            && self.profile == other.profile
    }
}
