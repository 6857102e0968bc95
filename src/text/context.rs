//! Contextual analysis of a segmented text: the slovnet tags (part of speech and features in
//! context, the dependency head and relation, the named-entity tag) of every token of a
//! [`Doc`], sentence by sentence.
//!
//! The dictionary ([`super::morph`]) gives every reading of a word; this layer says which one
//! the sentence uses («пришли» imperative or past) and how the words hang together (subject ↔
//! predicate, clause boundaries). The models are optional: without `models/cache/natasha`
//! (fetched by `./setup`) [`analyse`] returns `None` and the rules keep their dictionary-only
//! decisions. Analyses are memoised per thread and text: a rewrite asks about the same text
//! version from several rules.

use std::rc::Rc;
use std::sync::OnceLock;

use super::segment::{Doc, TokenKind};
use super::slovnet::{Slovnet, TokenTag};

/// The tags of a segmented text, by token index (spaces and line breaks have none).
#[derive(Debug, Clone)]
pub struct Contextual {
    tags: Vec<Option<TokenTag>>,
    /// For each token with a tag: the token index of its head (`None` for a sentence root).
    heads: Vec<Option<usize>>,
}

impl Contextual {
    /// The tag of token `i`.
    pub fn tag(&self, i: usize) -> Option<&TokenTag> {
        self.tags.get(i).and_then(Option::as_ref)
    }

    /// The token index of the head of token `i` (`None` for a root or an untagged token).
    pub fn head(&self, i: usize) -> Option<usize> {
        self.heads.get(i).copied().flatten()
    }

    /// The dependency relation of token `i` («nsubj», «parataxis», …).
    pub fn rel(&self, i: usize) -> Option<&'static str> {
        self.tag(i).map(|t| t.rel.name())
    }
}

/// The process-wide models: loaded on first use; `None` (with one warning) when they are not
/// installed or fail to load.
pub fn models() -> Option<&'static Slovnet> {
    static MODELS: OnceLock<Option<Slovnet>> = OnceLock::new();
    MODELS
        .get_or_init(|| {
            let dir = Slovnet::find()?;
            Slovnet::load(&dir)
                .map_err(|e| tracing::warn!("contextual models not loaded, dictionary analysis only: {e}"))
                .ok()
        })
        .as_ref()
}

/// Texts longer than this are not analysed in context (the rules fall back to the dictionary):
/// the analysis is linear, but a draft is far shorter.
const MAX_TEXT_BYTES: usize = 16 * 1024;

/// Distinct texts kept per thread.
const MEMO_TEXTS: usize = 64;

/// The contextual analysis of `doc`, when the models are installed.
pub fn analyse(doc: &Doc) -> Option<Rc<Contextual>> {
    let models = models()?;
    if doc.text.len() > MAX_TEXT_BYTES {
        return None;
    }
    thread_local! {
        static MEMO: crate::text::memo::Memo<String, Rc<Contextual>> = crate::text::memo::Memo::new(MEMO_TEXTS);
    }
    Some(MEMO.with(|m| m.get_or_insert_with(doc.text, || doc.text.to_string(), || Rc::new(analyse_with(models, doc)))))
}

/// Runs `models` over every sentence of `doc`: its tokens other than spaces and line breaks are
/// the words the models see.
pub fn analyse_with(models: &Slovnet, doc: &Doc) -> Contextual {
    let mut tags = vec![None; doc.tokens.len()];
    let mut heads = vec![None; doc.tokens.len()];
    for s in &doc.sentences {
        let indices: Vec<usize> = s
            .tokens
            .clone()
            .filter(|&i| !matches!(doc.tokens[i].kind, TokenKind::Space | TokenKind::Newline))
            .collect();
        let words: Vec<&str> = indices.iter().map(|&i| doc.tok(i)).collect();
        let analysis = models.analyse(&words);
        for (k, tag) in analysis.tokens.into_iter().enumerate() {
            let i = indices[k];
            heads[i] = (tag.head > 0).then(|| indices.get(tag.head - 1).copied()).flatten();
            tags[i] = Some(tag);
        }
    }
    Contextual { tags, heads }
}
