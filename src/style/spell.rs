//! Spelling checker for house-style rule C3 (`spelling`).
//!
//! The checker runs on Debian's `hunspell-ru` dictionary (`ru_RU.aff` + `ru_RU.dic`, UTF-8)
//! through the pure-Rust [`spellbook`] engine, plus a curated allow-list of words that support
//! chats use but the dictionary lacks (`prompts/style/spelling-allow.txt`, compiled in).
//!
//! The dictionary is a system file, not part of the binary, so loading can fail. That is never
//! fatal: [`load_default`] returns [`SpellStatus::Disabled`] with a polite explanation in Russian
//! for the operator or administrator, and the rest of the style engine keeps working.
//!
//! Scope of [`Speller::is_correct`]: one token of Russian text. Tokens with Latin letters,
//! digits, symbols or letters of other Cyrillic alphabets (і, ї, є, ў…) are not this checker's
//! business and are reported as correct; so are short all-caps abbreviations (rule C7 judges
//! those) and tokens longer than [`MAX_CHECKED_CHARS`] characters.
//!
//! Slang («щас», «спс») and jargon are flagged by rules C4 and C6; they are deliberately *not*
//! in the allow-list, so the integrator may want to suppress C3 on tokens those rules report.

use crate::text::memo::Memo;
use std::collections::HashSet;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use spellbook::Dictionary;

use crate::text::fold;
use crate::text::words::osa_distance;

/// Environment variable naming a directory with `ru_RU.aff` and `ru_RU.dic`; it is searched
/// before the system directories.
pub const DICT_DIR_ENV: &str = "SUFLER_HUNSPELL_DIR";

/// System directories searched for the dictionary, in order, after [`DICT_DIR_ENV`].
pub const SYSTEM_DICT_DIRS: &[&str] = &["/usr/share/hunspell", "/usr/share/myspell/dicts", "/usr/share/myspell"];

/// Base name of the dictionary files (`ru_RU.aff`, `ru_RU.dic`).
pub const DICT_NAME: &str = "ru_RU";

/// Tokens longer than this many characters are not checked (reported as correct): such
/// "words" are almost always glued text, URLs without a scheme or keyboard mashing, and checking
/// them would only cost time.
pub const MAX_CHECKED_CHARS: usize = 40;

/// Tokens longer than this many characters get no suggestions (edit search on a 35-letter
/// token costs about 16 ms, and such tokens are rarely a single misspelled word).
pub const MAX_SUGGEST_CHARS: usize = 24;

/// Longest word for which the slow "ngram" suggestion search may run.
///
/// Spellbook's suggester first tries cheap edits (typically 2–10 ms per word on hunspell-ru)
/// and then an "ngram" similarity scan of the whole 146 000-stem word list, which costs
/// 80–170 ms for ordinary words and 250–400 ms for 20–35-letter ones on a busy 2-core machine.
/// [`Speller::suggest`] therefore runs the scan only as a fallback, when neither the edits nor
/// the allow-list found anything (e.g. «пробемма» → «проблема»), and only for words up to this
/// length; a long word with no edit candidate rarely gets a useful ngram candidate anyway.
pub const MAX_NGRAM_CHARS: usize = 16;

/// All-caps tokens of at most this many letters (ИНН, СБП, ОГРНИП) are treated as
/// abbreviations: unknown ones are accepted, because rule C7 decides which acronyms are allowed.
pub const MAX_ABBREVIATION_CHARS: usize = 6;

/// The allow-list, one lowercase word per line; `#` starts a comment line.
const ALLOW_LIST: &str = include_str!("../../prompts/style/spelling-allow.txt");

/// Hyphen-only particles that may close a compound (какой-то, кто-либо, где-нибудь, дай-ка).
const SUFFIX_PARTICLES: &[&str] = &["то", "либо", "нибудь", "ка", "таки", "де"];

/// Hyphen-only particles that may open a compound (кое-где, кой-какой).
const PREFIX_PARTICLES: &[&str] = &["кое", "кой"];

/// Number of «е» letters up to which every combination of «е»→«ё» replacements is tried
/// (2^4 − 1 = 15 dictionary look-ups at most); above it only single replacements are tried.
const MAX_YO_COMBINATION_LETTERS: usize = 4;

/// Why the spelling dictionary could not be loaded.
///
/// The [`Display`](fmt::Display) text is a complete sentence in Russian addressed to the
/// operator or administrator; it says what is wrong and how to fix it.
#[derive(Debug)]
pub enum SpellError {
    /// No searched directory contains both `ru_RU.aff` and `ru_RU.dic`.
    NotFound {
        /// Directories that were searched, in order.
        searched: Vec<PathBuf>,
    },
    /// A dictionary file exists but could not be read (permissions, I/O error, not UTF-8).
    Read {
        /// The file that failed.
        path: PathBuf,
        /// The underlying error; [`io::ErrorKind::InvalidData`] means the file is not UTF-8.
        source: io::Error,
    },
    /// The dictionary files were read but spellbook could not parse them.
    Parse {
        /// Directory the files came from, if they came from disk.
        dir: Option<PathBuf>,
        /// Spellbook's description of the problem.
        message: String,
    },
}

impl fmt::Display for SpellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Проверка орфографии отключена: ")?;
        match self {
            SpellError::NotFound { searched } => {
                write!(f, "не найден словарь hunspell-ru ({DICT_NAME}.aff и {DICT_NAME}.dic)")?;
                if !searched.is_empty() {
                    let dirs: Vec<String> = searched.iter().map(|d| d.display().to_string()).collect();
                    write!(f, " в каталогах {}", dirs.join(", "))?;
                }
                write!(
                    f,
                    ". Установите пакет hunspell-ru или укажите каталог со словарём \
                     в переменной окружения {DICT_DIR_ENV}."
                )
            }
            SpellError::Read { path, source } => {
                let path = path.display();
                match source.kind() {
                    io::ErrorKind::InvalidData => write!(
                        f,
                        "файл словаря {path} записан не в кодировке UTF-8. Установите \
                         актуальный пакет hunspell-ru или укажите в переменной окружения \
                         {DICT_DIR_ENV} каталог со словарём в UTF-8."
                    ),
                    io::ErrorKind::PermissionDenied => write!(
                        f,
                        "нет прав на чтение файла словаря {path}. Пожалуйста, проверьте \
                         права доступа к файлу."
                    ),
                    _ => write!(
                        f,
                        "не удалось прочитать файл словаря {path} ({source}). Пожалуйста, \
                         проверьте файл или переустановите пакет hunspell-ru."
                    ),
                }
            }
            SpellError::Parse { dir, message } => {
                f.write_str("не удалось разобрать словарь hunspell-ru")?;
                if let Some(dir) = dir {
                    write!(f, " в каталоге {}", dir.display())?;
                }
                write!(
                    f,
                    " ({message}). Переустановите пакет hunspell-ru или укажите исправный \
                     словарь в переменной окружения {DICT_DIR_ENV}."
                )
            }
        }
    }
}

impl std::error::Error for SpellError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpellError::Read { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Outcome of loading the spelling dictionary: either a working [`Speller`] or the reason rule
/// C3 is switched off.
#[derive(Debug)]
pub enum SpellStatus {
    /// The dictionary is loaded; spelling is checked. (Boxed: the speller is large and the
    /// status is moved around once at start-up.)
    Ready(Box<Speller>),
    /// Spelling is not checked.
    Disabled {
        /// A polite explanation in Russian for the operator or administrator, with the fix.
        reason: String,
    },
}

impl SpellStatus {
    /// The speller, when spelling is checked.
    pub fn speller(&self) -> Option<&Speller> {
        match self {
            SpellStatus::Ready(speller) => Some(speller),
            SpellStatus::Disabled { .. } => None,
        }
    }

    /// The explanation, when spelling is not checked.
    pub fn disabled_reason(&self) -> Option<&str> {
        match self {
            SpellStatus::Ready(_) => None,
            SpellStatus::Disabled { reason } => Some(reason),
        }
    }

    /// Whether spelling is checked.
    pub fn is_ready(&self) -> bool {
        matches!(self, SpellStatus::Ready(_))
    }
}

impl From<Result<Speller, SpellError>> for SpellStatus {
    fn from(result: Result<Speller, SpellError>) -> Self {
        match result {
            Ok(speller) => SpellStatus::Ready(Box::new(speller)),
            Err(err) => SpellStatus::Disabled { reason: err.to_string() },
        }
    }
}

/// Directories searched by [`load_default`]: `$SUFLER_HUNSPELL_DIR` (when set and non-empty),
/// then [`SYSTEM_DICT_DIRS`].
pub fn default_search_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::with_capacity(SYSTEM_DICT_DIRS.len() + 1);
    if let Some(dir) = std::env::var_os(DICT_DIR_ENV) {
        if !dir.is_empty() {
            dirs.push(PathBuf::from(dir));
        }
    }
    dirs.extend(SYSTEM_DICT_DIRS.iter().map(PathBuf::from));
    dirs
}

/// Loads hunspell-ru from the first of [`default_search_dirs`] that holds both `ru_RU.aff` and
/// `ru_RU.dic`. Never panics: a missing or broken dictionary gives [`SpellStatus::Disabled`].
pub fn load_default() -> SpellStatus {
    load_from_dirs(&default_search_dirs())
}

/// Loads the dictionary from the first of `dirs` that holds both `ru_RU.aff` and `ru_RU.dic`.
///
/// A directory with only one of the two files is skipped. A dictionary that is found but cannot
/// be read or parsed disables the checker (later directories are not tried, so that a broken
/// `$SUFLER_HUNSPELL_DIR` is reported rather than silently replaced).
pub fn load_from_dirs<P: AsRef<Path>>(dirs: &[P]) -> SpellStatus {
    match dirs.iter().map(AsRef::as_ref).find(|dir| has_dictionary(dir)) {
        Some(dir) => Speller::load(dir).into(),
        None => SpellStatus::Disabled {
            reason: SpellError::NotFound { searched: dirs.iter().map(|d| d.as_ref().to_path_buf()).collect() }
                .to_string(),
        },
    }
}

fn dict_paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join(format!("{DICT_NAME}.aff")), dir.join(format!("{DICT_NAME}.dic")))
}

fn has_dictionary(dir: &Path) -> bool {
    let (aff, dic) = dict_paths(dir);
    aff.is_file() && dic.is_file()
}

fn read_dict_file(path: PathBuf) -> Result<String, SpellError> {
    std::fs::read_to_string(&path).map_err(|source| SpellError::Read { path, source })
}

/// A Russian spelling checker: hunspell-ru through spellbook plus the compiled-in allow-list.
///
/// Loading takes tens of milliseconds and the dictionary occupies some megabytes, so load it
/// once and share it (`Arc<Speller>`; all methods take `&self`).
#[derive(Debug)]
pub struct Speller {
    dict: Dictionary,
    /// Allow-list entries, lowercased and with «ё» folded to «е».
    allow: HashSet<String>,
}

impl Speller {
    /// Loads `ru_RU.aff` and `ru_RU.dic` from `dir`.
    pub fn load(dir: impl AsRef<Path>) -> Result<Self, SpellError> {
        let dir = dir.as_ref();
        let (aff_path, dic_path) = dict_paths(dir);
        if !aff_path.is_file() || !dic_path.is_file() {
            return Err(SpellError::NotFound { searched: vec![dir.to_path_buf()] });
        }
        let aff = read_dict_file(aff_path)?;
        let dic = read_dict_file(dic_path)?;
        Self::from_hunspell(&aff, &dic).map_err(|err| match err {
            SpellError::Parse { message, .. } => SpellError::Parse { dir: Some(dir.to_path_buf()), message },
            other => other,
        })
    }

    /// Builds a speller from the texts of a hunspell `.aff` and `.dic` pair (UTF-8).
    pub fn from_hunspell(aff: &str, dic: &str) -> Result<Self, SpellError> {
        let dict =
            Dictionary::new(aff, dic).map_err(|err| SpellError::Parse { dir: None, message: err.to_string() })?;
        Ok(Self { dict, allow: parse_allow_list(ALLOW_LIST) })
    }

    /// Whether `word` (one token, no surrounding punctuation) is spelled correctly.
    ///
    /// Accepted: dictionary words in lowercase, Title case or ALL CAPS; allow-listed words in any
    /// case; «ё» written as «е» and vice versa (hunspell-ru mostly spells with «е»); hyphenated
    /// compounds that are correct as a whole or part by part (какой-то, интернет-магазин, из-за,
    /// по-русски, смс-код); stress marks and soft hyphens are ignored. Out of scope and hence
    /// reported as correct: tokens with Latin letters, digits or non-Russian characters,
    /// all-caps abbreviations of up to [`MAX_ABBREVIATION_CHARS`] letters and tokens longer than
    /// [`MAX_CHECKED_CHARS`] characters.
    ///
    /// Lowercased proper names («москва») are reported as misspelled, as hunspell does;
    /// [`Speller::suggest`] then offers the capitalised form.
    ///
    /// Answers are cached per thread (the rules and each rewrite pass ask about the same words).
    pub fn is_correct(&self, word: &str) -> bool {
        thread_local! {
            static CACHE: Memo<String, bool> = Memo::new(100_000);
        }
        CACHE.with(|c| c.get_or_insert_with(word, || word.to_string(), || self.check_uncached(word)))
    }

    fn check_uncached(&self, word: &str) -> bool {
        let word = match Token::classify(word) {
            Token::Russian(word) => word,
            Token::OutOfScope => return true,
        };
        if is_abbreviation(&word) {
            return true;
        }
        if self.check_single(&word) {
            return true;
        }
        if !word.contains('-') {
            return false;
        }
        let parts: Vec<&str> = word.split('-').filter(|part| !part.is_empty()).collect();
        let last = parts.len().saturating_sub(1);
        parts.iter().enumerate().all(|(i, part)| {
            let lower = part.to_lowercase();
            (i == last && i > 0 && SUFFIX_PARTICLES.contains(&lower.as_str()))
                || (i == 0 && i < last && PREFIX_PARTICLES.contains(&lower.as_str()))
                || self.check_single(part)
        })
    }

    /// Up to `max` corrections for `word`, best first, in the case pattern of the input
    /// (Title case → Title case, ALL CAPS → ALL CAPS), without duplicates.
    ///
    /// The nearest allow-list words (one edit away, two for words of eight letters or more)
    /// come first, then spellbook's edit-based suggestions, which may contain a space
    /// («вообщем» → «во общем») or a capitalised proper name («москва» → «Москва»). Only when
    /// both find nothing does the slow ngram search run, and only for words of at most
    /// [`MAX_NGRAM_CHARS`] characters (see there for the timings). Returns nothing for
    /// out-of-scope tokens and abbreviations (see [`Speller::is_correct`]) and for words longer
    /// than [`MAX_SUGGEST_CHARS`] characters.
    pub fn suggest(&self, word: &str, max: usize) -> Vec<String> {
        // Cached per thread: the rewrite's guard checks every intermediate text, which repeats
        // the draft's unknown words, and one search costs tens of milliseconds.
        thread_local! {
            static CACHE: Memo<(usize, String, usize), Vec<String>> = Memo::new(4096);
        }
        // Keyed by the speller too: a process may load more than one dictionary.
        let key = (std::ptr::from_ref(self) as usize, word.to_string(), max);
        CACHE.with(|c| c.get_or_insert_with(&key, || key.clone(), || self.suggest_uncached(word, max)))
    }

    fn suggest_uncached(&self, word: &str, max: usize) -> Vec<String> {
        if max == 0 {
            return Vec::new();
        }
        let word = match Token::classify(word) {
            Token::Russian(word) => word,
            Token::OutOfScope => return Vec::new(),
        };
        if is_abbreviation(&word) || word.chars().count() > MAX_SUGGEST_CHARS {
            return Vec::new();
        }
        let casing = Casing::of(&word);
        let mut out: Vec<String> = Vec::with_capacity(max);
        let push = |candidate: &str, out: &mut Vec<String>| {
            let candidate = casing.apply(candidate);
            if !out.contains(&candidate) {
                out.push(candidate);
            }
        };

        for candidate in self.allow_list_neighbours(&word) {
            push(&candidate, &mut out);
        }
        if out.len() < max {
            let mut found = Vec::new();
            self.dict.suggester().with_ngram_suggestions(false).suggest(&word, &mut found);
            if found.is_empty() && out.is_empty() && word.chars().count() <= MAX_NGRAM_CHARS {
                self.dict.suggest(&word, &mut found);
            }
            for candidate in &found {
                push(candidate, &mut out);
            }
        }
        out.truncate(max);
        out
    }

    /// Whether `word` is in the allow-list, in any letter case; «ё» and «е» are equivalent.
    pub fn is_allowed(&self, word: &str) -> bool {
        self.allow.contains(&fold(word))
    }

    /// Number of distinct allow-list entries.
    pub fn allow_list_len(&self) -> usize {
        self.allow.len()
    }

    /// One hyphen-free or whole token: allow-list, then the dictionary with «ё»/«е» variants.
    fn check_single(&self, word: &str) -> bool {
        if self.is_allowed(word) || self.dict.check(word) {
            return true;
        }
        if word.contains(['ё', 'Ё']) {
            let plain: String = word
                .chars()
                .map(|c| match c {
                    'ё' => 'е',
                    'Ё' => 'Е',
                    c => c,
                })
                .collect();
            if self.dict.check(&plain) {
                return true;
            }
        }
        self.check_yo_variants(word)
    }

    /// Tries «е»→«ё» replacements: the dictionary spells some words only with «ё».
    fn check_yo_variants(&self, word: &str) -> bool {
        let chars: Vec<char> = word.chars().collect();
        let positions: Vec<usize> = (0..chars.len()).filter(|&i| matches!(chars[i], 'е' | 'Е')).collect();
        if positions.is_empty() {
            return false;
        }
        let mut variant = chars.clone();
        let mut check_mask = |mask: u32| {
            for (bit, &pos) in positions.iter().enumerate() {
                variant[pos] = match (mask >> bit & 1 == 1, chars[pos]) {
                    (true, 'е') => 'ё',
                    (true, 'Е') => 'Ё',
                    (_, c) => c,
                };
            }
            self.dict.check(&variant.iter().collect::<String>())
        };
        if positions.len() <= MAX_YO_COMBINATION_LETTERS {
            (1..1u32 << positions.len()).any(&mut check_mask)
        } else {
            (0..positions.len()).any(|bit| check_mask(1 << bit))
        }
    }

    /// Allow-list words at the smallest edit distance from `word` (at most 1, or 2 for words of
    /// eight letters or more), in a stable order.
    fn allow_list_neighbours(&self, word: &str) -> Vec<String> {
        let folded: Vec<char> = fold(word).chars().collect();
        let limit = if folded.len() >= 8 { 2 } else { 1 };
        let mut hits: Vec<(usize, &String)> = self
            .allow
            .iter()
            .filter(|entry| entry.chars().count().abs_diff(folded.len()) <= limit)
            .filter_map(|entry| {
                let entry_chars: Vec<char> = entry.chars().collect();
                let distance = osa_distance(&folded, &entry_chars);
                (distance > 0 && distance <= limit).then_some((distance, entry))
            })
            .collect();
        hits.sort();
        let nearest = hits.first().map(|&(distance, _)| distance);
        hits.into_iter()
            .take_while(|&(distance, _)| Some(distance) == nearest)
            .map(|(_, entry)| entry.clone())
            .collect()
    }
}

/// Result of normalising one input token.
enum Token {
    /// A token of Russian letters and inner hyphens, normalised.
    Russian(String),
    /// Not this checker's business.
    OutOfScope,
}

impl Token {
    /// Normalises `word` (stress marks and soft hyphens dropped, hyphen variants unified, outer
    /// hyphens trimmed) and decides whether it is in scope.
    fn classify(word: &str) -> Token {
        // Cheap length guard before any allocation: a Cyrillic letter is 2 bytes in UTF-8.
        if word.len() > MAX_CHECKED_CHARS * 4 {
            return Token::OutOfScope;
        }
        let mut normalized = String::with_capacity(word.len());
        for c in word.chars() {
            match c {
                '\u{0301}' | '\u{0300}' | '\u{00AD}' | '\u{200B}' | '\u{200D}' | '\u{FEFF}' => {}
                '\u{2010}' | '\u{2011}' => normalized.push('-'),
                c => normalized.push(c),
            }
        }
        let trimmed = normalized.trim_matches('-');
        let mut letters = 0usize;
        for c in trimmed.chars() {
            if is_russian_letter(c) {
                letters += 1;
            } else if c != '-' {
                return Token::OutOfScope;
            }
        }
        if letters == 0 || trimmed.chars().count() > MAX_CHECKED_CHARS {
            return Token::OutOfScope;
        }
        Token::Russian(trimmed.to_string())
    }
}

fn is_russian_letter(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё')
}

/// An all-caps token of 2..=[`MAX_ABBREVIATION_CHARS`] letters without hyphens.
fn is_abbreviation(word: &str) -> bool {
    let count = word.chars().count();
    (2..=MAX_ABBREVIATION_CHARS).contains(&count) && word.chars().all(|c| matches!(c, 'А'..='Я' | 'Ё'))
}

fn parse_allow_list(text: &str) -> HashSet<String> {
    text.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).map(fold).collect()
}

/// Case pattern of a word, used to shape suggestions like the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Casing {
    /// Lowercase or mixed: suggestions are kept as the dictionary spells them.
    AsIs,
    /// First letter upper, the rest lower: «Заказ».
    Title,
    /// Two or more letters, all upper: «ЗАКАЗ».
    Upper,
}

impl Casing {
    fn of(word: &str) -> Casing {
        let mut letters = word.chars().filter(|c| c.is_alphabetic());
        let Some(first) = letters.next() else { return Casing::AsIs };
        let rest: Vec<char> = letters.collect();
        if !first.is_uppercase() {
            Casing::AsIs
        } else if rest.is_empty() || rest.iter().all(|c| c.is_lowercase()) {
            Casing::Title
        } else if rest.iter().all(|c| c.is_uppercase()) {
            Casing::Upper
        } else {
            Casing::AsIs
        }
    }

    fn apply(self, candidate: &str) -> String {
        match self {
            Casing::AsIs => candidate.to_string(),
            Casing::Upper => candidate.to_uppercase(),
            Casing::Title => {
                let mut chars = candidate.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// The system dictionary, loaded once for all tests; `None` when hunspell-ru is absent.
    fn speller() -> Option<&'static Speller> {
        static SPELLER: OnceLock<SpellStatus> = OnceLock::new();
        SPELLER.get_or_init(load_default).speller()
    }

    /// Runs `check` with the dictionary, or asserts the Disabled path when it is not installed.
    fn with_speller(check: impl FnOnce(&Speller)) {
        match speller() {
            Some(speller) => check(speller),
            None => {
                let status = load_default();
                let reason = status.disabled_reason().expect("no dictionary means Disabled");
                assert!(reason.starts_with("Проверка орфографии отключена"), "{reason}");
            }
        }
    }

    #[test]
    fn accepts_common_words_and_inflections() {
        with_speller(|s| {
            for word in [
                "заказ",
                "заказа",
                "доставкой",
                "оформили",
                "пожалуйста",
                "здравствуйте",
                "ещё",
                "еще",
                "всё",
                "все",
                "пришёл",
                "пришел",
                "извините",
                "спасибо",
                "подскажите",
                "к",
                "в",
                "оплата",
                "возврат",
                "приносим",
                "извинения",
            ] {
                assert!(s.is_correct(word), "{word} should be accepted");
            }
        });
    }

    #[test]
    fn rejects_typos() {
        with_speller(|s| {
            for word in [
                "пожалуста",
                "здраствуйте",
                "заказл",
                "извенит",
                "доставкаа",
                "извените",
                "вообщем",
                "сдесь",
                "симпотичный",
                "оплотить",
            ] {
                assert!(!s.is_correct(word), "{word} should be rejected");
            }
        });
    }

    #[test]
    fn handles_capitalisation() {
        with_speller(|s| {
            for word in ["Заказ", "ЗАКАЗ", "Здравствуйте", "ЗДРАВСТВУЙТЕ", "Москва", "МОСКВА"]
            {
                assert!(s.is_correct(word), "{word} should be accepted");
            }
            assert!(!s.is_correct("Пожалуста"));
            assert!(!s.is_correct("ПОЖАЛУСТА"));
            // Lowercased proper names are flagged, and the suggestion restores the capital.
            assert!(!s.is_correct("москва"));
            assert!(s.suggest("москва", 5).contains(&"Москва".to_string()));
        });
    }

    #[test]
    fn handles_yo_both_ways() {
        with_speller(|s| {
            for word in [
                "ещё",
                "еще",
                "всё",
                "все",
                "ёлка",
                "елка",
                "пришёл",
                "пришел",
                "счёт",
                "счет",
                "Ещё",
                "ЕЩЁ",
                "серьёзно",
                "серьезно",
                "подошёл",
                "подошел",
                "чёрный",
                "черный",
                "фотоотчёт",
                "фотоотчет",
                "автоплатёж",
                "автоплатеж",
            ] {
                assert!(s.is_correct(word), "{word} should be accepted");
            }
            assert!(!s.is_correct("пожалуёста"));
        });
    }

    #[test]
    fn handles_hyphenated_compounds() {
        with_speller(|s| {
            for word in [
                "какой-то",
                "интернет-магазин",
                "из-за",
                "по-русски",
                "кто-нибудь",
                "где-либо",
                "кое-где",
                "дай-ка",
                "всё-таки",
                "смс-код",
                "онлайн-оплата",
                "Какой-то",
                "ИЗ-ЗА",
                "чат-бот",
                "пин-код",
                "вай-фай",
                "по-новому",
                "из-под",
            ] {
                assert!(s.is_correct(word), "{word} should be accepted");
            }
            for word in ["какой-тто", "интернет-магазен", "смс-кот-нибуть"] {
                assert!(!s.is_correct(word), "{word} should be rejected");
            }
            // Non-standard hyphens and outer hyphens.
            assert!(s.is_correct("какой\u{2011}то"));
            assert!(s.is_correct("-заказ-"));
        });
    }

    #[test]
    fn out_of_scope_tokens_are_accepted() {
        with_speller(|s| {
            for word in [
                "iPhone",
                "e-mail",
                "3ds",
                "256гб",
                "SALE20",
                "рeбята",
                "ivanova.m@mail.ru",
                "",
                "-",
                "123",
                "і",
                "їжак",
                "ИНН",
                "СБП",
                "ОГРНИП",
                &"а".repeat(MAX_CHECKED_CHARS + 1),
            ] {
                assert!(s.is_correct(word), "{word:?} should be out of scope");
                assert!(s.suggest(word, 5).is_empty(), "{word:?} gets no suggestions");
            }
            // Seven capitals are no longer treated as an abbreviation.
            assert!(!s.is_correct("ЗАКАЗЛЛ"));
            // Stress marks are ignored.
            assert!(s.is_correct("за\u{0301}мок"));
        });
    }

    #[test]
    fn allow_list_words_are_accepted_in_any_case() {
        with_speller(|s| {
            for word in ["промокод", "Промокод", "ПРОМОКОД", "маркетплейс", "смс", "СМС", "офлайн"]
            {
                assert!(s.is_correct(word), "{word} should be accepted");
            }
            assert!(s.is_allowed("кешбэк"));
            assert!(!s.is_allowed("щас"), "slang belongs to rule C4, not to the allow-list");
        });
    }

    #[test]
    fn allow_list_is_well_formed() {
        let entries: Vec<&str> =
            ALLOW_LIST.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')).collect();
        assert!(entries.len() >= 150, "only {} entries", entries.len());
        let mut seen = HashSet::new();
        for entry in &entries {
            assert!(
                entry.chars().all(|c| matches!(c, 'а'..='я' | 'ё' | '-')),
                "{entry:?}: lowercase Russian letters and hyphens only"
            );
            assert!(seen.insert(fold(entry)), "{entry:?} is listed twice");
        }
    }

    #[test]
    fn suggests_the_right_word_for_common_typos() {
        with_speller(|s| {
            for (typo, expected) in [
                ("пожалуста", "пожалуйста"),
                ("здраствуйте", "здравствуйте"),
                ("извените", "извините"),
                ("заказл", "заказ"),
                ("доставкаа", "доставка"),
                ("вообщем", "вообще"),
                ("промакод", "промокод"),
                ("кэшбек", "кэшбэк"),
            ] {
                let suggestions = s.suggest(typo, 5);
                assert!(
                    suggestions.iter().any(|sug| sug == expected),
                    "{typo}: expected {expected} among {suggestions:?}"
                );
            }
        });
    }

    #[test]
    fn suggestions_keep_case_and_limit() {
        with_speller(|s| {
            let title = s.suggest("Пожалуста", 3);
            assert_eq!(title.first().map(String::as_str), Some("Пожалуйста"), "{title:?}");
            let upper = s.suggest("ПОЖАЛУСТА", 3);
            assert_eq!(upper.first().map(String::as_str), Some("ПОЖАЛУЙСТА"), "{upper:?}");
            assert!(s.suggest("доставкаа", 2).len() <= 2);
            assert!(s.suggest("доставкаа", 0).is_empty());
            let all = s.suggest("заказл", 50);
            let unique: HashSet<&String> = all.iter().collect();
            assert_eq!(unique.len(), all.len(), "duplicates in {all:?}");
            let long = "превысокомногорассмотрительствующиий";
            assert!(!s.is_correct(long));
            assert!(long.chars().count() > MAX_SUGGEST_CHARS);
            assert!(s.suggest(long, 5).is_empty());
        });
    }

    #[test]
    fn missing_dictionary_disables_politely() {
        let dir = std::env::temp_dir().join("sufler-spell-test-no-such-dir");
        let status = load_from_dirs(&[&dir]);
        let reason = status.disabled_reason().expect("a missing dictionary disables C3");
        assert!(!status.is_ready());
        assert!(reason.starts_with("Проверка орфографии отключена"), "{reason}");
        assert!(reason.contains("hunspell-ru"), "{reason}");
        assert!(reason.contains(DICT_DIR_ENV), "{reason}");
        assert!(reason.contains(&dir.display().to_string()), "{reason}");
        assert!(matches!(Speller::load(&dir), Err(SpellError::NotFound { .. })));
    }

    #[test]
    fn broken_dictionary_disables_politely() {
        let dir = std::env::temp_dir().join(format!("sufler-spell-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (aff, dic) = dict_paths(&dir);

        // Not UTF-8 (e.g. an old KOI8-R dictionary).
        std::fs::write(&aff, b"SET KOI8-R\n").unwrap();
        std::fs::write(&dic, b"1\n\xf0\xd2\xc9\xd7\xc5\xd4\n").unwrap();
        let reason = load_from_dirs(&[&dir]).disabled_reason().unwrap().to_string();
        assert!(reason.contains("UTF-8"), "{reason}");

        // Malformed affix table.
        std::fs::write(&aff, "SET UTF-8\nSFX A Y 2\nSFX A 0 а .\n").unwrap();
        std::fs::write(&dic, "1\nслово/A\n").unwrap();
        let status = load_from_dirs(&[&dir]);
        let reason = status.disabled_reason().unwrap();
        assert!(reason.contains("не удалось разобрать словарь"), "{reason}");
        assert!(reason.contains(&dir.display().to_string()), "{reason}");

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn tiny_dictionary_works_without_the_system_one() {
        let speller = Speller::from_hunspell("SET UTF-8\n", "2\nзаказ\nёлка\n").unwrap();
        assert!(speller.is_correct("заказ"));
        assert!(speller.is_correct("Заказ"));
        assert!(speller.is_correct("елка"));
        assert!(speller.is_correct("промокод"), "allow-list");
        assert!(!speller.is_correct("заказл"));
        assert!(speller.suggest("заказл", 3).contains(&"заказ".to_string()));
    }

    #[test]
    fn search_order_ends_with_system_dirs() {
        let dirs = default_search_dirs();
        let tail: Vec<PathBuf> = SYSTEM_DICT_DIRS.iter().map(PathBuf::from).collect();
        assert!(dirs.ends_with(&tail), "{dirs:?}");
    }

    #[test]
    fn speller_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Speller>();
        assert_send_sync::<SpellStatus>();
    }

    #[test]
    fn edit_distance_counts_transpositions() {
        let d = |a: &str, b: &str| osa_distance(&a.chars().collect::<Vec<_>>(), &b.chars().collect::<Vec<_>>());
        assert_eq!(d("промокод", "промокод"), 0);
        assert_eq!(d("промакод", "промокод"), 1);
        assert_eq!(d("пормокод", "промокод"), 1);
        assert_eq!(d("смс", ""), 3);
    }
}
