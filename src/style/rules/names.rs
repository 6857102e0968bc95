//! B. The client's name: use it, in the client's own form and spelling, set off by commas.

use super::{capitalize, edit_distance, removal, starts_sentence, Finding, Input};
use crate::style::catalog::Severity;
use crate::style::rules::politeness::{opening_address, opening_greeting};
use crate::text::fold;
use crate::text::morph::Morph;
use crate::text::segment::{Doc, TokenKind};
use crate::text::words::lower_first;

/// The client's name split into the given name and the rest (patronymic, surname).
struct ClientName<'a> {
    full: &'a str,
    first: &'a str,
    rest: Option<&'a str>,
}

fn client_name<'a>(inp: &Input<'a>) -> Option<ClientName<'a>> {
    let full = inp.ctx.client_name()?;
    let mut parts = full.splitn(2, char::is_whitespace);
    let first = parts.next()?;
    Some(ClientName { full, first, rest: parts.next().map(str::trim).filter(|r| !r.is_empty()) })
}

/// Case grammemes rsmorphy may give a name form.
const CASES: [&str; 7] = ["nomn", "gent", "datv", "accs", "ablt", "loct", "voct"];

/// Whether `word` is the client's given name in some grammatical case, in any letter case
/// («олег вы не переживайте»), or in the colloquial vocative that drops the final vowel
/// («Саш», «Тань» from «Саша», «Таня») when the dictionary knows no other word so spelt.
pub(crate) fn is_name_form(morph: &Morph, word: &str, first: &str) -> bool {
    let (word_folded, first_folded) = (fold(word), fold(first));
    if word_folded == first_folded || morph.analyses(word).iter().any(|a| a.has("Name") && a.lemma == first_folded) {
        return true;
    }
    let clipped = match first_folded.strip_suffix('а') {
        Some(stem) => Some(stem.to_string()),
        None => first_folded.strip_suffix('я').map(|stem| format!("{stem}ь")),
    };
    clipped.is_some_and(|c| c.chars().count() >= 2 && word_folded == c)
        && !morph.analyses(word).iter().any(|a| a.known && !a.has("Name"))
}

/// Token indices of `doc` where the given name `first` is used, in any case.
pub(crate) fn name_use_tokens(doc: &Doc, morph: &Morph, first: &str) -> Vec<usize> {
    (0..doc.tokens.len())
        .filter(|&i| {
            doc.tokens[i].kind == TokenKind::Word && !doc.tokens[i].quoted && is_name_form(morph, doc.tok(i), first)
        })
        .collect()
}

fn name_uses(inp: &Input, first: &str) -> Vec<usize> {
    name_use_tokens(inp.doc, inp.morph, first)
}

/// B1: use the name in the greeting and key messages, 2–3 times per dialogue, ≤ 2 per message.
pub(crate) fn use_name(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let Some(name) = client_name(inp) else { return };
    let uses = name_uses(inp, name.first);
    // A message that opens by addressing a group («Коллеги, …») is not written to one person.
    let to_group = uses.is_empty() && opening_address(inp).is_some();
    let never_named = inp.ctx.is_later() && inp.ctx.name_uses == 0 && !to_group;
    if (inp.ctx.is_first() || never_named) && uses.is_empty() && !to_group {
        if let Some((first, last, None)) = opening_greeting(inp) {
            let next = doc.next_non_space(last).filter(|&n| doc.tokens[n].kind == TokenKind::Word);
            let generic = next.filter(|&n| inp.def.list("generic_addresses").contains(&doc.folded[n]));
            if let Some(n) = generic {
                // «Уважаемый клиент» → «Уважаемый Виктор»: the salutation agrees with the name.
                let gender = inp.lex.names.by_full(name.first).map(|e| e.gender).next();
                let salutation = match (doc.folded[first].as_str(), gender) {
                    ("уважаемый" | "уважаемая", Some('f')) => Some("Уважаемая"),
                    ("уважаемый" | "уважаемая", Some('m')) => Some("Уважаемый"),
                    _ => None,
                };
                if let Some(salutation) = salutation {
                    let (start, end) = (doc.tokens[first].start, doc.tokens[n].end);
                    out.push(Finding::fix(start, end, format!("{salutation} {}", name.full)));
                }
            } else if next.is_none() {
                let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
                out.push(Finding::fix(start, end, format!("{}, {}", &doc.text[start..end], name.full)));
            }
        }
    }
    // A later message of a dialogue in which the name was never used: the reply opens with it
    // («Анна, сейчас посмотрю Ваш заказ»), toward the norm of 2–3 uses per dialogue.
    if never_named && uses.is_empty() && opening_greeting(inp).is_none() {
        if let Some(i) = doc.sentences.first().map(|s| s.tokens.start) {
            let t = &doc.tokens[i];
            let word = doc.tok(i);
            if t.kind == TokenKind::Word && !t.protected && !t.quoted {
                let proper = word.chars().skip(1).any(char::is_uppercase)
                    || super::POLITE_FORMS.contains(&fold(word).as_str())
                    || inp.morph.analyses(word).first().is_some_and(|a| {
                        ["Name", "Surn", "Patr", "Geox", "Orgn", "Trad", "Abbr"].iter().any(|g| a.has(g))
                    });
                let rest = if proper { word.to_string() } else { lower_first(word) };
                out.push(Finding::fix(t.start, t.end, format!("{}, {rest}", name.full)).message("message_later"));
            }
        }
    }
    for &i in uses.iter().skip(2) {
        // The name plus its patronymic, if the draft wrote it.
        let mut last = i;
        if let (Some(rest), Some(n)) = (name.rest, doc.next_non_space(i)) {
            if rest.split_whitespace().next().is_some_and(|p| doc.tok(n) == p) {
                last = n;
            }
        }
        let change = removal(doc, i, last);
        let (start, end) = (change.start.min(doc.tokens[i].start), change.end.max(doc.tokens[last].end));
        out.push(Finding::fix_with(start, end, doc.text[start..end].to_string(), change).severity(Severity::Warning));
        if let Some(f) = out.last_mut() {
            f.replacements = vec![f.change.as_ref().map(|c| c.text.clone()).unwrap_or_default()];
        }
    }
    if inp.ctx.name_uses >= 3 {
        for &i in uses.iter().take(2) {
            out.push(Finding::flag(doc.tokens[i].start, doc.tokens[i].end).arg("uses", inp.ctx.name_uses.to_string()));
        }
    }
}

/// B2: the client's own form of the name, no diminutives they did not use.
pub(crate) fn name_form(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let Some(name) = client_name(inp) else { return };
    let own = fold(name.first);
    // The dictionary entries the client's own form belongs to: «Евгений» or, if the client
    // signed as «Женя», every name «Женя» is short for.
    let names = &inp.lex.names;
    let client_entries: Vec<&str> =
        names.by_full(name.first).chain(names.by_form(name.first)).map(|e| e.full.as_str()).collect();
    for (i, t) in doc.tokens.iter().enumerate() {
        if t.kind != TokenKind::Word || t.quoted || t.protected {
            continue;
        }
        let word = doc.tok(i);
        if fold(word) == own || !word.starts_with(char::is_uppercase) {
            continue;
        }
        // A diminutive of the client's name, in any case: «Женя», «Жене», «Женечка».
        let lemmas: Vec<String> = std::iter::once(fold(word))
            .chain(inp.morph.analyses(word).iter().filter(|a| a.has("Name")).map(|a| fold(&a.lemma)))
            .collect();
        let is_pet_form = lemmas
            .iter()
            .filter(|l| **l != own)
            .any(|l| names.by_form(l).any(|e| client_entries.contains(&e.full.as_str())));
        // A form the client used for themself is theirs to use: «Добрый день, это Женя».
        let clients_own = inp.ctx.client_messages.iter().any(|m| super::contains_words(m, word));
        if !is_pet_form || clients_own {
            continue;
        }
        let case = inp
            .morph
            .analyses(word)
            .iter()
            .filter(|a| a.has("Name"))
            .find_map(|a| CASES.iter().find(|c| a.has(c)).copied())
            .filter(|c| !matches!(*c, "nomn" | "voct"));
        let replacement = match case {
            Some(case) => inflect_name(inp, &name, case),
            None => name.full.to_string(),
        };
        out.push(Finding::fix(t.start, t.end, replacement));
    }
    if inp.profile.patronymic {
        if let Some(rest) = name.rest {
            for i in name_uses(inp, name.first) {
                // Read from the text, not the tokens: a patronymic the segmenter splits («Ива-
                // нович», a name with marks in it) still follows, and the full name put in its
                // place is not taken for a bare first name again.
                let after = doc.text[doc.tokens[i].end..].trim_start();
                let has_rest = rest.split_whitespace().next().is_some_and(|p| after.starts_with(p));
                if doc.tok(i) == name.first && !has_rest {
                    let t = &doc.tokens[i];
                    out.push(Finding::fix(t.start, t.end, name.full.to_string()));
                }
            }
        }
    }
}

/// The client's name (and patronymic) in grammatical case `case`, or as given when the
/// dictionary does not know it.
fn inflect_name(inp: &Input, name: &ClientName, case: &str) -> String {
    let mut words = Vec::new();
    for (k, word) in name.full.split_whitespace().enumerate() {
        let tag = if k == 0 { "Name" } else { "Patr" };
        match inp.morph.inflect(word, |a| a.has(tag), &[case]) {
            Some(form) => words.push(capitalize(&form)),
            None => return name.full.to_string(),
        }
    }
    words.join(" ")
}

/// B3: the name spelled exactly as the client wrote it.
pub(crate) fn name_spelling(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let Some(name) = client_name(inp) else { return };
    for word_of_name in name.full.split_whitespace().filter(|w| w.chars().count() >= 3) {
        let limit = if word_of_name.chars().count() <= 5 { 1 } else { 2 };
        for (i, t) in doc.tokens.iter().enumerate() {
            if t.kind != TokenKind::Word || t.quoted || t.protected {
                continue;
            }
            let word = doc.tok(i);
            if word == word_of_name || !(word.starts_with(char::is_uppercase) || doc.folded[i] == fold(word_of_name)) {
                continue;
            }
            let distance = edit_distance(word, word_of_name);
            let lower_case_name = distance == 0 && word.starts_with(char::is_lowercase);
            let typo = (1..=limit).contains(&distance) && word.starts_with(char::is_uppercase);
            if !(lower_case_name || typo) {
                continue;
            }
            // A case form of the name («Анне», «Евгению») is not a typo; another spelling of it,
            // even a real one («Наталия» for «Наталья»), is.
            let readings = inp.morph.analyses(word);
            let case_form = readings.iter().any(|a| a.has("Name") && a.lemma == fold(word_of_name));
            let operator = inp.ctx.operator_name().is_some_and(|o| o.split_whitespace().any(|p| p == word));
            if typo && (case_form || operator) {
                continue;
            }
            // Only a word that can be nothing but a name (a proper name at most: «Марна» is a
            // river too), where a name stands: «Ваша заявка» is not «Маша», nor «Цена указана»
            // «Лена».
            let common_word = readings.iter().any(|a| a.known && !PROPER_NAME_TAGS.iter().any(|g| a.has(g)));
            if common_word || !in_name_position(inp, i) {
                continue;
            }
            out.push(Finding::fix(t.start, t.end, word_of_name.to_string()));
        }
    }
}

/// Grammemes of a reading that is a proper name (of a person, place, organisation or brand).
const PROPER_NAME_TAGS: [&str; 6] = ["Name", "Surn", "Patr", "Geox", "Orgn", "Trad"];

/// Whether word `i` stands where a name does: as an address set off from the sentence (at its
/// start, after a comma, a greeting or a title such as «уважаемая», and followed by a mark or the
/// end), or before a patronymic.
fn in_name_position(inp: &Input, i: usize) -> bool {
    let doc = inp.doc;
    let next = doc.next_non_space(i);
    let patronymic = next.is_some_and(|n| {
        doc.tokens[n].kind == TokenKind::Word && inp.morph.analyses(doc.tok(n)).iter().any(|a| a.has("Patr"))
    });
    let set_off = next.is_none_or(|n| matches!(doc.tokens[n].kind, TokenKind::Punct | TokenKind::Newline));
    let after_address = starts_sentence(doc, i)
        || doc.prev_non_space(i).is_some_and(|p| {
            let word = &doc.folded[p];
            doc.tok(p) == ","
                || inp.def.list("titles").contains(word)
                || inp.lex.greetings.contains_word(word)
                || inp.lex.formal_greetings.contains_word(word)
        });
    // The client's patronymic follows their first name («ирина петровна»).
    let first_name = inp.ctx.client_name().and_then(|n| n.split_whitespace().next()).map(fold);
    let after_first_name = doc.prev_non_space(i).is_some_and(|p| first_name.as_ref() == Some(&doc.folded[p]));
    patronymic || after_first_name || (set_off && after_address)
}

/// B4: a name used as an address is set off by commas.
pub(crate) fn vocative_comma(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let Some(name) = client_name(inp) else { return };
    let prepositions = inp.def.list("prepositions");
    for i in (0..doc.tokens.len()).filter(|&i| doc.tok(i) == name.first && doc.tokens[i].kind == TokenKind::Word) {
        // Extend over the patronymic when the draft wrote it (in any case: B3 fixes its case).
        let mut last = i;
        if let (Some(rest), Some(n)) = (name.rest, doc.next_non_space(i)) {
            if rest.split_whitespace().next().is_some_and(|p| fold(p) == doc.folded[n]) {
                last = n;
            }
        }
        let next = doc.next_non_space(last);
        let next_is_word = next.is_some_and(|n| doc.tokens[n].kind == TokenKind::Word);
        let next_is_verb = next.is_some_and(|n| {
            inp.morph.analyses(doc.tok(n)).first().is_some_and(|a| a.has("VERB") && (a.has("3per") || a.has("past")))
        });
        let (start, end) = (doc.tokens[i].start, doc.tokens[last].end);
        let written = &doc.text[start..end];
        if starts_sentence(doc, i) {
            if next_is_word && !next_is_verb {
                out.push(Finding::fix(start, end, format!("{written},")));
            }
            continue;
        }
        let Some(prev) = doc.prev_non_space(i) else { continue };
        let prev_word = doc.tokens[prev].kind == TokenKind::Word;
        let attribute = inp.morph.analyses(doc.tok(prev)).first().is_some_and(|a| a.has("ADJF") || a.has("PRTF"));
        if !prev_word || attribute || prepositions.contains(&fold(doc.tok(prev))) || next_is_verb {
            continue;
        }
        let after = if next_is_word { "," } else { "" };
        let span_start = doc.tokens[prev].end;
        out.push(Finding::fix(span_start, end, format!(", {written}{after}")));
    }
}

/// B5: with no name given, ask once how to address the client.
pub(crate) fn ask_name(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    if !inp.ctx.is_first() || inp.ctx.client_name().is_some() || doc.text.trim().is_empty() {
        return;
    }
    // Written to a group («Коллеги, …»): there is no one name to ask for.
    if opening_address(inp).is_some() {
        return;
    }
    if inp.def.list("asks").iter().any(|ask| super::has_phrase(doc, ask)) {
        return;
    }
    let at = doc.text.trim_end().len();
    let question = inp.def.text("question").unwrap_or_default();
    out.push(Finding::suggest(at, at, vec![super::polite_case(inp.profile, question)]));
}
