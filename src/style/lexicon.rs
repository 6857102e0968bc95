//! Word lists and dictionaries of `prompts/style/`: slang, cute diminutives, jargon, forbidden
//! phrases, greetings, softeners, acronyms, abbreviations and given names with their pet forms.
//!
//! The files are compiled into the binary as the embedded defaults; [`Lexicon::from_dir`] reads
//! a company's own copies instead. Every file states its format in its `# Формат:` header; a
//! malformed line is reported as `file:line: reason`.

// foldhash: these tables are fixed data, looked up by every rule for every word (SipHash was
// a tenth of a rewrite).
use foldhash::{HashMap, HashMapExt, HashSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::text::fold;

/// Phrases of one or more words mapped to a payload, looked up by their first word.
#[derive(Debug, Clone)]
pub struct PhraseTable<T> {
    by_first: HashMap<String, Vec<(Vec<String>, T)>>,
    len: usize,
}

impl<T> Default for PhraseTable<T> {
    fn default() -> Self {
        PhraseTable { by_first: HashMap::new(), len: 0 }
    }
}

impl<T> PhraseTable<T> {
    /// Adds a phrase (words separated by spaces).
    /// Whether the phrase was new: a phrase listed again shadows its first entry.
    pub fn insert(&mut self, phrase: &str, value: T) -> bool {
        let words: Vec<String> = phrase.split_whitespace().map(fold).collect();
        let Some(first) = words.first().cloned() else { return false };
        let bucket = self.by_first.entry(first).or_default();
        let new = !bucket.iter().any(|(w, _)| *w == words);
        bucket.push((words, value));
        // Longest phrase first, so «я не знаю» wins over «не знаю».
        bucket.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        self.len += 1;
        new
    }

    /// The longest phrase that starts at `words[0]` (already folded): its length in words and
    /// its payload.
    pub fn longest_at<S: AsRef<str>>(&self, words: &[S]) -> Option<(usize, &T)> {
        let bucket = self.by_first.get(words.first()?.as_ref())?;
        bucket
            .iter()
            .find(|(phrase, _)| words.len() >= phrase.len() && phrase.iter().zip(words).all(|(p, w)| p == w.as_ref()))
            .map(|(phrase, value)| (phrase.len(), value))
    }

    /// Whether a one-word entry equals `word` (folded).
    pub fn contains_word(&self, word: &str) -> bool {
        self.longest_at(&[fold(word)]).is_some_and(|(n, _)| n == 1)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A forbidden phrase: which rule it belongs to and the suggested wording.
#[derive(Debug, Clone)]
pub struct Forbidden {
    /// Rule id (`no-i-dont-know`, `no-blame`, `no-directive`, `no-redirect`).
    pub rule: String,
    /// Suggested replacement.
    pub replacement: String,
}

/// A given name with its gender and diminutive or pet forms.
#[derive(Debug, Clone)]
pub struct NameEntry {
    /// The full name as written in the dictionary («Евгений»).
    pub full: String,
    /// `m` or `f`.
    pub gender: char,
    /// Diminutive and pet forms («Женя», «Женечка»).
    pub forms: Vec<String>,
}

/// The dictionary of Russian given names.
#[derive(Debug, Clone, Default)]
pub struct Names {
    entries: Vec<NameEntry>,
    by_full: HashMap<String, Vec<usize>>,
    by_form: HashMap<String, Vec<usize>>,
}

impl Names {
    /// Entries whose full name is `name` («Евгений», any case).
    pub fn by_full(&self, name: &str) -> impl Iterator<Item = &NameEntry> {
        self.by_full.get(&fold(name)).into_iter().flatten().map(|&i| &self.entries[i])
    }

    /// Entries that list `form` («Женя») as one of their diminutives.
    pub fn by_form(&self, form: &str) -> impl Iterator<Item = &NameEntry> {
        self.by_form.get(&fold(form)).into_iter().flatten().map(|&i| &self.entries[i])
    }

    /// Whether `word` is a known full name or diminutive.
    pub fn is_known(&self, word: &str) -> bool {
        let key = fold(word);
        self.by_full.contains_key(&key) || self.by_form.contains_key(&key)
    }

    /// Number of full names.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the dictionary is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Everything the rules look up.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// Slang and chat abbreviations → neutral wording (empty: delete).
    pub slang: PhraseTable<String>,
    /// Cute diminutives of business words → the neutral word in the same form.
    pub cutesy: PhraseTable<String>,
    /// Common misspellings with one right spelling → that spelling.
    pub misspellings: PhraseTable<String>,
    /// Jargon and anglicisms → replacement (None: flag only).
    pub jargon: PhraseTable<Option<String>>,
    /// Forbidden phrases of rules D1, A7, A8 and D6.
    pub forbidden: PhraseTable<Forbidden>,
    /// Informal greetings → formal greeting.
    pub greetings: PhraseTable<String>,
    /// Formal greetings («Здравствуйте», «Добрый день»).
    pub formal_greetings: PhraseTable<()>,
    /// Softeners («пожалуйста», «будьте добры»).
    pub softeners: PhraseTable<()>,
    /// Acronyms that may stay in capitals (ООО, ИНН, СМС).
    pub acronyms: HashSet<String>,
    /// Abbreviations after whose dot a sentence may go on («т.д», «руб»): (text, always
    /// followed by a word or number, like «ул»).
    pub abbreviations: Vec<(String, bool)>,
    /// Imperatives that are not requests («здравствуйте», «извините»).
    pub not_requests: HashSet<String>,
    /// Perception imperatives that open a sentence as a discourse marker («Слушайте, …»).
    pub discourse_markers: HashSet<String>,
    /// Subordinating conjunctions: a verb in their clause is no request («если оплатите»).
    pub subordinators: HashSet<String>,
    /// Addresses to several people that open a message («Коллеги, …»).
    pub group_addresses: HashSet<String>,
    /// Closing formulas of a letter («с уважением»), folded.
    pub signoffs: Vec<String>,
    /// Given names with diminutives.
    pub names: Names,
    /// Obscene words, insults, threats, contempt and vulgar intensifiers.
    pub rude: crate::text::rude::RudeLexicon,
}

/// One data file of the lexicon: name and embedded default text.
struct DataFile {
    name: &'static str,
    embedded: &'static str,
}

macro_rules! data_file {
    ($name:literal) => {
        DataFile { name: $name, embedded: include_str!(concat!("../../prompts/style/", $name)) }
    };
}

const FILES: [DataFile; 17] = [
    data_file!("slang.tsv"),
    data_file!("cutesy.tsv"),
    data_file!("misspellings.tsv"),
    data_file!("jargon.tsv"),
    data_file!("forbidden.tsv"),
    data_file!("greetings.tsv"),
    data_file!("formal-greetings.txt"),
    data_file!("softeners.txt"),
    data_file!("acronyms.txt"),
    data_file!("abbreviations.txt"),
    data_file!("not-requests.txt"),
    data_file!("discourse-markers.txt"),
    data_file!("subordinators.txt"),
    data_file!("group-addresses.txt"),
    data_file!("signoffs.txt"),
    data_file!("names.tsv"),
    data_file!("rude.tsv"),
];

/// Data lines of a file: (1-based line number, fields split on tabs); comments and blank lines
/// skipped. Trailing tabs keep their empty fields («щас<TAB>» means "delete").
fn rows(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|(i, l)| (i + 1, l.split('\t').map(str::trim).collect()))
}

impl Lexicon {
    /// This lexicon with a profile's own entries added.
    pub fn with_profile_words(&self, words: &crate::style::context::ProfileWords) -> Lexicon {
        let mut lex = self.clone();
        for (k, v) in &words.slang {
            lex.slang.insert(k, v.clone());
        }
        for (k, v) in &words.cutesy {
            lex.cutesy.insert(k, v.clone());
        }
        for (k, v) in &words.jargon {
            lex.jargon.insert(k, Some(v.clone()).filter(|v| !v.is_empty()));
        }
        lex.acronyms.extend(words.acronyms.iter().cloned());
        lex
    }

    /// The lexicon compiled into the binary.
    pub fn embedded() -> Result<Lexicon> {
        Self::build(|f| Ok((f.embedded.to_string(), format!("prompts/style/{}", f.name))))
    }

    /// Reads the lists from `dir`; a file missing there falls back to the embedded default.
    pub fn from_dir(dir: &Path) -> Result<Lexicon> {
        Self::build(|f| {
            let path = dir.join(f.name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((text, path.display().to_string())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Ok((f.embedded.to_string(), format!("prompts/style/{}", f.name)))
                }
                Err(e) => Err(Error::io(path, e)),
            }
        })
    }

    fn build(read: impl Fn(&DataFile) -> Result<(String, String)>) -> Result<Lexicon> {
        let mut lex = Lexicon::default();
        for file in &FILES {
            let (text, origin) = read(file)?;
            let bad = |line: usize, reason: &str| Error::dataset(origin.clone(), line, reason);
            for (line, fields) in rows(&text) {
                let field = |i: usize| fields.get(i).copied().unwrap_or("");
                let need = |n: usize| {
                    if fields.len() < n || field(0).is_empty() {
                        Err(bad(line, &format!("expected {n} tab-separated fields")))
                    } else {
                        Ok(())
                    }
                };
                match file.name {
                    "slang.tsv" | "cutesy.tsv" | "misspellings.tsv" | "greetings.tsv" => {
                        need(2)?;
                        let table = match file.name {
                            "slang.tsv" => &mut lex.slang,
                            "cutesy.tsv" => &mut lex.cutesy,
                            "misspellings.tsv" => &mut lex.misspellings,
                            _ => &mut lex.greetings,
                        };
                        table.insert(field(0), field(1).to_string());
                    }
                    "jargon.tsv" => {
                        need(1)?;
                        let replacement = Some(field(1)).filter(|r| !r.is_empty()).map(str::to_string);
                        lex.jargon.insert(field(0), replacement);
                    }
                    "forbidden.tsv" => {
                        need(3)?;
                        let forbidden = Forbidden { rule: field(1).to_string(), replacement: field(2).to_string() };
                        // One rule per phrase: a second entry would take it from the first.
                        if !lex.forbidden.insert(field(0), forbidden) {
                            return Err(bad(line, "the phrase is listed twice"));
                        }
                    }
                    "formal-greetings.txt" => {
                        lex.formal_greetings.insert(field(0), ());
                    }
                    "softeners.txt" => {
                        lex.softeners.insert(field(0), ());
                    }
                    "acronyms.txt" => {
                        lex.acronyms.insert(field(0).to_string());
                    }
                    "abbreviations.txt" => {
                        let precedes = match field(1) {
                            "перед" => true,
                            "конец" => false,
                            other => {
                                return Err(bad(
                                    line,
                                    &format!("second field must be «перед» or «конец», not {other:?}"),
                                ))
                            }
                        };
                        lex.abbreviations.push((fold(field(0).trim_end_matches('.')), precedes));
                    }
                    "not-requests.txt" => {
                        lex.not_requests.insert(fold(field(0)));
                    }
                    "discourse-markers.txt" => {
                        lex.discourse_markers.insert(fold(field(0)));
                    }
                    "subordinators.txt" => {
                        lex.subordinators.insert(fold(field(0)));
                    }
                    "group-addresses.txt" => {
                        lex.group_addresses.insert(fold(field(0)));
                    }
                    "signoffs.txt" => lex.signoffs.push(fold(field(0))),
                    "names.tsv" => {
                        need(3)?;
                        let gender = match field(1) {
                            "m" => 'm',
                            "f" => 'f',
                            other => return Err(bad(line, &format!("gender must be m or f, not {other:?}"))),
                        };
                        let forms = field(2).split(',').map(str::trim).filter(|f| !f.is_empty()).map(str::to_string);
                        let entry = NameEntry { full: field(0).to_string(), gender, forms: forms.collect() };
                        let index = lex.names.entries.len();
                        lex.names.by_full.entry(fold(&entry.full)).or_default().push(index);
                        for form in &entry.forms {
                            lex.names.by_form.entry(fold(form)).or_default().push(index);
                        }
                        lex.names.entries.push(entry);
                    }
                    "rude.tsv" => lex.rude.add_row(&fields).map_err(|reason| bad(line, &reason))?,
                    _ => unreachable!("every data file has a parser"),
                }
            }
        }
        Ok(lex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_lists_load_with_their_sizes() {
        let lex = Lexicon::embedded().unwrap();
        assert!(lex.slang.len() >= 150);
        assert!(lex.cutesy.len() >= 60);
        assert!(lex.jargon.len() >= 60);
        assert!(lex.names.len() >= 400);
        assert!(lex.acronyms.contains("ООО"));
        assert!(lex.abbreviations.iter().any(|(a, precedes)| a == "т.д" && !precedes));
        assert!(lex.abbreviations.iter().any(|(a, precedes)| a == "ул" && *precedes));
    }

    #[test]
    fn longest_phrase_wins_and_yo_is_folded() {
        let lex = Lexicon::embedded().unwrap();
        let words: Vec<String> = "я не знаю когда".split(' ').map(fold).collect();
        let (len, f) = lex.forbidden.longest_at(&words).unwrap();
        assert_eq!((len, f.rule.as_str()), (3, "no-i-dont-know"));
        assert_eq!(fold("Ещё"), "еще");
    }

    #[test]
    fn diminutives_lead_to_full_names() {
        let lex = Lexicon::embedded().unwrap();
        let full: Vec<&str> = lex.names.by_form("Женя").map(|e| e.full.as_str()).collect();
        assert!(full.contains(&"Евгений") && full.contains(&"Евгения"), "{full:?}");
        assert!(lex.names.by_form("Галя").any(|e| e.full == "Галина"));
    }

    #[test]
    fn a_malformed_line_names_its_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("names.tsv"), "# Формат: …\nАнна\tx\tАня\n").unwrap();
        let err = Lexicon::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("names.tsv:2"), "{err}");
    }

    #[test]
    fn a_forbidden_phrase_listed_for_two_rules_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let rows = "повторяю ещё раз\tno-directive\tx\nпоВторяю еще раз\tno-blame\ty\n";
        std::fs::write(dir.path().join("forbidden.tsv"), rows).unwrap();
        let err = Lexicon::from_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("forbidden.tsv:2") && err.contains("twice"), "{err}");
    }
}
