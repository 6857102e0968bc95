//! Preconditions of templates: what must be true in the dialogue for a template's facts to hold
//! («Так как заказ отменён…» needs a cancelled order; a warning about rudeness needs a rude
//! client, not merely an angry one). The conditions are data (`prompts/templates/conditions.tsv`);
//! a pack names them per template (`requires`), and [`Evidence`] tells which ones a dialogue
//! supports.

use std::collections::HashSet;
use std::sync::OnceLock;

use crate::text::rude::{RudeKind, RudeLexicon};
use crate::text::segment::Doc;
use crate::text::{fold, morph::Morph};

const CONDITIONS_TSV: &str = include_str!("../../prompts/templates/conditions.tsv");

/// Groups of lemmas written `a b+c` (space between groups, «+» within one): a text matches
/// when all lemmas of some group are among its lemmas ([`lemmas_of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LemmaGroups(Vec<Vec<String>>);

impl LemmaGroups {
    /// Reads `a b+c` (dictionary forms, folded here).
    pub fn parse(text: &str) -> LemmaGroups {
        LemmaGroups(text.split_whitespace().map(|group| group.split('+').map(fold).collect()).collect())
    }

    /// Every lemma of every group.
    pub fn lemmas(&self) -> impl Iterator<Item = &str> {
        self.0.iter().flatten().map(String::as_str)
    }

    /// Whether all lemmas of some group are in `lemmas`.
    pub fn matches(&self, lemmas: &HashSet<String>) -> bool {
        self.0.iter().any(|group| group.iter().all(|l| lemmas.contains(l)))
    }
}

/// The words of `text` whose lemmas count (overlong runs are noise).
fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty() && w.len() <= 80)
}

/// Every dictionary reading's lemma (folded) of every word of `text`: a word read two ways
/// counts as both, so evidence is not lost to a wrong first reading.
pub fn lemmas_of(text: &str) -> HashSet<String> {
    let morph = Morph::global();
    let mut out = HashSet::new();
    for word in words(text) {
        out.extend(morph.analyses(&word.to_lowercase()).iter().map(|a| fold(&a.lemma)));
    }
    out
}

/// [`lemmas_of`] for each of many texts, kept to the lemmas `wanted` asks about and analysing
/// every distinct word once: a library's templates share most of their words (building a
/// library of 10 000 templates: 1.64 → 1.25 s).
pub fn lemmas_of_each<'a>(texts: impl IntoIterator<Item = &'a str>, wanted: &HashSet<&str>) -> Vec<HashSet<String>> {
    let morph = Morph::global();
    let mut seen: std::collections::HashMap<String, Vec<String>> = std::collections::HashMap::new();
    texts
        .into_iter()
        .map(|text| {
            let mut out = HashSet::new();
            for word in words(text) {
                let lemmas = seen.entry(word.to_lowercase()).or_insert_with_key(|word| {
                    morph
                        .analyses(word)
                        .iter()
                        .map(|a| fold(&a.lemma))
                        .filter(|l| wanted.contains(l.as_str()))
                        .collect()
                });
                out.extend(lemmas.iter().cloned());
            }
            out
        })
        .collect()
}

/// How a condition is shown to hold.
#[derive(Debug, Clone, PartialEq)]
enum Proof {
    /// Some group's lemmas all in one turn.
    Lemmas(LemmaGroups),
    /// The rudeness detector fires on a client's turn.
    Rude,
}

/// One precondition.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// The name packs use.
    pub id: String,
    /// What the operator sees with a suggestion whose condition is not shown («если …»).
    pub label: String,
    proof: Proof,
}

/// Every known condition, parsed once from the embedded data.
pub fn all() -> &'static [Condition] {
    static ALL: OnceLock<Vec<Condition>> = OnceLock::new();
    ALL.get_or_init(|| parse(CONDITIONS_TSV).expect("prompts/templates/conditions.tsv is valid (tested)"))
}

/// The condition named `id`, if there is one.
pub fn get(id: &str) -> Option<&'static Condition> {
    all().iter().find(|c| c.id == id)
}

fn parse(text: &str) -> Result<Vec<Condition>, String> {
    let mut out: Vec<Condition> = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
        let [id, label, evidence] = fields[..] else {
            return Err(format!("line {}: expected id, label and evidence", n + 1));
        };
        if out.iter().any(|c| c.id == id) || !label.starts_with("если ") || evidence.is_empty() {
            return Err(format!("line {}: repeated id, label without «если» or no evidence", n + 1));
        }
        let proof = if evidence == "@rude" { Proof::Rude } else { Proof::Lemmas(LemmaGroups::parse(evidence)) };
        out.push(Condition { id: id.to_string(), label: label.to_string(), proof });
    }
    Ok(out)
}

/// What a dialogue shows, read once per request: its lemmas and whether the client was rude.
#[derive(Debug, Default)]
pub struct Evidence {
    /// The lemmas of each turn (every reading of every word).
    turns: Vec<HashSet<String>>,
    client_rude: bool,
}

impl Evidence {
    /// Reads `turns` (`(written by the client, text)`, the latest message included).
    pub fn of(turns: &[(bool, &str)]) -> Evidence {
        let morph = Morph::global();
        let mut lemmas = Vec::with_capacity(turns.len());
        let mut client_rude = false;
        for &(client, text) in turns {
            lemmas.push(lemmas_of(text));
            if client && !client_rude {
                let doc = Doc::new(text, &[], &[]);
                client_rude = rude_lexicon().find(&doc, morph).iter().any(|s| s.kind != RudeKind::Mild);
            }
        }
        Evidence { turns: lemmas, client_rude }
    }

    /// Whether the dialogue supports `condition`.
    pub fn supports(&self, condition: &Condition) -> bool {
        match &condition.proof {
            Proof::Lemmas(groups) => self.turns.iter().any(|turn| groups.matches(turn)),
            Proof::Rude => self.client_rude,
        }
    }

    /// The labels of the conditions in `requires` the dialogue does not support (unknown names
    /// never reach here: packs are checked on import).
    pub fn unsupported(&self, requires: &[String]) -> Vec<&'static str> {
        requires.iter().filter_map(|id| get(id)).filter(|c| !self.supports(c)).map(|c| c.label.as_str()).collect()
    }
}

/// The rudeness detector on the embedded word list (the style engine's A10 reads the same
/// file, possibly with a profile's additions; the ranker needs only the shipped one).
fn rude_lexicon() -> &'static RudeLexicon {
    static LEXICON: OnceLock<RudeLexicon> = OnceLock::new();
    LEXICON.get_or_init(|| {
        let mut lexicon = RudeLexicon::default();
        for line in include_str!("../../prompts/style/rude.tsv").lines() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = line.split('\t').map(str::trim).collect();
            lexicon.add_row(&fields).expect("prompts/style/rude.tsv is valid (tested by the style lexicon)");
        }
        lexicon
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evidence(turns: &[(bool, &str)]) -> Evidence {
        Evidence::of(turns)
    }

    #[test]
    fn lemmas_of_each_text_are_those_of_lemmas_of_that_were_asked_for() {
        let texts = ["Вакансии курьеров открыты.", "Курьер привезёт заказ", ""];
        let wanted: HashSet<&str> = ["вакансия", "курьер", "заказ"].into();
        let each = lemmas_of_each(texts, &wanted);
        for (text, lemmas) in texts.iter().zip(&each) {
            let expected: HashSet<String> =
                lemmas_of(text).into_iter().filter(|l| wanted.contains(l.as_str())).collect();
            assert_eq!(lemmas, &expected, "{text}");
        }
        assert!(each[0].contains("вакансия") && each[1].contains("заказ") && each[2].is_empty(), "{each:?}");
    }

    #[test]
    fn the_data_parses_and_every_condition_has_a_label() {
        assert!(all().len() >= 5);
        assert!(get("order-cancelled").is_some() && get("client-rude").is_some());
        assert!(get("no-such-condition").is_none());
        assert!(parse("x\tесли x\n").is_err(), "missing evidence");
        assert!(parse("x\tкогда x\tа\n").is_err(), "label without «если»");
    }

    #[test]
    fn lemmas_in_any_turn_support_a_condition() {
        let cancelled = get("order-cancelled").unwrap();
        assert!(evidence(&[(true, "заказ отменили, когда вернут деньги?")]).supports(cancelled));
        assert!(evidence(&[(false, "Заказ отменён."), (true, "а деньги?")]).supports(cancelled));
        assert!(!evidence(&[(true, "Вы издеваетесь?! Третий раз пишу… верните деньги")]).supports(cancelled));
        // A group needs all its words in one turn: money asked back is no returned item.
        let returned = get("returned").unwrap();
        assert!(evidence(&[(true, "вернула товар неделю назад, где деньги?")]).supports(returned));
        assert!(!evidence(&[(true, "верните деньги")]).supports(returned));
        assert!(!evidence(&[(true, "хочу вернуть"), (false, "Какой товар?")]).supports(returned));
    }

    #[test]
    fn rudeness_needs_an_insult_not_anger() {
        let rude = get("client-rude").unwrap();
        assert!(evidence(&[(true, "да вы идиоты, ничего не можете")]).supports(rude));
        for angry in ["Вы издеваетесь?! Третий раз пишу… верните деньги", "блин, сколько можно ждать"]
        {
            assert!(!evidence(&[(true, angry)]).supports(rude), "{angry}");
        }
        // An operator's words are not the client's rudeness.
        assert!(!evidence(&[(false, "не будьте идиотом"), (true, "ок")]).supports(rude));
        assert_eq!(evidence(&[(true, "ок")]).unsupported(&["client-rude".into()]), ["если клиент грубит"]);
    }
}
