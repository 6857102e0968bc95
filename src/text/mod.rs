//! The language layer: what every other part reads instead of re-deriving it.
//!
//! - [`segment`]: tokens (words, facts, punctuation, emoji), sentences, protected spans;
//! - [`morph`]: dictionary morphology (every reading of a word, inflection);
//! - [`context`]: the contextual tags mapped onto a segmented text (optional models);
//! - [`slovnet`]: contextual analysis by small trained models (part of speech and features in
//!   context, dependency syntax, person names);
//! - [`rude`]: obscene words in every inflection and disguise, insults, threats, contempt;
//! - [`lang`]: which language a message is in (Russian, or which other);
//! - [`words`]: case folding, case patterns and edit distances;
//! - [`memo`]: the bounded per-thread memos of analysis results.
//!
//! Data flows one way: text → segments → readings → the style rules, the template filler and the
//! ranker. Nothing here imports from those layers.

pub mod context;
pub mod lang;
pub mod memo;
pub mod morph;
pub mod rude;
pub mod segment;
pub mod slovnet;
pub mod words;

pub use words::fold;
