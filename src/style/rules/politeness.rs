//! A. Address and politeness: «Вы», capitalisation, softeners, greeting, introduction, thanks,
//! blame, directives.

use super::{
    capitalize, forbidden, has_phrase, phrase_matches, polite_case, starts_sentence, whole, Change, Finding, Input,
    POLITE_FORMS,
};
use crate::style::polite_you::polite_you_edits;
use crate::style::rules::names::is_name_form;
use crate::text::fold;
use crate::text::rude::RudeKind;
use crate::text::segment::{is_sentence_end, Doc, TokenKind};

/// A1: every ты-form becomes the formal form.
pub(crate) fn polite_you(inp: &Input, out: &mut Vec<Finding>) {
    for edit in polite_you_edits(inp.morph, inp.doc).iter() {
        // The morphology guesses at words it does not know: «худи», «Евгенй» read as
        // imperatives. A word the dictionary does not know is converted only when its ending
        // is unmistakably 2nd person («одомашнишься»).
        let second_person = ["шь", "шься"].iter().any(|e| edit.before.to_lowercase().ends_with(e));
        let unknown = !second_person && inp.speller.is_some_and(|s| !s.is_correct(&edit.before));
        if !unknown && !inp.doc.touches_protected(edit.start..edit.end) {
            out.push(Finding::fix(edit.start, edit.end, edit.after.clone()));
        }
    }
}

/// A2: «вы» addressing one client is written «Вы».
pub(crate) fn capital_you(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let plural = inp.def.list("plural_markers");
    // A message that opens by addressing a group («Коллеги, …») speaks to several people
    // throughout: «вы» stays in lower case.
    let group = &inp.lex.group_addresses;
    if doc.sentences.first().is_some_and(|s| doc.words(s).next().is_some_and(|i| group.contains(&doc.folded[i]))) {
        return;
    }
    for s in &doc.sentences {
        let words: Vec<usize> = doc.words(s).collect();
        for (k, &i) in words.iter().enumerate() {
            let word = doc.tok(i);
            let t = &doc.tokens[i];
            if t.quoted || t.protected || !POLITE_FORMS.contains(&word) {
                continue;
            }
            // Not folded: «всё» (everything) must not read as «все» (all of you).
            let near = words[k.saturating_sub(2)..(k + 3).min(words.len())].iter().map(|&j| doc.tok(j).to_lowercase());
            let after_iz = k > 0 && doc.tok(words[k - 1]).to_lowercase() == "из";
            if after_iz || near.into_iter().any(|w| plural.contains(&w) && all_of_you(&word.to_lowercase(), &w)) {
                continue;
            }
            out.push(Finding::fix(t.start, t.end, capitalize(word)));
        }
    }
}

/// Whether a plural marker near a form of «вы» makes it «all of you». A form of «все» does so
/// only in the pronoun's own case («вы все», «вас всех», «всем вам»): in «у вас все работает»
/// and «все ваши заказы» it is «всё» written without «ё», or «all your …» said to one client.
fn all_of_you(pronoun: &str, marker: &str) -> bool {
    match marker {
        "все" => pronoun == "вы",
        "всех" => pronoun == "вас",
        "всем" => pronoun == "вам",
        "всеми" => pronoun == "вами",
        _ => true,
    }
}

/// Whether a sentence already carries a softener («пожалуйста», «будьте добры»). `starts` are
/// the first tokens of the draft's softener matches, in text order (found once per draft: a scan
/// per sentence made the rule quadratic in the number of sentences).
fn has_softener(starts: &[usize], tokens: std::ops::Range<usize>) -> bool {
    let k = starts.partition_point(|&first| first < tokens.start);
    starts.get(k).is_some_and(|first| tokens.contains(first))
}

/// Whether token `i` is an imperative that asks the client to do something («пришлите»;
/// «пришли» too, which A1 makes formal first).
pub(crate) fn is_request_verb(inp: &Input, i: usize) -> bool {
    let doc = inp.doc;
    let word = doc.tok(i);
    if doc.tokens[i].protected || inp.lex.not_requests.contains(&fold(word)) {
        return false;
    }
    // «Не волнуйтесь» reassures; «Вы перезагрузите» states (the 2nd-plural future and the
    // imperative often share a form, so a «вы» before the verb decides).
    let prev = doc.prev_non_space(i).map(|p| fold(doc.tok(p)));
    if matches!(prev.as_deref(), Some("не" | "вы")) {
        return false;
    }
    // «вы все получите», «вы сами увидите»: «вы» a word or two before makes it a statement.
    let before: Vec<usize> = (0..i).rev().filter(|&j| doc.tokens[j].kind == TokenKind::Word).take(2).collect();
    let same_clause = |j: usize| doc.tokens[j..i].iter().all(|t| matches!(t.kind, TokenKind::Word | TokenKind::Space));
    if before.iter().any(|&j| doc.folded[j] == "вы" && same_clause(j)) {
        return false;
    }
    // «Если оплатите заказ до пятницы, …», «Когда получите код, …»: a verb in a subordinate
    // clause states a condition or a time (the clause runs back to a punctuation mark).
    let clause = (0..i).rev().take_while(|&j| doc.tokens[j].kind != TokenKind::Punct);
    if clause.filter(|&j| doc.tokens[j].kind == TokenKind::Word).any(|j| inp.lex.subordinators.contains(&doc.folded[j]))
    {
        return false;
    }
    // «Слушайте, …», «Смотрите, …»: a perception verb set off by a comma at the head of its
    // sentence is a discourse marker, not a request.
    // So is one before a word that cannot be its object: only nominative («смотрите, ситуация
    // такая»), where «смотрите видео» (nominative or accusative) asks.
    let comma_follows = doc.next_non_space(i).is_some_and(|n| {
        let subject_only = || {
            let readings = inp.morph.analyses(doc.tok(n));
            doc.tokens[n].kind == TokenKind::Word
                && readings.iter().any(|a| a.has("nomn"))
                && readings.iter().all(|a| !a.has("accs") && !a.has("gent") && a.pos() != "INFN")
        };
        doc.tok(n) == "," || matches!(doc.folded[n].as_str(), "ну" | "а" | "вот" | "я" | "мы" | "это") || subject_only()
    });
    // At the head of its sentence (a particle may come first: «ну смотрите, …»), or right after
    // the opening address («Анна, смотрите, …»).
    let after_particle = doc
        .prev_non_space(i)
        .filter(|&p| matches!(doc.folded[p].as_str(), "ну" | "а" | "вот" | "так"))
        .is_some_and(|p| starts_sentence(doc, p));
    let at_head = starts_sentence(doc, i)
        || after_particle
        || opening_address(inp).is_some_and(|(_, last)| {
            let after = doc.next_non_space(last);
            after == Some(i) || after.filter(|&c| doc.tok(c) == ",").and_then(|c| doc.next_non_space(c)) == Some(i)
        });
    if comma_follows && at_head && inp.lex.discourse_markers.contains(&fold(word)) {
        return false;
    }
    // A formal imperative often shares its form with the future («проверите»), so any reading
    // counts; a singular one must be the best reading («при» is a preposition first) of a word
    // the dictionary knows («Худи» is not an imperative).
    let readings = inp.morph.analyses(word);
    // The contextual tagger is not asked here: trained on news, it reads chat imperatives
    // («Перезагрузите роутер») as indicative (measured: the second dev set's pass rate fell
    // from 0.956 to 0.934 when it decided).
    readings.iter().any(|a| a.has("impr") && a.has("plur") && !a.has("incl"))
        || readings.first().is_some_and(|a| a.has("impr") && a.has("sing"))
            && inp.speller.is_none_or(|s| s.is_correct(word))
}

/// A3: a request gets «пожалуйста»; a sentence keeps at most one.
pub(crate) fn softener(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let softeners: Vec<usize> = phrase_matches(doc, &inp.lex.softeners).iter().map(|&(first, _, _)| first).collect();
    // «Заткнитесь, пожалуйста»: a draft with a rude word (A10's, not a mild one) is to be
    // rewritten, not softened — in none of its sentences.
    let rude = inp.lex.rude.find(doc, inp.morph).iter().any(|r| r.kind != RudeKind::Mild);
    for s in &doc.sentences {
        let pleases: Vec<usize> = doc.words(s).filter(|&i| fold(doc.tok(i)) == "пожалуйста").collect();
        // «пожалуйста» inside a sentence is set off by commas on both sides.
        if let Some(&p) = pleases.first() {
            let t = &doc.tokens;
            let word_before = doc.prev_non_space(p).filter(|&b| b >= s.tokens.start && t[b].kind != TokenKind::Punct);
            let word_after = doc.next_non_space(p).filter(|&a| a < s.tokens.end && t[a].kind != TokenKind::Punct);
            if let Some(b) = word_before.filter(|&b| !t[b].protected) {
                out.push(Finding::fix(t[b].end, t[b].end, ",").message("message_commas"));
            }
            if word_after.is_some() {
                out.push(Finding::fix(t[p].end, t[p].end, ",").message("message_commas"));
            }
        }
        for &extra in pleases.iter().skip(1) {
            let change = super::removal(doc, extra, extra);
            out.push(Finding::fix_with(change.start.min(doc.tokens[extra].start), doc.tokens[extra].end, "", change));
        }
        // Steps of a numbered list are instructions; the request is the line that opens them.
        let list_item = doc.tokens[s.tokens.start].kind == TokenKind::Number;
        if !pleases.is_empty() || list_item || has_softener(&softeners, s.tokens.clone()) {
            continue;
        }
        if rude {
            continue;
        }
        let Some(verb) = doc.words(s).find(|&i| is_request_verb(inp, i)) else { continue };
        let t = &doc.tokens[verb];
        let next = doc.next_non_space(verb).filter(|&n| n < s.tokens.end);
        let closes = next.is_none_or(|n| {
            let tok = doc.tok(n);
            doc.tokens[n].kind != TokenKind::Word && (tok == "," || tok.chars().all(is_sentence_end))
        });
        let word = doc.tok(verb);
        let replacement =
            if closes { format!("{word}, пожалуйста") } else { format!("{word}, пожалуйста,") };
        out.push(Finding::fix(t.start, t.end, replacement));
    }
}

/// The greeting at the start of the draft: (first token, last token, formal?).
pub(crate) fn opening_greeting(inp: &Input) -> Option<(usize, usize, Option<String>)> {
    let doc = inp.doc;
    let first_sentence = doc.sentences.first()?;
    let informal = phrase_matches(doc, &inp.lex.greetings);
    let formal = phrase_matches(doc, &inp.lex.formal_greetings);
    // The greeting may follow an address: «Дмитрий Алексеевич, доброе утро!», «Коллеги привет».
    let after_address = opening_address(inp).and_then(|(_, last)| doc.next_non_space(last)).and_then(|c| {
        if doc.tok(c) == "," {
            doc.next_non_space(c)
        } else {
            Some(c)
        }
    });
    let at_start = |first: usize| first == first_sentence.tokens.start || Some(first) == after_address;
    if let Some(&(f, l, _)) = formal.iter().find(|(f, _, _)| at_start(*f)) {
        return Some((f, l, None));
    }
    informal.iter().find(|(f, _, _)| at_start(*f)).map(|&(f, l, formal)| (f, l, Some(formal.clone())))
}

/// The opening address `first..=last` to repeat after a greeting: the client's name as the
/// client gave it («зульфия рашидовна» → «Зульфия Рашидовна»), a group address capitalised.
fn address_as_written(inp: &Input, first: usize, last: usize) -> String {
    let doc = inp.doc;
    let written = &doc.text[doc.tokens[first].start..doc.tokens[last].end];
    let words = doc.tokens[first..=last].iter().filter(|t| t.kind == TokenKind::Word).count();
    match inp.ctx.client_name().map(|n| n.split_whitespace().take(words).collect::<Vec<_>>().join(" ")) {
        Some(name) if fold(&name) == fold(&written.split_whitespace().collect::<Vec<_>>().join(" ")) => name,
        // «саш» → «Саша»: the colloquial vocative is written out.
        Some(name) if words == 1 && is_name_form(inp.morph, written, &name) => name,
        _ => capitalize(written),
    }
}

/// The address the message opens with, as first and last token: the client's name (its first
/// words as the client gave them, any case: «зульфия рашидовна, …») or an address to a group
/// («Коллеги», «Уважаемые коллеги»).
pub(crate) fn opening_address(inp: &Input) -> Option<(usize, usize)> {
    let doc = inp.doc;
    let first = doc.sentences.first()?.tokens.start;
    let word = |i: usize| doc.tokens[i].kind == TokenKind::Word;
    if !word(first) {
        return None;
    }
    let mut last = None;
    if let Some(name) = inp.ctx.client_name() {
        // The first name may be written as one of its pet forms («танечка» for «Татьяна»).
        let pet_form = |i: usize, part: &str| {
            i == first && inp.lex.names.by_full(part).any(|e| e.forms.iter().any(|f| fold(f) == doc.folded[i]))
        };
        // «саш привет»: the colloquial vocative of «Саша».
        let clipped = |i: usize, part: &str| i == first && is_name_form(inp.morph, doc.tok(i), part);
        let mut j = Some(first);
        for part in name.split_whitespace() {
            match j {
                Some(i) if word(i) && (doc.folded[i] == fold(part) || pet_form(i, part) || clipped(i, part)) => {
                    last = Some(i);
                    j = doc.next_non_space(i);
                }
                _ => break,
            }
        }
    }
    if last.is_none() {
        let group = &inp.lex.group_addresses;
        let mut j = Some(first);
        while let Some(i) = j.filter(|&i| word(i) && group.contains(&doc.folded[i])) {
            last = Some(i);
            j = doc.next_non_space(i);
        }
    }
    last.map(|l| (first, l))
}

/// A4: the first message opens with a formal greeting; an informal greeting is replaced by a
/// formal one wherever the message stands, and dropped from a later message of the dialogue.
pub(crate) fn greeting(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    if doc.sentences.is_empty() {
        return;
    }
    match opening_greeting(inp) {
        Some((first, last, None)) if first == doc.sentences[0].tokens.start && !inp.ctx.is_later() => {
            // A formal greeting run into the sentence with a comma, the name or nothing
            // («Здравствуйте, Анна, ваш заказ готов», «добрый день ваш заказ готов») becomes a
            // sentence of its own; «Добрый день всем», «Добрый день, уважаемые коллеги» stay.
            let Some((address, next)) = continuation(inp, last) else { return };
            // «Уважаемый клиент, …»: the greeting is an adjective whose noun follows it.
            if address.is_none() && (greets_on(inp, next) || greets_on(inp, last)) {
                return;
            }
            let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
            let greeting = &doc.text[start..end];
            let name = after_greeting(inp, address);
            let text = format!("{greeting}{name}! {}", capitalize(doc.tok(next)));
            let change = Change { start, end: doc.tokens[next].end, text: text.clone() };
            out.push(Finding::fix_with(start, doc.tokens[next].end, text, change).message("message_run_on"));
        }
        Some((_, _, None)) => {}
        Some((first, last, Some(_))) if inp.ctx.is_later() => {
            // Mid-dialogue the greeting goes: «привет, щас гляну» → «Щас гляну».
            let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
            let change = super::removal(doc, first, last);
            out.push(Finding::fix_with(start, end, "", change).message("message_later"));
        }
        Some((first, last, Some(formal))) if first != doc.sentences[0].tokens.start => {
            // After an address: «Коллеги привет, по вашему ИНН …» → «Коллеги, здравствуйте! По
            // вашему ИНН …».
            let Some((address_first, address_last)) = opening_address(inp) else { return };
            let address = address_as_written(inp, address_first, address_last);
            let greeting = crate::text::words::lower_first(&formal);
            let (end, text) = match continuation(inp, last) {
                Some((_, next)) => {
                    (doc.tokens[next].end, format!("{address}, {greeting}! {}", capitalize(doc.tok(next))))
                }
                None => (doc.tokens[last].end, format!("{address}, {greeting}")),
            };
            let change = Change { start: doc.tokens[address_first].start, end, text };
            let finding = Finding::fix_with(doc.tokens[first].start, doc.tokens[last].end, greeting, change);
            out.push(if inp.ctx.is_first() { finding } else { finding.message("message_informal") });
        }
        Some((first, last, Some(formal))) => {
            let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
            let finding = match continuation(inp, last) {
                // «привет, Анна, щас гляну» → «Здравствуйте, Анна! Щас гляну»: the greeting
                // becomes a sentence of its own.
                Some((address, next)) => {
                    let name = after_greeting(inp, address);
                    let change = Change {
                        start,
                        end: doc.tokens[next].end,
                        text: format!("{formal}{name}! {}", capitalize(doc.tok(next))),
                    };
                    Finding::fix_with(start, end, formal, change)
                }
                None => {
                    let formal =
                        if starts_sentence(doc, first) { formal } else { crate::text::words::lower_first(&formal) };
                    Finding::fix(start, end, formal)
                }
            };
            // Where the message stands is unknown: the greeting is informal, not missing.
            out.push(if inp.ctx.is_first() { finding } else { finding.message("message_informal") });
        }
        None if inp.ctx.is_first() => {
            let at = doc.sentences[0].start;
            // A message that opens with an address gets the greeting before it: «Анастасия, ваш
            // заказ …» → «Здравствуйте, Анастасия! Ваш заказ …».
            let word_after = |last: usize| {
                // «олег вы не переживайте»: the comma may be missing.
                let after = doc.next_non_space(last)?;
                let next = if doc.tok(after) == "," { doc.next_non_space(after)? } else { after };
                Some(next).filter(|&w| doc.tokens[w].kind == TokenKind::Word)
            };
            if let Some((first, last, next)) = opening_address(inp).and_then(|(f, l)| word_after(l).map(|n| (f, l, n)))
            {
                let address = address_as_written(inp, first, last);
                let text = format!("Здравствуйте, {address}! {}", capitalize(doc.tok(next)));
                let change = Change { start: at, end: doc.tokens[next].end, text };
                out.push(Finding::fix_with(at, at, "Здравствуйте, ", change));
                return;
            }
            let text = match inp.ctx.client_name() {
                Some(name) => format!("Здравствуйте, {name}! "),
                None => "Здравствуйте! ".to_string(),
            };
            out.push(Finding::fix(at, at, text));
        }
        None => {}
    }
}

/// The address found by [`continuation`] as it follows a greeting: «, Анна», or nothing.
fn after_greeting(inp: &Input, address: Option<(usize, usize)>) -> String {
    address.map(|(a, b)| format!(", {}", address_as_written(inp, a, b))).unwrap_or_default()
}

/// Whether word `i` right after a greeting still belongs to it: who is greeted («всем»,
/// «коллеги», «уважаемые …», «дорогой …») rather than the message's first word.
fn greets_on(inp: &Input, i: usize) -> bool {
    let word = inp.doc.folded[i].as_str();
    inp.lex.group_addresses.contains(word)
        || inp.def.list("greeted").iter().any(|w| w.strip_suffix('*').map_or(w == word, |stem| word.starts_with(stem)))
}

/// When the sentence goes on after the greeting at token `last` («привет, Анна, щас…», «привет
/// анна щас…»): the client's name right after the greeting, in any case and with or without
/// commas (its first and last token), and the first word after it.
fn continuation(inp: &Input, last: usize) -> Option<(Option<(usize, usize)>, usize)> {
    let doc = inp.doc;
    let is_comma = |i: Option<usize>| i.is_some_and(|i| doc.tok(i) == ",");
    let skip_comma = |i: Option<usize>| if is_comma(i) { i.and_then(|c| doc.next_non_space(c)) } else { i };
    let name: Vec<String> = inp.ctx.client_name().map(|n| n.split_whitespace().map(fold).collect()).unwrap_or_default();
    let mut cursor = skip_comma(doc.next_non_space(last));
    let mut address: Option<(usize, usize)> = None;
    // «Добрый день, Сергей! Ваш мастер…» with another name, or none, given: a capitalised first
    // name (and patronymic) is an address too.
    let a_name = |w: usize, tag: &str| {
        doc.tok(w).starts_with(char::is_uppercase)
            && inp.morph.analyses(doc.tok(w)).iter().any(|a| a.known && a.has(tag))
    };
    let named = |w: usize, first: bool| {
        name.contains(&doc.folded[w]) || if first { a_name(w, "Name") } else { a_name(w, "Patr") }
    };
    while let Some(w) = cursor.filter(|&w| doc.tokens[w].kind == TokenKind::Word && named(w, address.is_none())) {
        address = Some((address.map_or(w, |(a, _)| a), w));
        cursor = doc.next_non_space(w);
    }
    let next = if address.is_some() { skip_comma(cursor) } else { cursor };
    // Without an address the greeting must be followed by the next word directly («привет щас
    // гляну») or by a comma.
    let word = next.filter(|&w| doc.tokens[w].kind == TokenKind::Word && !doc.tokens[w].protected)?;
    Some((address, word))
}

/// A5: at first contact the operator says who they are.
pub(crate) fn introduce_self(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    // «меня зовут Маша» from Мария: the operator gives the name the client will address.
    if let Some(own) = inp.ctx.operator_name().and_then(|n| n.split_whitespace().next()) {
        let words = &doc.word_tokens;
        for k in 2..words.len() {
            let i = words[k];
            let introduces = doc.folded[words[k - 2]] == "меня" && doc.folded[words[k - 1]] == "зовут";
            let pet_form = || inp.lex.names.by_full(own).any(|e| e.forms.iter().any(|f| fold(f) == doc.folded[i]));
            if introduces && doc.folded[i] != fold(own) && pet_form() {
                out.push(Finding::fix(doc.tokens[i].start, doc.tokens[i].end, own).message("message_pet_form"));
            }
        }
    }
    let (Some(operator), true) = (inp.ctx.operator_name(), inp.ctx.is_first()) else { return };
    if doc.sentences.is_empty() || has_phrase(doc, "меня зовут") || has_phrase(doc, operator) {
        return;
    }
    let Some(template) = inp.def.text("template") else { return };
    let sentence = polite_case(inp.profile, &template.replace("{operator}", operator));
    let (at, text) = match opening_greeting(inp) {
        Some(_) => match doc.sentences.get(1) {
            Some(next) => (next.start, format!("{sentence} ")),
            None => (doc.sentences[0].end, format!(" {sentence}")),
        },
        None => (doc.sentences[0].start, format!("{sentence} ")),
    };
    out.push(Finding::fix(at, at, text));
}

/// A6: thank the client for information; no message that is only «спасибо».
pub(crate) fn thanks(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let thanks_words = inp.def.list("thanks_only");
    let words: Vec<String> =
        doc.tokens.iter().filter(|t| t.kind == TokenKind::Word).map(|t| fold(doc.slice(t))).collect();
    let thanked = words.iter().any(|w| w.starts_with("спасиб") || w.starts_with("благодар"));
    if !inp.ctx.is_first() && thanked && words.iter().all(|w| thanks_words.contains(w)) {
        let (start, end) = whole(doc);
        out.push(Finding::flag(start, end));
        return;
    }
    let Some(client) = inp.ctx.latest_client_message() else { return };
    let client_doc = Doc::new(client, &[], &[]);
    if thanked || !client_doc.tokens.iter().any(|t| t.kind.is_fact()) || doc.sentences.is_empty() {
        return;
    }
    let at = match opening_greeting(inp) {
        Some((_, last, _)) => {
            doc.sentences.iter().find(|s| s.start > doc.tokens[last].end).map_or(doc.sentences[0].start, |s| s.start)
        }
        None => doc.sentences[0].start,
    };
    let suggestion = inp.def.text("suggestion").unwrap_or("Спасибо за информацию! ");
    out.push(Finding::suggest(at, at, vec![suggestion.to_string()]));
}

/// The forbidden phrases of one rule, offered with their suggested wording.
fn forbidden_suggestions(inp: &Input, rule: &str, out: &mut Vec<Finding>) {
    for (first, last, f) in forbidden(inp, inp.lex, rule) {
        let (start, end) = (inp.doc.tokens[first].start, inp.doc.tokens[last].end);
        out.push(Finding::suggest(start, end, vec![polite_case(inp.profile, &f.replacement)]));
    }
}

/// A7: no blame on the client. Besides the listed phrases, two shapes of a sentence are blame
/// whatever their words: the client as the subject of a verb qualified by an error marker
/// («Вы (сами) неправильно ввели …», «ты не туда нажал»), and a reproach about the past with no
/// other party named («Надо было внимательнее заполнять форму»). A condition («Если Вы неверно
/// ввели код, …») is guidance, not blame.
pub(crate) fn no_blame(inp: &Input, out: &mut Vec<Finding>) {
    let mut found = Vec::new();
    forbidden_suggestions(inp, "no-blame", &mut found);
    let doc = inp.doc;
    let markers = inp.def.list("error_markers");
    let fillers = inp.def.list("fillers");
    let reproaches: Vec<Vec<String>> =
        inp.def.list("reproaches").iter().map(|r| r.split_whitespace().map(fold).collect()).collect();
    let other_parties = inp.def.list("other_parties");
    let conditions = inp.def.list("conditions");
    let suggestion = inp.def.text("suggestion").map(|s| polite_case(inp.profile, s));
    let is_verb = |i: usize| {
        inp.morph.analyses(doc.tok(i)).first().is_some_and(|a| ["VERB", "INFN", "PRTS", "GRND"].contains(&a.pos()))
    };
    for s in &doc.sentences {
        let words: Vec<usize> = doc.words(s).collect();
        let w = |k: usize| doc.folded[words[k]].as_str();
        for k in 0..words.len() {
            if conditions.iter().any(|c| c == w(k)) {
                break; // the rest of the sentence is a condition
            }
            let mut span = None;
            if matches!(w(k), "вы" | "ты") {
                // subject, fillers, an error marker (one or two words), then the verb
                let mut j = k + 1;
                while j < words.len() && fillers.iter().any(|f| f == w(j)) {
                    j += 1;
                }
                let marker_at = |j: usize| {
                    (1..=2).rev().find(|&n| {
                        j + n <= words.len()
                            && markers.iter().any(|m| *m == (j..j + n).map(w).collect::<Vec<_>>().join(" "))
                    })
                };
                let emphatic =
                    words[k + 1..j].iter().any(|&i| matches!(doc.folded[i].as_str(), "сам" | "сама" | "сами"));
                let past =
                    |i: usize| inp.morph.analyses(doc.tok(i)).first().is_some_and(|a| a.has("VERB") && a.has("past"));
                if let Some(n) = marker_at(j) {
                    // «Вы неправильно ввели»
                    if let Some(v) = (j + n..(j + n + 2).min(words.len())).find(|&v| is_verb(words[v])) {
                        span = Some((words[k], words[v]));
                    }
                } else if emphatic && j < words.len() && past(words[j]) {
                    // «Вы сами отключили услугу»
                    span = Some((words[k], words[j]));
                } else if let Some((v, n)) = (k + 1..(k + 9).min(words.len()))
                    .filter(|&v| past(words[v]))
                    .find_map(|v| marker_at(v + 1).map(|n| (v, n)))
                {
                    // «ты, когда оформлял, выбрал не тот размер»
                    span = Some((words[k], words[v + n]));
                }
            } else if let Some(r) = reproaches
                .iter()
                .find(|r| k + r.len() <= words.len() && r.iter().enumerate().all(|(n, part)| part == w(k + n)))
            {
                let addressed_elsewhere = words[..k].iter().any(|&i| other_parties.contains(&doc.folded[i]));
                let end = (k + r.len()..(k + r.len() + 3).min(words.len())).find(|&v| is_verb(words[v]));
                if let (false, Some(v)) = (addressed_elsewhere, end) {
                    span = Some((words[k], words[v]));
                }
            }
            if let Some((a, b)) = span {
                let (start, end) = (doc.tokens[a].start, doc.tokens[b].end);
                if !found.iter().any(|f: &Finding| f.start < end && start < f.end) {
                    found.push(Finding::suggest(start, end, suggestion.clone().into_iter().collect()));
                }
            }
        }
    }
    found.sort_by_key(|f| f.start);
    out.extend(found);
}

/// A8: no directive reminders.
pub(crate) fn no_directive(inp: &Input, out: &mut Vec<Finding>) {
    forbidden_suggestions(inp, "no-directive", out);
}

/// A11: a refusal carries regret. The first refusal of a message without any word of regret
/// opens with «К сожалению» (a bare «Нет» becomes «К сожалению, нет»), and a last sentence that
/// only slams the door («Всё.», «И точка.») goes.
pub(crate) fn regret(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    if inp.def.list("regrets").iter().any(|r| has_phrase(doc, r)) {
        return;
    }
    let sentence_words = |s: &crate::text::segment::Sentence| -> Vec<usize> { doc.words(s).collect() };
    let folded = |words: &[usize]| -> Vec<&str> { words.iter().map(|&i| doc.folded[i].as_str()).collect() };
    let opens = |words: &[&str], phrase: &str| {
        let phrase: Vec<&str> = phrase.split_whitespace().collect();
        words.starts_with(&phrase)
    };
    let asks = |s: &crate::text::segment::Sentence, words: &[&str]| {
        doc.text[s.start..s.end].trim_end().ends_with('?') || words.contains(&"ли")
    };
    let (refusals, conditions) = (inp.def.list("refusals"), inp.def.list("conditions"));
    let refusal = doc.sentences.iter().find(|s| {
        let words = sentence_words(s);
        let words = folded(&words);
        // The first refusal phrase, unless a condition word comes before it.
        let at = (0..words.len()).find(|&k| refusals.iter().any(|r| opens(&words[k..], r)));
        let condition = at.is_some_and(|k| words[..k].iter().any(|w| conditions.iter().any(|c| c == w)));
        words == ["нет"] || (!asks(s, &words) && !condition && at.is_some())
    });
    let Some(refusal) = refusal else { return };
    let words = sentence_words(refusal);
    let Some(&first) = words.first() else { return };
    let t = &doc.tokens[first];
    if t.protected || t.quoted {
        return;
    }
    let word = doc.tok(first);
    let openers = inp.def.list("openers");
    if openers.contains(&doc.folded[first]) && words.len() > 1 {
        // «Но изменить адрес не получится» → «Но, к сожалению, изменить …».
        let comma_follows = doc.next_non_space(first).is_some_and(|n| doc.tok(n) == ",");
        let insert = if comma_follows { ", к сожалению" } else { ", к сожалению," };
        out.push(Finding::fix(t.start, t.end, format!("{word}{insert}")));
    } else {
        // Names and the polite «Вы» keep their capital; other words continue the sentence.
        let proper = POLITE_FORMS.contains(&word.to_lowercase().as_str())
            || inp
                .morph
                .analyses(word)
                .iter()
                .any(|a| ["Name", "Surn", "Patr", "Geox", "Orgn"].iter().any(|g| a.has(g)))
            || word.chars().skip(1).any(char::is_uppercase);
        let rest = if proper { word.to_string() } else { crate::text::words::lower_first(word) };
        out.push(Finding::fix(t.start, t.end, format!("К сожалению, {rest}")));
    }
    // A last sentence that only slams the door goes, from the end of the sentence before it.
    let curt = inp.def.list("curt_endings");
    if let [.., before, last] = doc.sentences.as_slice() {
        let words = sentence_words(last);
        if last.start > refusal.start && curt.iter().any(|c| c.split_whitespace().eq(folded(&words))) {
            out.push(Finding::fix(before.end, last.end, "").message("message_curt"));
        }
    }
}
