//! Which language a message is written in, for the ranker: a message in a language the library
//! has no template in gets an abstention, not a Russian reply.
//!
//! The script decides first, because that is reliable on the short texts of a chat: Russian is
//! Cyrillic without the letters only other Cyrillic alphabets have; a text of Latin (or another
//! script's) words with hardly any Cyrillic is foreign, and `whatlang` names the language.
//! `whatlang` alone is not used for Russian: on three-word chat messages it confuses Russian
//! with Ukrainian, Bulgarian or Serbian, and a wrong «foreign» costs the operator a suggestion.

/// ISO 639-3 code of Russian.
pub const RUSSIAN: &str = "rus";
/// Code for a foreign text whose language could not be named.
pub const UNDETERMINED: &str = "und";

/// Letters of Cyrillic alphabets that Russian lacks, with the language they mark first.
/// Kazakh letters come before «і», which Kazakh shares with Ukrainian and Belarusian.
const OTHER_CYRILLIC: [(char, &str); 16] = [
    ('ә', "kaz"),
    ('ғ', "kaz"),
    ('қ', "kaz"),
    ('ң', "kaz"),
    ('ө', "kaz"),
    ('ұ', "kaz"),
    ('ү', "kaz"),
    ('һ', "kaz"),
    ('ҷ', "tgk"),
    ('ӣ', "tgk"),
    ('ӯ', "tgk"),
    ('ў', "bel"),
    ('ї', "ukr"),
    ('є', "ukr"),
    ('ґ', "ukr"),
    ('і', "ukr"),
];

/// Foreign words needed before a text counts as foreign: a brand or two («iPhone», «Samsung
/// Galaxy») in a Russian message, or a lone «hello», decides nothing.
const MIN_FOREIGN_WORDS: usize = 3;

fn is_cyrillic(c: char) -> bool {
    matches!(c, '\u{0400}'..='\u{04FF}' | '\u{0500}'..='\u{052F}')
}

/// The language of `text` as an ISO 639-3 code: [`RUSSIAN`], another language's code,
/// [`UNDETERMINED`] for a foreign text `whatlang` cannot name, or `None` when the text has too
/// few words to tell (numbers, emoji, one word).
pub fn detect(text: &str) -> Option<&'static str> {
    let (mut cyrillic, mut other, mut marked) = (0usize, 0usize, None);
    for word in text.split(|c: char| !c.is_alphabetic()).filter(|w| w.chars().count() >= 2) {
        if word.chars().any(is_cyrillic) {
            cyrillic += 1;
            let lower = word.to_lowercase();
            if marked.is_none() {
                marked = OTHER_CYRILLIC.iter().find(|(c, _)| lower.contains(*c)).map(|(_, code)| *code);
            }
        } else {
            other += 1;
        }
    }
    if let Some(code) = marked {
        return Some(code);
    }
    // CJK and similar scripts write a sentence as one unbroken «word».
    let unbroken = other > 0 && text.chars().any(|c| c.is_alphabetic() && c as u32 >= 0x2E80);
    if other > cyrillic * 2 && (other >= MIN_FOREIGN_WORDS || unbroken) {
        let code = whatlang::detect(text).map(|info| info.lang().code()).unwrap_or(UNDETERMINED);
        return Some(if code == RUSSIAN { UNDETERMINED } else { code });
    }
    (cyrillic >= 2 || (cyrillic == 1 && other == 0)).then_some(RUSSIAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_with_brands_and_latin_words_is_russian() {
        for text in [
            "где мой заказ",
            "Samsung Galaxy S24 Ultra есть в наличии?",
            "не приходит код в WhatsApp",
            "Здравствуйте",
            "ок",
            "Hello, у вас есть поддержка на английском?",
        ] {
            assert_eq!(detect(text), Some(RUSSIAN), "{text}");
        }
    }

    #[test]
    fn foreign_texts_are_named() {
        assert_eq!(detect("Hi! Does anybody here speak English? My Russian is bad"), Some("eng"));
        assert_eq!(detect("Guten Tag, können Sie mir bitte helfen? Ich spreche kein Russisch."), Some("deu"));
        assert_eq!(detect("Доброго дня! Чи можна писати українською?"), Some("ukr"));
        assert_eq!(detect("Сәлеметсіз бе! Қазақ тілінде сөйлейтін маман бар ма?"), Some("kaz"));
        assert_eq!(detect("您好，我的订单在哪里？"), Some("cmn"));
    }

    #[test]
    fn too_little_text_is_undecided() {
        for text in ["", "7781-2204", "👍", "hello", "iPhone 15", "ok thanks"] {
            assert_eq!(detect(text), None, "{text}");
        }
    }
}
