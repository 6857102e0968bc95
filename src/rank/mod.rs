//! Ranking approved templates for a client's message.
//!
//! Signals, each in roughly 0..1, fused linearly ([`Weights`]):
//! - **passage**: e5 `query:` message (with the recent dialogue as context) vs `passage:`
//!   title + text; for a long template (an article) the mean of that and its best part
//!   ([`parts`]), since a client asks about one of its sub-topics;
//! - **title**: the same query vs the title read as a client's request (`query:` title), which
//!   is closer to how clients ask than the reply text is; an article's title names all its
//!   sub-topics at once, so it counts less the more parts the article has;
//! - **lexical**: BM25 over lemmas ([`lexical`]) of title, tags and text;
//! - **examples**: the nearest example client message of the template (when it has any);
//! - **feedback**: the nearest past message for which an operator chose the template (the
//!   click prior: a template chosen for nearly this message before ranks higher);
//! - **learned**: a correction per template fitted to the whole click log ([`learned`]), which
//!   also reaches messages that are not near-copies of a past one.
//!
//! Near-duplicate templates are not shown twice. The answer is an abstention with a reason
//! ([`Abstention`]) rather than noise when nothing fits or when the message is in a language no
//! template of the library is in.

mod coarse;
pub mod learned;
pub mod lexical;
mod parts;
mod prior;

use std::collections::HashMap;

use ndarray::{Array1, Array2, ArrayView1};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::encoder::{Embedder, TextKind};
use crate::error::{Error, Result};
use crate::templates::conditions::{lemmas_of, lemmas_of_each, Evidence, LemmaGroups};
use crate::templates::fill::{self, Values};
use crate::templates::store::Feedback;
use crate::templates::{placeholder, Store, Template};
use learned::{Click, Learned};
use lexical::Bm25;
use prior::ScopePrior;

/// Most suggestions one request may ask for.
pub const MAX_K: usize = 50;
/// Dialogue turns used as context for the query (the latest ones).
const CONTEXT_TURNS: usize = 3;
/// Texts embedded per encoder call when building a library (progress is reported per batch).
pub const EMBED_BATCH: usize = 64;
/// Libraries up to this size are scored exactly for every template.
pub const EXACT_UP_TO: usize = 512;
/// Templates the first stage passes to exact scoring in larger libraries.
const CANDIDATES: usize = 128;
/// Two templates this close (passage cosine) are near-duplicates: only the better is shown.
const DUPLICATE_COSINE: f32 = 0.985;
/// [`Weights::unmet_condition`] by default.
const UNMET_CONDITION: f32 = 0.2;
/// [`Weights::abstain_below`] by default.
const ABSTAIN_BELOW: f32 = 0.806;
/// [`Weights::off_scope`] by default.
const OFF_SCOPE: f32 = 1.0;
/// [`Library::fit`] when an example or past click is a near-copy of the message.
const MEMORY_FIT: f32 = 1.0;

/// How much each signal counts. Tuned on eval/sets/suggest-dev.jsonl by `sufler eval suggest`
/// (two folds for the click settings); the cold-start part must also carry libraries without
/// tags or examples, so it was chosen on the bare (id/title/text) library as well.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Weights {
    /// Query vs passage cosine.
    pub passage: f32,
    /// Query vs title-as-query cosine.
    pub title: f32,
    /// Normalised BM25.
    pub lexical: f32,
    /// Normalised BM25 against the example messages.
    pub said: f32,
    /// Nearest example message, counted above `examples_floor`.
    pub examples: f32,
    /// Cosine between two client messages that share nothing but the register: e5 puts any
    /// two short Russian chat messages near 0.8.
    pub examples_floor: f32,
    /// Nearest past click, counted above `feedback_floor`.
    pub feedback: f32,
    /// Clicks count only for messages nearly the same as the clicked one.
    pub feedback_floor: f32,
    /// How the click log trains the per-template corrections.
    pub learning: learned::Training,
    /// Share of the message alone in the query vector (the rest: the message in its dialogue).
    pub message_share: f32,
    /// How much [`ScopePrior`] (the message looks like chit-chat, spam or another service's
    /// question rather than a request) lowers the fit; 0 leaves the prior out.
    pub off_scope: f32,
    /// Abstain when the best template's content score less the scope prior ([`Library::fit`])
    /// is below this …
    /// Chosen on the dev set for at most 2 % abstentions on messages that have a right
    /// template (`eval suggest` prints the whole curve; 0.78 before, which abstained on 6 % of
    /// out-of-scope messages).
    pub abstain_below: f32,
    /// … and no example or past click is at least this close to the message.
    pub memory_overrules: f32,
    /// Taken off the fused score of a template whose preconditions the dialogue does not show:
    /// enough to put it below a close rival, not so much that a right template phrased
    /// unexpectedly («списали два раза») drops out of sight.
    pub unmet_condition: f32,
}

impl Default for Weights {
    fn default() -> Self {
        Weights {
            passage: 1.0,
            title: 1.0,
            lexical: 0.1,
            said: 0.2,
            examples: 4.0,
            examples_floor: 0.8,
            feedback: 1.0,
            feedback_floor: 0.93,
            learning: learned::Training { temperature: 0.01, rate: 0.1, rounds: 300 },
            message_share: 0.7,
            off_scope: OFF_SCOPE,
            abstain_below: ABSTAIN_BELOW,
            memory_overrules: 0.93,
            unmet_condition: UNMET_CONDITION,
        }
    }
}

/// Which signals a library uses (the evaluation switches them to compare).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signals {
    /// Title-as-query vectors.
    pub title: bool,
    /// BM25.
    pub lexical: bool,
    /// Example messages.
    pub examples: bool,
    /// The feedback log.
    pub feedback: bool,
    /// Dialogue context in the query.
    pub context: bool,
    /// Long templates' parts.
    pub parts: bool,
}

impl Signals {
    /// Everything (the product's setting).
    pub const ALL: Signals =
        Signals { title: true, lexical: true, examples: true, feedback: true, context: true, parts: true };
    /// The plain e5 bi-encoder: passage cosine only.
    pub const BASELINE: Signals =
        Signals { title: false, lexical: false, examples: false, feedback: false, context: false, parts: false };
    /// A library as imported, before anyone wrote examples or clicked.
    pub const COLD: Signals =
        Signals { title: true, lexical: true, examples: false, feedback: false, context: true, parts: true };
}

/// Who wrote a dialogue turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[schema(as = Speaker)]
pub enum Role {
    /// The client.
    Client,
    /// The operator.
    Operator,
}

/// One earlier message of the dialogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Turn {
    /// Who wrote it.
    pub role: Role,
    /// What was written.
    pub text: String,
}

/// A request for suggestions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuggestRequest {
    /// The client's latest message.
    pub text: String,
    /// Earlier turns, oldest first (without the latest message).
    #[serde(default)]
    pub dialogue: Vec<Turn>,
    /// The client's name as given.
    #[serde(default)]
    pub client_name: Option<String>,
    /// The operator's name.
    #[serde(default)]
    pub operator_name: Option<String>,
    /// Placeholder values the caller knows (`order`, `date`, custom keys).
    #[serde(default)]
    pub values: Values,
}

/// Why a template was suggested: each signal's value and the lemmas it shares with the message.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Why {
    /// Query vs passage cosine.
    pub passage: f32,
    /// Query vs title cosine (when used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<f32>,
    /// Normalised BM25 (when used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lexical: Option<f32>,
    /// Normalised BM25 against the template's example messages (when it has any).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub said: Option<f32>,
    /// Nearest example cosine (when the template has examples).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examples: Option<f32>,
    /// Nearest past click cosine (when the template was chosen before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<f32>,
    /// The correction learned from clicks (when operators chose the template before).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learned: Option<f32>,
    /// Times operators chose it.
    #[serde(skip_serializing_if = "is_zero")]
    pub clicks: u32,
    /// Lemmas shared with the message.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// One suggested reply.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Suggestion {
    /// Template id.
    pub id: String,
    /// Template title.
    pub title: String,
    /// The reply with placeholders filled (gaps marked, never raw braces).
    pub text: String,
    /// Fused score (higher is better; comparable within one library).
    pub score: f32,
    /// Placeholders left for the operator to fill.
    pub missing: Vec<String>,
    /// The template's preconditions the dialogue does not show, as the operator reads them
    /// («если заказ отменён»): such a suggestion is ranked lower.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<String>,
    /// The signals behind the score.
    pub why: Why,
}

/// Why the engine offers nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AbstainReason {
    /// No template answers the message well enough.
    NothingFits,
    /// The message is in a language no template of the library is written in.
    Language,
    /// The message is about a topic the library has no template on (`prompts/suggest/off-topic.tsv`).
    Topic,
}

/// An abstention the operator page can explain.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Abstention {
    /// Why.
    pub reason: AbstainReason,
    /// The message's language (ISO 639-3, `und` when it could not be named), for `language`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The topic's id (`job`, …), for `topic`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The explanation for the operator, in Russian.
    pub message: String,
}

impl Abstention {
    fn nothing_fits() -> Abstention {
        Abstention {
            reason: AbstainReason::NothingFits,
            language: None,
            topic: None,
            message: "Ни один шаблон не подходит к этому сообщению: ответьте, пожалуйста, своими словами.".into(),
        }
    }

    fn language(code: &str) -> Abstention {
        Abstention {
            reason: AbstainReason::Language,
            language: Some(code.to_string()),
            topic: None,
            message: "Сообщение написано не на русском языке, а шаблонов на этом языке в библиотеке нет: ответьте, пожалуйста, своими словами.".into(),
        }
    }

    fn topic(topic: &OffTopic) -> Abstention {
        Abstention {
            reason: AbstainReason::Topic,
            language: None,
            topic: Some(topic.id.clone()),
            message: format!(
                "Сообщение на тему «{}», а шаблонов на эту тему в библиотеке нет: ответьте, пожалуйста, своими словами.",
                topic.label
            ),
        }
    }
}

/// A topic a support library rarely answers (`prompts/suggest/off-topic.tsv`).
#[derive(Debug)]
struct OffTopic {
    id: String,
    label: String,
    words: LemmaGroups,
}

/// The off-topic list, parsed once.
fn off_topics() -> &'static [OffTopic] {
    static ALL: std::sync::OnceLock<Vec<OffTopic>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        include_str!("../../prompts/suggest/off-topic.tsv")
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
                let [id, label, words] = fields[..] else { panic!("off-topic.tsv: id, label, words: {line}") };
                OffTopic { id: id.into(), label: label.into(), words: LemmaGroups::parse(words) }
            })
            .collect()
    })
}

/// The signals behind one request's ranking ([`Library::explain`]).
#[derive(Debug)]
pub struct Explanation {
    /// Each scored template's signals.
    pub whys: Vec<(usize, Why)>,
    /// How much the message looks like one no library answers (0 without the prior).
    pub off_scope: f32,
    /// What the dialogue shows, read once (when some template has preconditions).
    evidence: Option<Evidence>,
}

/// The answer to a request.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SuggestResponse {
    /// Best first; empty when abstaining.
    pub suggestions: Vec<Suggestion>,
    /// True when no template fits well enough to offer.
    pub abstain: bool,
    /// Why nothing is offered (present exactly when `abstain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abstention: Option<Abstention>,
}

/// Which templates a message can be answered with, by language.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// Every template (a Russian message, or one too short to tell).
    All,
    /// Only these templates: the ones in the message's language.
    Only(Vec<usize>),
    /// None: no template is in the message's language (ISO 639-3).
    Foreign(&'static str),
}

/// Vectors of labelled messages (examples or clicks) with the template each points to.
#[derive(Debug, Default)]
struct Memory {
    vectors: Option<Array2<f32>>,
    /// Row indices per template.
    rows_of: Vec<Vec<usize>>,
    /// Per template, the unit mean of its rows (zero without rows): the first stage's view.
    centroids: Option<Array2<f32>>,
}

impl Memory {
    fn new(dim: usize, templates: usize, items: Vec<(usize, Vec<f32>)>) -> Memory {
        if items.is_empty() {
            return Memory::default();
        }
        let mut rows_of = vec![Vec::new(); templates];
        let mut sums = vec![vec![0f32; dim]; templates];
        for (row, (owner, v)) in items.iter().enumerate() {
            rows_of[*owner].push(row);
            sums[*owner].iter_mut().zip(v).for_each(|(s, x)| *s += x);
        }
        let flat: Vec<f32> = items.into_iter().flat_map(|(_, v)| v).collect();
        let rows = flat.len() / dim;
        let centroids = sums.into_iter().map(crate::encoder::normalize).collect();
        Memory {
            vectors: Some(Array2::from_shape_vec((rows, dim), flat).expect("rows × dim")),
            rows_of,
            centroids: Some(matrix(dim, centroids)),
        }
    }

    /// Embeds `(template, text)` pairs as `kind` (through the store's cache).
    fn embedded(
        embed: &mut CachedEmbedder<'_>,
        templates: usize,
        pairs: Vec<(usize, String)>,
        kind: TextKind,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Memory> {
        let texts: Vec<String> = pairs.iter().map(|(_, text)| text.clone()).collect();
        let vectors = embed.embed(&texts, kind, progress)?;
        Ok(Memory::new(embed.dim(), templates, pairs.into_iter().map(|(i, _)| i).zip(vectors).collect()))
    }

    /// The best cosine of template `i`'s rows with the query (`None` without rows).
    fn nearest(&self, i: usize, query: ArrayView1<f32>) -> Option<f32> {
        let vectors = self.vectors.as_ref()?;
        self.rows_of[i].iter().map(|&r| vectors.row(r).dot(&query)).reduce(f32::max)
    }
}

/// The approved templates of a library, embedded and indexed for ranking.
pub struct Library {
    templates: Vec<Template>,
    /// The off-topic topics this library has no template on (no template's title, tags, text
    /// and examples hold a group of their words).
    off_topics: Vec<&'static OffTopic>,
    /// Each template's language (ISO 639-3; Russian when its text is too short to tell).
    languages: Vec<&'static str>,
    signals: Signals,
    weights: Weights,
    passages: Array2<f32>,
    /// The parts of long templates ([`parts::split`]).
    parts: Memory,
    titles: Option<Array2<f32>>,
    bm25: Option<Bm25>,
    said_bm25: Option<Bm25>,
    examples: Memory,
    clicks: Memory,
    click_counts: Vec<u32>,
    learned: Learned,
    /// First stage: passage, title and learned correction folded into one int8 row per
    /// template, then the example and click centroids.
    coarse: coarse::Coarse,
    /// Constant part of each template's learned correction (the first stage adds it).
    coarse_offsets: Vec<f32>,
    coarse_memory: Vec<(coarse::Coarse, f32, f32)>,
    /// Whether a message looks like one no library answers (when [`Weights::off_scope`] > 0).
    prior: Option<ScopePrior>,
    /// The distinct non-empty preconditions of the templates (a handful, however many
    /// templates share them).
    requirements: Vec<Vec<String>>,
}

/// What a message asks: its questions (sentences that end with «?») when it has any, else all
/// of it. A topic named in passing in a long story («номер у меня везде — в банках, на
/// госуслугах») is not what the client asks about.
fn asked(text: &str) -> String {
    let doc = crate::text::segment::Doc::new(text, &[], &[]);
    let questions: Vec<&str> =
        doc.sentences.iter().map(|s| &text[s.start..s.end]).filter(|s| s.trim_end().ends_with('?')).collect();
    if questions.is_empty() {
        text.to_string()
    } else {
        questions.join(" ")
    }
}

/// What the encoder sees of a template's text: placeholders dropped (their names are English
/// identifiers that would only add noise).
fn readable(text: &str) -> String {
    match placeholder::parse(text) {
        Ok(found) => {
            let mut out = String::with_capacity(text.len());
            let mut at = 0;
            for p in found {
                out.push_str(&text[at..p.span.start]);
                at = p.span.end;
            }
            out.push_str(&text[at..]);
            out.split_whitespace().collect::<Vec<_>>().join(" ")
        }
        Err(_) => text.to_string(),
    }
}

/// Embeds texts through the store's cache: only texts the cache lacks for this model run
/// through the encoder, in batches, and are written back.
pub struct CachedEmbedder<'a> {
    embedder: &'a dyn Embedder,
    store: Option<&'a mut Store>,
    /// Texts run through the encoder so far.
    pub embedded: usize,
    /// Texts found in the cache so far.
    pub reused: usize,
}

impl<'a> CachedEmbedder<'a> {
    /// Wraps `embedder`; `store` (if any) keeps the vectors between runs.
    pub fn new(embedder: &'a dyn Embedder, store: Option<&'a mut Store>) -> Self {
        CachedEmbedder { embedder, store, embedded: 0, reused: 0 }
    }

    /// The vectors' dimension.
    pub fn dim(&self) -> usize {
        self.embedder.dim()
    }

    /// One vector per text; `progress(done, total)` after each encoder batch.
    pub fn embed(
        &mut self,
        texts: &[String],
        kind: TextKind,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Vec<Vec<f32>>> {
        let model = self.embedder.model_id().to_string();
        let hashes: Vec<[u8; 32]> =
            texts.iter().map(|t| Sha256::new().chain_update(kind.prefix()).chain_update(t).finalize().into()).collect();
        let mut found = match &self.store {
            Some(store) => store.embeddings(&model, &hashes)?,
            None => HashMap::new(),
        };
        let todo: Vec<usize> = (0..texts.len()).filter(|&i| !found.contains_key(&hashes[i])).collect();
        self.reused += texts.len() - todo.len();
        self.embedded += todo.len();
        for chunk in todo.chunks(EMBED_BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i].as_str()).collect();
            let vectors = self.embedder.embed(&batch, kind)?;
            if let Some(store) = self.store.as_deref_mut() {
                let items: Vec<([u8; 32], &[f32])> =
                    chunk.iter().zip(&vectors).map(|(&i, v)| (hashes[i], v.as_slice())).collect();
                store.put_embeddings(&model, &items)?;
            }
            for (&i, v) in chunk.iter().zip(vectors) {
                found.insert(hashes[i], v);
            }
            progress(chunk.len(), todo.len());
        }
        Ok(hashes.iter().map(|h| found[h].clone()).collect())
    }
}

fn matrix(dim: usize, rows: Vec<Vec<f32>>) -> Array2<f32> {
    let n = rows.len();
    Array2::from_shape_vec((n, dim), rows.into_iter().flatten().collect()).expect("rows × dim")
}

impl Library {
    /// The product's ranking over the store's approved templates and clicks, with the library's
    /// own abstention threshold when it was calibrated for `embedder`'s model (see
    /// [`Calibration`](crate::templates::store::Calibration)); `None` without approved templates.
    pub fn from_store(
        store: &mut Store,
        embedder: &dyn Embedder,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Option<Library>> {
        let templates = store.templates(Some(crate::templates::Status::Approved))?;
        if templates.is_empty() {
            return Ok(None);
        }
        let feedback = store.feedback()?;
        let mut weights = Weights::default();
        if let Some(calibration) = store.calibration(embedder.model_id())? {
            weights.abstain_below = calibration.abstain_below;
        }
        let mut embed = CachedEmbedder::new(embedder, Some(store));
        Library::build(templates, &feedback, &mut embed, Signals::ALL, weights, progress).map(Some)
    }

    /// Indexes the approved templates of `templates` (others are ignored) with `feedback`.
    /// Errors if no template is approved: an empty library can suggest nothing.
    pub fn build(
        templates: Vec<Template>,
        feedback: &[Feedback],
        embed: &mut CachedEmbedder<'_>,
        signals: Signals,
        weights: Weights,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<Library> {
        let templates: Vec<Template> =
            templates.into_iter().filter(|t| t.status == crate::templates::Status::Approved).collect();
        if templates.is_empty() {
            return Err(Error::InvalidInput(
                "the template library has no approved templates: import a pack (sufler templates import FILE) or approve drafts".into(),
            ));
        }
        let dim = embed.dim();
        let passages: Vec<String> = templates.iter().map(|t| readable(&t.passage())).collect();
        let passages = matrix(dim, embed.embed(&passages, TextKind::Passage, progress)?);
        let parts = if signals.parts {
            let pairs: Vec<(usize, String)> = templates
                .iter()
                .enumerate()
                .flat_map(|(i, t)| parts::split(&readable(&t.text)).into_iter().map(move |p| (i, p)))
                .map(|(i, part)| (i, templates[i].titled(&part)))
                .collect();
            Memory::embedded(embed, templates.len(), pairs, TextKind::Passage, progress)?
        } else {
            Memory::default()
        };
        let titles = if signals.title {
            let titles: Vec<String> = templates
                .iter()
                .map(|t| if t.title.trim().is_empty() { readable(&t.text) } else { t.title.clone() })
                .collect();
            Some(matrix(dim, embed.embed(&titles, TextKind::Query, progress)?))
        } else {
            None
        };
        let examples = if signals.examples {
            let pairs: Vec<(usize, String)> = templates
                .iter()
                .enumerate()
                .flat_map(|(i, t)| t.examples.iter().map(move |e| (i, e.clone())))
                .collect();
            Memory::embedded(embed, templates.len(), pairs, TextKind::Query, progress)?
        } else {
            Memory::default()
        };
        let index: HashMap<&str, usize> = templates.iter().enumerate().map(|(i, t)| (t.id.as_str(), i)).collect();
        let mut click_counts = vec![0u32; templates.len()];
        let mut click_texts = Vec::new();
        let clicks = if signals.feedback {
            // Clicks on templates no longer approved are history, not evidence.
            let kept: Vec<(usize, String)> = feedback
                .iter()
                .filter_map(|f| index.get(f.chosen_id.as_str()).map(|&i| (i, f.text.clone())))
                .filter(|(_, text)| crate::encoder::check_text(text).is_ok())
                .collect();
            for (i, _) in &kept {
                click_counts[*i] += 1;
            }
            let texts: Vec<String> = kept.iter().map(|(_, t)| uncapitalized(t.trim())).collect();
            let vectors = embed.embed(&texts, TextKind::Query, progress)?;
            click_texts = texts;
            Memory::new(dim, templates.len(), kept.into_iter().map(|(i, _)| i).zip(vectors).collect())
        } else {
            Memory::default()
        };
        let prior = (weights.off_scope > 0.0).then(|| ScopePrior::build(embed, progress)).transpose()?;
        let mut requirements: Vec<Vec<String>> =
            templates.iter().map(|t| t.requires.clone()).filter(|r| !r.is_empty()).collect();
        requirements.sort();
        requirements.dedup();
        tracing::info!(
            templates = templates.len(),
            "embedded {} texts, {} from the cache",
            embed.embedded,
            embed.reused
        );
        let bm25 = signals.lexical.then(|| {
            let docs: Vec<Vec<String>> = templates
                .iter()
                .map(|t| lexical::lemmas(&format!("{} {} {}", t.title, t.tags.join(" "), readable(&t.text))))
                .collect();
            Bm25::new(&docs)
        });
        // The words clients used in a template's examples form a second lexical document: a
        // paraphrase that e5 places only loosely still matches on its key lemmas («баллы»,
        // «промокод»). Clicked messages are left out: on the dev set they lowered R@1 (a click
        // records one of several right answers, and its words pull toward that one).
        let said: Vec<Vec<String>> = templates
            .iter()
            .map(|t| {
                if signals.examples {
                    t.examples.iter().flat_map(|e| lexical::lemmas(e)).collect()
                } else {
                    Vec::new()
                }
            })
            .collect();
        let said_bm25 = (signals.lexical && said.iter().any(|d| !d.is_empty())).then(|| Bm25::new(&said));
        let languages = templates
            .iter()
            .map(|t| crate::text::lang::detect(&readable(&t.passage())).unwrap_or(crate::text::lang::RUSSIAN))
            .collect();
        // A topic is covered when one template's own words hold one of its word groups.
        let texts: Vec<String> = templates
            .iter()
            .map(|t| format!("{} {} {} {}", t.title, t.tags.join(" "), t.text, t.examples.join(" ")))
            .collect();
        let wanted = off_topics().iter().flat_map(|topic| topic.words.lemmas()).collect();
        let vocabularies = lemmas_of_each(texts.iter().map(String::as_str), &wanted);
        let off_topics =
            off_topics().iter().filter(|topic| !vocabularies.iter().any(|words| topic.words.matches(words))).collect();
        let mut library = Library {
            templates,
            off_topics,
            languages,
            signals,
            weights,
            passages,
            parts,
            titles,
            bm25,
            said_bm25,
            examples,
            clicks,
            click_counts,
            learned: Learned::default(),
            coarse: coarse::Coarse::default(),
            coarse_offsets: Vec::new(),
            coarse_memory: Vec::new(),
            prior,
            requirements,
        };
        library.learned = library.learn(&click_texts);
        library.index_coarse();
        Ok(library)
    }

    /// The content score (passage, title and lexical signals averaged by their weights) from
    /// the weighted dense part (passage and title cosines) and the lexical score.
    fn content(&self, dense: f32, lexical: Option<f32>) -> f32 {
        let w = &self.weights;
        let dense_weight = w.passage + if self.titles.is_some() { w.title } else { 0.0 };
        let weight = dense_weight + lexical.map_or(0.0, |_| w.lexical);
        (dense + w.lexical * lexical.unwrap_or(0.0)) / weight.max(1e-6)
    }

    /// The passage's and the title's weights for template `i`: [`Weights::passage`] and
    /// [`Weights::title`], except that a long template's title weight is divided among its
    /// parts and the rest goes to its passage (every template's scores stay on one scale).
    fn dense_weights(&self, i: usize) -> (f32, f32) {
        let w = &self.weights;
        if self.titles.is_none() {
            return (w.passage, 0.0);
        }
        let title = w.title / self.parts.rows_of.get(i).map_or(1, Vec::len).max(1) as f32;
        (w.passage + w.title - title, title)
    }

    /// The dense part of template `i`'s content score.
    fn dense(&self, i: usize, why: &Why) -> f32 {
        let (passage, title) = self.dense_weights(i);
        passage * why.passage + title * why.title.unwrap_or(0.0)
    }

    /// Passage and title rows weighted and summed: the dense part of the content score is one
    /// dot product with this row (for a long template, approximately: its parts are left out).
    fn content_rows(&self) -> Array2<f32> {
        let mut rows = self.passages.clone();
        for (i, mut row) in rows.rows_mut().into_iter().enumerate() {
            let (passage, title) = self.dense_weights(i);
            row *= passage;
            if let Some(titles) = &self.titles {
                row.scaled_add(title, &titles.row(i));
            }
        }
        rows
    }

    /// Builds the first stage from the linear part of the fusion: passage, title and the
    /// learned correction enter it linearly, so one folded row per template scores them all.
    fn index_coarse(&mut self) {
        let w = &self.weights;
        let dim = self.passages.ncols();
        let mut folded = self.content_rows();
        for (i, mut row) in folded.rows_mut().into_iter().enumerate() {
            if let Some((learned, _)) = self.learned.linear(i) {
                row += &learned;
            }
        }
        self.coarse_offsets =
            (0..self.templates.len()).map(|i| self.learned.linear(i).map_or(0.0, |(_, offset)| -offset)).collect();
        self.coarse = coarse::Coarse::new(dim, folded.rows().into_iter().map(|r| r.to_slice().expect("contiguous")));
        self.coarse_memory =
            [(&self.examples, w.examples, w.examples_floor), (&self.clicks, w.feedback, w.feedback_floor)]
                .into_iter()
                .filter_map(|(m, weight, floor)| {
                    m.centroids.as_ref().map(|c| {
                        (
                            coarse::Coarse::new(dim, c.rows().into_iter().map(|r| r.to_slice().expect("contiguous"))),
                            weight,
                            floor,
                        )
                    })
                })
                .collect();
    }

    /// Trains the per-template corrections on the click log (`texts`: the clicked messages, in
    /// the order of the click memory's rows). Each click competes against the templates the
    /// content signals (passage, title, lexical) put first for its message. The corrections
    /// sit on the content ranking, not on the examples: fitted on top of the example signal,
    /// they chase the few messages examples get wrong (3 points R@1 lost warm on the dev set).
    fn learn(&self, texts: &[String]) -> Learned {
        let Some(vectors) = &self.clicks.vectors else { return Learned::default() };
        let mut owner = vec![0; texts.len()];
        for (template, rows) in self.clicks.rows_of.iter().enumerate() {
            rows.iter().for_each(|&r| owner[r] = template);
        }
        let base = |i: usize, query: ArrayView1<f32>, lexical: Option<f32>| {
            self.fuse(i, &Why { learned: None, ..self.content_why(i, query, lexical) })
        };
        // The dense part of the content score for every click and template as one matrix
        // product per block of clicks: one first-stage pass per click costs ~2 ms in a library
        // of 10 000 templates.
        let folded = self.content_rows();
        let recent = texts.len().saturating_sub(learned::MAX_CLICKS);
        let mut clicks: Vec<Click<'_>> = Vec::with_capacity(texts.len() - recent);
        for block in (recent..texts.len()).collect::<Vec<_>>().chunks(256) {
            let queries = vectors.select(ndarray::Axis(0), block);
            let dense = queries.dot(&folded.t());
            for (&r, dense) in block.iter().zip(dense.rows()) {
                let lexical = normalised_bm25(self.bm25.as_ref(), &lexical::lemmas(&texts[r]));
                let lexical_of = |i: usize| lexical.as_ref().map(|l| l[i]);
                let content = |i: usize| dense[i] + self.weights.lexical * lexical_of(i).unwrap_or(0.0);
                let mut order: Vec<usize> = (0..self.templates.len()).collect();
                if order.len() > learned::CANDIDATES {
                    order.select_nth_unstable_by(learned::CANDIDATES, |&a, &b| content(b).total_cmp(&content(a)));
                    order.truncate(learned::CANDIDATES);
                }
                if !order.contains(&owner[r]) {
                    order.push(owner[r]);
                }
                let query = vectors.row(r);
                let candidates = order.into_iter().map(|i| (i, base(i, query, lexical_of(i)))).collect();
                clicks.push(Click { query, chosen: owner[r], candidates });
            }
        }
        // The centre is the mean clicked message, shrunk toward the mean title (the library's
        // requests as a client would put them) while clicks are few: one click alone would be
        // its own centre and teach nothing.
        let titles = self.titles.as_ref().unwrap_or(&self.passages);
        let prior = learned::CENTER_PRIOR / titles.nrows() as f32;
        let mut center = titles.sum_axis(ndarray::Axis(0)) * prior;
        clicks.iter().for_each(|c| center += &c.query);
        center /= learned::CENTER_PRIOR + clicks.len() as f32;
        Learned::train(&clicks, center, self.weights.learning)
    }

    /// The fusion weights in use.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }

    /// The approved templates, in the library's order.
    pub fn templates(&self) -> &[Template] {
        &self.templates
    }

    /// The query vector: the message, blended with the message in its dialogue context.
    fn query(&self, request: &SuggestRequest, embedder: &dyn Embedder) -> Result<Array1<f32>> {
        let message = uncapitalized(request.text.trim());
        let message = message.as_str();
        let context: Vec<&str> = request
            .dialogue
            .iter()
            .rev()
            .take(CONTEXT_TURNS)
            .rev()
            .map(|t| t.text.trim())
            .filter(|t| !t.is_empty())
            .collect();
        let share = self.weights.message_share;
        if !self.signals.context || context.is_empty() || share >= 1.0 {
            let v = embedder.embed(&[message], TextKind::Query)?.remove(0);
            return Ok(Array1::from(v));
        }
        let mut with_context = context.join("\n");
        with_context.push('\n');
        with_context.push_str(message);
        // A long dialogue must not push the message out of the encoder's window.
        if with_context.len() > crate::encoder::MAX_TEXT_BYTES {
            with_context = message.to_string();
        }
        let both = embedder.embed(&[message, &with_context], TextKind::Query)?;
        let blended: Vec<f32> = both[0].iter().zip(&both[1]).map(|(a, b)| share * a + (1.0 - share) * b).collect();
        Ok(Array1::from(crate::encoder::normalize(blended)))
    }

    /// The signals of the templates worth scoring exactly for a request: all of them in a
    /// library of at most [`EXACT_UP_TO`] templates, else the first stage's candidates.
    /// Only templates in the message's language are scored when the library has any.
    pub fn explain(&self, request: &SuggestRequest, embedder: &dyn Embedder) -> Result<Explanation> {
        let query = self.query(request, embedder)?;
        let lemmas = lexical::lemmas(&request.text);
        let lexical = normalised_bm25(self.bm25.as_ref(), &lemmas);
        let said = normalised_bm25(self.said_bm25.as_ref(), &lemmas);
        let candidates = match self.scope(request) {
            Scope::Only(same) => same,
            Scope::All | Scope::Foreign(_) => self.candidates(&query, lexical.as_deref(), said.as_deref()),
        };
        let whys = candidates
            .into_iter()
            .map(|i| (i, self.why(i, query.view(), lexical.as_ref().map(|l| l[i]), said.as_ref().map(|l| l[i]))))
            .collect();
        let evidence = self.evidence(request);
        let off_scope = match &self.prior {
            Some(prior) if !self.conditions_hold(evidence.as_ref()) => prior.score(query.view()),
            _ => 0.0,
        };
        Ok(Explanation { whys, off_scope, evidence })
    }

    /// Template `i`'s content signals (passage, title, lexical) and learned correction.
    fn content_why(&self, i: usize, query: ArrayView1<f32>, lexical: Option<f32>) -> Why {
        let whole = self.passages.row(i).dot(&query);
        Why {
            passage: self.parts.nearest(i, query).map_or(whole, |part| (whole + part) / 2.0),
            title: self.titles.as_ref().map(|t| t.row(i).dot(&query)),
            lexical,
            learned: self.learned.score(i, query),
            clicks: self.click_counts[i],
            ..Why::default()
        }
    }

    /// Template `i`'s signals for a query vector, with its lexical scores computed by the caller.
    fn why(&self, i: usize, query: ArrayView1<f32>, lexical: Option<f32>, said: Option<f32>) -> Why {
        Why {
            said,
            examples: self.examples.nearest(i, query),
            feedback: self.clicks.nearest(i, query),
            ..self.content_why(i, query, lexical)
        }
    }

    /// First stage: approximate fused scores from int8 rows (content, example and click
    /// centroids) plus the exact lexical scores; the best [`CANDIDATES`] go on.
    fn candidates(&self, query: &Array1<f32>, lexical: Option<&[f32]>, said: Option<&[f32]>) -> Vec<usize> {
        let n = self.templates.len();
        if n <= EXACT_UP_TO {
            return (0..n).collect();
        }
        let q = query.as_slice().expect("contiguous query");
        let mut approx = self.coarse.dots(q);
        approx.iter_mut().zip(&self.coarse_offsets).for_each(|(a, o)| *a += o);
        for (centroids, weight, floor) in &self.coarse_memory {
            // A centroid is nearer than the nearest of its rows would be only rarely; a lower
            // floor keeps templates whose one example matches well among the candidates.
            for (a, c) in approx.iter_mut().zip(centroids.dots(q)) {
                *a += weight * (c - (floor - 0.05)).max(0.0);
            }
        }
        for (signal, weight) in [(lexical, self.weights.lexical), (said, self.weights.said)] {
            if let Some(scores) = signal {
                approx.iter_mut().zip(scores).for_each(|(a, s)| *a += weight * s);
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.select_nth_unstable_by(CANDIDATES, |&a, &b| approx[b].total_cmp(&approx[a]));
        order.truncate(CANDIDATES);
        order
    }

    /// The fused score of template `i`'s signals.
    pub fn fuse(&self, i: usize, why: &Why) -> f32 {
        let w = &self.weights;
        let above = |x: Option<f32>, floor: f32| x.map_or(0.0, |x| (x - floor).max(0.0));
        self.dense(i, why)
            + w.lexical * why.lexical.unwrap_or(0.0)
            + w.said * why.said.unwrap_or(0.0)
            + w.examples * above(why.examples, w.examples_floor)
            + w.feedback * above(why.feedback, w.feedback_floor)
            + why.learned.unwrap_or(0.0)
    }

    /// Which templates can answer `request` by language: all of them for a Russian message
    /// (or one too short to tell), those in its language if the library has any, else none.
    pub fn scope(&self, request: &SuggestRequest) -> Scope {
        let Some(language) = crate::text::lang::detect(&request.text) else { return Scope::All };
        if language == crate::text::lang::RUSSIAN {
            return Scope::All;
        }
        let same: Vec<usize> = (0..self.templates.len()).filter(|&i| self.languages[i] == language).collect();
        if same.is_empty() {
            Scope::Foreign(language)
        } else {
            Scope::Only(same)
        }
    }

    /// The topic the library has no template on that the latest message is about, if any.
    fn off_topic(&self, request: &SuggestRequest) -> Option<&'static OffTopic> {
        if self.off_topics.is_empty() {
            return None;
        }
        let lemmas = lemmas_of(&asked(&request.text));
        self.off_topics.iter().copied().find(|topic| topic.words.matches(&lemmas))
    }

    /// Why the engine should offer nothing for `request` with its signals (from
    /// [`Library::explain`]), or `None` when something fits.
    pub fn abstention(&self, request: &SuggestRequest, explained: &Explanation) -> Option<Abstention> {
        if let Scope::Foreign(language) = self.scope(request) {
            return Some(Abstention::language(language));
        }
        if let Some(topic) = self.off_topic(request) {
            return Some(Abstention::topic(topic));
        }
        (self.fit(explained) < self.weights.abstain_below).then(Abstention::nothing_fits)
    }

    /// How well the best template fits, on the scale of [`Weights::abstain_below`]: the best
    /// content score less the weighted scope prior; [`MEMORY_FIT`] when an example or past
    /// click is a near-copy of the message. Memory bonuses are left out of the content score,
    /// since any chat message is ≈0.8 from some example.
    pub fn fit(&self, explained: &Explanation) -> f32 {
        let w = &self.weights;
        let whys = &explained.whys;
        let best_memory =
            whys.iter().flat_map(|(_, why)| [why.examples, why.feedback]).flatten().fold(f32::MIN, f32::max);
        if best_memory >= w.memory_overrules {
            return MEMORY_FIT;
        }
        whys.iter().map(|(i, why)| self.content(self.dense(*i, why), why.lexical)).fold(f32::MIN, f32::max)
            - w.off_scope * explained.off_scope
    }

    /// Templates with their fused scores, best first (ties: library order); a template whose
    /// preconditions the dialogue does not show loses [`Weights::unmet_condition`].
    pub fn rank(&self, explained: &Explanation) -> Vec<(usize, f32)> {
        let evidence = explained.evidence.as_ref();
        let unmet = |i: usize| evidence.is_some_and(|e| !e.unsupported(&self.templates[i].requires).is_empty());
        let mut order: Vec<(usize, f32)> = explained
            .whys
            .iter()
            .map(|(i, w)| (*i, self.fuse(*i, w) - if unmet(*i) { self.weights.unmet_condition } else { 0.0 }))
            .collect();
        order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        order
    }

    /// Whether the dialogue shows everything some template requires (a cancelled order, a rude
    /// client): then the message is a support matter whatever it looks like, and the scope
    /// prior is not asked (an insult reads like chit-chat to it, but calls for the warning).
    fn conditions_hold(&self, evidence: Option<&Evidence>) -> bool {
        evidence.is_some_and(|evidence| self.requirements.iter().any(|r| evidence.unsupported(r).is_empty()))
    }

    /// What the dialogue shows, when some template has preconditions to check against it.
    fn evidence(&self, request: &SuggestRequest) -> Option<Evidence> {
        (!self.requirements.is_empty()).then(|| Evidence::of(&turns(request)))
    }

    /// The top `k` templates for a request, filled, without near-duplicates; or an abstention.
    pub fn suggest(&self, request: &SuggestRequest, k: usize, embedder: &dyn Embedder) -> Result<SuggestResponse> {
        check_request(request, k)?;
        let explained = self.explain(request, embedder)?;
        if let Some(abstention) = self.abstention(request, &explained) {
            return Ok(SuggestResponse { suggestions: vec![], abstain: true, abstention: Some(abstention) });
        }
        let order = self.rank(&explained);
        let Explanation { whys, evidence, .. } = explained;
        let values = self.values(request);
        let lemmas = lexical::lemmas(&request.text);
        let mut whys: HashMap<usize, Why> = whys.into_iter().collect();
        let mut chosen: Vec<usize> = Vec::with_capacity(k);
        let mut suggestions = Vec::with_capacity(k);
        for (i, score) in order {
            if chosen.len() == k {
                break;
            }
            let duplicate = chosen.iter().any(|&c| self.passages.row(c).dot(&self.passages.row(i)) >= DUPLICATE_COSINE);
            if duplicate {
                continue;
            }
            chosen.push(i);
            let t = &self.templates[i];
            let mut why = whys.remove(&i).unwrap_or_default();
            if let Some(bm25) = &self.bm25 {
                why.matched = bm25.matched(i, &lemmas);
            }
            let filled = fill::fill(&t.text, &values);
            suggestions.push(Suggestion {
                id: t.id.clone(),
                title: t.title.clone(),
                text: filled.text,
                score,
                missing: filled.missing,
                conditions: evidence
                    .as_ref()
                    .map(|e| e.unsupported(&t.requires).into_iter().map(String::from).collect())
                    .unwrap_or_default(),
                why,
            });
        }
        Ok(SuggestResponse { suggestions, abstain: false, abstention: None })
    }

    /// Placeholder values: those the caller gave, then what the dialogue shows.
    fn values(&self, request: &SuggestRequest) -> Values {
        let mut values = fill::extract(&turns(request));
        for (key, name) in [("name", &request.client_name), ("operator", &request.operator_name)] {
            if let Some(name) = name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                values.insert(key.to_string(), name.to_string());
            }
        }
        for (key, value) in &request.values {
            values.insert(key.clone(), value.clone());
        }
        values
    }
}

/// The dialogue's turns and the latest message, as `(written by the client, text)`.
fn turns(request: &SuggestRequest) -> Vec<(bool, &str)> {
    let mut turns: Vec<(bool, &str)> =
        request.dialogue.iter().map(|t| (t.role == Role::Client, t.text.as_str())).collect();
    turns.push((true, &request.text));
    turns
}

/// BM25 scores scaled by the query's ceiling (see [`Bm25::ceiling`]).
fn normalised_bm25(index: Option<&Bm25>, lemmas: &[String]) -> Option<Vec<f32>> {
    index.map(|bm25| {
        let ceiling = bm25.ceiling(lemmas).max(1e-6);
        bm25.scores(lemmas).into_iter().map(|s| (s / ceiling).min(1.0)).collect()
    })
}

/// A message typed in CAPS LOCK, in lower case: e5 reads «ТЕЛЕФОН НЕ ВКЛЮЧАЕТСЯ» as a
/// different, rarer text than «телефон не включается».
fn uncapitalized(text: &str) -> String {
    let letters = text.chars().filter(|c| c.is_alphabetic()).count();
    let upper = text.chars().filter(|c| c.is_uppercase()).count();
    if letters >= 4 && upper * 10 >= letters * 8 {
        text.to_lowercase()
    } else {
        text.to_string()
    }
}

/// Rejects what cannot be ranked: an empty or overlong message, k out of range, overlong turns.
pub fn check_request(request: &SuggestRequest, k: usize) -> Result<()> {
    crate::encoder::check_text(&request.text).map_err(|why| Error::InvalidInput(format!("message: {why}")))?;
    if k == 0 || k > MAX_K {
        return Err(Error::InvalidInput(format!("k must be between 1 and {MAX_K}, got {k}")));
    }
    for (i, turn) in request.dialogue.iter().enumerate() {
        if turn.text.len() > crate::encoder::MAX_TEXT_BYTES {
            return Err(Error::InvalidInput(format!(
                "dialogue turn {}: {} bytes, the limit is {}",
                i + 1,
                turn.text.len(),
                crate::encoder::MAX_TEXT_BYTES
            )));
        }
    }
    Ok(())
}
