//! C. Literacy and register: capitals, punctuation, spelling, slang, cute diminutives, jargon,
//! shouting, exclamation runs and emoji.

use super::{capitalize, match_case, phrase_matches, removal, starts_sentence, Change, Finding, Input};
use crate::style::lexicon::PhraseTable;
use crate::text::fold;
use crate::text::segment::{is_sentence_end, Doc, TokenKind};
use crate::text::words::is_letter;

/// C7: no CAPS LOCK words except known acronyms. A one-letter word («С», «В», «К») is shouted
/// when a shouted word stands next to it («ЗАВТРА С 10 ДО 18»).
pub(crate) fn shouting(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let shouted = |i: usize, min_letters: usize| {
        let t = &doc.tokens[i];
        if t.kind != TokenKind::Word || t.protected || t.quoted {
            return false;
        }
        let word = doc.tok(i);
        let letters = word.chars().filter(|&c| is_letter(c)).count();
        let cyrillic = word.chars().any(|c| matches!(c, 'А'..='я' | 'Ё' | 'ё'));
        let caps = word.chars().filter(|&c| is_letter(c)).all(char::is_uppercase);
        letters >= min_letters && cyrillic && caps && !inp.lex.acronyms.contains(word)
    };
    // The nearest word before and after token `i`, skipping spaces and facts («С 10 ДО 18»).
    let neighbour_words = |i: usize| {
        let skip = |j: &usize| matches!(doc.tokens[*j].kind, TokenKind::Space) || doc.tokens[*j].kind.is_fact();
        let before = (0..i).rev().find(|j| !skip(j));
        let after = (i + 1..doc.tokens.len()).find(|j| !skip(j));
        [before, after]
    };
    // A short capitalised word before a number, in a sentence that shouts nowhere else, is a
    // series or a code («полис ХХХ 0123456789», «серия АВ 123456»), not a raised voice.
    let code = |i: usize| {
        let short = doc.tok(i).chars().count() <= 4;
        let before_fact = doc.next_non_space(i).is_some_and(|n| doc.tokens[n].kind.is_fact());
        let sentence = doc.sentences.iter().find(|s| s.tokens.contains(&i));
        short && before_fact && sentence.is_some_and(|s| s.tokens.clone().all(|j| j == i || !shouted(j, 3)))
    };
    for (i, t) in doc.tokens.iter().enumerate() {
        let word = doc.tok(i);
        if shouted(i, 2) && code(i) {
            continue;
        }
        let alone = word.chars().count() == 1
            && shouted(i, 1)
            && neighbour_words(i).into_iter().flatten().any(|n| shouted(n, 2));
        if !shouted(i, 2) && !alone {
            continue;
        }
        let lower = word.to_lowercase();
        let fixed = if starts_sentence(doc, i) { capitalize(&lower) } else { lower };
        if fixed != word {
            out.push(Finding::fix(t.start, t.end, fixed));
        }
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
    if inp.profile.emoji_mirroring && !inp.ctx.is_first() && client_used_emoji(inp) {
        return;
    }
    let is_face =
        |i: usize| matches!(doc.tokens[i].kind, TokenKind::Emoji | TokenKind::Smiley) && !doc.tokens[i].quoted;
    // The opening greeting, found once (on the first emoji between two clauses).
    let mut opening = None;
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
        // An emoji between two clauses of one line served as their full stop («Добрый день 😊
        // посылка уже в пути»): a mark takes its place («!» after the opening greeting).
        let prev = doc.prev_non_space(first).filter(|&p| {
            let kind = doc.tokens[p].kind;
            kind == TokenKind::Word || kind.is_fact()
        });
        let next = doc.next_non_space(last).filter(|&n| doc.tokens[n].kind == TokenKind::Word);
        let change = match (prev, next) {
            (Some(p), Some(n)) => {
                let opening = opening.get_or_insert_with(|| super::politeness::opening_greeting(inp));
                let greeting = opening.as_ref().is_some_and(|&(_, l, _)| l == p);
                let mark = if greeting { "!" } else { "." };
                Change { start: doc.tokens[p].end, end: doc.tokens[n].start, text: format!("{mark} ") }
            }
            _ => Change { start: change_start, end: change_end, text: String::new() },
        };
        out.push(Finding::fix_with(start, end, "", change));
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
///
/// A list entry matches its written form, and also — for one-word entries — every other form
/// of the same word: «порешаем» is found through its lemma «порешать», and the replacement is
/// put in the same form («решим»; see [`super::inflected_swap`]). A slang noun used as an
/// address («Чел, не беспокойтесь») is dropped, not replaced.
fn swap_list<T>(inp: &Input, table: &PhraseTable<T>, payload: fn(&T) -> Option<&str>, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let matches = phrase_matches(doc, table);
    let interjections = inp.def.list("interjections");
    let set_off_after_word = inp.def.list("set_off_after_word");
    // «ок понял» → «Хорошо, понял»: a discourse word that opens its clause right before a word
    // is set off by a comma once it is replaced.
    let set_off = |i: usize| {
        let opens = doc.prev_non_space(i).is_none_or(|p| doc.tokens[p].kind == TokenKind::Punct);
        let word_next = doc.next_non_space(i).is_some_and(|n| doc.tokens[n].kind == TokenKind::Word);
        if interjections.contains(&doc.folded[i]) && opens && word_next {
            ","
        } else {
            ""
        }
    };
    // «он уже едет ок»: a discourse word that closes a clause after a content word is a tag
    // («…, ладно?»), not an answer: «хорошо» there would change the meaning («едет хорошо»).
    let tag = |i: usize| {
        let after_word = doc.prev_non_space(i).is_some_and(|p| {
            doc.tokens[p].kind == TokenKind::Word
                && !matches!(doc.folded[p].as_str(), "ну" | "да" | "так" | "вот" | "и")
        });
        let closes = doc.next_non_space(i).is_none_or(|n| doc.tokens[n].kind == TokenKind::Punct);
        interjections.contains(&doc.folded[i]) && after_word && closes
    };
    for &(first, last, value) in &matches {
        let replacement = payload(value);
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        let found = &doc.text[start..end];
        let vocative = first == last && replacement.is_some_and(|r| is_vocative(inp, first, r));
        match replacement {
            None => out.push(Finding::flag(start, end)),
            Some(_) if first == last && tag(first) => {
                let change = removal(doc, first, last);
                out.push(Finding::fix_with(start, end, "", change));
            }
            Some("") => {
                let change = removal(doc, first, last);
                out.push(Finding::fix_with(start, end, "", change));
            }
            Some(_) if vocative => {
                let change = removal(doc, first, last);
                out.push(Finding::fix_with(start, end, "", change));
            }
            Some(r) if first == last && !vocative => match super::noun_swap(inp.morph, doc, first, r) {
                // «норм срок»: an adverb cannot take an adjective's place before a noun
                // («нормально срок»), so the swap is only offered.
                super::NounSwap::Fits if adverb_before_noun(inp, last, r) => {
                    out.push(Finding::suggest(start, end, vec![r.to_string()]))
                }
                super::NounSwap::Fits => {
                    let r = governed_case(inp, first, last, r).unwrap_or_else(|| r.to_string());
                    let after_word = doc.prev_non_space(first).filter(|&p| doc.tokens[p].kind == TokenKind::Word);
                    match after_word.filter(|_| set_off_after_word.contains(&r)) {
                        Some(p) => out.push(Finding::fix(doc.tokens[p].end, end, format!(", {r}"))),
                        None => out.push(Finding::fix(start, end, match_case(found, &r) + set_off(first))),
                    }
                }
                super::NounSwap::WithAdjective { adjective, text } => {
                    let from = doc.tokens[adjective].start;
                    let change = Change { start: from, end, text: text.clone() };
                    out.push(Finding::fix_with(start, end, text, change))
                }
                super::NounSwap::Breaks => out.push(Finding::suggest(start, end, vec![r.to_string()])),
            },
            Some(r) => {
                let r = governed_case(inp, first, last, r).unwrap_or_else(|| r.to_string());
                out.push(Finding::fix(start, end, match_case(found, &r)))
            }
        }
    }
    for (i, value) in super::lemma_matches(doc, inp.morph, table, &matches) {
        let t = &doc.tokens[i];
        match payload(value) {
            None => out.push(Finding::flag(t.start, t.end)),
            Some("") => out.push(Finding::fix_with(t.start, t.end, "", removal(doc, i, i))),
            Some(r) => match super::inflected_swap(inp.morph, doc, i, r) {
                Some(form) => out.push(Finding::fix(t.start, t.end, match_case(doc.tok(i), &form))),
                None => out.push(Finding::flag(t.start, t.end)),
            },
        }
    }
}

/// Whether `replacement` is an adverb made from an adjective (it reads as a short adjective too:
/// «нормально», «хорошо», not «вообще») and the word after token `last` a noun.
fn adverb_before_noun(inp: &Input, last: usize, replacement: &str) -> bool {
    let doc = inp.doc;
    let best_pos = |word: &str| inp.morph.analyses(word).first().map(|a| a.pos().to_string());
    inp.morph.analyses(replacement).iter().any(|a| a.pos() == "ADJS")
        && doc
            .next_non_space(last)
            .is_some_and(|n| doc.tokens[n].kind == TokenKind::Word && best_pos(doc.tok(n)).as_deref() == Some("NOUN"))
}

/// A foreign word does not decline, its Russian replacement does: after a preposition the
/// replacement takes the case the preposition governs (the rule's `preposition_case` data:
/// «за delay» → «за задержку»). `None`: keep the replacement as listed.
fn governed_case(inp: &Input, first: usize, last: usize, replacement: &str) -> Option<String> {
    let doc = inp.doc;
    let latin = doc.tok(first).chars().all(|c| c.is_ascii_alphabetic() || c == '-');
    if first != last || !latin || replacement.split_whitespace().count() != 1 {
        return None;
    }
    let prev = doc.prev_non_space(first).filter(|&p| doc.tokens[p].kind == TokenKind::Word)?;
    let case = inp.def.list("preposition_case").into_iter().find_map(|pair| {
        let (prep, case) = pair.split_once(':')?;
        (prep == doc.folded[prev]).then(|| case.to_string())
    })?;
    inp.morph.inflect(replacement, |a| a.has("NOUN") && a.has("nomn"), &[case.as_str(), "sing"])
}

/// Whether word `i`, listed with `replacement`, stands as an address of its own: a noun (its
/// neutral replacement is an animate nominative noun: the dictionary does not know slang like
/// «чел») set off by a comma or the sentence's end on each side — «Чел, …», «…, бро!».
fn is_vocative(inp: &Input, i: usize, replacement: &str) -> bool {
    let doc = inp.doc;
    // An address names a person: «тикет» after «Создайте, пожалуйста,» is an object, not one.
    let noun = replacement.split_whitespace().count() == 1
        && inp.morph.analyses(replacement).first().is_some_and(|a| a.has("NOUN") && a.has("nomn") && a.has("anim"));
    let boundary = |j: Option<usize>| {
        j.is_none_or(|j| {
            let tok = doc.tok(j);
            doc.tokens[j].kind == TokenKind::Newline
                || doc.tokens[j].kind == TokenKind::Punct && (tok == "," || tok.chars().all(is_sentence_end))
        })
    };
    let before = if starts_sentence(doc, i) { None } else { doc.prev_non_space(i) };
    noun && boundary(before) && boundary(doc.next_non_space(i)) && (before.is_some() || doc.next_non_space(i).is_some())
}

/// C4: no slang, fillers or chat abbreviations. Typed laughter («аххаха», «хехе») is no list
/// entry but a shape: it goes.
pub(crate) fn slang(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.slang, |r| Some(r.as_str()), out);
    let doc = inp.doc;
    for &i in &doc.word_tokens {
        let t = &doc.tokens[i];
        if !t.protected && !t.quoted && is_laughter(&doc.folded[i]) {
            out.push(Finding::fix_with(t.start, t.end, "", removal(doc, i, i)));
        }
    }
}

/// Whether a folded word is typed laughter: four letters or more, only «х» and the vowels а, е,
/// и, ы, with at least two «х» and a vowel between them («хаха», «ахахах», «хехе»).
fn is_laughter(word: &str) -> bool {
    let letters: Vec<char> = word.chars().collect();
    letters.len() >= 4
        && letters.iter().all(|c| matches!(c, 'х' | 'а' | 'е' | 'и' | 'ы'))
        && letters.iter().filter(|&&c| c == 'х').count() >= 2
        && letters.windows(3).any(|w| w[0] == 'х' && w[1] != 'х' && w[2] == 'х')
}

/// C5: no cute diminutives of business words.
pub(crate) fn cutesy(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.cutesy, |r| Some(r.as_str()), out);
}

/// C6: no unexplained jargon or anglicisms.
pub(crate) fn jargon(inp: &Input, out: &mut Vec<Finding>) {
    swap_list(inp, &inp.lex.jargon, |r| r.as_deref(), out);
}

/// Whether a sentence reads as a question: it opens with a question word, holds «ли», ends
/// with a question tail («…или нет») or is a whole question of its own («вопросы есть»).
fn is_question(inp: &Input, doc: &Doc, s: &crate::text::segment::Sentence) -> bool {
    let question_words = inp.def.list("question_words");
    let words: Vec<String> = doc.words(s).map(|i| fold(doc.tok(i))).collect();
    let ends_asking = inp.def.list("question_endings").iter().any(|ending| {
        let ending: Vec<&str> = ending.split_whitespace().collect();
        words.len() > ending.len() && words[words.len() - ending.len()..].iter().zip(&ending).all(|(w, e)| w == e)
    });
    let opening = words.first().is_some_and(|w| matches!(w.as_str(), "а" | "ну" | "так")) as usize;
    let rest = &words[opening..];
    // … also before its condition: «вам удобно, если курьер приедет завтра».
    let asks_whole = inp.def.list("question_sentences").iter().any(|q| {
        let q: Vec<&str> = q.split_whitespace().collect();
        rest.len() >= q.len()
            && rest.iter().zip(&q).all(|(w, q)| w == q)
            && rest.get(q.len()).is_none_or(|w| matches!(w.as_str(), "если" | "чтобы" | "когда"))
    });
    // «…абонентская плата 450 ₽, подключить»: a lone infinitive after a comma offers to act.
    let offer = doc.words(s).last().is_some_and(|last| {
        doc.prev_non_space(last).is_some_and(|p| doc.tok(p) == ",")
            && inp.morph.analyses(doc.tok(last)).first().is_some_and(|a| a.has("INFN"))
    });
    words.first().is_some_and(|w| question_words.contains(w))
        || words.iter().any(|w| w == "ли")
        || ends_asking
        || asks_whole
        || offer
}

/// Whether sentence `s` is only a formal greeting and the client's name or a group address
/// («Здравствуйте, Анна», «Добрый день, коллеги»): it ends with «!».
fn is_greeting_sentence(inp: &Input, s: &crate::text::segment::Sentence) -> bool {
    let doc = inp.doc;
    let words: Vec<&str> = doc.words(s).map(|i| doc.folded[i].as_str()).collect();
    let Some((n, _)) = inp.lex.formal_greetings.longest_at(&words) else { return false };
    let name: Vec<String> = inp.ctx.client_name().map(|n| n.split_whitespace().map(fold).collect()).unwrap_or_default();
    words[n..].iter().all(|w| name.iter().any(|p| p == w) || inp.lex.group_addresses.contains(*w))
}

/// Whether a line opens with a closing formula and its comma («С уважением, …»).
fn opens_with_signoff(line: &str, signoffs: &[String]) -> bool {
    let folded = fold(line);
    signoffs.iter().any(|f| folded.strip_prefix(f.as_str()).is_some_and(|rest| rest.trim_start().starts_with(',')))
}

/// Whether sentence `s` is an e-mail signature: a line «С уважением, Мария», or a line of the
/// block (name, position, company) under a line that ends «С уважением,».
fn is_signature(doc: &Doc, s: &crate::text::segment::Sentence, signoffs: &[String]) -> bool {
    let line_start = doc.text[..s.start].rfind('\n').map_or(0, |p| p + 1);
    let line = doc.text[line_start..s.end].trim();
    let opens_with_signoff = |text: &str| opens_with_signoff(text, signoffs);
    if opens_with_signoff(line) {
        return true;
    }
    // The signature block under a line that ends «С уважением,»: the name, the position and the
    // company, each a short line of its own.
    let before = doc.text[..line_start].trim_end();
    let block: Vec<&str> = before.rsplit('\n').map(str::trim).take_while(|l| !l.is_empty()).collect();
    let short = |l: &str| l.split_whitespace().count() <= 6 && !l.ends_with(['.', '!', '?']);
    // The block also starts under the e-mail signature separator «--» (or a dash of its own).
    let separator = |l: &str| matches!(l, "--" | "—" | "–" | "---");
    line.split_whitespace().count() <= 6
        && block
            .iter()
            .position(|l| (l.ends_with(',') && opens_with_signoff(l)) || separator(l))
            .is_some_and(|k| block[..k].iter().all(|l| short(l)))
}

/// C2: sentences end with punctuation; no space before , . ! ? : ; and one after.
pub(crate) fn end_punct(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let t = &doc.tokens;
    let signoffs = &inp.lex.signoffs;
    for s in doc.sentences.iter().filter(|s| s.ends_line && !is_signature(doc, s, signoffs)) {
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
        // An amount or id that ends in its own dot («1 500 руб.») already closes the sentence.
        let closed = ends(last)
            || t[last].kind.is_fact() && doc.tok(last).ends_with('.')
            || matches!(doc.tok(last), ":" | ";")
            || closing(last) && last > 0 && ends(last - 1)
            || t[last].kind == TokenKind::Punct && matches!(doc.tok(last), "-" | "—" | "–" | "(" | ",");
        // Inside a quotation still open at the line's end («акция «Скажи сыр⏎…»), a mark
        // would change the quoted name, which is kept verbatim (found by the fuzzer).
        if closed || t[last].kind == TokenKind::Other || (t[last].quoted && !closing(last)) {
            continue;
        }
        let mark = if is_question(inp, doc, s) {
            "?"
        } else if is_greeting_sentence(inp, s) {
            "!"
        } else {
            "."
        };
        out.push(Finding::fix(t[last].end, t[last].end, mark));
    }
    clause_commas(inp, out);
    introductory_commas(inp, out);
    comma_splices(inp, out);
    run_on_pronouns(inp, out);
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

/// Whether the best reading of word `i` is one of the parts of speech `pos`.
fn pos_is(inp: &Input, i: usize, pos: &[&str]) -> bool {
    inp.morph.analyses(inp.doc.tok(i)).first().is_some_and(|a| pos.contains(&a.pos()))
}

/// Parts of speech that make a clause: a finite verb, an infinitive, a predicative («можно»), a
/// short adjective or participle («готов», «отправлен»).
const PREDICATES: [&str; 5] = ["VERB", "INFN", "PRED", "ADJS", "PRTS"];

/// C2, run-on sentences: a subject pronoun right after a noun or a fact of a clause that already
/// has its predicate starts a sentence of its own («посмотрю заказ 458812 он у курьера» →
/// «…458812. Он у курьера»; «курьер звонил Вам 2 раза вы не брали трубку»). A clause without a
/// predicate before the pronoun is the pronoun's own («К 15:00 он будет у Вас»).
fn run_on_pronouns(inp: &Input, out: &mut Vec<Finding>) {
    const PRONOUNS: [&str; 7] = ["он", "она", "оно", "они", "мы", "вы", "я"];
    let doc = inp.doc;
    let t = &doc.tokens;
    for s in &doc.sentences {
        let mut clause_start = s.tokens.start;
        for i in s.tokens.clone() {
            if t[i].kind == TokenKind::Punct {
                clause_start = i + 1;
                continue;
            }
            if t[i].kind != TokenKind::Word || t[i].protected || !PRONOUNS.contains(&doc.folded[i].as_str()) {
                continue;
            }
            let Some(prev) = doc.prev_non_space(i).filter(|&p| p >= clause_start) else { continue };
            let noun_or_fact =
                t[prev].kind.is_fact() || (t[prev].kind == TokenKind::Word && pos_is(inp, prev, &["NOUN"]));
            let has_predicate =
                (clause_start..prev).any(|j| t[j].kind == TokenKind::Word && pos_is(inp, j, &PREDICATES));
            let goes_on = doc.next_non_space(i).is_some_and(|n| t[n].kind == TokenKind::Word);
            // «мы», «вы», «я» also end a list («забрать заказ можете вы или ваш представитель»):
            // they open a sentence only when their own predicate follows.
            let third_person = PRONOUNS[..4].contains(&doc.folded[i].as_str());
            let own_predicate = || {
                (i + 1..s.tokens.end)
                    .take_while(|&j| t[j].kind != TokenKind::Punct)
                    .filter(|&j| t[j].kind == TokenKind::Word)
                    .take(3)
                    .any(|j| pos_is(inp, j, &PREDICATES))
            };
            if noun_or_fact && has_predicate && goes_on && !t[prev].quoted && (third_person || own_predicate()) {
                out.push(Finding::fix(t[prev].end, t[i].end, format!(". {}", capitalize(doc.tok(i)))));
            }
        }
    }
}

/// The word tokens of sentence `s` split at its commas: each part as its word indices.
fn comma_parts(doc: &Doc, s: &crate::text::segment::Sentence) -> Vec<Vec<usize>> {
    let mut parts = vec![Vec::new()];
    for i in s.tokens.clone() {
        match doc.tokens[i].kind {
            TokenKind::Word => parts.last_mut().expect("never empty").push(i),
            TokenKind::Punct if doc.tok(i) == "," => parts.push(Vec::new()),
            _ => {}
        }
    }
    parts
}

/// C2, clause boundaries: a subordinate clause opened by «что», «чтобы», «если», «когда» … is
/// set off by a comma («не знаю, что сказать», «виноваты, что не указали»). The conjunction
/// must open a clause — a predicate follows before the next mark — and the word before it must
/// be one that leaves the comma to the conjunction («потому что», «так что», «и если» …).
fn clause_commas(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let t = &doc.tokens;
    let conjunctions = inp.def.list("clause_conjunctions");
    let adversative = inp.def.list("adversative_conjunctions");
    let no_comma_after = inp.def.list("no_comma_after");
    for s in &doc.sentences {
        let words: Vec<usize> = doc.words(s).collect();
        for (k, &i) in words.iter().enumerate().skip(1) {
            let opposes = adversative.contains(&doc.folded[i]);
            if t[i].protected || t[i].quoted || !(opposes || conjunctions.contains(&doc.folded[i])) {
                continue;
            }
            // The word or fact right before the conjunction («до 30.09 иначе …»).
            let Some(prev) = doc.prev_non_space(i) else { continue };
            let prev_is_fact = t[prev].kind.is_fact() && !t[prev].quoted;
            if !(prev == words[k - 1] || prev_is_fact) || t[prev].quoted {
                continue;
            }
            if !prev_is_fact && (no_comma_after.contains(&doc.folded[prev]) || pos_is(inp, prev, &["PREP", "CONJ"])) {
                continue;
            }
            // «Вы что не видите…»: «что» after an opening pronoun is a particle, not a conjunction.
            if k == 1 && doc.folded[i] == "что" && pos_is(inp, prev, &["NPRO"]) {
                continue;
            }
            // A predicate in the clause: the next few words before any punctuation.
            let clause_end = (i + 1..s.tokens.end).find(|&j| t[j].kind == TokenKind::Punct).unwrap_or(s.tokens.end);
            let has_predicate =
                words[k + 1..].iter().take_while(|&&j| j < clause_end).take(6).any(|&j| pos_is(inp, j, &PREDICATES));
            if has_predicate || opposes {
                let at = t[prev].end;
                out.push(Finding::fix(at, at, ","));
            }
        }
    }
}

/// C2, introductory words: a sentence that opens with one («к сожалению», «кстати») sets it off
/// with a comma («К сожалению, вернуть деньги нельзя»).
fn introductory_commas(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let introductory = inp.def.list("introductory");
    for s in &doc.sentences {
        let words: Vec<usize> = doc.words(s).collect();
        for phrase in &introductory {
            let phrase: Vec<&str> = phrase.split_whitespace().collect();
            let Some(&last) = words.get(phrase.len().saturating_sub(1)) else { continue };
            let opens = words.iter().zip(&phrase).all(|(&i, p)| doc.folded[i] == *p);
            // The next token must be a word of the same clause (not «ли»: «Возможно ли …»).
            let next = doc.next_non_space(last).filter(|&n| n < s.tokens.end);
            let word_next = next.is_some_and(|n| doc.tokens[n].kind == TokenKind::Word && doc.folded[n] != "ли");
            if opens && word_next && words.len() > phrase.len() && !doc.tokens[last].protected {
                let at = doc.tokens[last].end;
                out.push(Finding::fix(at, at, ","));
            }
        }
    }
}

/// C2, one thought per sentence: three or more independent statements joined only by commas
/// («доставка завтра, оплатить можно при получении, скидка 5 процентов») become sentences of
/// their own. A part is a statement when it has two to five words, opens with neither a
/// conjunction, a particle nor a relative word, and either holds a predicate or opens with a
/// noun in the nominative (a verbless statement: «доставка завтра»). Lists of things are never
/// split: one of their parts fails the test.
fn comma_splices(inp: &Input, out: &mut Vec<Finding>) {
    // Short statements only: a long part is a clause of a composed sentence, which an editor
    // would not cut.
    const MAX_SPLICED_WORDS: usize = 5;
    let doc = inp.doc;
    let openers = inp.def.list("no_split_openers");
    for s in &doc.sentences {
        let mut parts = comma_parts(doc, s);
        // A leading address («Олег Иванович, …») is no statement and stays where it is.
        let proper = |i: &usize| {
            inp.morph.analyses(doc.tok(*i)).first().is_some_and(|a| ["Name", "Patr", "Surn"].iter().any(|g| a.has(g)))
        };
        if parts.first().is_some_and(|p| !p.is_empty() && p.iter().all(proper)) {
            parts.remove(0);
        }
        if parts.len() < 3 {
            continue;
        }
        let statement = |part: &Vec<usize>| {
            let Some(&first) = part.first() else { return false };
            let nominative_noun =
                inp.morph.analyses(doc.tok(first)).first().is_some_and(|a| a.has("NOUN") && a.has("nomn"));
            (2..=MAX_SPLICED_WORDS).contains(&part.len())
                && !openers.contains(&doc.folded[first])
                && !pos_is(inp, first, &["CONJ", "PRCL", "PREP", "GRND", "PRTF", "ADJF", "NPRO"])
                && (nominative_noun || part.iter().any(|&j| pos_is(inp, j, &PREDICATES)))
        };
        if !parts.iter().all(statement) || !independent_in_context(doc, &parts) {
            continue;
        }
        for part in &parts[1..] {
            // The comma before this part becomes a full stop (C1 then capitalises the word).
            let Some(comma) = (s.tokens.start..part[0]).rev().find(|&j| doc.tok(j) == ",") else { continue };
            let tok = &doc.tokens[comma];
            out.push(Finding::fix(tok.start, tok.end, "."));
        }
    }
}

/// With the contextual models: whether no part hangs on another as a dependent phrase — its root
/// (the word whose head lies outside the part) is not an object, an oblique, a modifier or an
/// apposition of a word elsewhere. A list of objects of one verb («взять паспорт, карту,
/// договор аренды») is such a part; statements are not. The models learnt from news and tie a
/// chat's verbless statements to one predicate as subjects («доставка … можно»), so subjects
/// and clauses pass. Without the models: yes (the shape test alone decides).
fn independent_in_context(doc: &Doc, parts: &[Vec<usize>]) -> bool {
    let Some(context) = crate::text::context::analyse(doc) else { return true };
    parts.iter().all(|part| {
        let (Some(&first), Some(&last)) = (part.first(), part.last()) else { return false };
        let inside = |j: usize| (first..=last).contains(&j);
        part.iter()
            .find(|&&i| context.head(i).is_none_or(|h| !inside(h)))
            .and_then(|&root| context.rel(root))
            .is_some_and(|rel| {
                !matches!(
                    rel,
                    "obj"
                        | "iobj"
                        | "obl"
                        | "nmod"
                        | "amod"
                        | "appos"
                        | "flat"
                        | "flat:name"
                        | "det"
                        | "nummod"
                        | "xcomp"
                )
            })
    })
}

/// C1: every sentence starts with a capital letter.
pub(crate) fn capital_start(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for s in &doc.sentences {
        // A line after one that ends with a comma goes on with it («Мария Иванова,⏎отдел
        // урегулирования убытков»), except after a closing formula («С уважением,⏎Мария»).
        let before = doc.text[..s.start].trim_end_matches([' ', '\t']);
        if let Some(previous) = before.strip_suffix('\n').map(|b| b.trim_end_matches('\r')) {
            let line = previous.rsplit('\n').next().unwrap_or(previous).trim();
            if line.ends_with(',') && !opens_with_signoff(line, &inp.lex.signoffs) {
                continue;
            }
        }
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

/// C10: a listed misspelling (`misspellings.tsv`) has one right spelling: it is fixed outright.
pub(crate) fn typos(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for (first, last, right) in phrase_matches(doc, &inp.lex.misspellings) {
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        let fixed = match_case(&doc.text[start..end], right);
        // The table matches case-folded: «СДЭК» is already right.
        let written = &doc.text[start..end];
        if written != fixed && !doc.touches_protected(start..end) && !doc.tokens[first..=last].iter().any(|t| t.quoted)
        {
            out.push(Finding::fix(start, end, fixed));
        }
    }
}

/// C3: no spelling mistakes; names, facts, acronyms and list words are left to other rules.
pub(crate) fn spelling(inp: &Input, out: &mut Vec<Finding>) {
    let (doc, Some(speller)) = (inp.doc, inp.speller) else { return };
    let lex = inp.lex;
    let mut suggested = 0;
    // A rude word is A10's: «хуй» is no typo of «хай».
    let rude = lex.rude.find(doc, inp.morph);
    // A listed misspelling is C10's.
    let mut listed_typos = vec![false; doc.tokens.len()];
    for (first, last, _) in phrase_matches(doc, &lex.misspellings) {
        listed_typos[first..=last].iter_mut().for_each(|m| *m = true);
    }
    for (i, t) in doc.tokens.iter().enumerate() {
        if t.kind != TokenKind::Word || t.protected || t.quoted || listed_typos[i] {
            continue;
        }
        if rude.iter().any(|r| r.start < t.end && t.start < r.end) {
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
        let all_caps = word.chars().filter(|&c| is_letter(c)).all(char::is_uppercase) && word.chars().count() > 1;
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
