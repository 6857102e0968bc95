//! C. Literacy and register: capitals, punctuation, spelling, slang, cute diminutives, jargon,
//! shouting, exclamation runs and emoji.

use super::{capitalize, match_case, phrase_matches, removal, starts_sentence, Change, Finding, Input};
use crate::style::lexicon::{fold, PhraseTable};
use crate::style::segment::{is_sentence_end, Doc, TokenKind};

/// C7: no CAPS LOCK words except known acronyms.
pub(crate) fn shouting(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for (i, t) in doc.tokens.iter().enumerate() {
        if t.kind != TokenKind::Word || t.protected || t.quoted {
            continue;
        }
        let word = doc.tok(i);
        let letters = word.chars().filter(|c| c.is_alphabetic()).count();
        let cyrillic = word.chars().any(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'));
        let caps = word.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase);
        if letters < 2 || !cyrillic || !caps || inp.lex.acronyms.contains(word) {
            continue;
        }
        let lower = word.to_lowercase();
        let fixed = if starts_sentence(doc, i) { capitalize(&lower) } else { lower };
        out.push(Finding::fix(t.start, t.end, fixed));
    }
}

/// Whether the client used emoji or smileys in their messages.
fn client_used_emoji(inp: &Input) -> bool {
    inp.ctx
        .client_messages
        .iter()
        .any(|m| Doc::new(m, &[], &[]).tokens.iter().any(|t| matches!(t.kind, TokenKind::Emoji | TokenKind::Smiley)))
}

/// C9: no emoji or text smileys, unless the profile mirrors a client who used them first.
pub(crate) fn emoji(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    if inp.profile.emoji_mirroring && !inp.ctx.first_message && client_used_emoji(inp) {
        return;
    }
    let is_face =
        |i: usize| matches!(doc.tokens[i].kind, TokenKind::Emoji | TokenKind::Smiley) && !doc.tokens[i].quoted;
    let mut i = 0;
    while i < doc.tokens.len() {
        if !is_face(i) {
            i += 1;
            continue;
        }
        // A run of faces separated by spaces is one finding.
        let first = i;
        let mut last = i;
        while let Some(n) = doc.next_non_space(last).filter(|&n| is_face(n)) {
            last = n;
        }
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        let change_start = if first > 0 && doc.tokens[first - 1].kind == TokenKind::Space {
            doc.tokens[first - 1].start
        } else {
            start
        };
        let at_line_start = first == 0 || doc.tokens[first - 1].kind == TokenKind::Newline;
        let change_end = if at_line_start && doc.tokens.get(last + 1).is_some_and(|t| t.kind == TokenKind::Space) {
            doc.tokens[last + 1].end
        } else {
            end
        };
        out.push(Finding::fix_with(
            start,
            end,
            "",
            Change { start: change_start, end: change_end, text: String::new() },
        ));
        i = last + 1;
    }
}

/// C8: no «!!!», «???», «?!», more than three dots, or a second «!» in a message.
pub(crate) fn exclamations(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let mut exclaimed = false;
    for t in doc.tokens.iter().filter(|t| t.kind == TokenKind::Punct && !t.quoted && !t.protected) {
        let mark = doc.slice(t);
        let has = |c: char| mark.contains(c);
        let fixed = if has('?') && has('!') {
            Some("?")
        } else if has('!') && mark.chars().filter(|&c| c == '!').count() > 1 {
            Some("!")
        } else if has('?') && mark.chars().filter(|&c| c == '?').count() > 1 {
            Some("?")
        } else if mark.chars().all(|c| c == '.') && mark.len() > 3 {
            Some("...")
        } else {
            None
        };
        let fixed = match fixed {
            Some("!") | None if has('!') => {
                let once = if exclaimed { "." } else { "!" };
                exclaimed = true;
                Some(once).filter(|f| *f != mark)
            }
            other => other,
        };
        if let Some(fixed) = fixed {
            out.push(Finding::fix(t.start, t.end, fixed));
        }
    }
}

/// Word-list swaps shared by C4, C5 and C6: `None` payloads are reported without a fix.
fn swap_list<T>(inp: &Input, table: &PhraseTable<T>, payload: fn(&T) -> Option<&str>, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for (first, last, value) in phrase_matches(doc, table) {
        let replacement = payload(value);
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        let found = &doc.text[start..end];
        match replacement {
            None => out.push(Finding::flag(start, end)),
            Some("") => {
                let change = removal(doc, first, last);
                out.push(Finding::fix_with(start, end, "", change));
            }
            Some(r) => out.push(Finding::fix(start, end, match_case(found, r))),
        }
    }
}

/// C4: no slang, fillers or chat abbreviations.
pub(crate) fn slang(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.slang, |r| Some(r.as_str()), out);
}

/// C5: no cute diminutives of business words.
pub(crate) fn cutesy(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.cutesy, |r| Some(r.as_str()), out);
}

/// C6: no unexplained jargon or anglicisms.
pub(crate) fn jargon(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.jargon, |r| r.as_deref(), out);
}

/// Whether a sentence reads as a question: it opens with a question word or holds «ли».
fn is_question(inp: &Input, doc: &Doc, s: &crate::style::segment::Sentence) -> bool {
    let question_words = inp.def.list("question_words");
    let mut words = doc.words(s).map(|i| fold(doc.tok(i)));
    let first = words.next();
    first.is_some_and(|w| question_words.contains(&w)) || words.any(|w| w == "ли")
}

/// C2: sentences end with punctuation; no space before , . ! ? : ; and one after.
pub(crate) fn end_punct(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let t = &doc.tokens;
    for s in doc.sentences.iter().filter(|s| s.ends_line) {
        // The last token that is not an emoji or smiley.
        let Some(last) = s
            .tokens
            .clone()
            .rev()
            .find(|&i| !matches!(t[i].kind, TokenKind::Emoji | TokenKind::Smiley | TokenKind::Space))
        else {
            continue;
        };
        // End marks close a sentence, also inside a closing quote or bracket («…готово!»).
        let ends = |i: usize| t[i].kind == TokenKind::Punct && doc.tok(i).chars().all(is_sentence_end);
        let closing = |i: usize| t[i].kind == TokenKind::Punct && matches!(doc.tok(i), ")" | "»" | "\"" | "”");
        let closed = ends(last)
            || matches!(doc.tok(last), ":" | ";")
            || closing(last) && last > 0 && ends(last - 1)
            || t[last].kind == TokenKind::Punct && matches!(doc.tok(last), "-" | "—" | "–" | "(" | ",");
        // Inside a quotation still open at the line's end («акция «Скажи сыр⏎…»), a mark
        // would change the quoted name, which is kept verbatim (found by the fuzzer).
        if closed || t[last].kind == TokenKind::Other || (t[last].quoted && !closing(last)) {
            continue;
        }
        let mark = if is_question(inp, doc, s) { "?" } else { "." };
        out.push(Finding::fix(t[last].end, t[last].end, mark));
    }
    for (i, tok) in t.iter().enumerate() {
        let text = doc.slice(tok);
        let spacing_mark = |s: &str| matches!(s, "," | ":" | ";") || (!s.is_empty() && s.chars().all(is_sentence_end));
        if tok.kind == TokenKind::Space && !tok.quoted {
            let next_is_mark = t.get(i + 1).is_some_and(|n| n.kind == TokenKind::Punct && spacing_mark(doc.slice(n)));
            let prev_is_text = i > 0 && (t[i - 1].kind == TokenKind::Word || t[i - 1].kind.is_fact());
            let after_is_end =
                t.get(i + 2).is_none_or(|n| matches!(n.kind, TokenKind::Space | TokenKind::Newline | TokenKind::Word));
            if next_is_mark && prev_is_text && after_is_end {
                out.push(Finding::fix(tok.start, tok.end, ""));
                continue;
            }
            let between_words = i > 0
                && t.get(i + 1).is_some_and(|n| n.kind != TokenKind::Newline)
                && t[i - 1].kind != TokenKind::Newline;
            if text.chars().count() > 1 && between_words && text.chars().all(|c| c == ' ') {
                out.push(Finding::fix(tok.start, tok.end, " "));
            }
        } else if tok.kind == TokenKind::Punct && !tok.quoted && spacing_mark(text) {
            let glued = t.get(i + 1).is_some_and(|n| n.kind == TokenKind::Word && !n.quoted);
            let after_text = i > 0 && (t[i - 1].kind == TokenKind::Word || t[i - 1].kind.is_fact());
            // «т.д»: a dot between single letters is an abbreviation, not a missing space.
            let abbreviation = text == "." && i > 0 && doc.tok(i - 1).chars().count() == 1;
            if glued && after_text && !abbreviation {
                out.push(Finding::fix(tok.end, tok.end, " "));
            }
        }
    }
}

/// C1: every sentence starts with a capital letter.
pub(crate) fn capital_start(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for s in &doc.sentences {
        let i = s.tokens.start;
        let t = &doc.tokens[i];
        let word = doc.tok(i);
        // «iPhone», «eSIM»: a capital inside the word marks a brand that keeps its spelling.
        let brand = word.chars().skip(1).any(char::is_uppercase);
        if t.kind == TokenKind::Word && !t.protected && !t.quoted && word.starts_with(char::is_lowercase) && !brand {
            out.push(Finding::fix(t.start, t.end, capitalize(word)));
        }
    }
}

/// Latin letters that look like Cyrillic ones, for words typed in mixed layouts («зaказ»).
const LOOKALIKES: [(char, char); 12] = [
    ('a', 'а'),
    ('e', 'е'),
    ('o', 'о'),
    ('p', 'р'),
    ('c', 'с'),
    ('x', 'х'),
    ('y', 'у'),
    ('k', 'к'),
    ('A', 'А'),
    ('E', 'Е'),
    ('O', 'О'),
    ('C', 'С'),
];

/// Misspelt words per draft that get replacement candidates. hunspell's suggestion search
/// costs ~50 ms for a made-up word, so a draft of gibberish (found by the fuzzer: 1 KB took
/// 6 s, 16 KB three minutes) would hold a server thread for minutes; past this many words the
/// rest are still reported, without candidates.
const MAX_SUGGESTED_WORDS: usize = 8;

/// C3: no spelling mistakes; names, facts, acronyms and list words are left to other rules.
pub(crate) fn spelling(inp: &Input, out: &mut Vec<Finding>) {
    let (doc, Some(speller)) = (inp.doc, inp.speller) else { return };
    let lex = inp.lex;
    let mut suggested = 0;
    for (i, t) in doc.tokens.iter().enumerate() {
        if t.kind != TokenKind::Word || t.protected || t.quoted {
            continue;
        }
        let word = doc.tok(i);
        let cyrillic = word.chars().filter(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё')).count();
        let latin = word.chars().filter(char::is_ascii_alphabetic).count();
        if cyrillic > 0 && latin > 0 {
            // Mixed layouts: offer the all-Cyrillic spelling when every Latin letter has a twin.
            let fixed: String =
                word.chars().map(|c| LOOKALIKES.iter().find(|(l, _)| *l == c).map_or(c, |(_, cyr)| *cyr)).collect();
            if !fixed.chars().any(|c| c.is_ascii_alphabetic()) {
                out.push(Finding::suggest(t.start, t.end, vec![fixed]).arg("mixed", "1"));
            }
            continue;
        }
        let all_caps = word.chars().filter(|c| c.is_alphabetic()).all(char::is_uppercase) && word.chars().count() > 1;
        let listed = lex.names.is_known(word)
            || lex.slang.contains_word(word)
            || lex.cutesy.contains_word(word)
            || lex.jargon.contains_word(word)
            || lex.greetings.contains_word(word);
        let abbreviation = doc.tokens.get(i + 1).is_some_and(|n| doc.slice(n).starts_with('.'))
            && lex.abbreviations.iter().any(|(a, _)| *a == doc.folded[i]);
        let client_or_operator = [inp.ctx.client_name(), inp.ctx.operator_name()]
            .into_iter()
            .flatten()
            .any(|n| n.split_whitespace().any(|p| p == word));
        if cyrillic == 0 || all_caps || listed || abbreviation || client_or_operator || speller.is_correct(word) {
            continue;
        }
        let candidates = if suggested < MAX_SUGGESTED_WORDS { speller.suggest(word, 3) } else { Vec::new() };
        suggested += 1;
        out.push(Finding::suggest(t.start, t.end, candidates));
    }
}
