//! Rude language in a text: obscene words in every inflection and common disguise, insults,
//! threats and contempt aimed at the reader, and the milder vulgar intensifiers.
//!
//! The detector is data (`prompts/style/rude.tsv`) plus the morphology, not a substring list:
//! - a word the dictionary knows is rude only when its lemma is listed («сука», «дебил»,
//!   «задолбать»), so the thousands of real words that contain an obscene root («тебе»,
//!   «хлебать», «употреблять», «команда», «рубля», «себестоимость») never fire;
//! - a word the dictionary does not know (most obscene derivations, and every disguise) is rude
//!   when an obscene stem stands where a root stands: at its start or after a chain of
//!   prefixes («на·хуя», «у·ебок», «долбо·ёб»), never inside another root («ско·пидар»
//!   is no match; «скипидар» is known anyway);
//! - a «strong» stem (one no ordinary word has at a root's place: «пизд», «хуй») fires even
//!   in a word the dictionary knows;
//! - disguises are undone before any of that: letters masked by `*`, `#`, `%` or digits
//!   («х*й», «бл9», «3.14здец»), Latin look-alike letters («xуй»), transliteration («blyat»),
//!   letters repeated («хууууй») or separated by dots, dashes or spaces («х.у.й», «х у й»);
//! - threats and contempt are phrases of lemmas, each word optionally with grammemes
//!   («отстать:impr»), with gaps («не … орать»).
//!
//! Hand-written because no maintained Rust crate does Russian morphology-aware obscenity
//! detection: the crates found (`rustrict`, `rust-censure`) match surface patterns, which is the
//! substring approach this replaces.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use super::memo::Memo;
use super::morph::Morph;
use super::segment::{is_sentence_end, Doc, TokenKind};
use super::words::{fold, is_letter};

/// What kind of rudeness a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RudeKind {
    /// Russian мат and its derivations.
    Obscene,
    /// Name-calling and insults.
    Insult,
    /// Threats and intimidation.
    Threat,
    /// Contempt and dismissal without a swear word.
    Contempt,
    /// Milder vulgar intensifiers and euphemisms («блин», «нафиг», «задолбали»).
    Mild,
}

impl RudeKind {
    /// The category's name in the data file and in reports.
    pub fn name(self) -> &'static str {
        match self {
            RudeKind::Obscene => "obscene",
            RudeKind::Insult => "insult",
            RudeKind::Threat => "threat",
            RudeKind::Contempt => "contempt",
            RudeKind::Mild => "mild",
        }
    }

    fn parse(name: &str) -> Option<RudeKind> {
        [RudeKind::Obscene, RudeKind::Insult, RudeKind::Threat, RudeKind::Contempt, RudeKind::Mild]
            .into_iter()
            .find(|k| k.name() == name)
    }
}

/// The safe edit for a mild word, when it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MildFix {
    /// A pure intensifier: delete it.
    Delete,
    /// A neutral word (in its dictionary form) that keeps the meaning.
    Replace(String),
}

/// One rude span of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RudeSpan {
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset past the last byte.
    pub end: usize,
    /// What it is.
    pub kind: RudeKind,
    /// Written in a disguise (masked, Latin letters, spaced, repeated letters).
    pub disguised: bool,
    /// The safe edit of a mild word, if the data gives one.
    pub fix: Option<MildFix>,
}

/// Where an obscene stem may stand in a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// Only at the start.
    Start,
    /// At the start or after a chain of listed prefixes.
    Prefix,
    /// Anywhere.
    Any,
}

#[derive(Debug, Clone)]
struct Stem {
    letters: Vec<char>,
    anchor: Anchor,
    kind: RudeKind,
    /// Fires in dictionary words too.
    strong: bool,
}

#[derive(Debug, Clone)]
struct WordEntry {
    kind: RudeKind,
    /// Rude only when aimed at someone: a second-person word in the sentence, or the word
    /// standing as an address («козёл» is an animal in «корм для козла»).
    needs_target: bool,
    /// Rude only as an interjection set off from what follows, and only in the listed form
    /// («блин, опять» — not «блины с мясом»).
    aside: bool,
    fix: Option<MildFix>,
}

#[derive(Debug, Clone)]
enum Slot {
    /// Up to [`GAP_WORDS`] words.
    Gap,
    /// A word by its form or lemma, with grammemes one of its readings must have.
    Word { forms: Vec<String>, grams: Vec<String> },
}

#[derive(Debug, Clone)]
struct Phrase {
    slots: Vec<Slot>,
    kind: RudeKind,
    fix: Option<MildFix>,
}

/// A listed word's literal sense (`literal` rows): «сука» in a text about puppies, «баран» in a
/// farm's listing, «кретинизм» beside «заболевание».
#[derive(Debug, Clone)]
struct Literal {
    /// The words (forms or lemmas; `сук*`: every word that starts so) that have the sense.
    words: Vec<String>,
    /// Words (the same way) any of which, elsewhere in the text, marks the sense.
    cues: Vec<String>,
}

impl Literal {
    fn covers(patterns: &[String], form: &str, lemmas: &[String]) -> bool {
        patterns.iter().any(|p| {
            let fits = |w: &str| match p.strip_suffix('*') {
                Some(head) => w.starts_with(head),
                None => w == p,
            };
            fits(form) || lemmas.iter().any(|l| fits(l))
        })
    }
}

/// What a listed word needs around it to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    None,
    /// Aimed at someone ([`WordEntry::needs_target`]).
    Aimed,
    /// Set off as an interjection ([`WordEntry::aside`]).
    Aside,
}

impl Target {
    fn of(e: &WordEntry) -> Target {
        if e.needs_target {
            Target::Aimed
        } else if e.aside {
            Target::Aside
        } else {
            Target::None
        }
    }
}

/// What a word is found to be: its kind, what it needs around it, its safe edit.
type Verdict = (RudeKind, Target, Option<MildFix>);

/// A phrase's words: by form or lemma, «а|б» for either, «лемма:gram,gram» for a reading with
/// those grammemes, «…» for a gap.
fn slots(entry: &str) -> Result<Vec<Slot>, String> {
    let slots = entry
        .split_whitespace()
        .map(|w| match w {
            "…" | "..." => Slot::Gap,
            w => {
                let (forms, grams) = w.split_once(':').unwrap_or((w, ""));
                let forms = forms.split('|').map(str::to_string).collect();
                let grams = grams.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect();
                Slot::Word { forms, grams }
            }
        })
        .collect::<Vec<_>>();
    if !matches!(slots.first(), Some(Slot::Word { .. })) || !matches!(slots.last(), Some(Slot::Word { .. })) {
        return Err("a phrase starts and ends with a word".into());
    }
    Ok(slots)
}

/// A mild word's fix option: `delete`, or `=replacement`.
fn fix_option(option: &str) -> Result<MildFix, String> {
    match option {
        "delete" => Ok(MildFix::Delete),
        o if o.starts_with('=') && o.len() > 1 => Ok(MildFix::Replace(o[1..].to_string())),
        other => Err(format!("unknown option {other:?}")),
    }
}

/// Whether the word at bytes `start..end` has a capitalised first name or patronymic right
/// before or after it (one space apart), initials after it («Дураков А.С.»), or the word
/// «фамилия» right before it («фамилия Дураков указана верно»).
fn beside_a_name(doc: &Doc, morph: &Morph, start: usize, end: usize) -> bool {
    let Some((first, last)) = doc.tokens_spanning(start, end) else { return false };
    if doc.prev_non_space(first).is_some_and(|p| doc.folded[p].starts_with("фамили")) {
        return true;
    }
    let initial = doc.next_non_space(last).is_some_and(|t| {
        let mut letters = doc.tok(t).chars();
        doc.tokens[t].kind == TokenKind::Word
            && letters.next().is_some_and(char::is_uppercase)
            && letters.next().is_none()
            && doc.tokens.get(t + 1).is_some_and(|dot| doc.tok(t + 1) == "." && dot.start == doc.tokens[t].end)
    });
    initial
        || [doc.prev_non_space(first), doc.next_non_space(last)].into_iter().flatten().any(|t| {
            let tok = doc.tok(t);
            doc.tokens[t].kind == TokenKind::Word
                && capitalised(tok)
                && morph.analyses(tok).iter().any(|a| a.known && (a.has("Name") || a.has("Patr")))
        })
}

/// Whether the dictionary knows `word` as a surname.
fn surname(morph: &Morph, word: &str) -> bool {
    morph.analyses(word).iter().any(|a| a.known && a.has("Surn"))
}

/// Whether the word ending at byte `end` is followed by punctuation or the end of the text.
fn aside(doc: &Doc, end: usize) -> bool {
    let rest = doc.text[end..].trim_start_matches([' ', '\t']);
    rest.is_empty() || rest.starts_with([',', '!', '.', '?', ')', '…', '\n', '—', '-', ';', ':'])
}

/// Most words between a name-calling word and the «ты»/«вы» it names (see `aimed`).
const AIM_WORDS: usize = 3;

/// The OpenCorpora case grammemes.
const CASES: [&str; 7] = ["nomn", "gent", "datv", "accs", "ablt", "loct", "voct"];

/// Forms of «ты»/«вы» that do not name the reader as what a word calls them («у вас тупой
/// угол», «для вас курица гриль»).
const OBLIQUE_YOU: [&str; 7] = ["вас", "вам", "вами", "тебя", "тебе", "тобой", "тобою"];

/// Most words a gap («…») of a phrase spans.
const GAP_WORDS: usize = 3;

/// Texts whose spans one thread keeps.
const MEMO_TEXTS: usize = 256;

/// Words whose verdicts one thread keeps.
const MEMO_WORDS: usize = 50_000;

/// Most prefixes before an obscene stem.
const MAX_PREFIXES: usize = 2;

/// Longest word (in characters) the detector looks at: a longer one is no word.
const MAX_WORD_CHARS: usize = 40;

/// The detector's data: stems, prefixes, listed words, phrases, the words that never fire and
/// the second-person words that make an insult aimed at the reader.
#[derive(Debug, Clone, Default)]
pub struct RudeLexicon {
    prefixes: Vec<Vec<char>>,
    stems: Vec<Stem>,
    words: HashMap<String, WordEntry>,
    phrases: Vec<Phrase>,
    /// Phrase indices by each form of their first word.
    phrase_starts: HashMap<String, Vec<usize>>,
    allow: HashSet<String>,
    /// Allowed word beginnings (`веб*`: «вебинар», «вебхук»).
    allow_prefixes: Vec<String>,
    /// Phrases inside which no word fires («подкидной дурак», «в дурака»).
    allow_phrases: Vec<Vec<Slot>>,
    literals: Vec<Literal>,
    targets: HashSet<String>,
    /// Link verbs («быть», «прикидываться»): an insult in the instrumental names the reader
    /// only with one of these («не будь бараном», not «кормите овощами»).
    links: HashSet<String>,
}

/// A character of a word being normalised: the letter (or [`MASK`]) and its source bytes.
#[derive(Debug, Clone, Copy)]
struct Ch {
    c: char,
    start: usize,
    end: usize,
}

/// A masked letter («*», «#», «%», «1»).
const MASK: char = '\u{0}';

impl RudeLexicon {
    /// Adds one data row (the fields of a `rude.tsv` line). `Err`: what is wrong with it.
    pub fn add_row(&mut self, fields: &[&str]) -> Result<(), String> {
        let field = |i: usize| fields.get(i).copied().unwrap_or("").trim();
        let (kind, entry) = (field(0), fold(field(1)));
        if entry.is_empty() {
            return Err("the second field (the entry) is empty".into());
        }
        let category = || {
            RudeKind::parse(field(2)).ok_or_else(|| {
                format!("third field must be obscene, insult, threat, contempt or mild, not {:?}", field(2))
            })
        };
        let options: Vec<&str> = field(3).split(',').map(str::trim).filter(|o| !o.is_empty()).collect();
        match kind {
            "prefix" => self.prefixes.push(entry.chars().collect()),
            "allow" if entry.contains(' ') => self.allow_phrases.push(slots(&entry)?),
            "allow" => match entry.strip_suffix('*') {
                Some(head) => self.allow_prefixes.push(head.to_string()),
                None => {
                    self.allow.insert(entry);
                }
            },
            "literal" => {
                let cues: Vec<String> =
                    field(3).split(',').map(fold).map(|c| c.trim().to_string()).filter(|c| !c.is_empty()).collect();
                if cues.is_empty() {
                    return Err("a literal row lists its cue words in the fourth field".into());
                }
                self.literals.push(Literal { words: entry.split('|').map(str::to_string).collect(), cues });
            }
            "target" => {
                self.targets.insert(entry);
            }
            "link" => {
                self.links.insert(entry);
            }
            "stem" => {
                let mut anchor = Anchor::Prefix;
                let mut strong = false;
                for o in &options {
                    match *o {
                        "start" => anchor = Anchor::Start,
                        "prefix" => anchor = Anchor::Prefix,
                        "any" => anchor = Anchor::Any,
                        "strong" => strong = true,
                        other => return Err(format!("unknown stem option {other:?}")),
                    }
                }
                self.stems.push(Stem { letters: entry.chars().collect(), anchor, kind: category()?, strong });
            }
            "word" => {
                let mut word = WordEntry { kind: category()?, needs_target: false, aside: false, fix: None };
                for o in &options {
                    match *o {
                        "target" => word.needs_target = true,
                        "aside" => word.aside = true,
                        o => word.fix = Some(fix_option(o)?),
                    }
                }
                if self.words.insert(entry, word).is_some() {
                    return Err("the word is listed twice".into());
                }
            }
            "phrase" => {
                let slots = slots(&entry)?;
                let fix = options.first().map(|o| fix_option(o)).transpose()?;
                if let Some(Slot::Word { forms, .. }) = slots.first() {
                    for form in forms {
                        self.phrase_starts.entry(form.clone()).or_default().push(self.phrases.len());
                    }
                }
                self.phrases.push(Phrase { slots, kind: category()?, fix });
            }
            other => {
                return Err(format!(
                    "first field must be prefix, stem, word, phrase, allow, literal, target or link, not {other:?}"
                ))
            }
        }
        Ok(())
    }

    /// Every rude span of `doc`, in text order, none overlapping another.
    ///
    /// A check and every pass of a rewrite ask about the same texts again (two rules read the
    /// spans): the spans of recent texts are kept per thread, by lexicon, text and the protected
    /// tokens (the client's name differs between requests).
    pub fn find(&self, doc: &Doc, morph: &Morph) -> Vec<RudeSpan> {
        type Key = (usize, String, Vec<(usize, usize)>);
        thread_local! {
            static MEMO: Memo<Key, Rc<Vec<RudeSpan>>> = Memo::new(MEMO_TEXTS);
        }
        let protected: Vec<(usize, usize)> =
            doc.tokens.iter().filter(|t| t.protected).map(|t| (t.start, t.end)).collect();
        let key = (self as *const RudeLexicon as usize, doc.text.to_string(), protected);
        if let Some(hit) = MEMO.with(|m| m.get(&key)) {
            return hit.as_ref().clone();
        }
        let found = Rc::new(self.find_uncached(doc, morph));
        MEMO.with(|m| m.insert(key, found.clone()));
        found.as_ref().clone()
    }

    fn find_uncached(&self, doc: &Doc, morph: &Morph) -> Vec<RudeSpan> {
        let mut found = Vec::new();
        let chunks = chunks(doc.text);
        // A lower-case chunk in which no word had a verdict is clean wherever it stands: most
        // words of a text come back in every pass of a rewrite.
        thread_local! {
            static CLEAN: Memo<(usize, String), ()> = Memo::new(MEMO_WORDS);
        }
        let lexicon = self as *const RudeLexicon as usize;
        for &(start, end) in &chunks {
            let chunk = &doc.text[start..end];
            let lower = !chunk.chars().any(char::is_uppercase);
            if lower && CLEAN.with(|m| m.get(&(lexicon, chunk.to_string())).is_some()) {
                continue;
            }
            if !self.find_in_chunk(doc, morph, start, end, &mut found) && lower {
                CLEAN.with(|m| m.insert((lexicon, chunk.to_string()), ()));
            }
        }
        self.find_spaced(doc, morph, &chunks, &mut found);
        self.find_phrases(doc, morph, &mut found);
        found.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut out: Vec<RudeSpan> = Vec::with_capacity(found.len());
        for span in found {
            if out.last().is_none_or(|last| span.start >= last.end) {
                out.push(span);
            }
        }
        // A fact or the client's name is no rude word — unless digits disguise one («3.14здец»).
        out.retain(|s| s.disguised || !doc.touches_protected(s.start..s.end));
        if !out.is_empty() && !self.allow_phrases.is_empty() {
            let allowed = self.allowed_phrases(doc, morph, &out);
            out.retain(|s| s.disguised || !allowed.iter().any(|&(a, b)| a <= s.start && s.end <= b));
        }
        out
    }

    /// The byte ranges of allowed phrases in the sentences that hold any of `spans`.
    fn allowed_phrases(&self, doc: &Doc, morph: &Morph, spans: &[RudeSpan]) -> Vec<(usize, usize)> {
        let mut ranges = Vec::new();
        for sentence in doc.sentences.iter().filter(|s| spans.iter().any(|r| s.start <= r.start && r.end <= s.end)) {
            let words = keys(doc, morph, sentence);
            for at in 0..words.len() {
                for slots in &self.allow_phrases {
                    if let Some(last) = match_slots(slots, &words, at) {
                        ranges.push((doc.tokens[words[at].token].start, doc.tokens[words[last].token].end));
                    }
                }
            }
        }
        ranges
    }

    /// The words of one whitespace-separated chunk; whether any of them had a verdict (found,
    /// or let pass only for what stands around it).
    fn find_in_chunk(&self, doc: &Doc, morph: &Morph, start: usize, end: usize, out: &mut Vec<RudeSpan>) -> bool {
        let text = &doc.text[start..end];
        if looks_like_address(text) {
            return false;
        }
        let mut verdicts = false;
        for piece in pieces(text, start) {
            let segments: Vec<&[Ch]> =
                piece.split(|ch| matches!(ch.c, '.' | '-' | '_' | '\'')).filter(|s| !s.is_empty()).collect();
            // «х.у.й», «п-и-з-д-е-ц»: letters one by one.
            let spelled = segments.len() >= 3 && segments.iter().all(|s| s.len() <= 2);
            if spelled {
                let letters: Vec<Ch> = segments.concat();
                verdicts |= self.judge(doc, morph, &letters, true, out);
            } else {
                for segment in segments {
                    verdicts |= self.judge(doc, morph, segment, false, out);
                }
            }
        }
        verdicts
    }

    /// Runs of three or more one-letter chunks: «х у й».
    fn find_spaced(&self, doc: &Doc, morph: &Morph, chunks: &[(usize, usize)], out: &mut Vec<RudeSpan>) {
        let single = |&(s, e): &(usize, usize)| {
            let mut chars = doc.text[s..e].chars();
            chars.next().is_some_and(|c| is_letter(c) || c == '*') && chars.next().is_none()
        };
        let mut i = 0;
        while i < chunks.len() {
            let mut j = i;
            while j < chunks.len() && single(&chunks[j]) {
                j += 1;
            }
            if j - i >= 3 {
                let letters: Vec<Ch> =
                    chunks[i..j].iter().flat_map(|&(s, e)| pieces(&doc.text[s..e], s)).flatten().collect();
                // «ну и п и д о р»: the spelled word may start after a real one-letter word.
                let before = out.len();
                'run: for a in 0..letters.len().saturating_sub(2) {
                    for b in (a + 3..=letters.len().min(a + MAX_WORD_CHARS)).rev() {
                        self.judge(doc, morph, &letters[a..b], true, out);
                        if out.len() > before {
                            // «ну ты и д е б и л»: a real one-letter word in front of the spelled
                            // one is not part of it when the word is found without it.
                            let word_in_front = matches!(fold(&letters[a].c.to_string()).as_str(), "и" | "а" | "я");
                            if word_in_front && b - a > 3 {
                                let mut tighter = Vec::new();
                                self.judge(doc, morph, &letters[a + 1..b], true, &mut tighter);
                                if !tighter.is_empty() {
                                    out.truncate(before);
                                    out.append(&mut tighter);
                                }
                            }
                            break 'run;
                        }
                    }
                }
            }
            i = j.max(i + 1);
        }
    }

    /// Judges one word (its raw characters with their source bytes); whether it had a verdict.
    fn judge(&self, doc: &Doc, morph: &Morph, raw: &[Ch], spelled: bool, out: &mut Vec<RudeSpan>) -> bool {
        if raw.is_empty() || raw.len() > MAX_WORD_CHARS || !raw.iter().any(|ch| is_letter(ch.c) || ch.c == '*') {
            return false;
        }
        let (letters, disguised) = normalise(raw);
        let (start, end) = (raw[0].start, raw[raw.len() - 1].end);
        // Read from other characters than it is written with («3.14здец»).
        let disguised = disguised || fold(&doc.text[start..end]).chars().ne(letters.iter().copied());
        let verdict = if letters.contains(&MASK) {
            self.masked(morph, &letters)
        } else {
            let word: String = letters.iter().collect();
            if self.allowed(&word) {
                return false;
            }
            let collapsed = collapse_repeats(&word);
            // «курьер Борис Ебзеев»: a capitalised word inside a sentence is a name, unless a
            // strong stem or a listed word says otherwise.
            let name = !disguised && !spelled && capitalised(&doc.text[start..end]) && !opens_sentence(doc.text, start);
            // «на Хренова Ивана», «Сукин Павел»: beside a first name or a patronymic, a
            // capitalised word is a surname, whatever the lists say.
            if !disguised && !spelled && capitalised(&doc.text[start..end]) && beside_a_name(doc, morph, start, end) {
                return false;
            }
            self.plain(morph, &word, disguised || spelled, name).or_else(|| {
                // A letter run of three or more is a disguise («хууууй»); a double letter is
                // ordinary spelling («Ебзеев»), and the word is judged as it stands.
                let stretched = word.chars().count() >= collapsed.chars().count() + 2 || has_run(&word, 3);
                (collapsed != word)
                    .then(|| self.plain(morph, &collapsed, stretched || disguised || spelled, name))
                    .flatten()
            })
        };
        let Some((kind, target, fix)) = verdict else { return false };
        let disguised = disguised || spelled || letters.contains(&MASK);
        let plain_name = !disguised && capitalised(&doc.text[start..end]);
        let fits = if !disguised && self.literal(doc, morph, start, end) {
            // «щенки от этой суки», «Баран эдильбаевский, 2 года»: said of the animal, unless
            // said to the reader («ты сука»).
            self.aimed(doc, morph, start, end, true)
        } else {
            match target {
                Target::None => true,
                // «Петухов, Курицын, Гусев — бригада»: a surname, not a bird.
                Target::Aimed if plain_name && surname(morph, &doc.text[start..end]) => false,
                Target::Aimed => self.aimed(doc, morph, start, end, false),
                Target::Aside => aside(doc, end),
            }
        };
        if !fits {
            return true;
        }
        out.push(RudeSpan { start, end, kind, disguised, fix: if disguised { None } else { fix } });
        true
    }

    /// Whether the word at `start..end` has a literal sense that another word of the text marks.
    fn literal(&self, doc: &Doc, morph: &Morph, start: usize, end: usize) -> bool {
        let lemmas = |word: &str| morph.analyses(word).iter().map(|a| fold(&a.lemma)).collect::<Vec<_>>();
        let word = &doc.text[start..end];
        let (form, own) = (fold(word), lemmas(word));
        let senses: Vec<&Literal> = self.literals.iter().filter(|l| Literal::covers(&l.words, &form, &own)).collect();
        if senses.is_empty() {
            return false;
        }
        doc.tokens.iter().enumerate().any(|(i, t)| {
            t.kind == TokenKind::Word
                && (t.end <= start || t.start >= end)
                && senses.iter().any(|l| Literal::covers(&l.cues, &doc.folded[i], &lemmas(doc.tok(i))))
        })
    }

    /// Whether `word` is listed as never rude.
    fn allowed(&self, word: &str) -> bool {
        self.allow.contains(word) || self.allow_prefixes.iter().any(|p| word.starts_with(p.as_str()))
    }

    /// A word without masks: its listed lemma, else its stems (kept per thread, by lexicon and
    /// word: most words of a text are asked about again in the next pass of a rewrite).
    fn plain(&self, morph: &Morph, word: &str, disguised: bool, proper: bool) -> Option<Verdict> {
        type Key = (usize, String, bool, bool);
        thread_local! {
            static MEMO: Memo<Key, Option<Verdict>> = Memo::new(MEMO_WORDS);
        }
        let key = (self as *const RudeLexicon as usize, word.to_string(), disguised, proper);
        if let Some(hit) = MEMO.with(|m| m.get(&key)) {
            return hit;
        }
        let verdict = self.plain_uncached(morph, word, disguised, proper);
        MEMO.with(|m| m.insert(key, verdict.clone()));
        verdict
    }

    fn plain_uncached(&self, morph: &Morph, word: &str, disguised: bool, proper: bool) -> Option<Verdict> {
        if self.allowed(word) {
            return None;
        }
        let letters: Vec<char> = word.chars().collect();
        if let Some(e) = self.words.get(word) {
            return Some((e.kind, Target::of(e), e.fix.clone()));
        }
        let readings = morph.analyses(word);
        let known = readings.iter().any(|a| a.known);
        let hit = readings.iter().filter(|a| a.known || !known).find_map(|a| {
            let e = self.words.get(&fold(&a.lemma)).filter(|e| !e.aside)?;
            Some((e.kind, Target::of(e), e.fix.clone()))
        });
        if hit.is_some() {
            return hit;
        }
        let name =
            readings.iter().any(|a| a.known && ["Name", "Surn", "Patr", "Geox", "Orgn"].iter().any(|g| a.has(g)));
        if name && !disguised {
            return None;
        }
        self.stems
            .iter()
            .filter(|s| s.strong || (!known && !proper) || disguised)
            .find(|s| self.stem_at_root(&letters, s))
            .map(|s| (s.kind, Target::None, None))
    }

    /// A word with masked letters: a stem or listed word that the visible letters spell, with
    /// each mask standing for one letter (a mask at the end for any number).
    fn masked(&self, morph: &Morph, letters: &[char]) -> Option<Verdict> {
        let visible = letters.iter().filter(|&&c| c != MASK).count();
        if visible == 0 {
            return None;
        }
        if visible == 1 {
            // «х**», «б**»: only a listed word of exactly that length, first letter shown.
            return self.words.iter().find_map(|(w, e)| {
                let w: Vec<char> = w.chars().collect();
                (letters[0] != MASK
                    && e.kind == RudeKind::Obscene
                    && w.len() == letters.len()
                    && spells(letters, &w, true))
                .then_some((e.kind, Target::of(e), None))
            });
        }
        if letters.iter().filter(|&&c| c == MASK).count() == 1 {
            // «с*ки»: one masked letter of an inflected form — each letter tried with the dictionary.
            let at = letters.iter().position(|&c| c == MASK).unwrap_or(0);
            for c in 'а'..='я' {
                let mut word: Vec<char> = letters.to_vec();
                word[at] = c;
                let word: String = word.into_iter().collect();
                if let Some((kind, target, _)) = self.plain(morph, &word, true, false).filter(|v| v.0 != RudeKind::Mild)
                {
                    return Some((kind, target, None));
                }
            }
        }
        let stem = self.stems.iter().find(|s| {
            (0..letters.len())
                .any(|at| self.anchored(letters, at, s.anchor) && spells(&letters[at..], &s.letters, false))
        });
        if let Some(s) = stem {
            return Some((s.kind, Target::None, None));
        }
        self.words.iter().find_map(|(w, e)| {
            let w: Vec<char> = w.chars().collect();
            spells(letters, &w, true).then_some((e.kind, Target::of(e), None))
        })
    }

    /// Whether `stem` stands at a root's place in `letters`.
    fn stem_at_root(&self, letters: &[char], stem: &Stem) -> bool {
        (0..letters.len().saturating_sub(stem.letters.len() - 1))
            .any(|at| letters[at..].starts_with(&stem.letters) && self.anchored(letters, at, stem.anchor))
    }

    /// Whether position `at` of `letters` suits `anchor`.
    fn anchored(&self, letters: &[char], at: usize, anchor: Anchor) -> bool {
        match anchor {
            Anchor::Any => true,
            Anchor::Start => at == 0,
            Anchor::Prefix => at == 0 || self.prefix_chain(&letters[..at]),
        }
    }

    /// Whether `head` is a chain of at most [`MAX_PREFIXES`] listed prefixes («недо·вы»; a
    /// longer chain of short prefixes would read any word's start as one: «об·о·с·о·блять»).
    fn prefix_chain(&self, head: &[char]) -> bool {
        fn chain(prefixes: &[Vec<char>], head: &[char], left: usize) -> bool {
            head.is_empty()
                || left > 0
                    && prefixes.iter().any(|p| head.starts_with(p) && chain(prefixes, &head[p.len()..], left - 1))
        }
        chain(&self.prefixes, head, MAX_PREFIXES)
    }

    /// Whether the word at `start..end` is aimed at someone: standing alone as an address
    /// («…, баран!»), or naming the reader — nominative (or instrumental: «не будь бараном»)
    /// within [`AIM_WORDS`] words of «ты», «вы», a «твой»/«ваш» or a second-person verb, with no
    /// mark but a comma between («ты баран», «ваши курицы на кассе», «вы что, бараны»). «Покормите козла»,
    /// «Баран на вертеле — попробуйте» and «ваш заказ: курица гриль» speak of animals and food.
    ///
    /// `strict` for a word whose literal sense the text marks: a «ваш»/«твой» does not count
    /// («Ваша сучка перенесла наркоз»), and an address only in a sentence that speaks to the
    /// reader («Баран эдильбаевский, 2 года» is a listing).
    fn aimed(&self, doc: &Doc, morph: &Morph, start: usize, end: usize, strict: bool) -> bool {
        let Some(sentence) = doc.sentences.iter().find(|s| s.start <= start && end <= s.end) else {
            return true;
        };
        // A part of a hyphenated word («свинью-копилку») stands where its word stands.
        let inside = || {
            let t = doc.tokens.partition_point(|t| t.end <= start);
            doc.tokens.get(t).is_some_and(|tok| tok.start <= start && end <= tok.end).then_some((t, t))
        };
        let Some((first, last)) = doc.tokens_spanning(start, end).or_else(inside) else {
            return true;
        };
        let in_sentence = |t: &usize| sentence.tokens.contains(t);
        let boundary = |t: Option<usize>| {
            t.is_none_or(|t| {
                let tok = doc.tok(t);
                doc.tokens[t].kind == TokenKind::Newline || tok == "," || tok.chars().all(is_sentence_end)
            })
        };
        let tagged = |t: usize, tag: &str| {
            doc.tokens[t].kind == TokenKind::Word && morph.analyses(doc.tok(t)).first().is_some_and(|a| a.has(tag))
        };
        // «ты», «вы», not «твой», «ваш» (strict), or a second-person verb.
        let reader_word = |t: usize| {
            let word = doc.folded[t].as_str();
            let reading = morph.analyses(doc.tok(t));
            let reading = reading.first();
            !OBLIQUE_YOU.contains(&word)
                && (self.targets.contains(word) && !(strict && reading.is_some_and(|a| a.has("Apro")))
                    || reading.is_some_and(|a| a.has("2per") && !a.has("impr")))
        };
        // An address may have adjectives on either side («тупая овца, читай», «осёл упрямый!»).
        let adjective = |t: usize| tagged(t, "ADJF");
        let (mut from, mut to) = (first, last);
        while let Some(t) = doc.prev_non_space(from).filter(in_sentence).filter(|&t| adjective(t)) {
            from = t;
        }
        while let Some(t) = doc.next_non_space(to).filter(in_sentence).filter(|&t| adjective(t)) {
            to = t;
        }
        // …and an insulting adjective its noun («Тупые боты, позовите человека»).
        let mut noun = None;
        if adjective(to) {
            if let Some(t) = doc.next_non_space(to).filter(in_sentence).filter(|&t| tagged(t, "NOUN")) {
                (to, noun) = (t, Some(t));
            }
        }
        let before = if from == sentence.tokens.start { None } else { doc.prev_non_space(from) };
        let speaks_to_reader = || doc.words(sentence).any(|t| reader_word(t) || tagged(t, "impr"));
        if boundary(before) && boundary(doc.next_non_space(to)) && (!strict || speaks_to_reader()) {
            return true;
        }
        // «Вы можете купить тупой нож»: an adjective of a thing.
        if adjective(first) && noun.is_some_and(|t| tagged(t, "inan")) {
            return false;
        }
        let readings = morph.analyses(&doc.text[start..end]);
        let case = |c: &str| readings.iter().any(|a| a.has(c));
        // A verb or a short form has no case: «вы совсем отупели».
        let caseless = !CASES.iter().any(|c| case(c));
        let (named, instrumental) = (caseless || case("nomn") || case("voct"), case("ablt"));
        let animate = readings.first().is_some_and(|a| a.has("NOUN") && a.has("anim"));
        // The words around it, up to AIM_WORDS either way, over commas but not other marks
        // («вы что, тупые совсем»; «ваш заказ: курица гриль»).
        let side = |mut at: usize, step: fn(usize) -> Option<usize>| {
            let mut words = Vec::new();
            while words.len() < AIM_WORDS {
                at = match step(at).filter(in_sentence) {
                    Some(t) => t,
                    None => break,
                };
                match doc.tokens[at].kind {
                    TokenKind::Word => words.push(at),
                    TokenKind::Space => {}
                    TokenKind::Punct if doc.tok(at) == "," => {}
                    _ => break,
                }
            }
            words
        };
        let (left, right) = (side(first, |t| t.checked_sub(1)), side(last, |t| Some(t + 1)));
        left.into_iter().chain(right).any(|i| {
            let word = doc.folded[i].as_str();
            let reading = morph.analyses(doc.tok(i));
            let reading = reading.first();
            // «у вас клоуны работают» names the reader's people; «у вас тупой угол» a thing.
            let yours = animate
                && !strict
                && ["вас", "тебя"].contains(&word)
                && doc.prev_non_space(i).is_some_and(|p| doc.folded[p] == "у");
            // «тупой» is also a feminine instrumental: only a word that cannot be nominative is
            // named in the instrumental, by «ты»/«вы» or a link verb («не будь бараном», «ты
            // был бараном»; «кормите овощами» feeds).
            let link =
                reading.is_some_and(|a| self.links.contains(&fold(&a.lemma)) && (a.has("impr") || a.has("2per")));
            let pronoun = reader_word(i) && !reading.is_some_and(|a| a.has("Apro") || a.has("VERB"));
            // Strict, a verb does not name: «новый осёл, зовут Тимоша, приходите знакомиться».
            named && (yours || if strict { pronoun } else { reader_word(i) })
                || instrumental && !named && (pronoun || link)
        })
    }

    /// Threat and contempt phrases, matched by form or lemma inside one sentence. Each word's
    /// readings are looked up once; a phrase is tried only where its first word stands.
    fn find_phrases(&self, doc: &Doc, morph: &Morph, out: &mut Vec<RudeSpan>) {
        // By sentence: the passes of a rewrite change a sentence or two of a text at a time.
        type Key = (usize, String);
        thread_local! {
            static MEMO: Memo<Key, Rc<Vec<RudeSpan>>> = Memo::new(MEMO_TEXTS * 8);
        }
        for sentence in &doc.sentences {
            let key = (self as *const RudeLexicon as usize, doc.text[sentence.start..sentence.end].to_string());
            let found = match MEMO.with(|m| m.get(&key)) {
                Some(hit) => hit,
                None => {
                    let mut found = Vec::new();
                    self.sentence_phrases(doc, morph, sentence, &mut found);
                    for span in &mut found {
                        span.start -= sentence.start;
                        span.end -= sentence.start;
                    }
                    let found = Rc::new(found);
                    MEMO.with(|m| m.insert(key, found.clone()));
                    found
                }
            };
            out.extend(found.iter().map(|s| RudeSpan {
                start: s.start + sentence.start,
                end: s.end + sentence.start,
                ..s.clone()
            }));
        }
    }

    fn sentence_phrases(&self, doc: &Doc, morph: &Morph, sentence: &super::segment::Sentence, out: &mut Vec<RudeSpan>) {
        let words = keys(doc, morph, sentence);
        for at in 0..words.len() {
            let w = &words[at];
            let mut candidates: Vec<usize> = std::iter::once(&w.folded)
                .chain(&w.lemmas)
                .filter_map(|k| self.phrase_starts.get(k))
                .flatten()
                .copied()
                .collect();
            candidates.sort_unstable();
            candidates.dedup();
            for p in candidates {
                let phrase = &self.phrases[p];
                if let Some(last) = match_slots(&phrase.slots, &words, at) {
                    let (start, end) = (doc.tokens[w.token].start, doc.tokens[words[last].token].end);
                    out.push(RudeSpan { start, end, kind: phrase.kind, disguised: false, fix: phrase.fix.clone() });
                }
            }
        }
    }
}

/// A word of a sentence with its readings, for phrase matching.
struct Keys {
    token: usize,
    folded: String,
    readings: Rc<Vec<super::morph::Analysis>>,
    /// The folded lemma of each reading.
    lemmas: Vec<String>,
}

/// The words of `sentence` with their readings.
fn keys(doc: &Doc, morph: &Morph, sentence: &super::segment::Sentence) -> Vec<Keys> {
    doc.words(sentence)
        .map(|i| {
            let readings = morph.analyses(doc.tok(i));
            let lemmas = readings.iter().map(|a| fold(&a.lemma)).collect();
            Keys { token: i, folded: doc.folded[i].clone(), readings, lemmas }
        })
        .collect()
}

/// Matches `slots` against `words[at..]`; the index of the last word matched.
fn match_slots(slots: &[Slot], words: &[Keys], at: usize) -> Option<usize> {
    let (slot, rest) = slots.split_first()?;
    match slot {
        Slot::Gap => (0..=GAP_WORDS).find_map(|skip| match_slots(rest, words, at + skip)),
        Slot::Word { forms, grams } => {
            let w = words.get(at)?;
            let form = forms.contains(&w.folded);
            let fits = (form && grams.is_empty())
                || w.readings
                    .iter()
                    .zip(&w.lemmas)
                    .any(|(a, lemma)| (form || forms.contains(lemma)) && grams.iter().all(|g| a.has(g)));
            if !fits {
                None
            } else if rest.is_empty() {
                Some(at)
            } else {
                match_slots(rest, words, at + 1)
            }
        }
    }
}

/// Whether `word` is written with a capital and then small letters («Ебзеев», not «ЕБЗЕЕВ»).
fn capitalised(word: &str) -> bool {
    let mut letters = word.chars().filter(|c| c.is_alphabetic());
    letters.next().is_some_and(char::is_uppercase) && letters.all(char::is_lowercase)
}

/// Whether byte `at` of `text` opens a sentence: nothing but spaces, quotes or brackets after
/// the text's start, a line break or a sentence mark.
fn opens_sentence(text: &str, at: usize) -> bool {
    text[..at]
        .chars()
        .rev()
        .find(|c| !c.is_whitespace() || *c == '\n')
        .filter(|c| !matches!(c, '«' | '"' | '('))
        .is_none_or(|c| c == '\n' || is_sentence_end(c))
}

/// Whitespace-separated chunks of `text` (byte ranges).
fn chunks(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// E-mail and web addresses are facts, not words.
fn looks_like_address(chunk: &str) -> bool {
    chunk.contains("://")
        || chunk.starts_with("www.")
        || chunk.split_once('@').is_some_and(|(_, host)| host.contains('.') && host.len() > 3)
}

/// Characters that may stand inside a disguised word.
fn is_word_char(c: char) -> bool {
    is_letter(c) || c.is_ascii_digit() || matches!(c, '*' | '#' | '%' | '@' | '$')
}

/// The pieces of a chunk: runs of word characters, joined by single dots, dashes, underscores
/// or apostrophes between them; «3.14» before a letter is read as «пи» («3.14здец»).
fn pieces(chunk: &str, offset: usize) -> Vec<Vec<Ch>> {
    let chars: Vec<(usize, char)> = chunk.char_indices().collect();
    let mut out = Vec::new();
    let mut piece: Vec<Ch> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let next = |k: usize| chars.get(i + k).map(|&(_, c)| c);
        let pi = c == '3'
            && matches!(next(1), Some('.' | ','))
            && next(2) == Some('1')
            && next(3) == Some('4')
            && next(4).is_some_and(is_letter);
        if pi {
            let end = offset + chars[i + 3].0 + 1;
            piece.push(Ch { c: 'п', start: offset + at, end });
            piece.push(Ch { c: 'и', start: offset + at, end });
            i += 4;
            continue;
        }
        let joiner = matches!(c, '.' | '-' | '_' | '\'') && !piece.is_empty() && next(1).is_some_and(is_word_char);
        if is_word_char(c) || joiner {
            piece.push(Ch { c, start: offset + at, end: offset + at + c.len_utf8() });
        } else if !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
        }
        i += 1;
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    // «*важно*»: asterisks around a word are emphasis, not a mask.
    for p in &mut out {
        if p.len() > 2 && p[0].c == '*' && p[p.len() - 1].c == '*' {
            p.remove(0);
            p.pop();
        }
    }
    out
}

/// The word in lower-case Cyrillic, with masks, and whether that took more than case folding.
fn normalise(raw: &[Ch]) -> (Vec<char>, bool) {
    let lower: Vec<char> =
        raw.iter().flat_map(|ch| ch.c.to_lowercase()).map(|c| if c == 'ё' { 'е' } else { c }).collect();
    let cyrillic = lower.iter().any(|c| ('а'..='я').contains(c));
    let letters = lower.iter().any(|c| c.is_alphabetic());
    if !cyrillic {
        let latin: String = lower.iter().collect();
        let translit = transliterate(&latin);
        let changed = translit != latin;
        return (translit.chars().collect(), changed);
    }
    let mut disguised = false;
    let out = lower
        .iter()
        .map(|&c| {
            let mapped = match c {
                'a' => 'а',
                'c' | '$' => 'с',
                'e' => 'е',
                'k' => 'к',
                'm' => 'м',
                'o' | '0' => 'о',
                'p' => 'р',
                't' => 'т',
                'x' => 'х',
                'y' => 'у',
                'z' => 'з',
                'u' => 'и',
                'h' => 'н',
                'n' => 'п',
                'r' => 'г',
                'b' | '6' => 'б',
                '3' => 'з',
                '4' => 'ч',
                '9' => 'я',
                // «@» stands for «а» as often as for any other letter («бл@»).
                '*' | '#' | '%' | '1' | '@' if letters => MASK,
                other => other,
            };
            disguised |= mapped != c;
            mapped
        })
        .collect();
    (out, disguised)
}

/// Latin transliteration of Russian read back («blyat» → «блят», «nahui» → «нахуи»).
fn transliterate(latin: &str) -> String {
    const PAIRS: [(&str, &str); 12] = [
        ("shch", "щ"),
        ("sch", "щ"),
        ("sh", "ш"),
        ("ch", "ч"),
        ("zh", "ж"),
        ("kh", "х"),
        ("ts", "ц"),
        ("ya", "я"),
        ("yu", "ю"),
        ("yo", "е"),
        ("ye", "е"),
        ("ja", "я"),
    ];
    let mut out = String::with_capacity(latin.len() * 2);
    let bytes = latin.as_bytes();
    let mut i = 0;
    'outer: while i < latin.len() {
        for (from, to) in PAIRS {
            if latin[i..].starts_with(from) {
                out.push_str(to);
                i += from.len();
                continue 'outer;
            }
        }
        let c = latin[i..].chars().next().unwrap_or(' ');
        let prev_vowel = out.chars().last().is_some_and(|p| "аеиоуыэюя".contains(p));
        let mapped = match c {
            'a' | '@' => 'а',
            'b' | '6' => 'б',
            'c' => 'ц',
            'd' => 'д',
            'e' => 'е',
            'f' => 'ф',
            'g' => 'г',
            'h' | 'x' => 'х',
            'i' => 'и',
            'j' => 'й',
            'k' | 'q' => 'к',
            'l' => 'л',
            'm' => 'м',
            'n' => 'н',
            'o' | '0' => 'о',
            'p' => 'п',
            'r' => 'р',
            's' | '$' => 'с',
            't' => 'т',
            'u' => 'у',
            'v' | 'w' => 'в',
            'y' if prev_vowel || i + 1 == bytes.len() => 'й',
            'y' => 'ы',
            'z' | '3' => 'з',
            '4' => 'ч',
            other => other,
        };
        out.push(mapped);
        i += c.len_utf8();
    }
    out
}

/// Whether `word` has a run of `n` or more of one letter.
fn has_run(word: &str, n: usize) -> bool {
    let chars: Vec<char> = word.chars().collect();
    chars.windows(n).any(|w| w.iter().all(|&c| c == w[0]))
}

/// Runs of one letter collapsed to one («хууууй» → «хуй»).
fn collapse_repeats(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut last = None;
    for c in word.chars() {
        if Some(c) != last {
            out.push(c);
        }
        last = Some(c);
    }
    out
}

/// Whether `letters` (with masks) spell `target` from their start: every visible letter equal,
/// each mask one letter; with `whole`, the word must end where `target` ends, except that a mask at
/// the end may stand for the rest («бл*»).
fn spells(letters: &[char], target: &[char], whole: bool) -> bool {
    let mut visible = 0;
    for (k, &t) in target.iter().enumerate() {
        match letters.get(k) {
            Some(&MASK) => {}
            Some(&c) if c == t => visible += 1,
            Some(_) => return false,
            None => return letters.last() == Some(&MASK) && visible >= 2,
        }
    }
    !whole || letters.len() == target.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> RudeLexicon {
        let mut lex = RudeLexicon::default();
        for row in include_str!("../../prompts/style/rude.tsv").lines() {
            if row.trim().is_empty() || row.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = row.split('\t').collect();
            lex.add_row(&fields).unwrap_or_else(|e| panic!("{row}: {e}"));
        }
        lex
    }

    fn found(text: &str) -> Vec<(String, RudeKind)> {
        let doc = Doc::new(text, &[], &[]);
        lexicon().find(&doc, Morph::global()).into_iter().map(|s| (text[s.start..s.end].to_string(), s.kind)).collect()
    }

    #[test]
    fn transliteration_reads_russian_back() {
        assert_eq!(transliterate("blyat"), "блят");
        assert_eq!(transliterate("nahui"), "нахуи");
        assert_eq!(transliterate("huy"), "хуй");
        assert_eq!(transliterate("pizdec"), "пиздец");
    }

    #[test]
    fn masks_spell_a_stem_only_with_visible_letters() {
        let m = |s: &str| s.chars().map(|c| if c == '*' { MASK } else { c }).collect::<Vec<_>>();
        assert!(spells(&m("х*й"), &['х', 'у', 'й'], true));
        assert!(spells(&m("бл*"), &['б', 'л', 'я', 'д', 'ь'], true));
        assert!(!spells(&m("х*р"), &['х', 'у', 'й'], true));
        assert!(!spells(&m("**"), &['х', 'у', 'й'], true));
    }

    #[test]
    fn pieces_split_on_punctuation_and_keep_inner_joiners() {
        let words: Vec<String> = pieces("(х.у.й),заказ", 0).iter().map(|p| p.iter().map(|c| c.c).collect()).collect();
        assert_eq!(words, ["х.у.й", "заказ"]);
        let pi: String = pieces("3.14здец", 0)[0].iter().map(|c| c.c).collect();
        assert_eq!(pi, "пиздец");
        let emphasis: String = pieces("*важно*", 0)[0].iter().map(|c| c.c).collect();
        assert_eq!(emphasis, "важно");
    }

    #[test]
    fn finds_obscene_words_in_inflections_and_disguises() {
        for text in [
            "вали на хуй",
            "нахуя ты это сделал",
            "ну ты и уебок",
            "это пиздец",
            "х*й знает",
            "бл@, опять",
            "3.14здец полный",
            "xуй",
            "хууууй",
            "х у й",
            "blyat",
            "долбоёб",
            "пиzдец просто",
            "заебали уже",
        ] {
            let hits = found(text);
            assert!(hits.iter().any(|(_, k)| *k == RudeKind::Obscene), "{text}: {hits:?}");
        }
    }

    #[test]
    fn a_spelled_word_after_a_real_one_letter_word_is_reported_without_it() {
        let spans = |text: &str| found(text).into_iter().map(|(span, _)| span).collect::<Vec<_>>();
        assert_eq!(spans("ну ты и д е б и л"), ["д е б и л"]);
        assert_eq!(spans("ну и п и д о р"), ["п и д о р"]);
        // A letter that belongs to the word stays in it.
        assert_eq!(found("ты с у к а").len(), 1);
        assert!(found("ты с у к а")[0].0.starts_with('с'), "{:?}", found("ты с у к а"));
    }

    #[test]
    fn real_words_with_the_roots_do_not_fire() {
        for text in [
            "Можно хлебать суп.",
            "Сабля в музее.",
            "Не рекомендуем употреблять после срока.",
            "Наша команда на связи.",
            "Профессор Ебелинг ответит завтра.",
            "Стоимость 300 рублей, без рубля сдачи.",
            "Себестоимость доставки выросла.",
            "Передам тебе и себе.",
            "Застрахуйте посылку.",
            "Скипидар в наличии.",
            "Курьер Борис Ебзеев привезёт документы.",
            "Мандарины по 120 рублей.",
            "Сукно и херес на складе в Херсоне.",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
    }

    #[test]
    fn animal_words_are_insults_only_when_aimed() {
        assert_eq!(found("Корм для козла есть в наличии."), []);
        assert_eq!(found("Вы козлы, верните деньги."), [("козлы".to_string(), RudeKind::Insult)]);
    }

    #[test]
    fn a_literal_sense_holds_where_the_text_marks_it_unless_said_to_the_reader() {
        for text in [
            "а щенки от этой суки уже все разобраны?",
            "Ваша сучка перенесла наркоз хорошо, попонку не снимайте.",
            "Баран эдильбаевский, 2 года, отличный производитель.",
            "Кретинизм — заболевание щитовидной железы.",
        ] {
            assert_eq!(found(text), [], "{text}");
        }
        assert!(!found("Ты сука, где мой щенок?").is_empty());
        assert!(!found("Суки вы, а не заводчики, щенок больной!").is_empty());
        assert!(!found("Сука, где мой заказ?").is_empty(), "no cue, no literal sense");
    }

    #[test]
    fn an_allowed_phrase_and_a_surname_are_no_insults() {
        assert_eq!(found("Вечером играем в дурака и в подкидного дурака."), []);
        assert_eq!(found("Петухов, Курицын, Гусев — бригада на объекте."), []);
        assert!(!found("Ты дурак?").is_empty());
    }

    #[test]
    fn the_instrumental_names_the_reader_only_with_a_link_verb() {
        assert_eq!(found("Кормите крысу свежими овощами."), []);
        assert!(!found("Не будь овощем.").is_empty());
        assert!(!found("Не прикидывайтесь бараном.").is_empty());
    }

    #[test]
    fn an_insulting_adjective_of_a_thing_is_no_insult() {
        assert_eq!(found("Вы можете купить тупой нож для масла."), []);
        assert!(!found("Вы тупой?").is_empty());
    }

    #[test]
    fn phrases_match_by_lemma_across_gaps() {
        assert!(found("Не надо на меня орать.").iter().any(|(_, k)| *k == RudeKind::Contempt));
        assert!(found("Отстаньте от меня.").iter().any(|(_, k)| *k == RudeKind::Contempt));
    }

    #[test]
    fn addresses_are_not_words() {
        assert_eq!(found("Пишите на pizdec@mail.ru или https://huy.example"), []);
    }

    #[test]
    fn a_bad_row_says_what_is_wrong() {
        let mut lex = RudeLexicon::default();
        assert!(lex.add_row(&["stem", "хуй", "rude"]).unwrap_err().contains("third field"));
        assert!(lex.add_row(&["word", "дебил", "insult", "loud"]).unwrap_err().contains("unknown option"));
        assert!(lex.add_row(&["phrase", "… орать", "contempt"]).unwrap_err().contains("starts and ends"));
        assert!(lex.add_row(&["verb", "x"]).unwrap_err().contains("first field"));
        assert!(lex.add_row(&["literal", "сука", "dogs", ""]).unwrap_err().contains("cue words"));
        assert!(lex.add_row(&["allow", "… дурак"]).unwrap_err().contains("starts and ends"));
    }
}
