//! Filling a template's placeholders for one dialogue.
//!
//! [`fill`] replaces every `{key}` / `{key:case}` of a template text with its value, declining
//! the client's and the operator's names to the requested case with the morphology
//! ([`crate::text::morph`]). It never fails: a placeholder without a value becomes a visible gap
//! in square brackets («[номер заказа]») that the operator fills before sending, except the
//! client's name in an address («{name}, Ваш заказ…», «Спасибо, {name}!»), which is simply
//! left out together with its punctuation. [`Filled::missing`] lists what was not filled.
//!
//! [`extract`] finds a few values in the dialogue itself — the order number, the client's phone
//! and e-mail, the date and time the operator already named — and is deliberately conservative:
//! a wrong value in a message to a client is worse than a gap.
//!
//! ```
//! use sufler::templates::fill::{extract, fill, Values};
//! let mut values = extract(&[(true, "где мой заказ 4821-1934??? уже неделю жду")]);
//! values.insert("name".into(), "Анна Сергеевна".into());
//! let filled = fill("{name}, Ваш заказ № {order} привезут {date}. Передаю {name:dat} привет.", &values);
//! assert_eq!(filled.text, "Анна Сергеевна, Ваш заказ № 4821-1934 привезут [дата]. Передаю Анне Сергеевне привет.");
//! assert_eq!(filled.missing, ["date"]);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::placeholder::{self, Case, Placeholder, PERSON_PLACEHOLDERS};
use crate::text::morph::{Analysis, Morph};
use crate::text::segment::{Doc, TokenKind};
use crate::text::words::is_cyrillic_word;

/// Values for placeholders, keyed by placeholder key ("name", "order", "days", …).
pub type Values = BTreeMap<String, String>;

/// A template text with its placeholders filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Filled {
    /// The text to show the operator; never contains a raw `{key}` placeholder (values are
    /// inserted verbatim, so braces inside a value do appear).
    pub text: String,
    /// Keys (without braces and case) left unfilled, in text order, without duplicates.
    pub missing: Vec<String>,
}

/// Gap labels: `key<TAB>label` lines, `#` comments.
const LABELS_TSV: &str = include_str!("../../prompts/templates/placeholders.tsv");

/// A name value longer than this (bytes or words) is not a person's name: it is inserted as
/// given instead of being declined word by word.
const MAX_NAME_BYTES: usize = 200;
const MAX_NAME_WORDS: usize = 6;

/// Fewest digits an order number found in the dialogue may have: shorter numbers in a chat are
/// far more often quantities, days or prices than order ids.
const MIN_ORDER_DIGITS: usize = 4;

/// Fills `template_text`. `values` come from the request (client name, operator name, custom
/// values) merged with what `extract` found; request values win (the caller merges).
///
/// Values are trimmed and otherwise inserted verbatim, never re-expanded. `{name:case}` and
/// `{operator:case}` decline each word of the name the morphology knows as a first name,
/// patronymic or surname; other words stay as given. A missing or blank value gives a gap
/// marker such as «[номер заказа]», or, for the client's name used as an address, nothing.
pub fn fill(template_text: &str, values: &Values) -> Filled {
    let mut out = String::with_capacity(template_text.len() + 64);
    let mut missing: Vec<String> = Vec::new();
    let mut capitalise = false;
    let mut pos = 0;
    for p in find_placeholders(template_text) {
        if p.span.start < pos || p.span.end > template_text.len() {
            continue;
        }
        push(&mut out, &template_text[pos..p.span.start], &mut capitalise);
        pos = p.span.end;
        match values.get(&p.key).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(value) => {
                let declined = match p.case {
                    Some(case) if case != Case::Nom && PERSON_PLACEHOLDERS.contains(&p.key.as_str()) => {
                        decline_name(value, case)
                    }
                    _ => None,
                };
                push(&mut out, declined.as_deref().unwrap_or(value), &mut capitalise);
            }
            None => {
                if !missing.contains(&p.key) {
                    missing.push(p.key.clone());
                }
                if p.key == "name" && matches!(p.case, None | Some(Case::Nom)) {
                    if let Some(skip) = drop_address(&mut out, &template_text[pos..], &mut capitalise) {
                        pos += skip;
                        continue;
                    }
                }
                push(&mut out, &format!("[{}]", label(&p.key)), &mut capitalise);
            }
        }
    }
    push(&mut out, &template_text[pos..], &mut capitalise);
    Filled { text: out, missing }
}

/// Values found in the dialogue: turns as (is_client, text), oldest first.
///
/// Finds only `order` (the most recent order number a client wrote: after «заказ» or marked
/// with «№»/«#», never a phone, amount, date or time), `phone` and `email` (most recent in the
/// client's turns), and `date` and `time` (most recent in the operator's turns). Names come from
/// the request, never from here.
pub fn extract(turns: &[(bool, &str)]) -> Values {
    let mut order = None;
    let mut phone = None;
    let mut email = None;
    let mut date = None;
    let mut time = None;
    for (k, &(is_client, text)) in turns.iter().enumerate().rev() {
        let done = order.is_some() && phone.is_some() && email.is_some() && date.is_some() && time.is_some();
        if done {
            break;
        }
        let doc = Doc::new(text, &[], &[]);
        let last_of =
            |kind: TokenKind| doc.tokens.iter().rev().find(|t| t.kind == kind).map(|t| doc.slice(t).trim().to_string());
        if is_client {
            if order.is_none() {
                // «4821-1934, там куртка» answering «Подскажите номер заказа»: the number
                // that opens the reply is the order even without the word «заказ».
                let asked = k > 0 && !turns[k - 1].0 && asks_for_order(turns[k - 1].1);
                order = (0..doc.tokens.len()).rev().find_map(|i| order_at(&doc, i, asked));
            }
            if phone.is_none() {
                phone = last_of(TokenKind::Phone);
            }
            if email.is_none() {
                email = last_email(text);
            }
        } else {
            // Dates and times only from the operator's own turns: a date the client mentions is
            // usually the old, broken promise («обещали 5 марта»), and putting it into a
            // template's new date would repeat the broken promise to the client.
            if date.is_none() {
                date = last_of(TokenKind::Date);
            }
            if time.is_none() {
                time = last_of(TokenKind::Time);
            }
        }
    }
    let mut values = Values::new();
    for (key, value) in [("order", order), ("phone", phone), ("email", email), ("date", date), ("time", time)] {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            values.insert(key.to_string(), value);
        }
    }
    values
}

// ─── Filling ────────────────────────────────────────────────────────────────

/// The placeholders of a template text. Texts are validated on import, so [`placeholder::parse`]
/// normally succeeds; if it does not, a lenient scan still finds every `{key}`-like span so
/// that none reaches the client as raw braces.
fn find_placeholders(text: &str) -> Vec<Placeholder> {
    if let Ok(found) = placeholder::parse(text) {
        return found;
    }
    static LENIENT: OnceLock<Regex> = OnceLock::new();
    let re = LENIENT.get_or_init(|| {
        Regex::new(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([A-Za-z]+)\s*)?\}")
            .expect("the placeholder pattern is valid")
    });
    re.captures_iter(text)
        .filter_map(|c| {
            let whole = c.get(0)?;
            let case = c.get(2).and_then(|s| {
                let suffix = s.as_str().to_ascii_lowercase();
                Case::ALL.iter().find(|(_, name)| *name == suffix).map(|(case, _)| *case)
            });
            Some(Placeholder { key: c[1].to_ascii_lowercase(), case, span: whole.range() })
        })
        .collect()
}

/// Appends `s`, upper-casing its first letter if a removed address left a sentence without
/// its capital.
fn push(out: &mut String, s: &str, capitalise: &mut bool) {
    if s.is_empty() {
        return;
    }
    if std::mem::take(capitalise) {
        let mut chars = s.chars();
        if let Some(first) = chars.next().filter(|c| c.is_lowercase()) {
            out.extend(first.to_uppercase());
            out.push_str(chars.as_str());
            return;
        }
    }
    out.push_str(s);
}

/// Horizontal whitespace.
fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\u{a0}' | '\u{202f}')
}

/// Leaves out a missing client name used as an address, with its punctuation: «{name}, Ваш
/// заказ…» → «Ваш заказ…», «Спасибо, {name}!» → «Спасибо!». `out` is the text so far, `rest` the
/// template after the placeholder; returns how many bytes of `rest` to skip, or `None` when
/// the name is part of the sentence (then a gap marker is shown instead).
fn drop_address(out: &mut String, rest: &str, capitalise: &mut bool) -> Option<usize> {
    let before_len = out.trim_end_matches(is_space).len();
    let before = &out[..before_len];
    let sentence_start = before.is_empty() || before.ends_with(['\n', '\r', '.', '!', '?', '…']);
    if sentence_start {
        let after = rest.trim_start_matches(is_space);
        let mut chars = after.chars();
        let skipped = match chars.next() {
            // The name alone on its line or at the end.
            None | Some('\n' | '\r') => rest.len() - after.len(),
            Some(',' | '!' | '—' | '–') => rest.len() - chars.as_str().trim_start().len(),
            Some('-') if chars.as_str().starts_with(char::is_whitespace) => {
                rest.len() - chars.as_str().trim_start().len()
            }
            _ => return None,
        };
        out.truncate(before_len);
        if !out.is_empty() && !out.ends_with(['\n', '\r']) {
            out.push(' ');
        }
        *capitalise = true;
        return Some(skipped);
    }
    let ends_clause = rest.is_empty() || rest.starts_with([',', '.', '!', '?', ';', ':', '…', ')', '»', '\n', '\r']);
    if before.ends_with(',') && ends_clause {
        out.truncate(before_len - 1);
        return Some(0);
    }
    None
}

/// The gap label of `key`: from `placeholders.tsv`, else the key with spaces for underscores.
pub fn label(key: &str) -> String {
    static LABELS: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let labels = LABELS.get_or_init(|| {
        LABELS_TSV
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('\t'))
            .map(|(k, v)| (k.trim(), v.trim()))
            .filter(|(k, v)| !k.is_empty() && !v.is_empty())
            .collect()
    });
    labels.get(key).map_or_else(|| key.replace('_', " ").trim().to_string(), |l| l.to_string())
}

// ─── Declining names ────────────────────────────────────────────────────────

/// The analyser, or `None` if its dictionary cannot be loaded (names then stay as given).
fn morph() -> Option<&'static Morph> {
    static MORPH: OnceLock<Option<&'static Morph>> = OnceLock::new();
    *MORPH.get_or_init(|| std::panic::catch_unwind(Morph::global).ok())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gender {
    Masc,
    Femn,
}

/// The reading's gender; `None` for common-gender names («Саша», «Белых»).
fn gender_of(a: &Analysis) -> Option<Gender> {
    if a.has("GNdr") || a.has("Ms-f") {
        None
    } else if a.has("masc") {
        Some(Gender::Masc)
    } else if a.has("femn") {
        Some(Gender::Femn)
    } else {
        None
    }
}

/// A nominative singular reading of a first name, patronymic or surname.
fn is_name_reading(a: &Analysis) -> bool {
    (a.has("Name") || a.has("Patr") || a.has("Surn")) && a.has("nomn") && !a.has("plur")
}

/// The name's gender: the first word whose readings as a patronymic (most reliable), else as a
/// first name, else as a surname agree on one gender.
fn name_gender(morph: &Morph, words: &[&str]) -> Option<Gender> {
    let units: Vec<&str> = words.iter().flat_map(|w| std::iter::once(*w).chain(w.split('-'))).collect();
    for kind in ["Patr", "Name", "Surn"] {
        for unit in units.iter().filter(|u| is_cyrillic_word(u)) {
            let analyses = morph.analyses(unit);
            let mut genders = analyses.iter().filter(|a| is_name_reading(a) && a.has(kind)).map(gender_of);
            if let Some(first) = genders.next() {
                if first.is_some() && genders.all(|g| g == first) {
                    return first;
                }
            }
        }
    }
    None
}

/// `value` (a person's name as given, nominative) declined to `case`, word by word; `None` if
/// nothing could be declined.
fn decline_name(value: &str, case: Case) -> Option<String> {
    if value.len() > MAX_NAME_BYTES || value.split_whitespace().count() > MAX_NAME_WORDS {
        return None;
    }
    let morph = morph()?;
    static WORD: OnceLock<Regex> = OnceLock::new();
    let word_re = WORD.get_or_init(|| Regex::new(r"\p{L}+(?:-\p{L}+)*").expect("the word pattern is valid"));
    let words: Vec<&str> = word_re.find_iter(value).map(|m| m.as_str()).collect();
    let gender = name_gender(morph, &words);
    let mut out = String::with_capacity(value.len() + 8);
    let mut pos = 0;
    let mut changed = false;
    for (index, m) in word_re.find_iter(value).enumerate() {
        out.push_str(&value[pos..m.start()]);
        let declined = decline_word(morph, m.as_str(), case, gender).or_else(|| {
            if index > 0 {
                decline_patronymic(m.as_str(), case, gender)
            } else {
                None
            }
        });
        match declined {
            Some(declined) => {
                changed |= declined != m.as_str();
                out.push_str(&declined);
            }
            None => out.push_str(m.as_str()),
        }
        pos = m.end();
    }
    out.push_str(&value[pos..]);
    changed.then_some(out)
}

/// One word of a name declined, with the original's capitalisation; `None` if the morphology
/// does not know it as a name of a compatible gender. Hyphenated names are declined part by
/// part when every part is a name («Анна-Мария» → «Анне-Марии»), else as a whole.
fn decline_word(morph: &Morph, word: &str, case: Case, gender: Option<Gender>) -> Option<String> {
    if word.contains('-') {
        let parts: Option<Vec<String>> = word.split('-').map(|p| decline_simple(morph, p, case, gender)).collect();
        if let Some(parts) = parts {
            return Some(parts.join("-"));
        }
    }
    decline_simple(morph, word, case, gender)
}

fn decline_simple(morph: &Morph, word: &str, case: Case, gender: Option<Gender>) -> Option<String> {
    if !word.split('-').all(is_cyrillic_word) {
        return None;
    }
    let fits =
        |a: &Analysis| is_name_reading(a) && (gender.is_none() || gender_of(a).is_none() || gender_of(a) == gender);
    let declined = morph.inflect(word, fits, &[case.grammeme(), "sing"])?;
    restore_case(word, &declined)
}

/// A patronymic the dictionary lacks («Никитична», «Фомична»), declined by its regular
/// ending: feminine «-овна/-евна/-ична», masculine «-ович/-евич». Only for a word after the
/// first (a patronymic follows a first name) of a compatible gender.
fn decline_patronymic(word: &str, case: Case, gender: Option<Gender>) -> Option<String> {
    if !is_cyrillic_word(word) || word.chars().count() < 6 || !word.starts_with(char::is_uppercase) {
        return None;
    }
    let lower = word.to_lowercase();
    let (stem, endings, word_gender) = if lower.ends_with("овна") || lower.ends_with("евна") || lower.ends_with("ична")
    {
        (&lower[..lower.len() - 'а'.len_utf8()], ["а", "ы", "е", "у", "ой", "е"], Gender::Femn)
    } else if lower.ends_with("ович") || lower.ends_with("евич") {
        (lower.as_str(), ["", "а", "у", "а", "ем", "е"], Gender::Masc)
    } else {
        return None;
    };
    if gender.is_some_and(|g| g != word_gender) {
        return None;
    }
    let index = Case::ALL.iter().position(|(c, _)| *c == case)?;
    restore_case(word, &format!("{stem}{}", endings[index]))
}

/// Gives `declined` (lower case) the capitalisation pattern of `original`, part by part for
/// hyphenated names; keeps the writer's «е» if the original has no «ё». `None` if the hyphen
/// structure changed (the result would not be the same name).
fn restore_case(original: &str, declined: &str) -> Option<String> {
    let declined = if original.contains(['ё', 'Ё']) { declined.to_string() } else { declined.replace('ё', "е") };
    let originals: Vec<&str> = original.split('-').collect();
    let parts: Vec<&str> = declined.split('-').collect();
    if originals.len() != parts.len() || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let restored: Vec<String> = originals
        .iter()
        .zip(parts)
        .map(|(orig, part)| {
            let letters = orig.chars().filter(|c| c.is_alphabetic()).count();
            if letters >= 2 && orig.chars().all(|c| !c.is_lowercase()) {
                part.to_uppercase()
            } else if orig.starts_with(char::is_uppercase) {
                let mut chars = part.chars();
                chars.next().map(|f| f.to_uppercase().chain(chars).collect()).unwrap_or_default()
            } else {
                part.to_string()
            }
        })
        .collect();
    Some(restored.join("-"))
}

// ─── Extraction ─────────────────────────────────────────────────────────────

/// Words that name an order right before its number («заказ 4821-1934», «заказу №…»).
const ORDER_WORDS: &[&str] = &[
    "заказ",
    "заказа",
    "заказу",
    "заказом",
    "заказе",
    "заказы",
    "заказов",
    "заказам",
    "заказами",
    "заказах",
    "заказик",
    "заказика",
    "order",
];

/// Words that may stand between «заказ» and its number («заказ номер 48211934», «мой заказ»).
const ORDER_FILLERS: &[&str] =
    &["номер", "номера", "номеру", "номером", "номере", "мой", "моего", "моему", "моим", "моем"];

/// Words (whole, folded) and word beginnings after which a «№» number is something else than
/// an order: an appeal, a parcel, a card, an address…
const NOT_ORDER_WORDS: &[&str] = &["д", "кв", "сч", "акт", "дом", "корп", "стр"];
const NOT_ORDER_STEMS: &[&str] = &[
    "обращени",
    "заявк",
    "тикет",
    "накладн",
    "трек",
    "посылк",
    "отправлени",
    "карт",
    "договор",
    "счет",
    "чек",
    "квитанц",
    "квартир",
    "платеж",
    "операци",
    "транзакц",
    "возврат",
    "офис",
    "корпус",
    "пункт",
    "телефон",
    "паспорт",
];

/// Words (whole, folded) and word beginnings that make the number before them a quantity, an
/// amount or a time span («2024 года», «1500 штук», «3 дня»).
const UNIT_WORDS: &[&str] = &[
    "г",
    "р",
    "т",
    "л",
    "м",
    "гр",
    "кг",
    "см",
    "мм",
    "шт",
    "дн",
    "день",
    "дня",
    "дней",
    "лет",
    "год",
    "года",
    "году",
    "раз",
    "раза",
    "час",
    "часа",
    "часов",
    "мин",
    "сек",
    "мес",
];
const UNIT_STEMS: &[&str] =
    &["руб", "тыс", "копе", "штук", "недел", "месяц", "минут", "секунд", "процент", "грамм", "килограм", "литр"];

/// Whether folded `word` is one of `words` or begins with one of `stems`.
fn word_in(word: &str, words: &[&str], stems: &[&str]) -> bool {
    words.contains(&word) || stems.iter().any(|s| word.starts_with(s))
}

/// The order number token `i` of a client turn is, if it is one (see [`extract`]).
fn order_at(doc: &Doc, i: usize, asked: bool) -> Option<String> {
    let token = doc.tokens[i];
    if !matches!(token.kind, TokenKind::Id | TokenKind::Number) {
        return None;
    }
    let raw = doc.slice(&token).trim();
    let (marked, body) = match raw.strip_prefix('№').or_else(|| raw.strip_prefix('#')) {
        Some(rest) => (true, rest.trim_start()),
        None => (false, raw),
    };
    let body = body.trim_end_matches(['-', '/', '_']);
    let digits = body.chars().filter(char::is_ascii_digit).count();
    if digits < MIN_ORDER_DIGITS || !body.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '/' | '_')) {
        return None;
    }
    let only_digits = body.chars().all(|c| c.is_ascii_digit());
    // Phone-shaped bare numbers (79161234567, 9161234567) are not taken even after «заказ».
    if only_digits && ((digits == 11 && body.starts_with(['7', '8'])) || (digits == 10 && body.starts_with('9'))) {
        return None;
    }
    // «4821 1934»: a number split by a space is ambiguous; skip rather than take half of it.
    let next = doc.next_non_space(i);
    if let Some(j) = next {
        let gap = &doc.text[token.end..doc.tokens[j].start];
        if doc.tokens[j].kind == TokenKind::Number && !gap.is_empty() && gap.chars().all(is_space) {
            return None;
        }
        if doc.tokens[j].kind == TokenKind::Word && word_in(&doc.folded[j], UNIT_WORDS, UNIT_STEMS) {
            return None;
        }
    }
    if let Some(j) = doc.prev_non_space(i) {
        if doc.tokens[j].kind == TokenKind::Number && doc.text[doc.tokens[j].end..token.start].chars().all(is_space) {
            return None;
        }
    }
    let previous = previous_word(doc, i);
    let accepted = if marked {
        !previous.is_some_and(|w| word_in(w, NOT_ORDER_WORDS, NOT_ORDER_STEMS))
    } else {
        previous.is_some_and(|w| ORDER_WORDS.contains(&w)) || (asked && doc.prev_non_space(i).is_none())
    };
    accepted.then(|| body.to_string())
}

/// Whether an operator's turn asks for the order number («Подскажите, пожалуйста, номер
/// Вашего заказа»).
fn asks_for_order(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.contains("номер") && lower.contains("заказ")
}

/// The folded word before token `i`, skipping spaces, «:», dashes and the fillers of
/// [`ORDER_FILLERS`]; `None` if something else (a number, a sentence end) comes first.
fn previous_word<'d>(doc: &'d Doc, i: usize) -> Option<&'d str> {
    let mut j = i;
    while j > 0 {
        j -= 1;
        let token = &doc.tokens[j];
        match token.kind {
            TokenKind::Space => {}
            TokenKind::Punct if matches!(doc.slice(token), ":" | "-" | "—" | "–" | "#") => {}
            TokenKind::Word if ORDER_FILLERS.contains(&doc.folded[j].as_str()) => {}
            TokenKind::Word => return Some(doc.folded[j].as_str()),
            _ => return None,
        }
    }
    None
}

/// The last e-mail address in `text`. A local pattern rather than the segmenter's: there a
/// web-address match can win over an address such as «ivan.ru@gmail.com».
fn last_email(text: &str) -> Option<String> {
    static EMAIL: OnceLock<Regex> = OnceLock::new();
    let re = EMAIL.get_or_init(|| {
        Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z\p{Cyrillic}]{2,}").expect("the e-mail pattern is valid")
    });
    re.find_iter(text).last().map(|m| m.as_str().trim_start_matches('.').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn values(pairs: &[(&str, &str)]) -> Values {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn text(template: &str, pairs: &[(&str, &str)]) -> String {
        fill(template, &values(pairs)).text
    }

    fn declined(name: &str, case: &str) -> String {
        text(&format!("{{name:{case}}}"), &[("name", name)])
    }

    #[test]
    fn declines_first_names_and_patronymics() {
        assert_eq!(declined("Анна Сергеевна", "dat"), "Анне Сергеевне");
        assert_eq!(declined("Иван Петрович", "ins"), "Иваном Петровичем");
        assert_eq!(declined("Анна", "gen"), "Анны");
        assert_eq!(declined("Анна", "acc"), "Анну");
        assert_eq!(declined("Анна", "loc"), "Анне");
        assert_eq!(declined("Иван", "acc"), "Ивана");
        assert_eq!(declined("Юлия", "dat"), "Юлии", "not the masculine «Юлий»");
        assert_eq!(declined("Марина", "ins"), "Мариной");
        assert_eq!(declined("Любовь", "dat"), "Любови");
        assert_eq!(declined("Лев", "dat"), "Льву");
        assert_eq!(declined("Саша", "gen"), "Саши");
        assert_eq!(declined("Анна", "nom"), "Анна");
        assert_eq!(declined("Вера Павловна", "acc"), "Веру Павловну");
        // Patronymics the dictionary lacks, by their regular endings.
        assert_eq!(declined("Анна Никитична", "dat"), "Анне Никитичне");
        assert_eq!(declined("Анна Фомична", "ins"), "Анной Фомичной");
        assert_eq!(declined("Никитична", "dat"), "Никитична", "alone it may be anything");
        assert_eq!(text("Передам {operator:dat}.", &[("operator", "Ольга")]), "Передам Ольге.");
    }

    #[test]
    fn declines_surnames_by_the_gender_of_the_first_name() {
        assert_eq!(declined("Анна Иванова", "gen"), "Анны Ивановой");
        assert_eq!(declined("Иванова Анна Сергеевна", "dat"), "Ивановой Анне Сергеевне");
        assert_eq!(declined("Иван Иванов", "ins"), "Иваном Ивановым");
        assert_eq!(declined("Иванова", "gen"), "Ивановой");
        // Indeclinable for a woman, declined for a man.
        assert_eq!(declined("Анна Ким", "dat"), "Анне Ким");
        assert_eq!(declined("Иван Ким", "dat"), "Ивану Киму");
        assert_eq!(declined("Ольга Ковальчук", "ins"), "Ольгой Ковальчук");
        assert_eq!(declined("Иван Ковальчук", "ins"), "Иваном Ковальчуком");
        assert_eq!(declined("Лев Толстой", "gen"), "Льва Толстого");
        assert_eq!(declined("Мария Иванова-Смирнова", "ins"), "Марией Ивановой-Смирновой");
        assert_eq!(declined("Мария Белых", "ins"), "Марией Белых");
    }

    #[test]
    fn keeps_the_capitalisation_and_spelling_given() {
        assert_eq!(declined("АННА", "dat"), "АННЕ");
        assert_eq!(declined("анна", "dat"), "анне");
        assert_eq!(declined("Артем", "dat"), "Артему", "no «ё» the client did not write");
        assert_eq!(declined("Артём", "dat"), "Артёму");
        assert_eq!(declined("Анна-Мария", "dat"), "Анне-Марии");
        assert_eq!(declined("  Анна  ", "dat"), "Анне");
        assert_eq!(text("{name}!", &[("name", "  Анна Сергеевна ")]), "Анна Сергеевна!");
    }

    #[test]
    fn leaves_what_the_morphology_does_not_know_as_a_name() {
        assert_eq!(declined("Anna", "dat"), "Anna");
        assert_eq!(declined("Anna Smith", "ins"), "Anna Smith");
        assert_eq!(declined("Анна Smith", "dat"), "Анне Smith");
        assert_eq!(declined("Жужужа", "dat"), "Жужужа");
        assert_eq!(declined("Кхвостр", "gen"), "Кхвостр");
        assert_eq!(declined("Иванов И. И.", "dat"), "Иванову И. И.");
        assert_eq!(declined("А.", "dat"), "А.");
        assert_eq!(declined("Анна 🌸", "dat"), "Анне 🌸");
        assert_eq!(declined("Аnna", "dat"), "Аnna", "mixed scripts");
        assert_eq!(declined("Гусь", "dat"), "Гусь", "a common noun, not a name");
    }

    #[test]
    fn missing_name_in_an_address_is_left_out() {
        let template = "{name}, Ваш заказ № {order} передан в доставку.";
        let filled = fill(template, &values(&[("order", "4821-1934")]));
        assert_eq!(filled.text, "Ваш заказ № 4821-1934 передан в доставку.");
        assert_eq!(filled.missing, ["name"]);
        assert_eq!(text("{name}, ваш заказ готов.", &[]), "Ваш заказ готов.");
        assert_eq!(text("Спасибо, {name}!", &[]), "Спасибо!");
        assert_eq!(text("Спасибо, {name}, что подождали.", &[]), "Спасибо, что подождали.");
        assert_eq!(text("Спасибо за ожидание. {name}, заказ готов.", &[]), "Спасибо за ожидание. Заказ готов.");
        assert_eq!(text("Готово.\n{name}, заказ в пути.", &[("name", " ")]), "Готово.\nЗаказ в пути.");
        // Part of the sentence, not an address: a visible gap.
        assert_eq!(text("Передам {name:dat} ответ.", &[]), "Передам [имя клиента] ответ.");
        assert_eq!(text("Оператор {operator} на связи.", &[]), "Оператор [имя оператора] на связи.");
    }

    #[test]
    fn missing_values_become_gap_markers_listed_once_in_order() {
        let filled = fill(
            "Заказ № {order} на {amount} привезут {date} до {time}; повторю: № {order}, {date_new}, {gift_card}.",
            &values(&[("amount", "1 490 ₽"), ("date", "")]),
        );
        assert_eq!(
            filled.text,
            "Заказ № [номер заказа] на 1 490 ₽ привезут [дата] до [время]; повторю: № [номер заказа], [новая дата], [gift card]."
        );
        assert_eq!(filled.missing, ["order", "date", "time", "date_new", "gift_card"]);
        assert_eq!(
            text("{days} {phone} {email} {address} {link} {product} {ticket}", &[]),
            "[число дней] [телефон] [эл. почта] [адрес] [ссылка] [товар] [номер обращения]"
        );
        assert!(fill("Без плейсхолдеров.", &Values::new()).missing.is_empty());
    }

    #[test]
    fn every_default_placeholder_has_a_label() {
        let pack = include_str!("../../prompts/templates/default.toml");
        let re = Regex::new(r"\{([a-z][a-z0-9_]*)(?::[a-z]+)?\}").unwrap();
        let file_keys: Vec<&str> = LABELS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split_once('\t').expect("key<TAB>label").0)
            .collect();
        for c in re.captures_iter(pack) {
            assert!(file_keys.contains(&&c[1]), "{} has no label in placeholders.tsv", &c[1]);
        }
        assert!(file_keys.len() >= 40);
    }

    #[test]
    fn values_are_inserted_verbatim_and_not_re_expanded() {
        let filled = fill(
            "Промокод {promo} на {days} дней, товар «{product}».",
            &values(&[("promo", "{name}"), ("days", "14"), ("product", "Чайник \"Х-200\" {order}"), ("name", "Анна")]),
        );
        assert_eq!(filled.text, "Промокод {name} на 14 дней, товар «Чайник \"Х-200\" {order}».");
        assert!(filled.missing.is_empty());
        assert_eq!(
            text(
                "Доставка в {city} — {days_min}–{days_max} дня.",
                &[("city", "Казань"), ("days_min", "2"), ("days_max", "4")]
            ),
            "Доставка в Казань — 2–4 дня."
        );
    }

    #[test]
    fn an_invalid_template_still_shows_no_raw_placeholders() {
        // Not importable (`{Order}`, `{ name }`, a stray brace), yet filled leniently.
        let filled = fill("Заказ {Order} от { date }, код {x", &values(&[("order", "4821")]));
        assert_eq!(filled.text, "Заказ 4821 от [дата], код {x");
        assert_eq!(filled.missing, ["date"]);
    }

    #[test]
    fn extracts_order_numbers_from_client_messages() {
        let order = |msg: &str| extract(&[(true, msg)]).get("order").cloned();
        assert_eq!(order("где мой заказ 4821-1934??? уже неделю жду").as_deref(), Some("4821-1934"));
        assert_eq!(order("заказ № 7730-2215 от 3 марта").as_deref(), Some("7730-2215"));
        assert_eq!(order("заказ номер 48211934").as_deref(), Some("48211934"));
        assert_eq!(order("Подскажите по заказу №48211934, пожалуйста").as_deref(), Some("48211934"));
        assert_eq!(order("№ 7730-2215").as_deref(), Some("7730-2215"));
        assert_eq!(order("заказ #55123 не пришёл").as_deref(), Some("55123"));
        // Not orders: phones, amounts, dates, times, quantities, other ids.
        assert_eq!(order("заказ 89161234567 позвоните"), None);
        assert_eq!(order("мой телефон +7 916 123-45-67"), None);
        assert_eq!(order("заказ на 3500 руб"), None);
        assert_eq!(order("заказ 2500р"), None);
        assert_eq!(order("заказ 12.03.2024 в 14:30"), None);
        assert_eq!(order("заказ 2024 года"), None);
        assert_eq!(order("заказала 1500 штук"), None);
        assert_eq!(order("обращение № 55120 так и не решили"), None);
        assert_eq!(order("трек № RU12345678"), None);
        assert_eq!(order("заказ 4821 1934"), None, "ambiguous: do not take half");
        assert_eq!(order("заказ 512"), None, "too short to be sure");
    }

    #[test]
    fn a_bare_number_answering_the_operators_question_is_the_order() {
        let asked = "Подскажите, пожалуйста, номер Вашего заказа.";
        let order = |reply: &str, question: &str| {
            extract(&[(true, "здравствуйте, хочу узнать что с заказом"), (false, question), (true, reply)])
                .get("order")
                .cloned()
        };
        assert_eq!(order("4821-1934, там куртка", asked).as_deref(), Some("4821-1934"));
        assert_eq!(order("48211934", asked).as_deref(), Some("48211934"));
        // Not asked for, or not opening the reply, or phone-shaped: not taken.
        assert_eq!(order("4821-1934, там куртка", "Чем могу помочь?"), None);
        assert_eq!(order("там куртка, 4821-1934", asked), None);
        assert_eq!(order("89161234567", asked), None);
    }

    #[test]
    fn takes_the_most_recent_client_order_and_contacts() {
        let turns = [
            (true, "заказ 1111-2222 пришёл, а заказ 3333-4444 нет"),
            (false, "Уточните, пожалуйста, номер заказа 9999-0000"),
            (true, "почта anna@mail.ru, телефон 8 916 123-45-67"),
            (false, "Спасибо!"),
        ];
        let found = extract(&turns);
        assert_eq!(found.get("order").map(String::as_str), Some("3333-4444"), "client turns only, the latest");
        assert_eq!(found.get("phone").map(String::as_str), Some("8 916 123-45-67"));
        assert_eq!(found.get("email").map(String::as_str), Some("anna@mail.ru"));
        let found = extract(&[(true, "пишите на ivan.ru@gmail.com или old@ya.ru. Новая: new@ya.ru.")]);
        assert_eq!(found.get("email").map(String::as_str), Some("new@ya.ru"));
        assert_eq!(found.get("order"), None);
    }

    #[test]
    fn dates_and_times_only_from_the_operator() {
        let turns = [
            (true, "обещали привезти 5 марта до 18:00, а сегодня 07.03!"),
            (false, "Приносим извинения. Привезём 12.03, курьер позвонит до 14:00."),
            (true, "а раньше 10.03 никак?"),
        ];
        let found = extract(&turns);
        assert_eq!(found.get("date").map(String::as_str), Some("12.03"));
        assert_eq!(found.get("time").map(String::as_str), Some("14:00"));
        let client_only = extract(&turns[..1]);
        assert_eq!(client_only.get("date"), None);
        assert_eq!(client_only.get("time"), None);
        assert!(extract(&[]).is_empty());
        assert!(!extract(&[(true, "Анна, Иванова")]).contains_key("name"));
    }

    #[test]
    fn no_panic_on_odd_or_huge_input() {
        let big = "🙂Ё{}№#".repeat(20_000); // ~200 KB of emoji, braces and marks
        let huge_name = "Анна ".repeat(20_000);
        let filled = fill(
            "{name:dat}, {name}! 🙂 {order} {operator:ins}",
            &values(&[("name", huge_name.as_str()), ("order", big.as_str()), ("operator", "👩‍💻 Ольга")]),
        );
        assert!(filled.text.starts_with(huge_name.trim()));
        assert!(filled.text.ends_with("👩‍💻 Ольгой"));
        assert!(filled.missing.is_empty());
        let _ = extract(&[(true, big.as_str()), (false, big.as_str()), (true, ""), (false, "\u{0}\u{feff}")]);
        let _ = extract(&[(true, "заказ 4821-1934 ".repeat(7_000).as_str())]);
        assert_eq!(fill("", &Values::new()), Filled { text: String::new(), missing: vec![] });
        for name in ["х", "ё", "ъ-ь", "-", "Анна--Мария", "Ъ", "ЁЁ", "ⅫⅫ", "İstanbul", "ǅ"] {
            let _ = declined(name, "dat");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn filling_never_leaves_a_placeholder(
            parts in proptest::collection::vec(prop_oneof![
                Just("{name}"), Just("{name:dat}"), Just("{operator:ins}"), Just("{order}"), Just("{days_max}"),
                Just(", "), Just(". "), Just("! "), Just("\n"), Just("Ваш заказ"), Just("спасибо"), Just("🙂"), Just("№ "),
            ], 0..12),
            name in "[^{}]{0,20}",
            order in "[^{}]{0,20}",
        ) {
            let template: String = parts.concat();
            let vals = values(&[("name", name.as_str()), ("order", order.as_str())]);
            let filled = fill(&template, &vals);
            prop_assert!(!filled.text.contains('{') && !filled.text.contains('}'), "{:?}", filled.text);
            let unique: std::collections::BTreeSet<&String> = filled.missing.iter().collect();
            prop_assert_eq!(unique.len(), filled.missing.len());
            for key in &filled.missing {
                prop_assert!(vals.get(key).is_none_or(|v| v.trim().is_empty()));
            }
        }

        #[test]
        fn extraction_never_panics(turns in proptest::collection::vec((any::<bool>(), "\\PC{0,60}"), 0..4)) {
            let turns: Vec<(bool, &str)> = turns.iter().map(|(c, t)| (*c, t.as_str())).collect();
            let found = extract(&turns);
            prop_assert!(found.keys().all(|k| ["order", "phone", "email", "date", "time"].contains(&k.as_str())));
        }
    }
}
