//! Text → token ids with the model's `tokenizer.json`, and the split of long texts into
//! windows the encoder can take.

use std::path::Path;

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

/// The model's tokenizer plus the special ids the encoder needs.
pub struct TextTokenizer {
    inner: tokenizers::Tokenizer,
    bos: u32,
    eos: u32,
    pad: u32,
    unk: u32,
}

impl TextTokenizer {
    /// Loads `tokenizer.json`.
    pub fn load(path: &Path) -> Result<Self> {
        let mut inner = tokenizers::Tokenizer::from_file(path)
            .map_err(|e| Error::corrupt(path, format!("cannot read tokenizer: {e}")))?;
        // The encoder windows long texts itself; a truncation or padding setting shipped in a
        // hub tokenizer.json would silently cut them.
        inner.with_truncation(None).map_err(|e| Error::Tokenizer(e.to_string()))?.with_padding(None);
        let id = |token: &str| {
            inner.token_to_id(token).ok_or_else(|| Error::corrupt(path, format!("tokenizer has no {token} token")))
        };
        Ok(TextTokenizer { bos: id("<s>")?, eos: id("</s>")?, pad: id("<pad>")?, unk: id("<unk>")?, inner })
    }

    /// The padding id.
    pub fn pad_id(&self) -> u32 {
        self.pad
    }

    /// Content token ids of each text (no `<s>`/`</s>`).
    ///
    /// A run of characters missing from the vocabulary becomes one `<unk>` per character, as
    /// in the reference C engine; the `tokenizers` unigram model would fuse the run into a
    /// single `<unk>` (it cannot be configured otherwise), which moves the embedding of texts
    /// such as «🐌🐌🐌» far from the reference.
    pub fn content_ids(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        let inputs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let encodings = self.inner.encode_batch(inputs, false).map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encodings
            .iter()
            .zip(texts)
            .map(|(e, text)| {
                let mut ids = Vec::with_capacity(e.get_ids().len());
                for (&id, &(start, end)) in e.get_ids().iter().zip(e.get_offsets()) {
                    let chars = if id == self.unk {
                        text.get(start..end).map_or(1, |s| s.trim().chars().count().max(1))
                    } else {
                        1
                    };
                    ids.extend(std::iter::repeat_n(id, chars));
                }
                ids
            })
            .collect())
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
