//! D. Content and structure: no «я не знаю», answer every question, numbered lists, full
//! sentences, a next step, no redirects, no bare greetings, short paragraphs.

use super::politeness::is_request_verb;
use super::{forbidden, has_phrase, match_case, polite_case, starts_sentence, whole, Change, Finding, Input};
use crate::encoder::{cosine, TextKind};
use crate::style::catalog::RuleDef;
use crate::text::fold;
use crate::text::segment::{Doc, Sentence, TokenKind};

/// D1: never «я не знаю»: promise to find out instead.
pub(crate) fn no_i_dont_know(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let particles = inp.def.list("particles");
    // The clause wording is used once per message: twice («мне нужно уточнить, почему так, мне
    // нужно уточнить, как…») reads as a machine's, so a second phrase is only reported. Its verb
    // anywhere in the draft counts («…, надо уточнить у бухгалтерии»).
    let verb = inp.def.text("with_clause").and_then(|w| w.split_whitespace().last()).map(fold);
    let mut worded = verb.is_some_and(|verb| {
        doc.word_tokens.iter().any(|&i| inp.morph.analyses(doc.tok(i)).first().is_some_and(|a| fold(&a.lemma) == verb))
    });
    for (mut first, last, _) in forbidden(inp, inp.lex, "no-i-dont-know") {
        let Some(s) = doc.sentences.iter().find(|s| s.tokens.contains(&first)) else { continue };
        // «я даже не знаю»: the subject «я» belongs to the phrase when only particles stand
        // between; with other words between, the replacement would not fit the sentence
        // («я даже мне нужно уточнить»), so the phrase is only reported.
        let words: Vec<usize> = doc.words(s).filter(|&i| i < first).collect();
        if let Some(k) = words.iter().rposition(|&i| doc.folded[i] == "я") {
            let between = &words[k + 1..];
            let gap_is_words_only =
                doc.tokens[words[k]..first].iter().all(|t| matches!(t.kind, TokenKind::Word | TokenKind::Space));
            if gap_is_words_only && between.iter().all(|&i| particles.contains(&doc.folded[i])) {
                first = words[k];
            } else if gap_is_words_only {
                let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
                out.push(Finding::suggest(
                    start,
                    end,
                    inp.def.text("with_clause").map(String::from).into_iter().collect(),
                ));
                continue;
            }
        }
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        let found = &doc.text[start..end];
        let alone = doc.words(s).all(|i| (first..=last).contains(&i));
        if alone {
            let Some(wording) = inp.def.text("whole_sentence") else { continue };
            out.push(Finding::fix(start, end, polite_case(inp.profile, wording)));
            continue;
        }
        // What follows decides what the phrase was. An indirect question («не знаю, когда
        // придёт курьер») becomes «мне нужно уточнить, когда …»; a filler before a clause of its
        // own («не знаю, это не к нам», «ну хз, может, сбой») is deleted; anything else («не
        // знаю его номер») is only reported: no wording fits every sentence.
        let next = doc.next_non_space(last);
        let comma = next.filter(|&n| doc.tok(n) == ",");
        let word_after =
            comma.map_or(next, |c| doc.next_non_space(c)).filter(|&w| doc.tokens[w].kind == TokenKind::Word);
        let clause_words = inp.def.list("clause_words");
        if let Some(end_word) = word_after.and_then(|w| at_a_loss(inp, s, w)) {
            // «не знаю, что тебе сказать» is no question to look into but being at a loss: the
            // whole of it, with the fillers before, gives way to the sentence's wording.
            let Some(wording) = inp.def.text("whole_sentence") else { continue };
            let first = with_fillers_before(inp, s, first);
            let (from, to) = (doc.tokens[first].start, doc.tokens[end_word].end);
            let wording = polite_case(inp.profile, wording);
            let replacement = if starts_sentence(doc, first) { wording } else { wording.to_lowercase() };
            out.push(Finding::fix_with(
                start,
                end,
                replacement.clone(),
                Change { start: from, end: to, text: replacement },
            ));
            continue;
        }
        match word_after {
            Some(w) if clause_words.contains(&doc.folded[w]) => {
                let Some(wording) = inp.def.text("with_clause") else { continue };
                if std::mem::replace(&mut worded, true) {
                    out.push(Finding::flag(start, end));
                    continue;
                }
                let wording = polite_case(inp.profile, wording);
                let mut replacement = match_case(found, &wording.to_lowercase());
                if comma.is_none() {
                    replacement.push(',');
                }
                out.push(Finding::fix(start, end, replacement));
            }
            Some(_) if comma.is_some() => {
                // Fillers before the phrase go with it: «ну хз, …».
                let first = with_fillers_before(inp, s, first);
                let change = super::removal(doc, first, last);
                out.push(Finding::fix_with(start, end, "", change).message("message_filler"));
            }
            _ => out.push(Finding::flag(start, end)),
        }
    }
}

/// Word `first`, or the first word of its sentence when only fillers («ну», «эх») stand before it.
fn with_fillers_before(inp: &Input, s: &Sentence, first: usize) -> usize {
    let doc = inp.doc;
    let fillers = inp.def.list("fillers");
    let before: Vec<usize> = doc.words(s).filter(|&i| i < first).collect();
    if !before.is_empty() && before.iter().all(|&i| fillers.contains(&doc.folded[i])) {
        before[0]
    } else {
        first
    }
}

/// The last word of «что (тебе) сказать» after «не знаю» when a mark or the sentence's end
/// follows it (the rule's `loss_words`, `loss_pronouns`, `loss_verbs`): the operator is at a
/// loss, not asking a question.
fn at_a_loss(inp: &Input, s: &Sentence, what: usize) -> Option<usize> {
    let doc = inp.doc;
    if !inp.def.list("loss_words").contains(&doc.folded[what]) {
        return None;
    }
    let pronouns = inp.def.list("loss_pronouns");
    let verb = doc.words(s).filter(|&i| i > what).find(|&i| !pronouns.contains(&doc.folded[i]))?;
    let plain_between = doc.tokens[what..verb].iter().all(|t| matches!(t.kind, TokenKind::Word | TokenKind::Space));
    let closes = doc.next_non_space(verb).is_none_or(|n| n >= s.tokens.end || doc.tokens[n].kind == TokenKind::Punct);
    (inp.def.list("loss_verbs").contains(&doc.folded[verb]) && plain_between && closes).then_some(verb)
}

/// Whether a sentence of `doc` is a question: it ends with «?» or opens with a question word.
fn is_question(doc: &Doc, s: &Sentence, question_words: &[String]) -> bool {
    doc.text[s.start..s.end].trim_end().ends_with('?')
        || doc.words(s).next().is_some_and(|i| question_words.contains(&fold(doc.tok(i))))
}

/// The questions of a client's message (rule `def` is D2, whose data holds the question words),
/// with elliptical follow-ups («Во сколько?») joined to the question before.
pub(crate) fn client_questions<'t>(def: &RuleDef, client: &'t str) -> Vec<&'t str> {
    let question_words = def.list("question_words");
    let elliptical = def.data.get("elliptical_words").and_then(|v| v.as_integer()).unwrap_or(0) as usize;
    let client_doc = Doc::new(client, &[], &[]);
    let mut questions: Vec<(usize, usize)> = Vec::new();
    for s in client_doc.sentences.iter().filter(|s| is_question(&client_doc, s, &question_words)) {
        let short = client_doc.words(s).count() <= elliptical;
        match questions.last_mut() {
            Some(last) if short => last.1 = s.end,
            _ => questions.push((s.start, s.end)),
        }
    }
    questions.iter().map(|&(a, b)| &client[a..b]).collect()
}

/// D2: every question of the client's latest message gets an answer (semantic match).
pub(crate) fn answer_all(inp: &Input, out: &mut Vec<Finding>) {
    let (Some(embedder), Some(client)) = (inp.embedder, inp.ctx.latest_client_message()) else { return };
    let number = |key: &str| inp.def.data.get(key).and_then(|v| v.as_float()).unwrap_or(f64::NAN) as f32;
    let (answered, related, margin) = (number("answered"), number("related"), number("margin"));
    let questions = client_questions(inp.def, client);
    let doc = inp.doc;
    let answers: Vec<&str> = doc
        .sentences
        .iter()
        .map(|s| &doc.text[s.start..s.end])
        .filter(|s| s.chars().any(char::is_alphabetic))
        .collect();
    if questions.is_empty() || answers.is_empty() {
        return;
    }
    // Questions and answers in one call: behind the server's queue, one wait instead of two.
    let items: Vec<(&str, TextKind)> = questions
        .iter()
        .map(|q| (*q, TextKind::Query))
        .chain(answers.iter().map(|a| (*a, TextKind::Passage)))
        .collect();
    let (qv, av) = match embedder.embed_mixed(&items) {
        Ok(mut v) => {
            let av = v.split_off(questions.len());
            (v, av)
        }
        Err(e) => {
            tracing::warn!("answer-all skipped: {e}");
            return;
        }
    };
    let best: Vec<f32> = qv.iter().map(|q| av.iter().map(|a| cosine(q, a)).fold(f32::MIN, f32::max)).collect();
    let top = best.iter().copied().fold(f32::MIN, f32::max);
    let (start, end) = whole(doc);
    for (question, &b) in questions.iter().zip(&best) {
        let is_answered = b >= answered || (b >= related && b >= top - margin);
        if !is_answered {
            out.push(Finding::flag(start, end).arg("question", question.trim()).arg("similarity", format!("{b:.2}")));
        }
    }
}

/// Whether sentence `s` asks something of the client: a formal imperative or a question.
fn is_request(inp: &Input, s: &Sentence) -> bool {
    let doc = inp.doc;
    let question = doc.text[s.start..s.end].trim_end().ends_with('?');
    let mut words =
        doc.words(s).filter(|&i| !matches!(fold(doc.tok(i)).as_str(), "пожалуйста" | "также" | "и" | "еще"));
    question || words.next().is_some_and(|i| is_request_verb(inp, i))
}

/// D3: two or more requests in a row become a numbered list.
pub(crate) fn numbered(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    // Numbered at the line starts, or inline («сделай так: 1. зайди … 2. введи …»): the draft
    // has its list, and numbering its sentences again would double the numbers.
    let marks: Vec<(&str, usize)> = doc
        .tokens
        .iter()
        .zip(doc.tokens.iter().skip(1))
        .filter(|(a, b)| a.kind == TokenKind::Number && matches!(doc.slice(b), "." | ")"))
        .map(|(a, _)| (doc.slice(a), a.start))
        .collect();
    let inline_list = marks.iter().any(|(n, _)| *n == "1") && marks.iter().any(|(n, _)| *n == "2");
    let already_numbered = inline_list || marks.iter().any(|&(_, at)| starts_line(doc.text, at));
    if already_numbered {
        return;
    }
    let mut lists: Vec<std::ops::Range<usize>> = Vec::new();
    let mut k = 0;
    while k < doc.sentences.len() {
        let mut end = k;
        while end < doc.sentences.len()
            && is_request(inp, &doc.sentences[end])
            && (end == k || !doc.sentences[end - 1].ends_line)
        {
            end += 1;
        }
        if end - k >= 2 {
            lists.push(k..end);
            k = end;
        } else {
            k += 1;
        }
    }
    for items in lists {
        let first = &doc.sentences[items.start];
        // The first sentence of the text may follow bare whitespace that is no sentence at all.
        let at_line_start = items.start == 0 || starts_line(doc.text, first.start);
        let span_start = if at_line_start { first.start } else { doc.sentences[items.start - 1].end };
        let list: Vec<String> = doc.sentences[items.clone()]
            .iter()
            .enumerate()
            .map(|(n, s)| format!("{}. {}", n + 1, &doc.text[s.start..s.end]))
            .collect();
        let prefix = if at_line_start { "" } else { "\n" };
        let end = doc.sentences[items.end - 1].end;
        out.push(Finding::fix(span_start, end, format!("{prefix}{}", list.join("\n"))));
    }
}

/// Whether only whitespace stands between the previous line break (or the text's start) and `pos`.
fn starts_line(text: &str, pos: usize) -> bool {
    let before = text[..pos].trim_end_matches(|c: char| c.is_whitespace() && c != '\n');
    before.is_empty() || before.ends_with('\n')
}

/// D4: no bare «Да», «Ок», «Ждите» as a whole reply.
pub(crate) fn too_short(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let words: Vec<String> =
        doc.tokens.iter().filter(|t| t.kind == TokenKind::Word).map(|t| fold(doc.slice(t))).collect();
    let other_content = doc.tokens.iter().any(|t| t.kind.is_fact());
    let Some(short) = inp.def.data.get("short").and_then(|v| v.as_table()) else { return };
    if words.is_empty() || other_content {
        return;
    }
    if let Some(suggestions) = short.iter().find(|(k, _)| fold(k) == words.join(" ")).map(|(_, v)| v) {
        let replacements = suggestions
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str())
            .map(|s| polite_case(inp.profile, s));
        let (start, end) = whole(doc);
        out.push(Finding::suggest(start, end, replacements.collect()));
    }
}

/// D5: a reply that closes a topic says what happens next.
pub(crate) fn next_step(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    if !inp.def.list("closing").iter().any(|p| has_phrase(doc, p)) {
        return;
    }
    let next = inp.def.list("next_step").iter().any(|p| has_phrase(doc, p))
        || doc
            .tokens
            .iter()
            .any(|t| matches!(t.kind, TokenKind::Date | TokenKind::Time | TokenKind::Url | TokenKind::Email));
    if !next {
        let (start, end) = whole(doc);
        out.push(Finding::flag(start, end));
    }
}

/// D6: do not just send the client to the website.
pub(crate) fn no_redirect(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    for (first, last, f) in forbidden(inp, inp.lex, "no-redirect") {
        let (start, end) = (doc.tokens[first].start, doc.tokens[last].end);
        out.push(Finding::suggest(start, end, vec![polite_case(inp.profile, &f.replacement)]));
    }
}

/// D7: a bare greeting while the client already stated the matter.
pub(crate) fn greeting_only(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let Some(client) = inp.ctx.latest_client_message() else { return };
    let client_words = client.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    if client_words < 4 && !client.contains('?') {
        return;
    }
    // A formula may open a longer sentence («меня зовут Ольга»), except a greeting: «добрый
    // день ваш заказ готов» answers.
    let formulas: Vec<(String, bool)> = inp
        .def
        .list("formulas")
        .iter()
        .map(|f| {
            let words: Vec<String> = f.split_whitespace().map(fold).collect();
            let greeting = inp.lex.formal_greetings.longest_at(&words).is_some_and(|(n, _)| n == words.len());
            (words.join(" "), !greeting)
        })
        .collect();
    let names: Vec<&str> = [inp.ctx.client_name(), inp.ctx.operator_name()]
        .into_iter()
        .flatten()
        .flat_map(str::split_whitespace)
        .collect();
    let is_formula = |s: &Sentence| {
        let words: Vec<String> = doc.words(s).map(|i| doc.tok(i)).filter(|w| !names.contains(w)).map(fold).collect();
        let text = words.join(" ");
        !words.is_empty()
            && (inp.lex.formal_greetings.longest_at(&words).is_some_and(|(n, _)| n == words.len())
                || inp.lex.greetings.longest_at(&words).is_some_and(|(n, _)| n == words.len())
                || formulas.iter().any(|(f, opens)| text == *f || *opens && text.starts_with(&format!("{f} "))))
    };
    if !doc.sentences.is_empty() && doc.sentences.iter().all(is_formula) {
        let (start, end) = whole(doc);
        out.push(Finding::flag(start, end));
    }
}

/// D8: long paragraphs are split after every few sentences.
pub(crate) fn paragraphs(inp: &Input, out: &mut Vec<Finding>) {
    let doc = inp.doc;
    let limit = inp.profile.paragraph_sentences.max(1);
    let mut run = 0;
    for (k, s) in doc.sentences.iter().enumerate() {
        run += 1;
        let next = doc.sentences.get(k + 1);
        if s.ends_line || next.is_none() {
            run = 0;
            continue;
        }
        if run == limit {
            run = 0;
            let gap = &doc.text[s.end..next.map_or(s.end, |n| n.start)];
            if !gap.is_empty() && gap.chars().all(|c| c == ' ' || c == '\t') {
                out.push(Finding::fix(s.end, s.end + gap.len(), "\n\n"));
            }
        }
    }
}
