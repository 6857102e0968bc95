//! Text → token ids with the model's `tokenizer.json`, and the split of long texts into
//! windows the encoder can take.
//!
//! The normalizer and the pre-tokenizer come from the `tokenizers` crate, read from the
//! file's own sections. The unigram model is ours: the crate's keeps its 250k pieces in a trie
//! of hash maps, 280 MB resident for this vocabulary (more than the int8 encoder itself); an
//! [`fst::Map`] of the same pieces takes a few MB and gives the same Viterbi path.

use std::path::Path;

use rayon::prelude::*;
use serde::Deserialize;
use tokenizers::{
    NormalizedString, Normalizer, NormalizerWrapper, OffsetReferential, OffsetType, PreTokenizedString, PreTokenizer,
    PreTokenizerWrapper,
};

use crate::error::{Error, Result};

/// One window of a text: `<s>` + at most `max_positions - 2` content tokens + `</s>`.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Which input text the window belongs to.
    pub text: usize,
    /// Token ids including `<s>` and `</s>`.
    pub ids: Vec<u32>,
    /// Content tokens in the window (its weight when windows are averaged).
    pub content: usize,
}

/// The parts of `tokenizer.json` this tokenizer reads.
#[derive(Deserialize)]
struct TokenizerFile {
    #[serde(default)]
    added_tokens: Vec<AddedToken>,
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    model: ModelSection,
}

#[derive(Deserialize)]
struct AddedToken {
    id: u32,
    content: String,
    #[serde(default)]
    special: bool,
}

#[derive(Deserialize)]
struct ModelSection {
    #[serde(rename = "type")]
    kind: String,
    unk_id: Option<u32>,
    #[serde(default)]
    vocab: Vec<(String, f64)>,
    #[serde(default)]
    byte_fallback: bool,
}

/// SentencePiece's unigram model: the segmentation of a piece with the highest sum of piece
/// log-probabilities, a character with no piece of its own being `<unk>` at a penalty.
struct Unigram {
    /// Piece bytes → id. Control tokens (`<s>`, `<pad>`, …) are left out, as SentencePiece
    /// does: a client typing «<s>» gets characters, not a control token.
    pieces: fst::Map<Vec<u8>>,
    scores: Vec<f64>,
    unk: u32,
    unk_score: f64,
}

/// SentencePiece's penalty below the lowest piece score for an unknown character.
const UNK_PENALTY: f64 = 10.0;

impl Unigram {
    fn new(vocab: Vec<(String, f64)>, unk: u32, control: &[u32]) -> std::result::Result<Self, String> {
        if unk as usize >= vocab.len() {
            return Err(format!("unk_id {unk} is outside the vocabulary of {}", vocab.len()));
        }
        let min_score = vocab.iter().map(|(_, s)| *s).fold(f64::INFINITY, f64::min);
        let scores: Vec<f64> = vocab.iter().map(|(_, s)| *s).collect();
        let mut keyed: Vec<(String, u64)> = vocab
            .into_iter()
            .enumerate()
            .filter(|(id, (piece, _))| !piece.is_empty() && !control.contains(&(*id as u32)))
            .map(|(id, (piece, _))| (piece, id as u64))
            .collect();
        // Sorted by bytes for the FST builder; a repeated piece keeps its last id, as a map
        // filled in vocabulary order would.
        keyed.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()).then(b.1.cmp(&a.1)));
        keyed.dedup_by(|later, first| later.0 == first.0);
        let pieces = fst::Map::from_iter(keyed.iter().map(|(p, id)| (p.as_bytes(), *id))).map_err(|e| e.to_string())?;
        Ok(Unigram { pieces, scores, unk, unk_score: min_score - UNK_PENALTY })
    }

    /// Viterbi over the lattice of vocabulary pieces of `piece`, ids appended to `out`.
    /// Unknown characters are one `<unk>` each (the reference C engine does the same; the
    /// `tokenizers` crate would fuse a run into one).
    fn encode(&self, piece: &str, out: &mut Vec<u32>) {
        #[derive(Clone, Copy)]
        struct Best {
            score: f64,
            start: usize,
            id: u32,
        }
        const NONE: usize = usize::MAX;
        let bytes = piece.as_bytes();
        let mut best = vec![Best { score: 0.0, start: NONE, id: 0 }; bytes.len() + 1];
        let fst = self.pieces.as_fst();
        for (start, ch) in piece.char_indices() {
            let base = if start == 0 { 0.0 } else { best[start].score };
            let char_len = ch.len_utf8();
            let mut has_single_char_piece = false;
            // Common-prefix search: every vocabulary piece that starts here.
            let (mut node, mut output) = (fst.root(), fst::raw::Output::zero());
            for (len, &byte) in bytes[start..].iter().enumerate() {
                let Some(i) = node.find_input(byte) else { break };
                let transition = node.transition(i);
                output = output.cat(transition.out);
                node = fst.node(transition.addr);
                if node.is_final() {
                    let id = output.cat(node.final_output()).value() as u32;
                    let end = start + len + 1;
                    let score = base + self.scores[id as usize];
                    if best[end].start == NONE || score > best[end].score {
                        best[end] = Best { score, start, id };
                    }
                    has_single_char_piece |= len + 1 == char_len;
                }
            }
            if !has_single_char_piece {
                let end = start + char_len;
                let score = base + self.unk_score;
                if best[end].start == NONE || score > best[end].score {
                    best[end] = Best { score, start, id: self.unk };
                }
            }
        }
        let first = out.len();
        let mut end = bytes.len();
        while end > 0 {
            let node = best[end];
            out.push(node.id);
            end = node.start;
        }
        out[first..].reverse();
    }
}

/// The model's tokenizer plus the special ids the encoder needs.
pub struct TextTokenizer {
    normalizer: Option<NormalizerWrapper>,
    pre_tokenizer: Option<PreTokenizerWrapper>,
    model: Unigram,
    bos: u32,
    eos: u32,
    pad: u32,
}

impl TextTokenizer {
    /// Loads `tokenizer.json` (a unigram model, as XLM-R and e5 ship).
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let file: TokenizerFile =
            serde_json::from_slice(&bytes).map_err(|e| Error::corrupt(path, format!("cannot read tokenizer: {e}")))?;
        drop(bytes);
        let ModelSection { kind, unk_id, vocab, byte_fallback } = file.model;
        if kind != "Unigram" || byte_fallback {
            return Err(Error::corrupt(
                path,
                format!("unsupported tokenizer model {kind:?} (sufler reads unigram models)"),
            ));
        }
        let special = |token: &str| {
            file.added_tokens
                .iter()
                .find(|t| t.content == token)
                .map(|t| t.id)
                .or_else(|| vocab.iter().position(|(p, _)| p == token).map(|i| i as u32))
                .ok_or_else(|| Error::corrupt(path, format!("tokenizer has no {token} token")))
        };
        let (bos, eos, pad, unk) = (special("<s>")?, special("</s>")?, special("<pad>")?, special("<unk>")?);
        let control: Vec<u32> = file.added_tokens.iter().filter(|t| t.special).map(|t| t.id).collect();
        let model = Unigram::new(vocab, unk_id.unwrap_or(unk), &control).map_err(|e| Error::corrupt(path, e))?;
        Ok(TextTokenizer { normalizer: file.normalizer, pre_tokenizer: file.pre_tokenizer, model, bos, eos, pad })
    }

    /// The padding id.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Content token ids of one text (no `<s>`/`</s>`).
    fn text_ids(&self, text: &str) -> Result<Vec<u32>> {
        let tokenizer_error = |e: tokenizers::Error| Error::Tokenizer(e.to_string());
        let mut normalized = NormalizedString::from(text);
        if let Some(n) = &self.normalizer {
            n.normalize(&mut normalized).map_err(tokenizer_error)?;
        }
        let mut pieces = PreTokenizedString::from(normalized);
        if let Some(p) = &self.pre_tokenizer {
            p.pre_tokenize(&mut pieces).map_err(tokenizer_error)?;
        }
        let mut ids = Vec::with_capacity(text.len() / 3 + 1);
        for (piece, _, _) in pieces.get_splits(OffsetReferential::Normalized, OffsetType::None) {
            self.model.encode(piece, &mut ids);
        }
        Ok(ids)
    }

    /// Content token ids of each text (no `<s>`/`</s>`); texts are tokenized in parallel.
    pub fn content_ids(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        if texts.len() < 8 {
            return texts.iter().map(|t| self.text_ids(t)).collect();
        }
        texts.par_iter().with_min_len(8).map(|t| self.text_ids(t)).collect()
    }

    /// Token ids of each text as the model sees them: `<s>` content `</s>`, not windowed.
    pub fn ids_with_specials(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        Ok(self.content_ids(texts)?.into_iter().map(|c| self.wrap(&c)).collect())
    }

    fn wrap(&self, content: &[u32]) -> Vec<u32> {
        let mut ids = Vec::with_capacity(content.len() + 2);
        ids.push(self.bos);
        ids.extend_from_slice(content);
        ids.push(self.eos);
        ids
    }

    /// Splits each text's content into consecutive, non-overlapping windows of at most
    /// `max_positions - 2` tokens. A text's embedding is later the content-weighted mean of its
    /// windows' mean-pooled states: for short texts exactly one plain pass; for long ones equal
    /// to mean pooling over the whole text up to attention across window borders (the same
    /// scheme as the reference C engine, so long texts stay comparable with it).
    pub fn windows(&self, content: &[Vec<u32>], max_positions: usize) -> Vec<Window> {
        let per_window = max_positions.saturating_sub(2).max(1);
        let mut out = Vec::new();
        for (text, ids) in content.iter().enumerate() {
            if ids.is_empty() {
                out.push(Window { text, ids: self.wrap(&[]), content: 0 });
                continue;
            }
            for chunk in ids.chunks(per_window) {
                out.push(Window { text, ids: self.wrap(chunk), content: chunk.len() });
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(pieces: &[(&str, f64)]) -> Unigram {
        let mut vocab = vec![("<unk>".to_string(), 0.0)];
        vocab.extend(pieces.iter().map(|(p, s)| (p.to_string(), *s)));
        Unigram::new(vocab, 0, &[0]).unwrap()
    }

    fn encode(m: &Unigram, text: &str) -> Vec<u32> {
        let mut out = vec![];
        m.encode(text, &mut out);
        out
    }

    #[test]
    fn viterbi_picks_the_most_probable_segmentation() {
        // The `tokenizers` crate's own example: "abcdacdxx" → abcd, a, cd, x, x.
        let m = model(&[
            ("a", 0.0),
            ("b", 0.0),
            ("c", 0.0),
            ("d", 0.0),
            ("cd", 1.0),
            ("ab", 2.0),
            ("abc", 5.0),
            ("abcd", 10.0),
        ]);
        assert_eq!(encode(&m, "abcdacdxx"), vec![8, 1, 5, 0, 0]);
    }

    #[test]
    fn unknown_characters_are_one_unk_each_and_multibyte_safe() {
        let m = model(&[("▁", -1.0), ("я", -2.0), ("▁я", -1.5)]);
        assert_eq!(encode(&m, "▁я🐌🐌я"), vec![3, 0, 0, 2]);
        assert_eq!(encode(&m, ""), Vec::<u32>::new());
    }

    #[test]
    fn control_tokens_are_not_matched_in_text() {
        let vocab = vec![("<unk>".to_string(), 0.0), ("<s>".to_string(), 0.0), ("<".to_string(), -1.0)];
        let m = Unigram::new(vocab, 0, &[0, 1]).unwrap();
        assert_eq!(encode(&m, "<s>"), vec![2, 0, 0]);
    }
}
