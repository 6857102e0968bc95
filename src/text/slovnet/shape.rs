//! Word shapes: the second input of every slovnet model besides the word vector. A shape is the
//! script of the word's first characters (Russian, Latin, a number, punctuation or other) and,
//! for words, the pattern of capitals: «Анна» is `RU_Xx`, «ОК» `RU_XX`, «Санкт-Петербург»
//! `RU_Xx-Xx`, «№» `PUNCT_№`, «?!» `PUNCT_OTHER`, «12» `NUM`, «🙂» `OTHER`.
//!
//! The rules follow slovnet 0.6 exactly, including Python's notion of upper and lower case
//! (`str.isupper`: every cased character upper case and at least one of them) and the
//! characters its case-insensitive regular expression accepts beyond `[а-яё]` and `[a-z]`.

use std::fmt;
use std::sync::OnceLock;

/// Punctuation with a shape of its own (slovnet's `PUNCTS`: ASCII punctuation, dashes, quotes,
/// «№» and «…»); any other run of these characters is `PUNCT_OTHER`.
pub(crate) const PUNCTS: &str = "!#$%&()[]\\/*+,.:;<=>?@^_{|}~-‐−‒⁃–—―`\"'«»„“ʼʻ”№…";

/// The capitalisation pattern of a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Outline {
    /// One upper-case character.
    Upper1,
    /// One character, not upper case.
    Lower1,
    /// All upper case: «ОК».
    Upper,
    /// All lower case: «ок».
    Lower,
    /// Title case: «Анна».
    Title,
    /// Two title-case halves around the first hyphen: «Санкт-Петербург».
    DashTitle,
    /// Anything else: «iPhone».
    Other,
}

impl Outline {
    const ALL: [Outline; 7] = [
        Outline::Upper1,
        Outline::Lower1,
        Outline::Upper,
        Outline::Lower,
        Outline::Title,
        Outline::DashTitle,
        Outline::Other,
    ];

    fn name(self) -> &'static str {
        match self {
            Outline::Upper1 => "X",
            Outline::Lower1 => "x",
            Outline::Upper => "XX",
            Outline::Lower => "xx",
            Outline::Title => "Xx",
            Outline::DashTitle => "Xx-Xx",
            Outline::Other => "OTHER",
        }
    }

    fn of(word: &str) -> Outline {
        let mut chars = word.chars();
        if let (Some(first), None) = (chars.next(), chars.clone().next()) {
            return if is_upper(first) { Outline::Upper1 } else { Outline::Lower1 };
        }
        if str_is_upper(word) {
            Outline::Upper
        } else if str_is_lower(word) {
            Outline::Lower
        } else if is_title(word) {
            Outline::Title
        } else if word.split_once('-').is_some_and(|(left, right)| is_title(left) && is_title(right)) {
            Outline::DashTitle
        } else {
            Outline::Other
        }
    }
}

/// The shape of a word: one of the 65 classes of the models' shape vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Shape {
    /// Starts with a Russian letter.
    Ru(Outline),
    /// Starts with a Latin letter.
    En(Outline),
    /// Starts with a decimal digit, or with `+`/`-` and a digit.
    Num,
    /// A single punctuation character of [`PUNCTS`], or `None` for any longer run.
    Punct(Option<char>),
    /// Anything else (emoji, other scripts, symbols).
    Other,
}

impl Shape {
    /// Every shape, in slovnet's order.
    pub(crate) fn all() -> Vec<Shape> {
        let mut all: Vec<Shape> = Outline::ALL.iter().map(|&o| Shape::Ru(o)).collect();
        all.extend(Outline::ALL.iter().map(|&o| Shape::En(o)));
        all.extend(PUNCTS.chars().map(|c| Shape::Punct(Some(c))));
        all.extend([Shape::Punct(None), Shape::Num, Shape::Other]);
        all
    }

    /// The shape of `word`.
    pub(crate) fn of(word: &str) -> Shape {
        let mut chars = word.chars();
        let Some(first) = chars.next() else { return Shape::Other };
        if is_ru_letter(first) {
            Shape::Ru(Outline::of(word))
        } else if is_en_letter(first) {
            Shape::En(Outline::of(word))
        } else if is_digit(first) || (matches!(first, '+' | '-') && chars.next().is_some_and(is_digit)) {
            Shape::Num
        } else if PUNCTS.contains(first) {
            // A lone character of PUNCTS keeps its own class; longer runs («?!», «...») do not.
            Shape::Punct(if chars.next().is_none() { Some(first) } else { None })
        } else {
            Shape::Other
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Shape::Ru(o) => write!(f, "RU_{}", o.name()),
            Shape::En(o) => write!(f, "EN_{}", o.name()),
            Shape::Num => f.write_str("NUM"),
            Shape::Punct(Some(c)) => write!(f, "PUNCT_{c}"),
            Shape::Punct(None) => f.write_str("PUNCT_OTHER"),
            Shape::Other => f.write_str("OTHER"),
        }
    }
}

/// `[а-яё]` under Python's `re.IGNORECASE`: both cases, plus the old Cyrillic letter variants
/// U+1C80–U+1C86 whose upper case is in the range.
fn is_ru_letter(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | '\u{1C80}'..='\u{1C86}')
}

/// `[a-z]` under Python's `re.IGNORECASE`: both cases plus «İ», «ı», «ſ» and the Kelvin sign.
fn is_en_letter(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{130}' | '\u{131}' | '\u{17F}' | '\u{212A}')
}

/// Python's `\d`: a Unicode decimal digit (category Nd).
fn is_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    static ND: OnceLock<regex::Regex> = OnceLock::new();
    // A constant, valid pattern: building it cannot fail.
    let nd = ND.get_or_init(|| regex::Regex::new(r"^\p{Nd}$").expect("valid pattern"));
    let mut buf = [0u8; 4];
    nd.is_match(c.encode_utf8(&mut buf))
}

/// Title-case letters (category Lt): neither upper nor lower case for Python.
fn is_titlecase(c: char) -> bool {
    matches!(c, '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}' | '\u{1F88}'..='\u{1F8F}' | '\u{1F98}'..='\u{1F9F}'
        | '\u{1FA8}'..='\u{1FAF}' | '\u{1FBC}' | '\u{1FCC}' | '\u{1FFC}')
}

/// Python's `isupper` of a one-character string.
fn is_upper(c: char) -> bool {
    c.is_uppercase() && !c.is_lowercase() && !is_titlecase(c)
}

/// Python's `str.isupper`.
fn str_is_upper(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_uppercase();
    }
    cased
}

/// Python's `str.islower`.
fn str_is_lower(s: &str) -> bool {
    let mut cased = false;
    for c in s.chars() {
        if c.is_uppercase() || is_titlecase(c) {
            return false;
        }
        cased |= c.is_lowercase();
    }
    cased
}

/// slovnet's `is_title`: two or more characters, the first upper case, the rest lower case.
fn is_title(word: &str) -> bool {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => is_upper(first) && str_is_lower(chars.as_str()),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(word: &str) -> String {
        Shape::of(word).to_string()
    }

    #[test]
    fn shapes_of_words() {
        let cases = [
            ("Анна", "RU_Xx"),
            ("анна", "RU_xx"),
            ("ОК", "RU_XX"),
            ("Я", "RU_X"),
            ("я", "RU_x"),
            ("Санкт-Петербург", "RU_Xx-Xx"),
            ("ЁЖиК", "RU_OTHER"),
            ("СИЗО-6", "RU_XX"),
            ("Ёлка", "RU_Xx"),
            ("iPhone", "EN_OTHER"),
            ("Wi-Fi", "EN_Xx-Xx"),
            ("ok", "EN_xx"),
            ("OK", "EN_XX"),
            ("Hello123", "EN_Xx"),
            ("x", "EN_x"),
            ("K", "EN_X"),
            ("\u{212A}", "EN_X"),
            ("2011-2020", "NUM"),
            ("+7", "NUM"),
            ("-5", "NUM"),
            ("٣", "NUM"),
            ("²", "OTHER"),
            ("-", "PUNCT_-"),
            ("+", "PUNCT_+"),
            ("№", "PUNCT_№"),
            ("…", "PUNCT_…"),
            ("?!", "PUNCT_OTHER"),
            ("...", "PUNCT_OTHER"),
            ("№12345", "PUNCT_OTHER"),
            ("🙂", "OTHER"),
            ("", "OTHER"),
            ("日本", "OTHER"),
        ];
        for (word, expected) in cases {
            assert_eq!(shape(word), expected, "{word:?}");
        }
    }

    #[test]
    fn the_shape_vocabulary_has_65_distinct_classes() {
        let all = Shape::all();
        assert_eq!(all.len(), 65);
        let names: std::collections::HashSet<String> = all.iter().map(Shape::to_string).collect();
        assert_eq!(names.len(), 65);
        assert_eq!(all[0].to_string(), "RU_X");
        assert_eq!(all[64].to_string(), "OTHER");
    }

    #[test]
    fn python_case_predicates() {
        assert!(str_is_upper("ABC1"));
        assert!(!str_is_upper("123"));
        assert!(str_is_lower("abc-1"));
        assert!(!str_is_lower("ǅa"));
        assert!(is_title("Xy1"));
        assert!(!is_title("X"));
        assert!(!is_title("XY"));
    }
}
