//! The code half of the rules: one small function per rule, grouped by family. The data half
//! (id, severity, messages, lists, examples) lives in `prompts/style/rules/`.
//!
//! [`RULES`] is also the order in which `rewrite` applies automatic fixes: case first (so the
//! morphology sees normal words), then removals and word swaps, then «ты» → «Вы», names,
//! greeting, softeners, capitalisation, punctuation and finally layout.

pub(crate) mod content;
mod literacy;
pub(crate) mod names;
mod politeness;
pub(crate) mod rudeness;
mod safety;

use super::catalog::{RuleDef, Severity};
use super::context::{Context, Profile};
use super::lexicon::{Lexicon, PhraseTable};
use super::spell::Speller;
use crate::encoder::Embedder;
use crate::text::fold;
use crate::text::morph::{Analysis, Morph};
use crate::text::segment::{Doc, TokenKind};
pub(crate) use crate::text::words::{capitalize, edit_distance, match_case};
use crate::text::words::{is_alphanumeric, is_letter};

/// Everything a rule function may look at.
pub(crate) struct Input<'a> {
    pub doc: &'a Doc<'a>,
    pub ctx: &'a Context,
    pub profile: &'a Profile,
    pub def: &'a RuleDef,
    pub lex: &'a Lexicon,
    pub morph: &'a Morph,
    pub speller: Option<&'a Speller>,
    pub embedder: Option<&'a dyn Embedder>,
}

/// A text change: replace bytes `start..end` with `text`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// What a rule found: the span to report (bytes), replacement candidates and, for automatic
/// fixes, the change `rewrite` applies (its span may differ: removing an emoji also removes the
/// space before it).
#[derive(Debug, Clone)]
pub(crate) struct Finding {
    pub start: usize,
    pub end: usize,
    pub replacements: Vec<String>,
    pub change: Option<Change>,
    pub severity: Option<Severity>,
    pub args: Vec<(&'static str, String)>,
    /// The `[data]` key of another message of the rule for this finding (default: `message`).
    pub message_key: Option<&'static str>,
}

impl Finding {
    /// Report only.
    pub fn flag(start: usize, end: usize) -> Finding {
        Finding {
            start,
            end,
            replacements: Vec::new(),
            change: None,
            severity: None,
            args: Vec::new(),
            message_key: None,
        }
    }

    /// Report with candidates; nothing is applied.
    pub fn suggest(start: usize, end: usize, replacements: Vec<String>) -> Finding {
        Finding { replacements, ..Finding::flag(start, end) }
    }

    /// Report and replace the same span with `text`.
    pub fn fix(start: usize, end: usize, text: impl Into<String>) -> Finding {
        let text = text.into();
        Finding { change: Some(Change { start, end, text: text.clone() }), ..Finding::suggest(start, end, vec![text]) }
    }

    /// Report `start..end` but apply `change` (for removals that also take a space or comma).
    pub fn fix_with(start: usize, end: usize, replacement: impl Into<String>, change: Change) -> Finding {
        Finding { change: Some(change), ..Finding::suggest(start, end, vec![replacement.into()]) }
    }

    /// Adds a message argument.
    pub fn arg(mut self, key: &'static str, value: impl Into<String>) -> Finding {
        self.args.push((key, value.into()));
        self
    }

    /// Reports this finding with the rule's message under `[data]` key `key`.
    pub fn message(mut self, key: &'static str) -> Finding {
        self.message_key = Some(key);
        self
    }

    /// Overrides the rule's severity for this finding.
    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = Some(severity);
        self
    }
}

/// A rule's code.
pub(crate) type CheckFn = fn(&Input, &mut Vec<Finding>);

/// Rule ids with their code, in rewrite order.
pub(crate) const RULES: [(&str, CheckFn); 36] = [
    ("no-rudeness", rudeness::no_rudeness),
    ("shouting", literacy::shouting),
    ("emoji", literacy::emoji),
    ("exclamations", literacy::exclamations),
    ("slang", literacy::slang),
    ("cutesy", literacy::cutesy),
    ("jargon", literacy::jargon),
    ("typos", literacy::typos),
    ("no-i-dont-know", content::no_i_dont_know),
    ("polite-you", politeness::polite_you),
    ("name-form", names::name_form),
    ("name-spelling", names::name_spelling),
    ("greeting", politeness::greeting),
    ("use-name", names::use_name),
    ("introduce-self", politeness::introduce_self),
    ("softener", politeness::softener),
    ("regret", politeness::regret),
    ("capital-you", politeness::capital_you),
    ("vocative-comma", names::vocative_comma),
    ("end-punct", literacy::end_punct),
    ("capital-start", literacy::capital_start),
    ("numbered", content::numbered),
    ("paragraphs", content::paragraphs),
    ("thanks", politeness::thanks),
    ("no-blame", politeness::no_blame),
    ("no-directive", politeness::no_directive),
    ("rude-client", rudeness::rude_client),
    ("ask-name", names::ask_name),
    ("spelling", literacy::spelling),
    ("answer-all", content::answer_all),
    ("too-short", content::too_short),
    ("next-step", content::next_step),
    ("no-redirect", content::no_redirect),
    ("greeting-only", content::greeting_only),
    ("pii", safety::pii),
    ("night", safety::night),
];

// ---- helpers shared by the rule families ----

/// The polite pronoun forms, lower case (A2 capitalises them, `polite_case` lowers them).
pub(crate) const POLITE_FORMS: [&str; 17] = [
    "вы",
    "вас",
    "вам",
    "вами",
    "ваш",
    "ваша",
    "ваше",
    "ваши",
    "вашего",
    "вашей",
    "вашему",
    "вашим",
    "ваших",
    "вашими",
    "вашу",
    "вашем",
    "вашею",
];

/// «Вам» → «вам» when the profile writes «вы» in lower case.
pub(crate) fn polite_case(profile: &Profile, text: &str) -> String {
    if profile.capital_you {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find(is_letter) {
        out.push_str(&rest[..pos]);
        let word_len = rest[pos..].find(|c: char| !is_letter(c)).unwrap_or(rest.len() - pos);
        let word = &rest[pos..pos + word_len];
        // Only mid-sentence forms: a form right after sentence punctuation stays capitalised.
        let at_start = out.trim_end().is_empty() || out.trim_end().ends_with(['.', '!', '?']);
        if POLITE_FORMS.iter().any(|f| capitalize(f) == word) && !at_start {
            out.push_str(&word.to_lowercase());
        } else {
            out.push_str(word);
        }
        rest = &rest[pos + word_len..];
    }
    out.push_str(rest);
    out
}

/// Every longest phrase match of `table`: (first token, last token, payload). Phrases never
/// match quoted or protected words.
pub(crate) fn phrase_matches<'t, T>(doc: &Doc, table: &'t PhraseTable<T>) -> Vec<(usize, usize, &'t T)> {
    phrase_matches_in(doc, table, &doc.folded)
}

/// [`phrase_matches`] over other per-token word forms (`words`, parallel to `doc.tokens`).
fn phrase_matches_in<'t, T>(doc: &Doc, table: &'t PhraseTable<T>, words: &[String]) -> Vec<(usize, usize, &'t T)> {
    let mut out = Vec::new();
    for run in &doc.runs {
        let folded: Vec<&str> = run.iter().map(|&i| words[i].as_str()).collect();
        let mut k = 0;
        while k < run.len() {
            match table.longest_at(&folded[k..]) {
                Some((n, value)) if run[k..k + n].iter().all(|&i| !doc.tokens[i].protected) => {
                    out.push((run[k], run[k + n - 1], value));
                    k += n;
                }
                _ => k += 1,
            }
        }
    }
    out
}

/// Words of `doc` that a one-word entry of `table` names by their lemma («порешаем» for the entry
/// «порешать»), leaving out the words `surface` already matched by their written form. Only the
/// best reading counts, and only a word the dictionary knows (a guessed reading of an unknown
/// word is no evidence).
pub(crate) fn lemma_matches<'t, T>(
    doc: &Doc,
    morph: &Morph,
    table: &'t PhraseTable<T>,
    surface: &[(usize, usize, &T)],
) -> Vec<(usize, &'t T)> {
    let mut out = Vec::new();
    for &i in &doc.word_tokens {
        let t = &doc.tokens[i];
        if t.protected || t.quoted || surface.iter().any(|&(a, b, _)| (a..=b).contains(&i)) {
            continue;
        }
        let readings = morph.analyses(doc.tok(i));
        let Some(best) = readings.first() else { continue };
        if best.lemma == doc.folded[i] || best.has("UNKN") || best.has("LATN") || best.score < 0.3 {
            continue;
        }
        if let Some((1, value)) = table.longest_at(&[fold(&best.lemma)]) {
            out.push((i, value));
        }
    }
    out
}

/// Grammemes that a replacement takes over from the word it replaces, by part of speech.
const CARRIED: [(&str, &[&str]); 6] = [
    (
        "VERB",
        &[
            "sing", "plur", "1per", "2per", "3per", "pres", "past", "futr", "masc", "femn", "neut", "impr", "indc",
            "incl", "excl",
        ],
    ),
    ("NOUN", &["nomn", "gent", "datv", "accs", "ablt", "loct", "sing", "plur"]),
    ("ADJF", &["nomn", "gent", "datv", "accs", "ablt", "loct", "sing", "plur", "masc", "femn", "neut"]),
    ("PRTF", &["nomn", "gent", "datv", "accs", "ablt", "loct", "sing", "plur", "masc", "femn", "neut"]),
    ("ADJS", &["sing", "plur", "masc", "femn", "neut"]),
    ("PRTS", &["sing", "plur", "masc", "femn", "neut", "past", "pres"]),
];

/// The one-word replacement `replacement` (a dictionary form) put in the form of word `i`:
/// «решить» for «порешаем» → «решим». `None` when the replacement is several words, the parts of
/// speech differ, the lexeme has no such form, or a noun of another gender has an agreeing word
/// before it (the swap would break agreement: «второй лайн» → «второй линия»).
pub(crate) fn inflected_swap(morph: &Morph, doc: &Doc, i: usize, replacement: &str) -> Option<String> {
    if replacement.split_whitespace().count() != 1 {
        return None;
    }
    let word = morph.analyses(doc.tok(i)).first()?.clone();
    let pos = word.pos().to_string();
    let carried: Vec<&str> = CARRIED
        .iter()
        .find(|(p, _)| *p == pos)
        .map(|(_, g)| g.iter().copied().filter(|g| word.has(g)).collect())
        .unwrap_or_default();
    // A verb's list entry is its infinitive: the lexeme is the same.
    let verbal = ["VERB", "PRTS", "PRTF", "GRND"].contains(&pos.as_str());
    let same_lexeme = |a: &Analysis| a.pos() == pos || (verbal && a.pos() == "INFN");
    let target = morph.analyses(replacement);
    if !target.iter().any(same_lexeme) {
        return None;
    }
    if carried.is_empty() {
        return Some(replacement.to_string());
    }
    if pos == "NOUN" && !matches!(noun_swap(morph, doc, i, replacement), NounSwap::Fits) {
        return None;
    }
    morph.inflect(replacement, same_lexeme, &carried).or_else(|| {
        // A verb of the other aspect has its non-past in the other tense: «порешаем» (present
        // of «порешать», as the dictionary guesses it) is «решим» (future of «решить»).
        let swapped: Vec<&str> = carried
            .iter()
            .map(|g| match *g {
                "pres" => "futr",
                "futr" => "pres",
                other => other,
            })
            .collect();
        (swapped != carried).then(|| morph.inflect(replacement, same_lexeme, &swapped)).flatten()
    })
}

fn gender_of(a: &Analysis) -> Option<&'static str> {
    ["masc", "femn", "neut"].into_iter().find(|g| a.has(g))
}

/// What putting the noun `replacement` in place of word `i` does to the agreement around it.
pub(crate) enum NounSwap {
    /// Nothing agrees with it, or everything still does.
    Fits,
    /// The adjective or pronoun before it (token `adjective`) agrees: both change, to the new
    /// noun's gender in the adjective's case («на Ваш мейл» → «на Вашу почту», «на второй
    /// лайн» → «на вторую линию»). The text from the adjective's start to the noun's end.
    WithAdjective { adjective: usize, text: String },
    /// The swap would break agreement that cannot be mended here: a number before it governs
    /// its form («30 сек» is not «30 секунду»), a copula shows the old gender («был апдейт» →
    /// «был обновление»), or the adjective has no such form. Only reported.
    Breaks,
}

/// How the noun `replacement` would fit in place of word `i` (see [`NounSwap`]).
pub(crate) fn noun_swap(morph: &Morph, doc: &Doc, i: usize, replacement: &str) -> NounSwap {
    // A phrase («электронная почта») is judged by its last word, and never mended.
    let words: Vec<&str> = replacement.split_whitespace().collect();
    let Some(&head) = words.last() else { return NounSwap::Fits };
    let Some(target) = morph.analyses(head).iter().find(|a| a.pos() == "NOUN").cloned() else {
        return NounSwap::Fits;
    };
    let prev = doc.prev_non_space(i).filter(|&p| doc.tokens[p].kind != TokenKind::Space);
    if prev.is_some_and(|p| doc.tokens[p].kind == TokenKind::Number) {
        return NounSwap::Breaks;
    }
    let Some(p) = prev.filter(|&p| doc.tokens[p].kind == TokenKind::Word) else { return NounSwap::Fits };
    let readings = morph.analyses(doc.tok(p));
    let Some(a) = readings.first() else { return NounSwap::Fits };
    let shown = if a.has("sing") { gender_of(a) } else { None };
    if shown.is_none() || shown == gender_of(&target) || target.has("Pltm") {
        return NounSwap::Fits;
    }
    let copula = a.pos() == "VERB" && a.has("past") && matches!(a.lemma.as_str(), "быть" | "стать" | "являться");
    if copula {
        return NounSwap::Breaks;
    }
    if !(matches!(a.pos(), "ADJF" | "PRTF") || (a.pos() == "NPRO" && a.has("Apro"))) {
        return NounSwap::Fits; // a verb before its object does not agree with it
    }
    let Some(case) = ["nomn", "gent", "datv", "accs", "ablt", "loct"].into_iter().find(|c| a.has(c)) else {
        return NounSwap::Breaks;
    };
    let Some(gender) = gender_of(&target).filter(|_| words.len() == 1) else { return NounSwap::Breaks };
    let noun = morph.inflect(replacement, |r| r.pos() == "NOUN", &[case, "sing"]);
    let adjective = morph.inflect(doc.tok(p), |r| r == a, &[gender, case, "sing"]);
    match (adjective, noun) {
        (Some(adjective), Some(noun)) => {
            let between = &doc.text[doc.tokens[p].end..doc.tokens[i].start];
            let text = format!("{}{between}{noun}", match_case(doc.tok(p), &adjective));
            NounSwap::WithAdjective { adjective: p, text }
        }
        _ => NounSwap::Breaks,
    }
}

/// Matches of forbidden phrases that belong to rule `rule`, in whichever address the draft
/// uses: the phrases are listed in the formal register, and a draft on «ты» is matched as its
/// «Вы» form would be («ты сам виноват» is «вы сами виноваты»), so that a check of the draft
/// finds what a check of its rewrite would.
pub(crate) fn forbidden<'t>(
    inp: &Input,
    lex: &'t Lexicon,
    rule: &str,
) -> Vec<(usize, usize, &'t super::lexicon::Forbidden)> {
    let doc = inp.doc;
    let mut found: Vec<_> =
        phrase_matches(doc, &lex.forbidden).into_iter().filter(|(_, _, f)| f.rule == rule).collect();
    let edits = super::polite_you::polite_you_edits(inp.morph, doc);
    if edits.is_empty() {
        return found;
    }
    let mut formal = doc.folded.clone();
    for e in edits.iter() {
        if let Some(i) = doc.token_at(e.start).filter(|&i| doc.tokens[i].end == e.end) {
            formal[i] = fold(&e.after);
        }
    }
    for m in phrase_matches_in(doc, &lex.forbidden, &formal).into_iter().filter(|(_, _, f)| f.rule == rule) {
        if !found.iter().any(|(a, b, _)| *a <= m.1 && m.0 <= *b) {
            found.push(m);
        }
    }
    found.sort_by_key(|(a, _, _)| *a);
    found
}

/// Whether token `i` is the first non-space token of its sentence.
pub(crate) fn starts_sentence(doc: &Doc, i: usize) -> bool {
    // Sentences are in text order: a binary search keeps per-token callers linear overall.
    let k = doc.sentences.partition_point(|s| s.tokens.start < i);
    doc.sentences.get(k).is_some_and(|s| s.tokens.start == i)
}

/// How to delete tokens `first..=last` (a filler word, an extra name) so that the sentence
/// stays well-formed: (reported span end, change). At a sentence start the next word is
/// capitalised; between commas both go (a parenthetical word), but an interjection keeps its
/// own; otherwise one adjacent space goes.
pub(crate) fn removal(doc: &Doc, first: usize, last: usize) -> Change {
    let t = &doc.tokens;
    let start = t[first].start;
    let mut end = t[last].end;
    let is = |i: usize, s: &str| t.get(i).is_some_and(|tok| doc.slice(tok) == s);
    let prev = doc.prev_non_space(first);
    let next = doc.next_non_space(last);
    if starts_sentence(doc, first) {
        // «Короче, заказ готов» → «Заказ готов».
        let mut j = last + 1;
        while j < t.len() && (t[j].kind == TokenKind::Space || is(j, ",")) {
            j += 1;
        }
        if j < t.len() && t[j].kind == TokenKind::Word && !t[j].protected {
            return Change { start, end: t[j].end, text: capitalize(doc.tok(j)) };
        }
        end = t.get(j).map_or(end, |tok| tok.start);
        return Change { start, end, text: String::new() };
    }
    if let Some(p) = prev.filter(|&p| is(p, ",")) {
        // «заказ, короче, готов» → «заказ готов»; «спасибо, Анна!» → «спасибо!».
        if let Some(n) = next.filter(|&n| is(n, ",")) {
            // After an interjection its own comma stays: «Ой, блин, извините» → «Ой, извините».
            let interjection = doc.prev_non_space(p).is_some_and(|w| {
                t[w].kind == TokenKind::Word && Morph::global().analyses(doc.tok(w)).iter().any(|a| a.has("INTJ"))
            });
            if interjection {
                let after =
                    if t.get(n + 1).is_some_and(|tok| tok.kind == TokenKind::Space) { t[n + 1].end } else { t[n].end };
                return Change { start, end: after, text: String::new() };
            }
            return Change { start: t[p].start, end: t[n].end, text: String::new() };
        }
        return Change { start: t[p].start, end, text: String::new() };
    }
    if t.get(last + 1).is_some_and(|tok| tok.kind == TokenKind::Space) {
        end = t[last + 1].end;
    } else if first > 0 && t[first - 1].kind == TokenKind::Space {
        return Change { start: t[first - 1].start, end, text: String::new() };
    }
    Change { start, end, text: String::new() }
}

/// Whether the draft's words contain `needle`'s words in a row (folded; punctuation between
/// words is ignored, as in «Здравствуйте! Меня зовут …»).
pub(crate) fn has_phrase(doc: &Doc, needle: &str) -> bool {
    let words: Vec<String> =
        needle.split(|c: char| !is_alphanumeric(c) && c != '-').filter(|w| !w.is_empty()).map(fold).collect();
    if words.is_empty() {
        return false;
    }
    doc.word_tokens.windows(words.len()).any(|w| w.iter().zip(&words).all(|(&i, b)| doc.folded[i] == *b))
}

/// Whether `text` (a client message) contains `needle` as whole words, folded.
pub(crate) fn contains_words(text: &str, needle: &str) -> bool {
    let hay: Vec<String> =
        text.split(|c: char| !is_alphanumeric(c) && c != '-').filter(|w| !w.is_empty()).map(fold).collect();
    let words: Vec<String> = needle.split_whitespace().map(fold).collect();
    !words.is_empty() && hay.windows(words.len()).any(|w| w == words.as_slice())
}

/// The span of the whole draft without surrounding whitespace (where whole-message issues go).
pub(crate) fn whole(doc: &Doc) -> (usize, usize) {
    let start = doc.text.len() - doc.text.trim_start().len();
    (start, doc.text.trim_end().len().max(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polite_case_lowers_only_mid_sentence_forms() {
        let profile: Profile = toml::from_str("name='x'\ndescription='x'\ncapital_you=false").unwrap();
        assert_eq!(polite_case(&profile, "Вы правы, я помогу Вам."), "Вы правы, я помогу вам.");
    }

    #[test]
    fn removal_keeps_sentences_well_formed() {
        let apply = |text: &str, word: &str| {
            let doc = Doc::new(text, &[], &[]);
            let i = doc.tokens.iter().position(|t| doc.slice(t) == word).unwrap();
            let c = removal(&doc, i, i);
            format!("{}{}{}", &text[..c.start], c.text, &text[c.end..])
        };
        assert_eq!(apply("Короче, заказ готов.", "Короче"), "Заказ готов.");
        assert_eq!(apply("заказ, короче, готов.", "короче"), "заказ готов.");
        assert_eq!(apply("заказ типа готов.", "типа"), "заказ готов.");
        assert_eq!(apply("Спасибо, Анна!", "Анна"), "Спасибо!");
        assert_eq!(apply("заказ готов типа", "типа"), "заказ готов");
    }
}
