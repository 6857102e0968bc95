//! Rule A1 `polite-you`: a client is addressed with «Вы», never with «ты». This module finds
//! the words of a draft that belong to the informal «ты» register and computes their formal
//! replacements:
//!
//! * the pronoun and the possessive, from a closed table (`prompts/style/polite-pronouns.tsv`):
//!   «ты» → «вы», «тебе» → «вам» (or «вас» after a preposition of place: «о тебе» → «о вас»),
//!   «твоего» → «вашего», …;
//! * verbs in the 2nd person singular, present or future: «можешь» → «можете»;
//! * singular imperatives: «пришли» → «пришлите», «скажи-ка» → «скажите-ка»;
//! * words that agree with a «ты» subject in gender and number — the past tense
//!   («ты получила» → «вы получили»), short adjectives and participles («ты готов» → «вы
//!   готовы») and «сам/сама» next to «ты» («ты сама» → «вы сами»). A clause without a subject of
//!   its own inherits the subject of the previous clause of its sentence, so «ты бы смогла,
//!   если бы захотела» becomes «вы бы смогли, если бы захотели», while «он сделал» or «что было»
//!   stay as they are.
//!
//! Full adjectives keep their form («если ты богатый» → «если вы богатый»), as do «свой» and
//! «себя». Replacements are lowercase except where the original word was capitalised or in
//! capitals; turning «вы» into «Вы» is a separate rule.

use crate::text::memo::Memo;
use crate::text::words::{is_letter, lower};
use std::collections::HashMap;
use std::sync::OnceLock;

use std::rc::Rc;

use crate::text::morph::{Analysis, Morph};
use crate::text::segment::{Doc, TokenKind};

/// One word to change: byte range in the input, the original word, its formal replacement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoliteEdit {
    /// Byte offset of the word's first byte in the input.
    pub start: usize,
    /// Byte offset just past the word's last byte.
    pub end: usize,
    /// The word as written in the input (`&text[start..end]`).
    pub before: String,
    /// Its formal replacement, in the case pattern of `before`.
    pub after: String,
}

/// The closed-class table: informal pronoun and possessive forms and their formal equivalents.
const PRONOUNS_TSV: &str = include_str!("../../prompts/style/polite-pronouns.tsv");

fn pronoun_table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| {
        PRONOUNS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split_once('\t'))
            .map(|(informal, formal)| (informal.trim(), formal.trim()))
            .collect()
    })
}

/// Prepositions after which «тебе» is prepositional (→ «вас») rather than dative (→ «вам»).
const LOCATIVE_PREPOSITIONS: [&str; 7] = ["о", "об", "обо", "в", "во", "на", "при"];

/// Particles that may follow a word after a hyphen without changing it: «скажи-ка», «ты-то».
const HYPHEN_PARTICLES: [&str; 9] = ["ка", "то", "нибудь", "либо", "таки", "де", "с", "тко", "кась"];

/// Words that may stand between «ты» and «сам/сама»: «ты и сама знаешь», «ты же сам».
const SAM_GAP_WORDS: [&str; 6] = ["и", "же", "ж", "ведь", "бы", "уж"];

/// Words that cannot be the subject of a verb but carry a nominative reading.
const NOT_SUBJECTS: [&str; 6] = ["что", "это", "то", "все", "всё", "себя"];

/// Nominative pronouns that are subjects of their own and block an inherited «ты».
const SUBJECT_PRONOUNS: [&str; 16] = [
    "я",
    "он",
    "она",
    "оно",
    "мы",
    "вы",
    "они",
    "кто",
    "никто",
    "некто",
    "который",
    "которая",
    "которое",
    "которые",
    "каждый",
    "любой",
];

/// Finds every word of the segmented draft `doc` that must change for rule A1 and its formal
/// replacement.
///
/// The edits are sorted by position and never overlap; each covers one word (or the first part
/// of a word joined to a particle by a hyphen, as in «скажи-ка»). Words in other scripts and
/// the facts the segmenter found (numbers, dates, e-mail addresses, URLs, …) are never edited.
///
/// Several rules ask for the edits of one text (A1 itself, and every rule that matches forbidden
/// phrases in the formal register): the result is memoised per thread and text.
pub fn polite_you_edits(morph: &Morph, doc: &Doc) -> Rc<Vec<PoliteEdit>> {
    thread_local! {
        // Only the texts of the current rewrite are asked about again.
        static MEMO: Memo<String, Rc<Vec<PoliteEdit>>> = Memo::new(64);
    }
    MEMO.with(|m| m.get_or_insert_with(doc.text, || doc.text.to_string(), || Rc::new(compute_edits(morph, doc))))
}

fn compute_edits(morph: &Morph, doc: &Doc) -> Vec<PoliteEdit> {
    let words = analyse(morph, doc);
    let mut edits = Vec::new();
    for sentence in words.split_inclusive(|w| w.ends_sentence) {
        // The subject of the previous clause, for clauses without a subject of their own: the
        // last certain subject in it (nouns that may be objects do not count).
        let mut inherited: Option<Subject> = None;
        // Whether an imperative came earlier in the sentence: «Сделайте снимок и пришли его» —
        // a form coordinated with it is an imperative too.
        let mut imperative_before = false;
        let mut after_thanks = false;
        for clause in sentence.split_inclusive(|w| w.ends_clause) {
            let question = clause.last().is_some_and(|w| w.question);
            let candidates =
                (0..clause.len()).map(|j| candidate(&clause[j]).filter(|_| !after_preposition(clause, j))).collect();
            // «Спасибо, что написала»: what the thanks is for was done by the addressee.
            let thanked = after_thanks && clause.first().is_some_and(|w| w.lower == "что");
            let from_before = if thanked { Some(Subject::You) } else { inherited };
            after_thanks = clause.iter().any(|w| THANKS.contains(&w.lower.as_str()))
                && clause
                    .iter()
                    .all(|w| THANKS.contains(&w.lower.as_str()) || THANKS_MODIFIERS.contains(&w.lower.as_str()));
            let context = Context { clause, candidates, inherited: from_before, question, imperative_before };
            for (i, word) in clause.iter().enumerate() {
                if let Some(after) = replacement(morph, &context, i) {
                    if after != word.lower {
                        edits.push(PoliteEdit {
                            start: word.start,
                            end: word.end,
                            before: word.text.to_string(),
                            after: match_case(word.text, &after),
                        });
                    }
                }
            }
            // «вы» governs its own clause only: a later clause does not inherit it («…, с которой
            // Вы платили: возврат оформлен»).
            inherited = context
                .candidates
                .iter()
                .rev()
                .flatten()
                .find(|c| c.strong)
                .map(|c| if c.formal { Subject::Other } else { c.subject })
                .or(inherited);
            imperative_before |= clause.iter().any(|w| w.analyses.first().is_some_and(|a| a.has("impr")));
        }
    }
    edits
}

/// Words that open a subordinate clause.
const SUBORDINATORS: [&str; 15] = [
    "что",
    "чтобы",
    "если",
    "когда",
    "потому",
    "поскольку",
    "пока",
    "который",
    "которая",
    "которое",
    "которые",
    "которого",
    "которой",
    "которую",
    "которым",
];

/// Words of thanks whose «, что …» clause is about the addressee («спасибо, что подождала»).
const THANKS: [&str; 3] = ["спасибо", "благодарю", "благодарим"];

/// Words that may stand beside them in that clause («большое спасибо», «заранее благодарю»).
const THANKS_MODIFIERS: [&str; 5] = ["большое", "огромное", "заранее", "вам", "тебе"];

/// A word of the input with what the rules need to know about it.
#[derive(Debug)]
struct Word<'t> {
    /// Byte range of the editable part (the word without a hyphenated particle).
    start: usize,
    end: usize,
    /// `&text[start..end]`.
    text: &'t str,
    /// Lowercase `text`, without stress marks.
    lower: String,
    /// Whether the rules may change this word (a Russian word outside URLs and e-mails).
    editable: bool,
    /// A token in another script, such as a Latin name («Netflix»): it may be a subject.
    foreign: bool,
    /// «ты» addressing someone (not the «ты» of the interjection «ух ты!»).
    you: bool,
    /// Morphological readings, best first; empty for tokens that are not Russian words.
    analyses: Rc<Vec<Analysis>>,
    /// Whether a clause boundary (comma, dash, bracket, quote, …) follows the word.
    ends_clause: bool,
    /// Whether a sentence boundary (. ! ? … ; or a line break) follows the word.
    ends_sentence: bool,
    /// Whether a question mark follows the word.
    question: bool,
}

/// Who a clause or a verb is about, as far as the A1 rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subject {
    /// The addressee, «ты».
    You,
    /// Anyone or anything else.
    Other,
}

/// How far (in words) the rules look for a word's subject or a clause's head: long enough for
/// any real clause, short enough to keep a 100 KB text without punctuation linear.
const WINDOW: usize = 24;

/// The clause a word is in and what is known from the rest of its sentence.
struct Context<'c, 't> {
    clause: &'c [Word<'t>],
    /// Each word of the clause as a possible subject (`None` after a preposition).
    candidates: Vec<Option<Candidate>>,
    /// The subject of the previous clauses of the sentence.
    inherited: Option<Subject>,
    /// The clause ends a question: a subjectless «Смотрела его?» asks about the addressee
    /// (earlier clauses of a question, as in «Не видел этого, а ты?», are often statements).
    question: bool,
    /// An imperative came in an earlier clause of the sentence.
    imperative_before: bool,
}

/// The formal form of `context.clause[i]`, if the word belongs to the «ты» register.
fn replacement(morph: &Morph, context: &Context, i: usize) -> Option<String> {
    let clause = context.clause;
    let word = &clause[i];
    if !word.editable {
        return None;
    }
    if let Some(&formal) = pronoun_table().get(word.lower.as_str()) {
        if word.lower == "ты" && !word.you {
            return None;
        }
        let after_locative_preposition =
            i > 0 && clause[i - 1].editable && LOCATIVE_PREPOSITIONS.contains(&clause[i - 1].lower.as_str());
        return Some(if word.lower == "тебе" && after_locative_preposition { "вас" } else { formal }.to_string());
    }
    let reading = main_reading(&word.analyses)?;
    if reading.pos() == "VERB" && reading.has("2per") && reading.has("sing") && !reading.has("impr") {
        // «ешь» is both «ты ешь» and the imperative «ешь!»: without «ты» before it, at the head
        // of its clause, it is the imperative.
        let imperative = word
            .analyses
            .iter()
            .find(|a| a.has("impr") && a.has("sing") && a.lemma == reading.lemma && a.score >= reading.score - 1e-4);
        if let Some(imperative) = imperative.filter(|_| at_clause_head(clause, i) && !clause[..i].iter().any(|w| w.you))
        {
            return inflect(morph, word, imperative, &["plur"]);
        }
        return inflect(morph, word, reading, &["plur", "2per"]);
    }
    if reading.has("impr") && reading.has("sing") && reading.has("excl") {
        return is_imperative(context, i).then(|| inflect(morph, word, reading, &["plur"])).flatten();
    }
    // Forms that agree with a «ты» subject: the top reading, or a weaker one that follows «ты»
    // as its predicate («ты прав», «ты был не прав»: not the genitive plural of «право»).
    let near_you = predicate_of_you(clause, i);
    let mut agreeing = word
        .analyses
        .iter()
        .find(|a| is_agreeing(a) && (std::ptr::eq(*a, reading) || (near_you && a.score >= 0.05 && !is_sam(a))))?;
    // Among equally probable agreeing readings a verb beats a short participle, which beats a
    // short adjective: «пришла» is «прийти», not «пришлый»; «уверен» → «уверены» (participle),
    // not the «уверенны» of «уверенный».
    let rank = |a: &Analysis| match a.pos() {
        "VERB" => 0,
        "PRTS" => 1,
        _ => 2,
    };
    if let Some(better) = word
        .analyses
        .iter()
        .filter(|a| is_agreeing(a) && a.score >= agreeing.score - 1e-4 && rank(a) < rank(agreeing))
        .min_by_key(|a| rank(a))
    {
        agreeing = better;
    }
    let subject = subject_of(context, i, agreeing).or((context.question && !is_sam(agreeing)).then_some(Subject::You));
    if is_sam(agreeing) {
        // «ты сама», «ты и сам знаешь», «ищешь сам себя» — but not «сама идея».
        let modifies_next = clause
            .get(i + 1)
            .and_then(|w| w.analyses.first())
            .is_some_and(|a| matches!(a.pos(), "NOUN" | "ADJF") && a.has("nomn"));
        let you = sam_next_to_you(clause, i) || sam_after_imperative(clause, i) || subject == Some(Subject::You);
        return (you && !modifies_next).then(|| "сами".to_string());
    }
    (subject == Some(Subject::You)).then(|| inflect(morph, word, agreeing, &["plur"])).flatten()
}

/// The reading the rules act on: the most probable one. Among equally probable readings a
/// 2nd-person verb wins («знаешь» is both the verb and a parenthetical word); an imperative
/// competing only with other verb forms wins too, for [`is_imperative`] to judge by context
/// («пришли»: прислать / прийти); otherwise a reading no rule changes is preferred, so that a
/// tie never makes an edit («спор»: the noun, not the short form of «спорый»).
fn main_reading(analyses: &[Analysis]) -> Option<&Analysis> {
    let best = analyses.iter().map(|a| a.score).fold(f32::MIN, f32::max);
    let top: Vec<&Analysis> = analyses.iter().filter(|a| a.score >= best - 1e-4).collect();
    let second_person = top.iter().find(|a| a.pos() == "VERB" && a.has("2per"));
    // An interjection tie is the same imperative used as a discourse marker («слушай, …»,
    // «смотри, …»): still the «ты» register.
    let imperative =
        top.iter().find(|a| a.has("impr")).filter(|_| top.iter().all(|a| matches!(a.pos(), "VERB" | "INTJ")));
    let unchanged = top.iter().find(|a| !a.has("impr") && !is_agreeing(a) && !a.has("2per"));
    second_person.or(imperative).or(unchanged).or(top.first()).copied()
}

/// Whether the reading agrees with a singular subject in gender: a masculine or feminine
/// singular past tense, short adjective or short participle, or «сам/сама».
fn is_agreeing(a: &Analysis) -> bool {
    let singular = a.has("sing") && (a.has("masc") || a.has("femn"));
    singular
        && match a.pos() {
            "VERB" => a.has("past"),
            "ADJS" | "PRTS" => true,
            "ADJF" => is_sam(a),
            _ => false,
        }
}

/// Whether `clause[i]` follows «ты» with at most a few adverbs, particles or forms of «быть»
/// between them, as a predicate does.
fn predicate_of_you(clause: &[Word], i: usize) -> bool {
    let from = i.saturating_sub(3);
    let Some(you) = clause[from..i].iter().rposition(|w| w.you).map(|j| from + j) else { return false };
    clause[you + 1..i].iter().all(|w| {
        matches!(w.lower.as_str(), "не" | "бы" | "же" | "ведь" | "был" | "была" | "будешь")
            || w.analyses.first().is_some_and(|a| matches!(a.pos(), "ADVB" | "PRCL"))
    })
}

fn is_sam(a: &Analysis) -> bool {
    a.lemma == "сам" && a.has("nomn") && a.has("sing")
}

/// «сам/сама» belongs to «ты» when it stands next to it, possibly with a particle between.
fn sam_next_to_you(clause: &[Word], i: usize) -> bool {
    let gap = |w: &&Word| SAM_GAP_WORDS.contains(&w.lower.as_str());
    let before = clause[..i].iter().rev().take(3).find(|w| !gap(w));
    let after = clause[i + 1..].iter().take(3).find(|w| !gap(w));
    before.is_some_and(|w| w.you) || after.is_some_and(|w| w.you)
}

/// «сам/сама» after a «ты» imperative of its clause means the addressee: «посмотри сам»,
/// «позвони курьеру сам» (the nearest verb before it is the imperative).
fn sam_after_imperative(clause: &[Word], i: usize) -> bool {
    clause[..i]
        .iter()
        .rev()
        .filter_map(|w| main_reading(&w.analyses).map(|r| (w, r)))
        .find(|(_, r)| r.pos() == "VERB")
        .is_some_and(|(w, r)| w.editable && r.has("impr") && r.has("sing") && r.has("excl"))
}

/// Whether a singular imperative reading of `clause[i]` is really an imperative. A form that is
/// also a plural past tense («пришли»: прислать / прийти) is read as the imperative only at the
/// head of its clause — after nothing but «ты», particles, adverbs, interjections and
/// coordinating conjunctions («А пришли мне…», «Тогда пришли…»), so never after a subject or a
/// subordinating conjunction («чтобы данные попали…») — and when no certain plural nominative
/// follows it («Вчера пришли гости»).
fn is_imperative(context: &Context, i: usize) -> bool {
    let word = &context.clause[i];
    if !word.analyses.iter().any(|a| a.has("past") && a.has("plur") && a.score >= 0.05) {
        return true;
    }
    let plural_subject_follows = context.candidates[i + 1..]
        .iter()
        .take(WINDOW)
        .flatten()
        .any(|c| c.subject == Subject::Other && c.plural && c.strong);
    let clause = context.clause;
    let coordinated = i > 0
        && COORDINATING.contains(&clause[i - 1].lower.as_str())
        && (context.imperative_before
            || clause[..i - 1].iter().any(|w| w.analyses.first().is_some_and(|a| a.has("impr"))));
    (at_clause_head(clause, i) || coordinated) && !plural_subject_follows
}

/// Whether only «ты», particles, adverbs, interjections and coordinating conjunctions precede
/// `clause[i]` in its clause. «ты» cannot be the subject of a plural past tense, so «Ты пришли
/// мне…» is an imperative.
fn at_clause_head(clause: &[Word], i: usize) -> bool {
    i <= WINDOW
        && clause[..i].iter().all(|w| {
            w.lower == "не"
                || w.you
                || COORDINATING.contains(&w.lower.as_str())
                || w.analyses.first().is_some_and(|a| matches!(a.pos(), "PRCL" | "INTJ" | "ADVB"))
        })
}

/// Words that open a new clause inside a sentence written without commas.
const CLAUSE_OPENERS: [&str; 10] = ["поэтому", "потому", "и", "а", "но", "затем", "потом", "тогда", "однако", "так"];

/// Coordinating conjunctions, which may precede an imperative: «и пришли», «а дай».
const COORDINATING: [&str; 6] = ["и", "а", "но", "или", "да", "так"];

/// A possible subject in a clause.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    subject: Subject,
    plural: bool,
    /// The word is certainly nominative (a pronoun, or a noun that cannot be accusative).
    strong: bool,
    /// Grammatical gender when it is known: "masc", "femn" or "neut".
    gender: Option<&'static str>,
    /// The formal «вы»: the addressee within its own clause, not inherited by the next.
    formal: bool,
}

/// `word` as a possible subject: «ты», a nominative personal or relative pronoun, a noun or a
/// substantivised adjective whose best reading is nominative, or a foreign word (a name).
fn candidate(word: &Word) -> Option<Candidate> {
    // «вы» addresses the client too: whatever agrees with it must be plural («Вы сами виноваты,
    // что не указал» → «указали»), so a draft that mixes the registers is made consistent.
    if word.you {
        return Some(Candidate { subject: Subject::You, plural: false, strong: true, gender: None, formal: false });
    }
    if word.lower == "вы" {
        return Some(Candidate { subject: Subject::You, plural: false, strong: true, gender: None, formal: true });
    }
    if word.foreign {
        return Some(Candidate { subject: Subject::Other, plural: false, strong: false, gender: None, formal: false });
    }
    if NOT_SUBJECTS.contains(&word.lower.as_str()) {
        return None;
    }
    let best = word.analyses.first()?;
    if SUBJECT_PRONOUNS.contains(&word.lower.as_str()) {
        let gender =
            if matches!(word.lower.as_str(), "кто" | "никто" | "некто") { None } else { gender_of(best) };
        return Some(Candidate {
            subject: Subject::Other,
            plural: best.has("plur"),
            strong: true,
            gender,
            formal: false,
        });
    }
    // A noun, or a plural-only noun that is also an adjective or participle («данные»).
    let nominative_noun = |a: &Analysis| a.pos() == "NOUN" && a.has("nomn");
    // The nominative may tie with another case («адрес»: nominative or accusative).
    let tied_nominative = || word.analyses.iter().find(|a| nominative_noun(a) && a.score >= best.score - 1e-4);
    let noun = if nominative_noun(best) {
        best
    } else if (best.has("nomn") && matches!(best.pos(), "ADJF" | "PRTF")) || best.pos() == "NOUN" {
        tied_nominative()?
    } else {
        return None;
    };
    let strong = !word.analyses.iter().any(|a| a.has("accs") && a.score >= 0.1);
    Some(Candidate {
        subject: Subject::Other,
        plural: noun.has("plur"),
        strong,
        gender: gender_of(noun),
        formal: false,
    })
}

fn gender_of(a: &Analysis) -> Option<&'static str> {
    ["masc", "femn", "neut"].into_iter().find(|g| a.has(g))
}

fn after_preposition(clause: &[Word], j: usize) -> bool {
    j > 0 && clause[j - 1].analyses.first().is_some_and(|a| a.pos() == "PREP")
}

/// The subject of `context.clause[i]` (read as `reading`, a singular form), given the subject
/// inherited from the previous clauses: the nearest preceding agreeing candidate — certain
/// nominatives first, then nouns that may also be objects — else the nearest following one,
/// else the inherited subject. A following noun that may be accusative is taken for the object
/// of a transitive verb when there is an inherited subject («ты уверен, что ввёл пароль»), and a
/// following subject wins over a preceding one that already has its own verb («ты выбрал тариф
/// или его подключил менеджер»).
fn subject_of(context: &Context, i: usize, reading: &Analysis) -> Option<Subject> {
    let agrees = |c: &Candidate| c.subject == Subject::You || (!c.plural && c.gender.is_none_or(|g| reading.has(g)));
    let agreeing = |j: &usize| context.candidates[*j].filter(agrees).map(|c| (*j, c));
    let following = (i + 1..context.clause.len())
        .take(WINDOW)
        .find_map(|j| agreeing(&j))
        // A transitive verb's following noun that may be accusative is its object («не указал
        // подъезд»), unless nothing else can be the subject.
        .filter(|(_, c)| {
            c.strong || !reading.has("tran") || (context.inherited.is_none() && before_is_empty(context, i))
        })
        .map(|(_, c)| c.subject);
    let clause = context.clause;
    // A conjunction that opens a clause, then a noun that can be nominative and agrees: the
    // clause has a subject of its own, even one more often read as an object («поэтому заказ
    // вернулся»).
    let opens_clause = |from: usize| {
        (from..i).any(|k| {
            CLAUSE_OPENERS.contains(&clause[k].lower.as_str())
                && clause.get(k + 1).is_some_and(|n| {
                    n.analyses.iter().any(|a| {
                        a.pos() == "NOUN"
                            && a.has("nomn")
                            && a.score >= 0.1
                            && gender_of(a).is_none_or(|g| reading.has(g))
                    })
                })
        })
    };
    let before: Vec<(usize, Candidate)> = (i.saturating_sub(WINDOW)..i).filter_map(|j| agreeing(&j)).collect();
    if let Some(&(j, c)) = before.iter().rev().find(|(_, c)| c.strong).or(before.last()) {
        let Some(last_verb) = (j + 1..i).rev().find(|&v| is_finite_verb(&clause[v])) else { return Some(c.subject) };
        // A new clause began after that verb: a noun of its own that agrees is its subject
        // («ты указал адрес, поэтому заказ вернулся»: «заказ», not «ты»).
        if let Some(&(_, own)) = before.iter().rev().find(|(k, _)| *k > last_verb) {
            return Some(own.subject);
        }
        if opens_clause(last_verb + 1) {
            return Some(Subject::Other);
        }
        return Some(following.unwrap_or(c.subject));
    }
    if opens_clause(0) {
        return Some(Subject::Other);
    }
    following.or(context.inherited)
}

/// Whether no word before `i` in its clause can be a subject.
fn before_is_empty(context: &Context, i: usize) -> bool {
    context.candidates[i.saturating_sub(WINDOW)..i].iter().all(Option::is_none)
}

/// Whether the word's best reading is a finite verb (or a short adjective, its equivalent).
fn is_finite_verb(word: &Word) -> bool {
    word.analyses.first().is_some_and(|a| (a.pos() == "VERB" && !a.has("impr")) || a.pos() == "ADJS")
}

/// `word` inflected from `reading` to the grammemes, in lowercase, keeping the input's «е»
/// where it writes «е» for «ё».
///
/// Cached per thread: walking a lexeme is the costliest step, and a rewrite converts the same
/// words in several passes.
fn inflect(morph: &Morph, word: &Word, reading: &Analysis, grammemes: &[&str]) -> Option<String> {
    type Key = (String, String, String, String);
    thread_local! {
        static CACHE: Memo<Key, Option<String>> = Memo::new(100_000);
    }
    let key = (word.lower.clone(), reading.lemma.clone(), reading.tag.clone(), grammemes.join(","));
    CACHE.with(|c| {
        c.get_or_insert_with(
            &key,
            || key.clone(),
            || {
                morph.inflect(&word.lower, |a| a == reading, grammemes).map(|form| {
                    if word.lower.contains('ё') {
                        form
                    } else {
                        form.replace('ё', "е")
                    }
                })
            },
        )
    })
}

/// `formal` (lowercase) in the case pattern of `informal`: «Ты» → «Вы», «ТЫ» → «ВЫ».
fn match_case(informal: &str, formal: &str) -> String {
    let letters: Vec<char> = informal.chars().filter(|&c| is_letter(c)).collect();
    let upper = |c: &char| c.is_uppercase();
    if letters.len() > 1 && letters.iter().all(upper) {
        return formal.to_uppercase();
    }
    if letters.first().is_some_and(upper) && letters[1..].iter().all(|c| !c.is_uppercase()) {
        let mut chars = formal.chars();
        return chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    }
    formal.to_string()
}

/// The words of `doc` with their readings and the clause and sentence boundaries after them.
fn analyse<'t>(morph: &Morph, doc: &Doc<'t>) -> Vec<Word<'t>> {
    let mut words: Vec<Word<'t>> = Vec::new();
    let mark = |words: &mut Vec<Word>, c: char| {
        if let Some(last) = words.last_mut() {
            last.ends_clause = true;
            last.ends_sentence |= matches!(c, '\n' | '.' | '!' | '?' | '…' | ';' | '‼' | '⁇' | '⁈' | '⁉');
            last.question |= matches!(c, '?' | '⁇' | '⁈' | '⁉');
        }
    };
    for (i, token) in doc.tokens.iter().enumerate() {
        let piece = doc.tok(i);
        match token.kind {
            // A word glued to digits («2ты», «ты2») is a code, not a word.
            TokenKind::Word if glued_to_fact(doc, i) => words.push(Word::opaque(token.start, piece)),
            TokenKind::Word => words.push(Word::new(morph, token.start, piece)),
            TokenKind::Space => {}
            TokenKind::Newline => mark(&mut words, '\n'),
            // Punctuation, emoji and smileys end a clause («Привет 👋 ты где?»).
            TokenKind::Punct | TokenKind::Emoji | TokenKind::Smiley | TokenKind::Other => {
                piece.chars().for_each(|c| mark(&mut words, c))
            }
            // Facts (numbers, dates, links, …) are never edited and are no subject.
            _ => words.push(Word::opaque(token.start, piece)),
        }
    }
    // A subordinate clause opens a clause even without its comma: in «вы не видите что заказ
    // отменён» the participle agrees with «заказ», not with «вы».
    for i in 1..words.len() {
        if SUBORDINATORS.contains(&words[i].lower.as_str()) {
            words[i - 1].ends_clause = true;
        }
    }
    // «ты» right after an interjection and before a pause is part of it: «ух ты!», «ах ты,».
    for i in 0..words.len() {
        let interjection = i > 0
            && !words[i - 1].ends_clause
            && words[i - 1].lower != "ну"
            && words[i - 1].analyses.first().is_some_and(|a| a.pos() == "INTJ");
        let pause = words[i].ends_clause || i + 1 == words.len();
        words[i].you = words[i].editable && words[i].lower == "ты" && !(interjection && pause);
    }
    words
}

impl<'t> Word<'t> {
    /// A word of the text starting at byte `start`: a Russian word, possibly hyphenated, or an
    /// opaque token (other scripts, digits).
    fn new(morph: &Morph, start: usize, run: &'t str) -> Word<'t> {
        if !run.chars().all(|c| is_russian_letter(c) || is_combining_mark(c) || is_hyphen(c)) {
            let mut word = Word::opaque(start, run);
            word.foreign = run.chars().any(is_letter);
            return word;
        }
        let parts: Vec<(usize, &str)> = split_hyphens(run);
        let lower_of = |s: &str| lower(&s.chars().filter(|&c| !is_combining_mark(c)).collect::<String>());
        let (part_start, part) = parts[0];
        let rest_are_particles = parts[1..].iter().all(|(_, p)| HYPHEN_PARTICLES.contains(&lower_of(p).as_str()));
        let (offset, target, editable) = if rest_are_particles {
            (part_start, part, true)
        } else if parts.len() == 2
            && lower_of(part) == "по"
            && pronoun_table().contains_key(lower_of(parts[1].1).as_str())
        {
            // «по-твоему» → «по-вашему».
            (parts[1].0, parts[1].1, true)
        } else {
            (0, run, false)
        };
        let lower = lower_of(target);
        Word {
            start: start + offset,
            end: start + offset + target.len(),
            text: target,
            analyses: morph.analyses(&lower),
            lower,
            editable,
            foreign: false,
            you: false,
            ends_clause: false,
            ends_sentence: false,
            question: false,
        }
    }

    /// A token the rules never change and that is no subject.
    fn opaque(start: usize, text: &'t str) -> Word<'t> {
        Word {
            start,
            end: start + text.len(),
            text,
            lower: lower(text),
            editable: false,
            foreign: false,
            you: false,
            analyses: Rc::default(),
            ends_clause: false,
            ends_sentence: false,
            question: false,
        }
    }
}

/// The parts of a hyphenated word with their byte offsets in it.
fn split_hyphens(run: &str) -> Vec<(usize, &str)> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (at, c) in run.char_indices() {
        if is_hyphen(c) {
            parts.push((start, &run[start..at]));
            start = at + c.len_utf8();
        }
    }
    parts.push((start, &run[start..]));
    parts
}

/// Whether token `i` touches a fact token (a number, an id, …) with no space between them.
fn glued_to_fact(doc: &Doc, i: usize) -> bool {
    let fact = |j: usize| doc.tokens[j].kind.is_fact();
    (i > 0 && fact(i - 1)) || (i + 1 < doc.tokens.len() && fact(i + 1))
}

/// A letter of the Russian alphabet; words with other letters (Latin, Ukrainian «ї», …) are
/// left alone.
fn is_russian_letter(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')
}

fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036F}')
}

fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Applies the edits, checking their invariants on the way.
    fn edits(text: &str) -> Vec<PoliteEdit> {
        compute_edits(Morph::global(), &Doc::new(text, &[], &[]))
    }

    fn convert(text: &str) -> String {
        let edits = edits(text);
        let mut out = String::new();
        let mut at = 0;
        for e in &edits {
            assert!(e.start >= at && e.start < e.end && e.end <= text.len(), "{edits:?} in {text:?}");
            assert_eq!(&text[e.start..e.end], e.before);
            out.push_str(&text[at..e.start]);
            out.push_str(&e.after);
            at = e.end;
        }
        out + &text[at..]
    }

    fn check(cases: &[(&str, &str)]) {
        let failures: Vec<String> = cases
            .iter()
            .filter_map(|(informal, formal)| {
                let got = convert(informal);
                (got != *formal).then(|| format!("{informal:?}\n   got {got:?}\n  want {formal:?}"))
            })
            .collect();
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    fn unchanged(texts: &[&str]) {
        check(&texts.iter().map(|t| (*t, *t)).collect::<Vec<_>>());
    }

    #[test]
    fn the_pronoun_in_every_case() {
        check(&[
            ("Ты где?", "Вы где?"),
            ("ты где?", "вы где?"),
            ("ТЫ ГДЕ?", "ВЫ ГДЕ?"),
            ("Я тебя не слышу.", "Я вас не слышу."),
            ("Отправлю тебе ссылку.", "Отправлю вам ссылку."),
            ("Рады работать с тобой и с тобою.", "Рады работать с вами и с вами."),
            ("Я думаю о тебе, при тебе и в тебе.", "Я думаю о вас, при вас и в вас."),
            ("Тебе нужно подождать.", "Вам нужно подождать."),
            ("Ты-то знаешь.", "Вы-то знаете."),
        ]);
    }

    #[test]
    fn the_possessive_in_every_form() {
        check(&[
            (
                "твой заказ, твоя карта, твоё письмо, твое дело, твои данные",
                "ваш заказ, ваша карта, ваше письмо, ваше дело, ваши данные",
            ),
            (
                "у твоего брата, к твоему счёту, твоим кодом, о твоём заказе",
                "у вашего брата, к вашему счёту, вашим кодом, о вашем заказе",
            ),
            (
                "о твоем заказе, твоей карты, твоих денег, твоими руками",
                "о вашем заказе, вашей карты, ваших денег, вашими руками",
            ),
            ("Проверь твою почту.", "Проверьте вашу почту."),
            ("Твоею рукой.", "Вашею рукой."),
            ("А по-твоему, это нормально?", "А по-вашему, это нормально?"),
        ]);
    }

    #[test]
    fn second_person_verbs() {
        check(&[
            ("Ты можешь прислать номер?", "Вы можете прислать номер?"),
            ("Когда сделаешь, напиши.", "Когда сделаете, напишите."),
            ("Как думаешь, это сработает?", "Как думаете, это сработает?"),
            ("Если хочешь, я перезвоню.", "Если хотите, я перезвоню."),
            ("Знаешь, это не так просто.", "Знаете, это не так просто."),
            ("Ты остаёшься с нами?", "Вы остаётесь с нами?"),
            ("Ты остаешься с нами?", "Вы остаетесь с нами?"),
            ("Ты не волнуешься?", "Вы не волнуетесь?"),
        ]);
    }

    #[test]
    fn imperatives() {
        check(&[
            ("Пришли, пожалуйста, фото чека.", "Пришлите, пожалуйста, фото чека."),
            ("Дай знать, когда получишь.", "Дайте знать, когда получите."),
            ("Скажи, как тебя зовут.", "Скажите, как вас зовут."),
            ("Попробуй ещё раз.", "Попробуйте ещё раз."),
            ("Давай проверим.", "Давайте проверим."),
            ("Скажи-ка мне.", "Скажите-ка мне."),
            ("Не волнуйся, всё будет хорошо.", "Не волнуйтесь, всё будет хорошо."),
            ("Тогда пришли мне номер заказа.", "Тогда пришлите мне номер заказа."),
            ("Ты пришли мне, пожалуйста, чек.", "Вы пришлите мне, пожалуйста, чек."),
            ("Ешь больше овощей, ты ешь мало.", "Ешьте больше овощей, вы едите мало."),
            ("Не клади трубку.", "Не кладите трубку."),
            ("Подожди минуту и перезагрузи роутер.", "Подождите минуту и перезагрузите роутер."),
        ]);
    }

    #[test]
    fn homonyms_of_imperatives_stay() {
        unchanged(&[
            "Они пришли вчера.",
            "Документы пришли сегодня.",
            "Вчера пришли гости.",
            "Мы пришли к выводу.",
            "Мне пришли документы.",
            "Я не хочу, чтобы мои данные попали в чужие руки.",
            "Это мой телефон.",
            "Мы пили чай.",
        ]);
    }

    #[test]
    fn past_tense_with_a_you_subject() {
        check(&[
            ("Ты получила письмо?", "Вы получили письмо?"),
            ("Ты ошибся номером.", "Вы ошиблись номером."),
            (
                "Как ты думаешь, ты бы загрузила свой разум в компьютер, если бы могла?",
                "Как вы думаете, вы бы загрузили свой разум в компьютер, если бы могли?",
            ),
            ("Ты когда-нибудь слышал о нём?", "Вы когда-нибудь слышали о нём?"),
            ("Видела ли ты этот фильм?", "Видели ли вы этот фильм?"),
            ("Ты фильм смотрел?", "Вы фильм смотрели?"),
            ("Ты был прав.", "Вы были правы."),
            ("Смотрела его?", "Смотрели его?"),
            ("Если бы ты пришла вовремя, мы бы успели.", "Если бы вы пришли вовремя, мы бы успели."),
            ("Ты уверен, что ввёл правильный пароль?", "Вы уверены, что ввели правильный пароль?"),
            ("Спасибо тебе! Ты очень помог.", "Спасибо вам! Вы очень помогли."),
            ("Это был ты?", "Это были вы?"),
        ]);
    }

    #[test]
    fn past_tense_of_others_stays() {
        check(&[
            ("Он сделал всё сам.", "Он сделал всё сам."),
            ("Она пришла утром.", "Она пришла утром."),
            ("Я думал, что это было давно.", "Я думал, что это было давно."),
            ("Ты знаешь, он сделал это вчера.", "Вы знаете, он сделал это вчера."),
            ("Ты знаешь, кто пришёл?", "Вы знаете, кто пришёл?"),
            ("Ты знаешь, что было?", "Вы знаете, что было?"),
            ("Тебе понравился фильм?", "Вам понравился фильм?"),
            ("Ты заметил, что Comedy Central отменил шоу?", "Вы заметили, что Comedy Central отменил шоу?"),
            ("Ты знаешь парня, который пришёл?", "Вы знаете парня, который пришёл?"),
            ("Ты думаешь, мама пришла?", "Вы думаете, мама пришла?"),
            ("Не видел этого, а ты?", "Не видел этого, а вы?"),
            ("Тоже думала, что он моложе.", "Тоже думала, что он моложе."),
            ("Ну что ж, как прошёл твой полёт?", "Ну что ж, как прошёл ваш полёт?"),
            ("Ты выбрал тариф или его подключил менеджер?", "Вы выбрали тариф или его подключил менеджер?"),
            ("Ты написал, и оператор ответил.", "Вы написали, и оператор ответил."),
            ("Наш сотрудник сказал тебе, что заказ пришёл?", "Наш сотрудник сказал вам, что заказ пришёл?"),
        ]);
    }

    #[test]
    fn short_adjectives_and_participles() {
        check(&[
            ("Ты готов?", "Вы готовы?"),
            ("Ты уверена?", "Вы уверены?"),
            ("Ты должен подписать договор.", "Вы должны подписать договор."),
            ("Ты записан на завтра.", "Вы записаны на завтра."),
            ("Ты абсолютно права.", "Вы абсолютно правы."),
            ("Ты ответственен за это.", "Вы ответственны за это."),
        ]);
        unchanged(&["Он готов.", "Она уверена.", "Договор подписан."]);
    }

    #[test]
    fn sam_next_to_you() {
        check(&[
            ("Ты сама используешь iPhone?", "Вы сами используете iPhone?"),
            ("Ты и сам знаешь.", "Вы и сами знаете."),
            ("Когда ты ищешь в интернете сам себя.", "Когда вы ищете в интернете сами себя."),
        ]);
        unchanged(&["Она сама всё сделала.", "Он сам пришёл."]);
    }

    #[test]
    fn full_adjectives_reflexives_and_interjections_stay() {
        check(&[
            ("Если ты богатый, ты можешь всё.", "Если вы богатый, вы можете всё."),
            ("Ты найдёшь свой аккаунт.", "Вы найдёте свой аккаунт."),
            ("Возьми себя в руки.", "Возьмите себя в руки."),
        ]);
        unchanged(&["Ух ты, как здорово!", "Ах ты!", "Сегодня мы работаем до шести."]);
    }

    #[test]
    fn foreign_words_numbers_and_links_are_never_touched() {
        check(&[
            (
                "Напиши на ty@mail.ru или ты@почта.рф, ты получишь ответ.",
                "Напишите на ty@mail.ru или ты@почта.рф, вы получите ответ.",
            ),
            ("Открой https://example.com/ты/твой и сайт.рф", "Откройте https://example.com/ты/твой и сайт.рф"),
            ("tы ты2 2ты Ты", "tы ты2 2ты Вы"),
        ]);
    }

    #[test]
    fn edits_cover_single_words_with_their_case() {
        let text = "Ты, ТЫ и твоЙ: пришли!";
        let found = edits(text);
        let pairs: Vec<(&str, &str)> = found.iter().map(|e| (e.before.as_str(), e.after.as_str())).collect();
        assert_eq!(pairs, [("Ты", "Вы"), ("ТЫ", "ВЫ"), ("твоЙ", "ваш"), ("пришли", "пришлите")]);
        assert_eq!((found[0].start, found[0].end), (0, "Ты".len()));
        assert!(edits("").is_empty());
        assert!(edits("Здравствуйте! Чем могу помочь?").is_empty());
    }

    #[test]
    fn the_table_has_its_header_and_covers_every_form() {
        assert!(PRONOUNS_TSV.lines().take(4).all(|l| l.starts_with('#')));
        let table = pronoun_table();
        for form in ["ты", "тебя", "тебе", "тобой", "тобою", "твой", "твоя", "твоё", "твое", "твои", "твоего", "твоей"]
        {
            assert!(table.contains_key(form), "{form}");
        }
        for form in ["твоему", "твоим", "твоих", "твоими", "твою", "твоём", "твоем", "твоею"]
        {
            assert!(table[form].starts_with("ваш"), "{form}");
        }
        assert_eq!(table.len(), 20);
    }

    #[test]
    fn odd_inputs_never_panic() {
        let odd = [
            "",
            " ",
            "\0\u{1}\u{7f}\r\n\t",
            "ты\u{0301}",
            "ты́ твоё́",
            "😀ты😀 пришли🙂",
            "-ты- --пришли-- ка-",
            "тыты ты-ты-ты скажи-ка-то",
            "ТЫ\u{200b}ТЫ",
            "你好 ты مرحبا",
            "ß ǅ İ ты",
            "...,,,!!!???",
            "ты.ты.ты",
            "@ты #ты",
            "Ѐ҈ ꙮ ᲀ",
        ];
        for text in odd {
            convert(text);
        }
        let long = "Ты пришли мне, пожалуйста, свой номер, если ты его помнишь 😀. ".repeat(1700);
        assert!(long.len() > 100_000);
        assert_eq!(edits(&long).len(), 1700 * 4);
        // One 100 KB clause: the subject search is windowed, so this stays linear.
        let unpunctuated = "ты сделал фильм ".repeat(4000);
        assert_eq!(edits(&unpunctuated).len(), 4000 * 2);
    }

    proptest::proptest! {
        // No regression files: the crate's source tree stays clean.
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 300,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]
        #[test]
        fn arbitrary_text_never_panics(text in "[ тыТЫвоёе́ьшийпрслкаzqэ😀\\-.,!?«»:;@/\\n\\t\\u{0}-\\u{1f}0-9]{0,60}") {
            convert(&text);
        }

        #[test]
        fn any_unicode_never_panics(text in "\\PC{0,40}") {
            convert(&text);
        }
    }
}
