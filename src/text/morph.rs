//! Russian morphology for the style rules: a thin wrapper over [rsmorphy] (a Rust port of
//! pymorphy2) with its OpenCorpora dictionary.
//!
//! The wrapper hides rsmorphy's types behind plain strings — an [`Analysis`] carries the lemma,
//! the OpenCorpora tag string and the analyser's probability estimate — and contains the
//! library's panics: on a missing dictionary or an unknown grammeme, and inside its guessers,
//! which fail assertions or slice strings inside a character on some unknown words («х», «ё»,
//! certain hyphenated words). Such a word gets no readings instead of bringing the caller down;
//! the panic is caught silently (a process-wide panic hook, installed on first use, skips the
//! message for panics caught here and passes every other panic to the previous hook). This
//! relies on unwinding, the default `panic` strategy.
//!
//! [rsmorphy]: https://crates.io/crates/rsmorphy

use std::cell::Cell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::{Once, OnceLock};

use rsmorphy::prelude::*;

/// Environment variable that overrides the dictionary directory used by [`Morph::global`].
pub const DICT_ENV: &str = "SUFLER_MORPH_DICT";

/// Files an rsmorphy dictionary directory must contain; checked before loading because the
/// library panics on a missing file.
const DICT_FILES: [&str; 11] = [
    "meta.json.gz",
    "grammemes.json.gz",
    "gramtab-opencorpora-int.json.gz",
    "paradigms.array.gz",
    "suffixes.json.gz",
    "p_t_given_w.intdawg.gz",
    "words.dawg.gz",
    "prediction-prefixes.dawg.gz",
    "prediction-suffixes-0.dawg.gz",
    "prediction-suffixes-1.dawg.gz",
    "prediction-suffixes-2.dawg.gz",
];

/// The dictionary's data files as built into the binary (see `build.rs`): the run time never
/// reads the build machine's cargo registry.
const EMBEDDED: [(&str, &[u8]); 12] = {
    macro_rules! file {
        ($name:literal) => {
            ($name, include_bytes!(concat!(env!("SUFLER_MORPH_EMBED_DIR"), "/", $name)) as &[u8])
        };
    }
    [
        file!("meta.json.gz"),
        file!("grammemes.json.gz"),
        file!("gramtab-opencorpora-int.json.gz"),
        file!("gramtab-opencorpora-ext.json.gz"),
        file!("paradigms.array.gz"),
        file!("suffixes.json.gz"),
        file!("p_t_given_w.intdawg.gz"),
        file!("words.dawg.gz"),
        file!("prediction-prefixes.dawg.gz"),
        file!("prediction-suffixes-0.dawg.gz"),
        file!("prediction-suffixes-1.dawg.gz"),
        file!("prediction-suffixes-2.dawg.gz"),
    ]
};

/// The dictionary directory: `$SUFLER_MORPH_DICT`, else `morph-ru` beside the executable,
/// else the embedded copy written out to `sufler/morph-ru-<version>` in the user's cache
/// directory (or the temporary directory).
pub fn dict_dir() -> Result<PathBuf, MorphLoadError> {
    if let Some(dir) = std::env::var_os(DICT_ENV).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    let beside = std::env::current_exe().ok().and_then(|exe| Some(exe.parent()?.join("morph-ru")));
    if let Some(dir) = beside.filter(|d| d.is_dir()) {
        return Ok(dir);
    }
    let base = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
    let dir = base.join("sufler").join(concat!("morph-ru-", env!("CARGO_PKG_VERSION")));
    write_embedded(&dir).map_err(|e| MorphLoadError { path: dir.clone(), reason: e.to_string() })?;
    Ok(dir)
}

/// Writes the embedded dictionary to `dir` unless it is already there, complete: into a
/// fresh sibling directory first, then renamed into place, so a reader never sees half a copy.
fn write_embedded(dir: &Path) -> std::io::Result<()> {
    let complete = |d: &Path| {
        EMBEDDED.iter().all(|(name, bytes)| d.join(name).metadata().is_ok_and(|m| m.len() == bytes.len() as u64))
    };
    if complete(dir) {
        return Ok(());
    }
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let staging = parent.join(format!(".morph-ru-{}", std::process::id()));
    std::fs::create_dir_all(&staging)?;
    for (name, bytes) in EMBEDDED {
        std::fs::write(staging.join(name), bytes)?;
    }
    if dir.exists() {
        // An incomplete copy (an interrupted write, a newer file set): replaced whole.
        let _ = std::fs::remove_dir_all(dir);
    }
    if let Err(e) = std::fs::rename(&staging, dir) {
        let _ = std::fs::remove_dir_all(&staging);
        // Another process may have put a complete copy there meanwhile.
        if !complete(dir) {
            return Err(e);
        }
    }
    Ok(())
}

/// Words whose analyses one thread keeps.
const ANALYSIS_CACHE_WORDS: usize = 100_000;

/// The morphological analyser: an rsmorphy analyser with a loaded Russian dictionary.
pub struct Morph {
    analyzer: MorphAnalyzer,
}

impl fmt::Debug for Morph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Morph").finish_non_exhaustive()
    }
}

/// Why a morphology dictionary could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MorphLoadError {
    /// The dictionary directory that was tried.
    pub path: PathBuf,
    /// What was wrong with it.
    pub reason: String,
}

impl fmt::Display for MorphLoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load the morphology dictionary {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for MorphLoadError {}

/// One morphological reading of a word form.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// Dictionary form (lowercase), e.g. «прислать» for «пришли».
    pub lemma: String,
    /// OpenCorpora tag string, e.g. `"VERB,perf,tran sing,impr,excl"`: the lexeme's grammemes,
    /// a space, then the form's grammemes.
    pub tag: String,
    /// The analyser's estimate of the reading's probability (the readings of a word sum to ~1).
    pub score: f32,
    /// The reading is a form the dictionary lists, not one guessed from the word's ending,
    /// prefix or shape.
    pub known: bool,
    /// The tag's grammemes as bits of [`GRAMMEMES`] (the rules ask [`Analysis::has`] millions of
    /// times a minute; splitting the tag string each time was a tenth of a rewrite).
    bits: u128,
}

/// The OpenCorpora grammemes rsmorphy's tags use, in a fixed order: bit `i` of
/// [`Analysis::bits`] is `GRAMMEMES[i]`. A grammeme missing here is still found, by its name.
const GRAMMEMES: [&str; 117] = [
    "NOUN", "ADJF", "ADJS", "COMP", "VERB", "INFN", "PRTF", "PRTS", "GRND", "NUMR", "ADVB", "NPRO", "PRED", "PREP",
    "CONJ", "PRCL", "INTJ", "LATN", "NUMB", "PNCT", "ROMN", "UNKN", "intg", "real", "anim", "inan", "Inmx", "masc",
    "femn", "neut", "ms-f", "Ms-f", "GNdr", "sing", "plur", "Sgtm", "Pltm", "Fixd", "nomn", "gent", "datv", "accs",
    "ablt", "loct", "voct", "gen1", "gen2", "acc2", "loc1", "loc2", "Abbr", "Name", "Surn", "Patr", "Geox", "Orgn",
    "Trad", "Subx", "Supr", "Qual", "Apro", "Anum", "Poss", "V-ey", "V-oy", "Cmp2", "V-ej", "perf", "impf", "tran",
    "intr", "Impe", "Impx", "Mult", "Refl", "1per", "2per", "3per", "pres", "past", "futr", "indc", "impr", "incl",
    "excl", "actv", "pssv", "Infr", "Slng", "Arch", "Litr", "Erro", "Dist", "Ques", "Dmns", "Prnt", "V-be", "V-en",
    "V-ie", "V-bi", "Fimp", "Prdx", "Coun", "Coll", "V-sh", "Af-p", "Vpre", "Anph", "Init", "Adjx", "Hypo", "ANim",
    "POST", "NMbr", "CAse", "ASpc", "TRns",
];

/// The bit of grammeme `name` in [`Analysis::bits`], if it has one.
fn grammeme_bit(name: &str) -> Option<u128> {
    static INDEX: OnceLock<foldhash::HashMap<&'static str, u8>> = OnceLock::new();
    let index = INDEX.get_or_init(|| GRAMMEMES.iter().enumerate().map(|(i, g)| (*g, i as u8)).collect());
    index.get(name).map(|&i| 1u128 << i)
}

impl Analysis {
    /// A reading with its grammemes indexed.
    fn new(lemma: String, tag: String, score: f32, known: bool) -> Analysis {
        let bits = tag.split([',', ' ']).filter_map(grammeme_bit).fold(0, |bits, bit| bits | bit);
        Analysis { lemma, tag, score, known, bits }
    }

    /// Whether the tag contains the grammeme `grammeme` (e.g. `"plur"`, `"impr"`, `"VERB"`).
    pub fn has(&self, grammeme: &str) -> bool {
        match grammeme_bit(grammeme) {
            Some(bit) => self.bits & bit != 0,
            None => self.grammemes().any(|g| g == grammeme),
        }
    }

    /// The part of speech: the tag's first grammeme, e.g. `"VERB"`, `"NPRO"`, `"ADJS"`; for
    /// tokens that are not Russian words it is the token class: `"LATN"`, `"NUMB"`, `"PNCT"`,
    /// `"ROMN"` or `"UNKN"`.
    pub fn pos(&self) -> &str {
        self.grammemes().next().unwrap_or("")
    }

    /// The tag's grammemes in order.
    pub fn grammemes(&self) -> impl Iterator<Item = &str> {
        self.tag.split([',', ' ']).filter(|g| !g.is_empty())
    }
}

impl Morph {
    /// The process-wide analyser, loaded on first use (see [`Morph::try_global`]).
    ///
    /// # Panics
    ///
    /// Panics with the reason if the dictionary cannot be loaded. Use [`Morph::try_global`]
    /// where that is to be handled as an error (the server's start-up does).
    pub fn global() -> &'static Morph {
        Morph::try_global().unwrap_or_else(|e| panic!("{e} (set {DICT_ENV} to an rsmorphy-dict-ru data directory)"))
    }

    /// The process-wide analyser, loaded on first use from the directory named by the
    /// `SUFLER_MORPH_DICT` environment variable or, if it is unset, from a `morph-ru`
    /// directory beside the executable or else the dictionary embedded in the binary (written
    /// once to the user's cache directory; loading takes a fraction of a second). A failure is
    /// remembered: every later call returns the same error.
    pub fn try_global() -> Result<&'static Morph, MorphLoadError> {
        static GLOBAL: OnceLock<Result<Morph, MorphLoadError>> = OnceLock::new();
        GLOBAL.get_or_init(|| Morph::load(dict_dir()?)).as_ref().map_err(Clone::clone)
    }

    /// Loads the analyser from an rsmorphy dictionary directory (the `data` directory of the
    /// `rsmorphy-dict-ru` crate).
    pub fn load(path: impl AsRef<Path>) -> Result<Morph, MorphLoadError> {
        let path = path.as_ref();
        let error = |reason: String| MorphLoadError { path: path.to_path_buf(), reason };
        if !path.is_dir() {
            return Err(error("not a directory".into()));
        }
        if let Some(missing) = DICT_FILES.iter().find(|f| !path.join(f).is_file()) {
            return Err(error(format!("{missing} is missing")));
        }
        // The files exist; a corrupt one still makes rsmorphy panic, so turn that into an error.
        guarded(|| MorphAnalyzer::from_file(path)).map(|analyzer| Morph { analyzer }).map_err(error)
    }

    /// All readings of `word` (any case), most probable first. Unknown words get guessed
    /// readings, non-words tags such as `LATN`, `NUMB` or `PNCT`; the list is empty only for an
    /// empty word or one the analyser fails on.
    ///
    /// Results are cached per thread: the rules and every rewrite pass ask about the same words,
    /// and a dictionary lookup allocates a dozen strings.
    pub fn analyses(&self, word: &str) -> Rc<Vec<Analysis>> {
        thread_local! {
            static CACHE: crate::text::memo::Memo<String, Rc<Vec<Analysis>>> = crate::text::memo::Memo::new(ANALYSIS_CACHE_WORDS);
        }
        let word = word.trim();
        // Most words come in lower case already: look them up without building a key.
        let lower_already = word.chars().all(|c| matches!(c, 'а'..='я' | 'ё' | 'a'..='z' | '-') || !c.is_uppercase());
        if lower_already {
            if let Some(hit) = CACHE.with(|c| c.get(word)) {
                return hit;
            }
        }
        let key = crate::text::words::lower(word);
        CACHE.with(|c| {
            c.get_or_insert_with(
                &key,
                || key.clone(),
                || Rc::new(guarded(|| self.parse(&key).iter().map(|p| self.analysis(p)).collect()).unwrap_or_default()),
            )
        })
    }

    /// Inflects `word` to the `grammemes` (e.g. `&["plur"]`, `&["plur", "past"]`): takes the first
    /// (most probable) reading accepted by `pick`, and returns the lowercase form of its lexeme
    /// that has all the requested grammemes and otherwise differs least from the reading, as
    /// pymorphy2 does. `None` if no reading is picked, a grammeme is unknown or the lexeme has no
    /// such form.
    pub fn inflect(&self, word: &str, pick: impl Fn(&Analysis) -> bool, grammemes: &[&str]) -> Option<String> {
        let metas = &self.analyzer.dict.grammeme_metas;
        // rsmorphy indexes its grammeme table with each requested grammeme and panics on a miss.
        if grammemes.is_empty() || grammemes.iter().any(|g| !metas.contains_key(&Grammeme::new(*g))) {
            return None;
        }
        let parsed = guarded(|| self.parse(word)).ok()?;
        let analyses: Vec<Analysis> = guarded(|| parsed.iter().map(|p| self.analysis(p)).collect()).ok()?;
        // `pick` runs outside the guard: a panic in the caller's code is the caller's.
        let chosen = &parsed[analyses.iter().position(pick)?];
        guarded(|| {
            let required = GrammemeSet::new(grammemes.join(","));
            // pymorphy2's choice: among the lexeme's forms that have every requested grammeme,
            // the one closest to the reading with the requested grammemes substituted, where
            // each extra or missing grammeme costs 0.1 — so regular forms beat the dictionary's
            // marked variants («хотите», not the colloquial «хочите» tagged `Infr`). Ties go to
            // the first form.
            let target = chosen.lex.get_tag(&self.analyzer).prepare_required(&self.analyzer, &required).set;
            let mut best: Option<(f64, String)> = None;
            for form in chosen.lex.iter_lexeme(&self.analyzer) {
                let tag = &form.get_tag(&self.analyzer).grammemes.set;
                if !required.set.is_subset(tag) {
                    continue;
                }
                let similarity =
                    tag.intersection(&target).count() as f64 - 0.1 * tag.symmetric_difference(&target).count() as f64;
                if best.as_ref().is_none_or(|(s, _)| similarity > *s) {
                    best = Some((similarity, form.get_word().to_lowercase()));
                }
            }
            best.map(|(_, word)| word)
        })
        .ok()
        .flatten()
    }

    fn analysis(&self, parsed: &Parsed) -> Analysis {
        let stack = &parsed.lex.stack.stack;
        Analysis::new(
            crate::text::words::lower(&parsed.lex.get_normal_form(&self.analyzer)),
            parsed.lex.get_tag(&self.analyzer).string.to_string(),
            parsed.score.value() as f32,
            stack.right.is_none() && stack.left.affix.is_none() && stack.left.stack.as_dictionary().is_some(),
        )
    }

    fn parse(&self, word: &str) -> Vec<Parsed> {
        let word = crate::text::words::lower(word.trim());
        if word.is_empty() {
            return Vec::new();
        }
        let mut parsed = self.analyzer.parse(&word);
        // Best first; the sort is stable so equal scores keep the dictionary's order.
        parsed.sort_by(|a, b| b.score.value().total_cmp(&a.score.value()));
        parsed
    }
}

thread_local! {
    /// How many [`guarded`] calls are running on this thread.
    static GUARDED: Cell<usize> = const { Cell::new(0) };
}

/// Runs `f`, turning a panic inside it into `Err(message)` without printing the message.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if GUARDED.try_with(Cell::get).unwrap_or(0) == 0 {
                previous(info);
            }
        }));
    });
    GUARDED.with(|g| g.set(g.get() + 1));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(g.get() - 1));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the analyser failed".into())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn analyses_are_ranked_and_tagged() {
        let m = Morph::global();
        let a = m.analyses("Пришли");
        assert!(a.len() >= 2, "{a:?}");
        assert!(a.iter().any(|x| x.lemma == "прислать" && x.has("impr") && x.has("sing")), "{a:?}");
        assert!(a.iter().any(|x| x.lemma == "прийти" && x.has("past") && x.has("plur")), "{a:?}");
        assert!(a.windows(2).all(|w| w[0].score >= w[1].score), "{a:?}");
        let ty = &m.analyses("тебе")[0];
        assert_eq!((ty.lemma.as_str(), ty.pos()), ("ты", "NPRO"));
        assert!(ty.has("2per") && ty.has("datv") && !ty.has("2pe"));
        assert!(m.analyses("").is_empty());
        assert_eq!(m.analyses("hello")[0].pos(), "LATN");
    }

    #[test]
    fn indexed_grammemes_agree_with_the_tag() {
        let m = Morph::global();
        let words = "пришли тебе Маше вчера 5 hello XIV , стекло мыла ли бы порешаем самой шёл шли";
        for reading in words.split(' ').flat_map(|w| m.analyses(w).as_ref().clone()) {
            let names: Vec<&str> = reading.grammemes().collect();
            for g in GRAMMEMES.iter().chain(&["Vpre", "NoSuch", ""]) {
                assert_eq!(reading.has(g), names.contains(g), "{g} in {}", reading.tag);
            }
            assert!(names.iter().all(|g| reading.has(g)), "{}", reading.tag);
        }
    }

    #[test]
    fn dictionary_readings_are_told_from_guessed_ones() {
        let m = Morph::global();
        for word in ["ваша", "Цена", "вчера", "пришлите", "Маша"] {
            assert!(m.analyses(word).iter().any(|a| a.known), "{word}: {:?}", m.analyses(word));
        }
        for word in ["евгенй", "порешаемс", "hello"] {
            assert!(m.analyses(word).iter().all(|a| !a.known), "{word}: {:?}", m.analyses(word));
        }
    }

    #[test]
    fn inflects_to_the_requested_grammemes() {
        let m = Morph::global();
        assert_eq!(m.inflect("пришли", |a| a.has("impr"), &["plur"]).as_deref(), Some("пришлите"));
        assert_eq!(m.inflect("можешь", |a| a.pos() == "VERB", &["plur"]).as_deref(), Some("можете"));
        assert_eq!(m.inflect("Получила", |a| a.has("past"), &["plur"]).as_deref(), Some("получили"));
        assert_eq!(m.inflect("готов", |a| a.pos() == "ADJS", &["plur"]).as_deref(), Some("готовы"));
        // The regular form, not the dictionary's colloquial variant «хочите».
        assert_eq!(m.inflect("хочешь", |_| true, &["plur"]).as_deref(), Some("хотите"));
        assert_eq!(m.inflect("ответственен", |_| true, &["plur"]).as_deref(), Some("ответственны"));
        // No reading picked, an unknown grammeme and a missing form all give None.
        assert_eq!(m.inflect("готов", |a| a.pos() == "VERB", &["plur"]), None);
        assert_eq!(m.inflect("готов", |_| true, &["no-such-grammeme"]), None);
        assert_eq!(m.inflect("готов", |_| true, &[]), None);
        assert_eq!(m.inflect("мы", |a| a.pos() == "NPRO", &["sing", "3per"]), None);
    }

    #[test]
    fn the_embedded_dictionary_is_written_out_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("cache/morph-ru");
        write_embedded(&target).unwrap();
        let m = Morph::load(&target).unwrap();
        assert!(m.analyses("заказ").iter().any(|a| a.lemma == "заказ" && a.has("NOUN")));
        // A complete copy is kept; a damaged one is replaced whole.
        let words = target.join("words.dawg.gz");
        let modified = words.metadata().unwrap().modified().unwrap();
        write_embedded(&target).unwrap();
        assert_eq!(words.metadata().unwrap().modified().unwrap(), modified);
        std::fs::write(&words, b"truncated").unwrap();
        write_embedded(&target).unwrap();
        assert!(Morph::load(&target).is_ok());
    }

    #[test]
    fn load_reports_a_missing_dictionary() {
        let e = Morph::load("/nonexistent/sufler-dict").unwrap_err();
        assert!(e.to_string().contains("/nonexistent/sufler-dict"), "{e}");
        let dir = std::env::temp_dir();
        assert!(Morph::load(dir).unwrap_err().reason.contains("missing"));
    }

    #[test]
    fn words_the_analyser_fails_on_get_no_readings() {
        let m = Morph::global();
        // rsmorphy's prefix guesser asserts on unknown words shorter than three letters.
        for word in ["х", "ё", "ѐ", "щъ", "поуґа-зее", "таой"] {
            let _ = m.analyses(word);
            let _ = m.inflect(word, |_| true, &["plur"]);
        }
        assert!(m.analyses("х").is_empty());
        // Panics elsewhere still reach the default hook and unwind as usual.
        assert!(panic::catch_unwind(|| panic!("not ours")).is_err());
    }
}
