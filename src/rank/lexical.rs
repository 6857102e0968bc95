//! Lexical evidence: BM25 over lemmas. Chat messages inflect freely («заказа», «заказу»,
//! «заказик») and e5 sometimes misses a rare key word that a lemma match catches.
//!
//! Written here rather than taken from a search crate: the index is a few thousand short
//! documents, lives in memory next to the vectors, and needs our own lemmatiser.

use std::collections::HashMap;

use crate::text::fold;
use crate::text::morph::Morph;

/// BM25 parameters: the usual k1, and b lowered because template lengths vary less in meaning
/// than in wording.
const K1: f32 = 1.2;
const B: f32 = 0.5;

/// Parts of speech that carry no topic: prepositions, conjunctions, particles, interjections
/// and pronouns («я», «мой», «это»).
const FUNCTION_POS: [&str; 7] = ["PREP", "CONJ", "PRCL", "INTJ", "NPRO", "PRED", "NUMB"];

/// The content lemmas of `text`, in order (duplicates kept: term frequency counts).
pub fn lemmas(text: &str) -> Vec<String> {
    let morph = Morph::global();
    let mut out = Vec::new();
    for word in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
        if word.chars().all(|c| c.is_ascii_digit()) || word.chars().count() > 40 {
            continue; // numbers are facts, not topics; overlong runs are noise
        }
        let analyses = morph.analyses(word);
        let Some(best) = analyses.first() else { continue };
        if FUNCTION_POS.contains(&best.pos()) || best.has("Apro") {
            continue;
        }
        out.push(fold(&best.lemma));
    }
    out
}

/// An in-memory BM25 index over lemmatised documents.
#[derive(Debug, Default)]
pub struct Bm25 {
    /// lemma → (document, term frequency).
    postings: HashMap<String, Vec<(u32, f32)>>,
    /// Length of each document in lemmas.
    lengths: Vec<f32>,
    average: f32,
}

impl Bm25 {
    /// Indexes documents given as lemma lists.
    pub fn new(docs: &[Vec<String>]) -> Bm25 {
        let mut postings: HashMap<String, Vec<(u32, f32)>> = HashMap::new();
        for (d, lemmas) in docs.iter().enumerate() {
            let mut tf: HashMap<&str, f32> = HashMap::new();
            for l in lemmas {
                *tf.entry(l).or_default() += 1.0;
            }
            for (l, n) in tf {
                postings.entry(l.to_string()).or_default().push((d as u32, n));
            }
        }
        let lengths: Vec<f32> = docs.iter().map(|d| d.len() as f32).collect();
        let average = (lengths.iter().sum::<f32>() / lengths.len().max(1) as f32).max(1.0);
        Bm25 { postings, lengths, average }
    }

    /// BM25 score of every document for the query lemmas (0 for documents sharing none).
    pub fn scores(&self, query: &[String]) -> Vec<f32> {
        let mut scores = vec![0f32; self.lengths.len()];
        let n = self.lengths.len() as f32;
        let mut seen: Vec<&str> = Vec::new();
        for lemma in query {
            if seen.contains(&lemma.as_str()) {
                continue;
            }
            seen.push(lemma);
            let Some(list) = self.postings.get(lemma) else { continue };
            let df = list.len() as f32;
            let idf = ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
            for &(d, tf) in list {
                let norm = K1 * (1.0 - B + B * self.lengths[d as usize] / self.average);
                scores[d as usize] += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        scores
    }

    /// The distinct query lemmas document `doc` contains (computed for the few documents shown,
    /// not for every scored one).
    pub fn matched(&self, doc: usize, query: &[String]) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for lemma in query {
            let found =
                self.postings.get(lemma).is_some_and(|list| list.binary_search_by_key(&(doc as u32), |p| p.0).is_ok());
            if found && !out.contains(lemma) {
                out.push(lemma.clone());
            }
        }
        out
    }

    /// The score a document would get by matching every distinct query lemma once at average
    /// length: scales scores to 0..≈1. Lemmas no template contains count at full weight, so a
    /// message about something the library does not cover («посоветуйте хороший фильм») stays
    /// low even when one common word matches.
    pub fn ceiling(&self, query: &[String]) -> f32 {
        let n = self.lengths.len() as f32;
        let mut seen: Vec<&str> = Vec::new();
        let mut total = 0.0;
        for lemma in query {
            if seen.contains(&lemma.as_str()) {
                continue;
            }
            seen.push(lemma);
            let df = self.postings.get(lemma).map_or(0.0, |list| list.len() as f32);
            total += ((n - df + 0.5) / (df + 0.5) + 1.0).ln();
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lemmas_join_inflected_forms_and_drop_function_words() {
        assert_eq!(lemmas("Где мой заказ № 4821?"), ["где", "заказ"]);
        assert_eq!(lemmas("заказа заказу заказом"), ["заказ", "заказ", "заказ"]);
        assert_eq!(lemmas("я и ты в это"), Vec::<String>::new());
        assert_eq!(lemmas("вернули деньги"), ["вернуть", "деньга"]);
    }

    #[test]
    fn a_rare_shared_lemma_outranks_a_common_one() {
        let docs: Vec<Vec<String>> = ["заказ доставка курьер", "заказ возврат деньги", "заказ промокод скидка"]
            .iter()
            .map(|d| lemmas(d))
            .collect();
        let index = Bm25::new(&docs);
        let scores = index.scores(&lemmas("не работает промокод на заказ"));
        assert!(scores[2] > scores[0] && scores[2] > scores[1], "{scores:?}");
        assert_eq!(index.matched(2, &lemmas("не работает промокод на заказ")), ["промокод", "заказ"]);
        let ceiling = index.ceiling(&lemmas("не работает промокод на заказ"));
        assert!(scores[2] < ceiling, "«работать» is in no document: {} vs {ceiling}", scores[2]);
    }
}
