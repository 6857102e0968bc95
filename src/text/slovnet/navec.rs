//! navec word vectors: 250 000 Russian words (plus `<unk>` and `<pad>`), each a 300-d vector
//! stored product-quantised as 100 one-byte indexes into per-slice tables of 256 centroids of
//! 3 dimensions. The slovnet models look a word up by its *lower-cased* form in their own word
//! vocabulary (identical in all three packs) and read the vector of that id; an unknown word gets
//! the vector of `<unk>`.

use std::ops::Range;

use super::pack::{f32s, Archive};
use crate::error::Result;

const UNK: &str = "<unk>";

/// Word → id of the models' word vocabulary: an open-addressing hash table over one buffer
/// holding every word (a few MB, built in milliseconds, no allocation per word).
pub(crate) struct WordIndex {
    text: Vec<u8>,
    /// Byte range of word `id` in `text`.
    spans: Vec<(u32, u32)>,
    /// `id + 1` per slot, 0 = empty; the length is a power of two, at least twice the words.
    slots: Vec<u32>,
    unk: u32,
}

impl WordIndex {
    /// Indexes the newline-separated vocabulary `text` (as the reference, a repeated word maps
    /// to its last id). `None` when it has no `<unk>` or too many words.
    pub(crate) fn new(text: Vec<u8>) -> Option<WordIndex> {
        let mut spans = Vec::new();
        let mut start = 0usize;
        for (i, &b) in text.iter().enumerate() {
            if b == b'\n' {
                spans.push((u32::try_from(start).ok()?, u32::try_from(i).ok()?));
                start = i + 1;
            }
        }
        spans.push((u32::try_from(start).ok()?, u32::try_from(text.len()).ok()?));
        let capacity = (spans.len() * 2).next_power_of_two();
        let mut index = WordIndex { text, spans, slots: vec![0; capacity], unk: 0 };
        for id in 0..index.spans.len() {
            let slot = index.slot(index.word(id as u32));
            index.slots[slot] = u32::try_from(id + 1).ok()?;
        }
        index.unk = index.find(UNK.as_bytes())?;
        Some(index)
    }

    fn word(&self, id: u32) -> &[u8] {
        let (start, end) = self.spans[id as usize];
        &self.text[start as usize..end as usize]
    }

    /// The slot holding `word`, or the empty slot where it would go.
    fn slot(&self, word: &[u8]) -> usize {
        let mask = self.slots.len() - 1;
        let mut slot = hash(word) as usize & mask;
        loop {
            match self.slots[slot] {
                0 => return slot,
                id if self.word(id - 1) == word => return slot,
                _ => slot = (slot + 1) & mask,
            }
        }
    }

    fn find(&self, word: &[u8]) -> Option<u32> {
        self.slots[self.slot(word)].checked_sub(1)
    }

    /// The id of `word` (already lower-cased), `<unk>`'s when absent.
    pub(crate) fn id(&self, word: &str) -> u32 {
        self.find(word.as_bytes()).unwrap_or(self.unk)
    }

    /// The id of a token as the models see it: lower-cased like Python's `str.lower`.
    pub(crate) fn token_id(&self, token: &str) -> u32 {
        self.id(&token.to_lowercase())
    }

    /// Number of words.
    pub(crate) fn len(&self) -> usize {
        self.spans.len()
    }
}

/// FNV-1a over the bytes, finished with a multiplicative mix so that the low bits used for the
/// slot depend on every byte.
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (h ^ (h >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 16
}

/// The product-quantised vectors, read in place from the mapped archive.
pub(crate) struct Navec {
    archive: Archive,
    /// Byte range of the `vectors × slices` index matrix inside the archive.
    indexes: Range<usize>,
    /// `slices × centroids × width` centroid table.
    codes: Vec<f32>,
    vectors: usize,
    slices: usize,
    centroids: usize,
    width: usize,
}

impl Navec {
    /// Reads the navec archive; its id must be `id` (the one the models were trained with).
    pub(crate) fn load(archive: Archive, id: &str) -> Result<Navec> {
        archive.check_meta(Some(id))?;
        let pq = archive.bytes("pq.bin")?;
        let field = |i: usize| pq.get(i * 4..i * 4 + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        let (Some(vectors), Some(dim), Some(slices), Some(centroids)) = (field(0), field(1), field(2), field(3)) else {
            return Err(archive.corrupt("pq.bin: short header"));
        };
        if slices == 0 || dim % slices != 0 || centroids > 256 {
            return Err(archive.corrupt(format!("pq.bin: dim {dim}, {slices} slices, {centroids} centroids")));
        }
        let width = dim / slices;
        let index_bytes = vectors * slices;
        if pq.len() != 16 + index_bytes + slices * centroids * width * 4 {
            return Err(archive.corrupt(format!("pq.bin: {} bytes do not fit the header", pq.len())));
        }
        let codes = f32s(&pq[16 + index_bytes..]);
        // The index matrix stays in the mapping: only the pages of words seen are ever read.
        // Its bytes are not validated up front (that would touch them all); `vector` clamps.
        let start = archive.range("pq.bin")?.start + 16;
        Ok(Navec { archive, indexes: start..start + index_bytes, codes, vectors, slices, centroids, width })
    }

    /// Dimension of a vector.
    pub(crate) fn dim(&self) -> usize {
        self.slices * self.width
    }

    /// Number of vectors.
    pub(crate) fn len(&self) -> usize {
        self.vectors
    }

    /// Writes the vector of word `id` into `out` (`dim()` values); ids out of range give zeros.
    pub(crate) fn vector(&self, id: u32, out: &mut [f32]) {
        let id = id as usize;
        if id >= self.vectors {
            out.fill(0.0);
            return;
        }
        let indexes = &self.archive.mapped()[self.indexes.clone()][id * self.slices..(id + 1) * self.slices];
        for (slice, (&centroid, out)) in indexes.iter().zip(out.chunks_exact_mut(self.width)).enumerate() {
            let centroid = (centroid as usize).min(self.centroids - 1);
            let at = (slice * self.centroids + centroid) * self.width;
            out.copy_from_slice(&self.codes[at..at + self.width]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_index_finds_every_word_and_falls_back_to_unk() {
        let index = WordIndex::new(b"a\nb\nabc\n\xd0\xb4\xd0\xb0\n<unk>\n<pad>".to_vec()).unwrap();
        assert_eq!(index.len(), 6);
        assert_eq!(index.id("a"), 0);
        assert_eq!(index.id("abc"), 2);
        assert_eq!(index.id("да"), 3);
        assert_eq!(index.id("<pad>"), 5);
        assert_eq!(index.id("zzz"), 4);
        assert_eq!(index.id(""), 4);
        assert_eq!(index.token_id("ДА"), 3);
        assert_eq!(index.token_id("Abc"), 2);
    }

    #[test]
    fn repeated_words_map_to_their_last_id_and_unk_is_required() {
        let index = WordIndex::new(b"x\ny\nx\n<unk>".to_vec()).unwrap();
        assert_eq!(index.id("x"), 2);
        assert!(WordIndex::new(b"x\ny".to_vec()).is_none());
    }
}
