//! A long template (a help-centre article) split into its parts: a client asks about one of
//! its sub-topics, often not the first, and one vector for the whole article blurs it.
//!
//! Parts follow the author's paragraphs; a paragraph longer than [`PART_CHARS`] is cut between
//! sentences. Short templates (every reply of a chat library) are not split.

use crate::text::segment::Doc;

/// Templates longer than this (characters) are split.
const LONG_TEXT: usize = 500;
/// A part grows sentence by sentence up to about this many characters.
const PART_CHARS: usize = 600;

/// The parts of `text`, in order; empty when the text is short or has one part only.
pub fn split(text: &str) -> Vec<String> {
    if text.chars().count() <= LONG_TEXT {
        return Vec::new();
    }
    let doc = Doc::new(text, &[], &[]);
    let mut parts: Vec<(usize, usize)> = Vec::new();
    let mut previous_end = 0;
    for sentence in &doc.sentences {
        let paragraph_break = text[previous_end..sentence.start].matches('\n').count() >= 2;
        match parts.last_mut() {
            Some((start, end)) if !paragraph_break && text[*start..sentence.end].chars().count() <= PART_CHARS => {
                *end = sentence.end
            }
            _ => parts.push((sentence.start, sentence.end)),
        }
        previous_end = sentence.end;
    }
    if parts.len() < 2 {
        return Vec::new();
    }
    parts.into_iter().map(|(start, end)| text[start..end].split_whitespace().collect::<Vec<_>>().join(" ")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_texts_are_not_split() {
        assert!(split("Ваш заказ № 4821 передан в доставку.\n\nОжидайте, пожалуйста, звонка курьера.").is_empty());
    }

    #[test]
    fn paragraphs_become_parts_with_their_headings() {
        let section = |heading: &str| {
            format!(
                "{heading}\n{}",
                "Откройте раздел «Профиль» и выберите нужный пункт в меню настроек. ".repeat(3).trim()
            )
        };
        let text =
            [section("Как сменить карту"), section("Если оплата не прошла"), section("Как отключить автопродление")]
                .join("\n\n");
        let parts = split(&text);
        assert_eq!(parts.len(), 3, "{parts:?}");
        assert!(parts[1].starts_with("Если оплата не прошла Откройте"), "{}", parts[1]);
        assert!(parts.iter().all(|p| !p.contains('\n')));
    }

    #[test]
    fn a_long_paragraph_is_cut_between_sentences() {
        let text = "Оплатить подписку можно картой любого российского банка. ".repeat(25);
        let parts = split(&text);
        assert!(parts.len() >= 2, "{parts:?}");
        assert!(parts.iter().all(|p| p.chars().count() <= PART_CHARS && p.ends_with('.')), "{parts:?}");
    }
}
