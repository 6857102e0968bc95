//! Placeholder syntax of template texts: `{name}`, `{order}`, `{name:dat}`, custom `{days}`.
//!
//! A placeholder is `{ident}` or `{ident:case}` with `ident` in lower snake case (Latin) and
//! `case` one of the six Russian cases. Any other use of braces is an error at import time, so
//! a typo such as `{Имя}` or `{name:datv}` never reaches a client as raw text.

use std::fmt;
use std::ops::Range;

/// A grammatical case a placeholder may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// именительный.
    Nom,
    /// родительный.
    Gen,
    /// дательный.
    Dat,
    /// винительный.
    Acc,
    /// творительный.
    Ins,
    /// предложный.
    Loc,
}

impl Case {
    /// All cases with their suffixes, in the order of the grammar books.
    pub const ALL: [(Case, &'static str); 6] = [
        (Case::Nom, "nom"),
        (Case::Gen, "gen"),
        (Case::Dat, "dat"),
        (Case::Acc, "acc"),
        (Case::Ins, "ins"),
        (Case::Loc, "loc"),
    ];

    /// The suffix used in template texts.
    pub fn suffix(self) -> &'static str {
        Case::ALL.iter().find(|(c, _)| *c == self).map(|(_, s)| *s).unwrap_or("nom")
    }

    /// The OpenCorpora grammeme the morphology uses for this case.
    pub fn grammeme(self) -> &'static str {
        match self {
            Case::Nom => "nomn",
            Case::Gen => "gent",
            Case::Dat => "datv",
            Case::Acc => "accs",
            Case::Ins => "ablt",
            Case::Loc => "loct",
        }
    }

    fn parse(suffix: &str) -> Option<Case> {
        Case::ALL.iter().find(|(_, s)| *s == suffix).map(|(c, _)| *c)
    }
}

/// Placeholders whose value is a person's name and may therefore be declined.
pub const PERSON_PLACEHOLDERS: [&str; 2] = ["name", "operator"];

/// One placeholder occurrence in a template text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// The identifier (`name`, `order`, `days`, …).
    pub key: String,
    /// The case asked for, if any.
    pub case: Option<Case>,
    /// Byte range of the whole `{…}` in the text.
    pub span: Range<usize>,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.case {
            Some(case) => write!(f, "{{{}:{}}}", self.key, case.suffix()),
            None => write!(f, "{{{}}}", self.key),
        }
    }
}

/// Why a template text's braces are not a valid placeholder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// `{` without a closing `}` (or a `}` without an opening one).
    #[error("непарная фигурная скобка (байт {0})")]
    Unbalanced(usize),
    /// Braces around something that is not a lower snake-case identifier.
    #[error("неизвестное поле {0}: используйте строчные латинские буквы и «_», например {{name}} или {{order}}")]
    BadName(String),
    /// A case suffix that is not one of nom, gen, dat, acc, ins, loc.
    #[error("неизвестный падеж в поле {0}: укажите один из nom, gen, dat, acc, ins, loc")]
    BadCase(String),
    /// A case asked of a placeholder that is not a person's name.
    #[error("поле {0} не склоняется: падеж можно указать только у {{name}} и {{operator}}")]
    CaseNotDeclinable(String),
}

/// Every placeholder of `text`, in order, or the first syntax error.
pub fn parse(text: &str) -> Result<Vec<Placeholder>, PlaceholderError> {
    let mut found = Vec::new();
    let mut rest = 0;
    while let Some(off) = text[rest..].find(['{', '}']) {
        let start = rest + off;
        if text.as_bytes()[start] == b'}' {
            return Err(PlaceholderError::Unbalanced(start));
        }
        let Some(len) = text[start + 1..].find(['{', '}']).filter(|&l| text.as_bytes()[start + 1 + l] == b'}') else {
            return Err(PlaceholderError::Unbalanced(start));
        };
        let end = start + 1 + len + 1;
        let inner = &text[start + 1..end - 1];
        let (key, case) = match inner.split_once(':') {
            Some((key, suffix)) => (key, Some(suffix)),
            None => (inner, None),
        };
        let is_ident = key.starts_with(|c: char| c.is_ascii_lowercase())
            && key.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !is_ident {
            return Err(PlaceholderError::BadName(text[start..end].to_string()));
        }
        let case = match case {
            None => None,
            Some(suffix) => {
                let case =
                    Case::parse(suffix).ok_or_else(|| PlaceholderError::BadCase(text[start..end].to_string()))?;
                if !PERSON_PLACEHOLDERS.contains(&key) {
                    return Err(PlaceholderError::CaseNotDeclinable(text[start..end].to_string()));
                }
                Some(case)
            }
        };
        found.push(Placeholder { key: key.to_string(), case, span: start..end });
        rest = end;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plain_custom_and_cased_placeholders() {
        let found = parse("{name}, заказ № {order} придёт {date_new}; {operator:ins}").unwrap();
        let shown: Vec<String> = found.iter().map(|p| p.to_string()).collect();
        assert_eq!(shown, ["{name}", "{order}", "{date_new}", "{operator:ins}"]);
        assert_eq!(found[0].span, 0..6);
        assert_eq!(found[3].case, Some(Case::Ins));
    }

    #[test]
    fn rejects_what_would_reach_a_client_as_raw_braces() {
        assert_eq!(parse("Здравствуйте, {Имя}"), Err(PlaceholderError::BadName("{Имя}".into())));
        assert_eq!(parse("{ name }"), Err(PlaceholderError::BadName("{ name }".into())));
        assert_eq!(parse("{}"), Err(PlaceholderError::BadName("{}".into())));
        assert_eq!(parse("{name:datv}"), Err(PlaceholderError::BadCase("{name:datv}".into())));
        assert_eq!(parse("{order:dat}"), Err(PlaceholderError::CaseNotDeclinable("{order:dat}".into())));
        assert_eq!(parse("заказ {order"), Err(PlaceholderError::Unbalanced(11)));
        assert_eq!(parse("заказ order}"), Err(PlaceholderError::Unbalanced(16)));
        assert_eq!(parse("{{order}}"), Err(PlaceholderError::Unbalanced(0)));
    }

    #[test]
    fn text_without_braces_has_no_placeholders() {
        assert_eq!(parse("Спасибо за обращение! 🙂").unwrap(), vec![]);
    }
}
