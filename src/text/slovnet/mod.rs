//! natasha's contextual models for Russian, run natively: the slovnet morphology tagger,
//! dependency parser and named-entity tagger (`slovnet_*_news_v1`, MIT) over the navec word
//! vectors they were trained with, loaded from the tars `models/fetch-natasha` puts into
//! `models/cache/natasha`. Outputs match the Python reference (slovnet 0.6 `exec`) run on one
//! sentence at a time; `tests/slovnet_parity.rs` measures it.
//!
//! ```no_run
//! use sufler::text::slovnet::Slovnet;
//! let dir = Slovnet::find().expect("run models/fetch-natasha");
//! let slovnet = Slovnet::load(&dir)?;
//! let analysis = slovnet.analyse(&["Анна", "Сергеевна", ",", "проверьте", "заказ", "."]);
//! for (word, tag) in ["Анна", "Сергеевна"].iter().zip(&analysis.tokens) {
//!     println!("{word} {} {} {} {}", tag.morph, tag.head, tag.rel, tag.ner);
//! }
//! # Ok::<(), sufler::Error>(())
//! ```
//!
//! Each model is a CNN over word vector + [word shape](shape) per token with its own head, so a
//! token's tags depend on a few neighbours; there is no state between calls.

mod body;
mod morph;
mod navec;
mod ner;
mod nn;
mod pack;
mod shape;
mod syntax;
mod tags;

use std::path::{Path, PathBuf};

pub use tags::{Entity, Feats, Feature, MorphTag, Ner, Pos, Rel};

use std::cell::RefCell;

use self::body::{Input, Stem};
use self::morph::Morph;
use self::navec::{Navec, WordIndex};
use self::ner::NerModel;
use self::nn::Scratch;
use self::pack::{Archive, Pack};
use self::shape::Shape;
use self::syntax::Syntax;
use crate::error::{Error, Result};

/// The cache directory, relative to the working directory or the source checkout.
pub const DEFAULT_DIR: &str = "models/cache/natasha";
/// The navec vectors.
pub const NAVEC_FILE: &str = "navec_news_v1_1B_250K_300d_100q.tar";
/// The morphology tagger.
pub const MORPH_FILE: &str = "slovnet_morph_news_v1.tar";
/// The dependency parser.
pub const SYNTAX_FILE: &str = "slovnet_syntax_news_v1.tar";
/// The NER tagger.
pub const NER_FILE: &str = "slovnet_ner_news_v1.tar";

/// Longest stretch of words analysed as one sentence. A longer input is analysed in
/// consecutive chunks of this many words, each on its own: heads stay inside their chunk
/// (shifted to the sentence's numbering) and every chunk has its own root. This bounds the
/// parser's quadratic step and the buffers; real sentences are far shorter.
pub const MAX_WORDS: usize = 256;

/// The tags of one token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenTag {
    /// Part of speech and morphological features.
    pub morph: MorphTag,
    /// The syntactic head: 0 for the root, else the 1-based position of the head token.
    pub head: usize,
    /// The dependency relation to the head.
    pub rel: Rel,
    /// The named-entity tag (BIO).
    pub ner: Ner,
}

impl TokenTag {
    /// Part of speech.
    pub fn pos(&self) -> Pos {
        self.morph.pos
    }

    /// The value of a morphological feature.
    pub fn feat(&self, feature: Feature) -> Option<&'static str> {
        self.morph.feat(feature)
    }
}

/// The analysis of one sentence: a [`TokenTag`] per input word, in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Analysis {
    /// One entry per word.
    pub tokens: Vec<TokenTag>,
}

/// The three models and the word vectors, loaded once; analysis is `&self` and thread-safe.
pub struct Slovnet {
    words: WordIndex,
    /// Shape id per entry of [`Shape::all`].
    shape_ids: Vec<(Shape, u32)>,
    navec: Navec,
    morph: Morph,
    syntax: Syntax,
    ner: NerModel,
    /// The three first convolutions over the shared word vectors.
    stem: Stem,
}

thread_local! {
    /// Per-thread buffers: the convolutions' scratch and the three models' context vectors.
    static SCRATCH: RefCell<(Scratch, [Vec<f32>; 3])> = RefCell::default();
}

impl Slovnet {
    /// The cache directory holding the four tars: `models/cache/natasha` under the working
    /// directory, then under the checkout this binary was built from.
    pub fn find() -> Option<PathBuf> {
        crate::models::local_candidates(Path::new(DEFAULT_DIR))
            .into_iter()
            .find(|dir| [NAVEC_FILE, MORPH_FILE, SYNTAX_FILE, NER_FILE].iter().all(|f| dir.join(f).is_file()))
    }

    /// Loads the models from `dir` (see [`Slovnet::find`]).
    pub fn load(dir: &Path) -> Result<Slovnet> {
        let open = |name: &str, id: &str| {
            let path = dir.join(name);
            if !path.is_file() {
                return Err(Error::ModelNotFound(format!("{} (run models/fetch-natasha)", path.display())));
            }
            Pack::open(&path, id)
        };
        let morph_pack = open(MORPH_FILE, "slovnet_morph_news_v1")?;
        let syntax_pack = open(SYNTAX_FILE, "slovnet_syntax_news_v1")?;
        let ner_pack = open(NER_FILE, "slovnet_ner_news_v1")?;
        let navec_path = dir.join(NAVEC_FILE);
        if !navec_path.is_file() {
            return Err(Error::ModelNotFound(format!("{} (run models/fetch-natasha)", navec_path.display())));
        }

        // One word vocabulary for the three models: the packs carry the same list.
        let words_gz = morph_pack.archive.bytes("vocabs/word.gz")?;
        for pack in [&syntax_pack, &ner_pack] {
            if !same_gzip_content(words_gz, pack.archive.bytes("vocabs/word.gz")?) {
                return Err(pack.archive.corrupt("vocabs/word.gz differs from the morphology model's"));
            }
        }
        let words = WordIndex::new(morph_pack.archive.gunzip("vocabs/word.gz")?)
            .ok_or_else(|| morph_pack.archive.corrupt("vocabs/word.gz: no <unk> or too large"))?;

        // The vectors the models were trained with, and one row per vocabulary word.
        let navec_id = morph_pack.node("/emb/word/id")?.as_str().unwrap_or_default().to_string();
        let navec = Navec::load(Archive::open(&navec_path)?, &navec_id)?;
        if navec.len() != words.len() {
            return Err(Error::corrupt(&navec_path, format!("{} vectors for {} words", navec.len(), words.len())));
        }
        for pack in [&syntax_pack, &ner_pack] {
            if pack.node("/emb/word/id")?.as_str() != Some(navec_id.as_str()) {
                return Err(pack.archive.corrupt(format!("trained with other vectors than {navec_id}")));
            }
        }

        // The shape vocabulary: `<pad>` then every shape class, the same in the three packs.
        let shape_vocab = morph_pack.vocab("shape")?;
        let mut shape_ids = Vec::new();
        for shape in Shape::all() {
            let name = shape.to_string();
            let id = shape_vocab.iter().position(|s| *s == name);
            let id = id.ok_or_else(|| morph_pack.archive.corrupt(format!("vocabs/shape.gz lacks {name}")))?;
            shape_ids.push((shape, id as u32));
        }
        for pack in [&syntax_pack, &ner_pack] {
            if pack.vocab("shape")? != shape_vocab {
                return Err(pack.archive.corrupt("vocabs/shape.gz differs from the morphology model's"));
            }
        }

        let (width, shapes) = (navec.dim(), shape_vocab.len());
        let morph = Morph::load(&morph_pack, width, shapes)?;
        let syntax = Syntax::load(&syntax_pack, width, shapes)?;
        let ner = NerModel::load(&ner_pack, width, shapes)?;
        let stem = Stem::new(&[morph.body(), syntax.body(), ner.body()])?;
        Ok(Slovnet { morph, syntax, ner, stem, words, shape_ids, navec })
    }

    /// Tags one sentence given as its tokens (words and punctuation marks separately, as
    /// `razdel` splits them). Never fails: any string is a token (unknown words read as
    /// `<unk>`); an empty slice gives an empty analysis; see [`MAX_WORDS`] for long input.
    pub fn analyse(&self, words: &[&str]) -> Analysis {
        let mut tokens = Vec::with_capacity(words.len());
        for (chunk_index, chunk) in words.chunks(MAX_WORDS).enumerate() {
            let offset = chunk_index * MAX_WORDS;
            let input = self.input(chunk);
            let t = input.tokens;
            let (morph, syntax, ner) = SCRATCH.with(|cell| {
                let (scratch, [m, s, n]) = &mut *cell.borrow_mut();
                let bodies = [self.morph.body(), self.syntax.body(), self.ner.body()];
                let mut outs = [std::mem::take(m), std::mem::take(s), std::mem::take(n)];
                self.stem.encode(&bodies, &input, scratch, &mut outs);
                let result =
                    (self.morph.predict(&outs[0], t), self.syntax.predict(&outs[1], t), self.ner.predict(&outs[2], t));
                [*m, *s, *n] = outs;
                result
            });
            for ((morph, (head, rel)), ner) in morph.into_iter().zip(syntax).zip(ner) {
                let head = if head == 0 { 0 } else { head + offset };
                tokens.push(TokenTag { morph, head, rel, ner });
            }
        }
        Analysis { tokens }
    }

    /// The models' input for one chunk.
    fn input(&self, words: &[&str]) -> Input {
        let dim = self.navec.dim();
        let mut vectors = vec![0f32; words.len() * dim];
        let mut shapes = Vec::with_capacity(words.len());
        for (word, vector) in words.iter().zip(vectors.chunks_exact_mut(dim)) {
            self.navec.vector(self.words.token_id(word), vector);
            let shape = Shape::of(word);
            // Every shape is in the table (checked at load); `Other`'s id is a safe fallback.
            let id =
                self.shape_ids.iter().find(|(s, _)| *s == shape).or(self.shape_ids.last()).map_or(0, |&(_, id)| id);
            shapes.push(id);
        }
        Input { tokens: words.len(), vectors, shapes }
    }
}

/// Whether two gzip streams hold the same bytes; streams differing only in the header's
/// modification time (bytes 4..8) are compared without decompressing.
fn same_gzip_content(a: &[u8], b: &[u8]) -> bool {
    if a.len() == b.len() && a.len() >= 8 && a[..4] == b[..4] && a[8..] == b[8..] {
        return true;
    }
    let gunzip = |bytes: &[u8]| {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes), &mut out).ok().map(|_| out)
    };
    matches!((gunzip(a), gunzip(b)), (Some(x), Some(y)) if x == y)
}
