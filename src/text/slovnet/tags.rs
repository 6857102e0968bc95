//! The models' output vocabularies as small `Copy` values: a morphological tag (universal part
//! of speech plus Universal Dependencies features), a dependency relation and a named-entity
//! tag. Each is checked against the model's vocabulary at load, so every model output has
//! exactly one value here and renders back to the reference's string.

use std::fmt;

/// Universal part of speech.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Pos {
    Adj,
    Adp,
    Adv,
    Aux,
    Cconj,
    Det,
    Intj,
    Noun,
    Num,
    Part,
    Pron,
    Propn,
    Punct,
    Sconj,
    Sym,
    Verb,
    X,
}

impl Pos {
    const ALL: [Pos; 17] = [
        Pos::Adj,
        Pos::Adp,
        Pos::Adv,
        Pos::Aux,
        Pos::Cconj,
        Pos::Det,
        Pos::Intj,
        Pos::Noun,
        Pos::Num,
        Pos::Part,
        Pos::Pron,
        Pos::Propn,
        Pos::Punct,
        Pos::Sconj,
        Pos::Sym,
        Pos::Verb,
        Pos::X,
    ];

    /// The UD name: `NOUN`, `PROPN` …
    pub fn name(self) -> &'static str {
        const NAMES: [&str; 17] = [
            "ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT",
            "SCONJ", "SYM", "VERB", "X",
        ];
        NAMES[self as usize]
    }

    fn parse(name: &str) -> Option<Pos> {
        Pos::ALL.into_iter().find(|p| p.name() == name)
    }
}

/// A morphological feature, in the (alphabetical) order the tags list them.
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    Abbr,
    Animacy,
    Aspect,
    Case,
    Degree,
    Foreign,
    Gender,
    Hyph,
    Mood,
    NumForm,
    Number,
    Person,
    Polarity,
    Tense,
    Variant,
    VerbForm,
    Voice,
}

/// Features × their values, as the model's tag vocabulary has them.
const FEATURES: [(Feature, &str, &[&str]); 17] = [
    (Feature::Abbr, "Abbr", &["Yes"]),
    (Feature::Animacy, "Animacy", &["Anim", "Inan"]),
    (Feature::Aspect, "Aspect", &["Imp", "Perf"]),
    (Feature::Case, "Case", &["Acc", "Dat", "Gen", "Ins", "Loc", "Nom", "Par", "Voc"]),
    (Feature::Degree, "Degree", &["Cmp", "Pos", "Sup"]),
    (Feature::Foreign, "Foreign", &["Yes"]),
    (Feature::Gender, "Gender", &["Fem", "Masc", "Neut"]),
    (Feature::Hyph, "Hyph", &["Yes"]),
    (Feature::Mood, "Mood", &["Cnd", "Imp", "Ind"]),
    (Feature::NumForm, "NumForm", &["Digit"]),
    (Feature::Number, "Number", &["Plur", "Sing"]),
    (Feature::Person, "Person", &["1", "2", "3"]),
    (Feature::Polarity, "Polarity", &["Neg"]),
    (Feature::Tense, "Tense", &["Fut", "Past", "Pres"]),
    (Feature::Variant, "Variant", &["Short"]),
    (Feature::VerbForm, "VerbForm", &["Conv", "Fin", "Inf", "Part"]),
    (Feature::Voice, "Voice", &["Act", "Mid", "Pass"]),
];

impl Feature {
    /// The UD name: `Case`, `VerbForm` …
    pub fn name(self) -> &'static str {
        FEATURES[self as usize].1
    }

    /// The values the model knows for this feature.
    pub fn values(self) -> &'static [&'static str] {
        FEATURES[self as usize].2
    }
}

/// The features of a token: one small value number per [`Feature`] (0 = absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Feats([u8; 17]);

impl Feats {
    /// The value of `feature` (`Some("Nom")`), `None` when the tag does not have it.
    pub fn get(&self, feature: Feature) -> Option<&'static str> {
        let value = self.0[feature as usize] as usize;
        value.checked_sub(1).map(|v| feature.values()[v])
    }

    /// The features present, in order, with their values.
    pub fn iter(&self) -> impl Iterator<Item = (Feature, &'static str)> + '_ {
        FEATURES.iter().filter_map(|&(f, _, _)| self.get(f).map(|v| (f, v)))
    }

    /// Whether no feature is set.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|&v| v == 0)
    }
}

/// A morphological tag: part of speech and features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MorphTag {
    /// Part of speech.
    pub pos: Pos,
    /// Features.
    pub feats: Feats,
}

impl MorphTag {
    /// Parses a tag as the vocabulary writes it: `NOUN|Animacy=Inan|Case=Nom`. `None` for
    /// anything else, including features out of order (they would not render back identically).
    pub fn parse(tag: &str) -> Option<MorphTag> {
        let mut parts = tag.split('|');
        let pos = Pos::parse(parts.next()?)?;
        let mut feats = Feats::default();
        let mut last = None;
        for part in parts {
            let (name, value) = part.split_once('=')?;
            let index = FEATURES.iter().position(|&(_, n, _)| n == name)?;
            if last.is_some_and(|l| l >= index) {
                return None;
            }
            last = Some(index);
            let value = FEATURES[index].2.iter().position(|&v| v == value)?;
            feats.0[index] = value as u8 + 1;
        }
        Some(MorphTag { pos, feats })
    }

    /// The value of `feature`.
    pub fn feat(&self, feature: Feature) -> Option<&'static str> {
        self.feats.get(feature)
    }

    /// `Case`.
    pub fn case(&self) -> Option<&'static str> {
        self.feat(Feature::Case)
    }
    /// `Number`.
    pub fn number(&self) -> Option<&'static str> {
        self.feat(Feature::Number)
    }
    /// `Gender`.
    pub fn gender(&self) -> Option<&'static str> {
        self.feat(Feature::Gender)
    }
    /// `Person`.
    pub fn person(&self) -> Option<&'static str> {
        self.feat(Feature::Person)
    }
    /// `Tense`.
    pub fn tense(&self) -> Option<&'static str> {
        self.feat(Feature::Tense)
    }
    /// `Mood`.
    pub fn mood(&self) -> Option<&'static str> {
        self.feat(Feature::Mood)
    }
    /// `VerbForm`.
    pub fn verb_form(&self) -> Option<&'static str> {
        self.feat(Feature::VerbForm)
    }
    /// `Aspect`.
    pub fn aspect(&self) -> Option<&'static str> {
        self.feat(Feature::Aspect)
    }
    /// `Animacy`.
    pub fn animacy(&self) -> Option<&'static str> {
        self.feat(Feature::Animacy)
    }
}

impl fmt::Display for MorphTag {
    /// The vocabulary's form: `VERB|Aspect=Perf|Mood=Imp|Number=Sing|Person=2|VerbForm=Fin`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.pos.name())?;
        for (feature, value) in self.feats.iter() {
            write!(f, "|{}={value}", feature.name())?;
        }
        Ok(())
    }
}

/// The syntax model's dependency relations, in its vocabulary order (`<pad>` is class 0).
const RELS: [&str; 45] = [
    "<pad>",
    "acl",
    "acl:relcl",
    "advcl",
    "advmod",
    "amod",
    "appos",
    "aux",
    "aux:pass",
    "case",
    "cc",
    "ccomp",
    "compound",
    "conj",
    "cop",
    "csubj",
    "csubj:pass",
    "dep",
    "det",
    "discourse",
    "dislocated",
    "expl",
    "fixed",
    "flat",
    "flat:foreign",
    "flat:name",
    "goeswith",
    "iobj",
    "list",
    "mark",
    "nmod",
    "nsubj",
    "nsubj:pass",
    "nummod",
    "nummod:entity",
    "nummod:gov",
    "obj",
    "obl",
    "obl:agent",
    "orphan",
    "parataxis",
    "punct",
    "root",
    "vocative",
    "xcomp",
];

/// A Universal Dependencies relation to the head (`nsubj`, `obj`, `root` …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rel(u8);

impl Rel {
    /// The relation's name.
    pub fn name(self) -> &'static str {
        RELS[self.0 as usize]
    }

    /// The relation called `name`.
    pub fn parse(name: &str) -> Option<Rel> {
        RELS.iter().position(|&r| r == name).map(|i| Rel(i as u8))
    }

    /// Class `id` of the model (ids checked at load to be below the vocabulary size).
    pub(crate) fn from_class(id: usize) -> Rel {
        Rel(id.min(RELS.len() - 1) as u8)
    }

    /// Whether the model's vocabulary is exactly [`RELS`].
    pub(crate) fn vocabulary_matches(vocab: &[String]) -> bool {
        vocab.len() == RELS.len() && vocab.iter().zip(RELS).all(|(a, b)| a == b)
    }

    /// Number of classes.
    pub(crate) const COUNT: usize = RELS.len();
}

impl fmt::Display for Rel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a named entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A person: «Анна Сергеевна».
    Per,
    /// A place: «Москва».
    Loc,
    /// An organisation: «Сбербанк».
    Org,
}

/// A token's named-entity tag in the BIO scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ner {
    /// Outside any entity.
    O,
    /// The first token of an entity.
    B(Entity),
    /// A following token of an entity.
    I(Entity),
}

/// The NER model's tags, in its vocabulary order; `<pad>` (class 0) is read as `O`.
const NER_TAGS: [&str; 8] = ["<pad>", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"];

impl Ner {
    /// Class `id` of the model.
    pub(crate) fn from_class(id: usize) -> Ner {
        match id {
            2 => Ner::B(Entity::Per),
            3 => Ner::I(Entity::Per),
            4 => Ner::B(Entity::Loc),
            5 => Ner::I(Entity::Loc),
            6 => Ner::B(Entity::Org),
            7 => Ner::I(Entity::Org),
            _ => Ner::O,
        }
    }

    /// Whether the model's vocabulary is exactly the tags above.
    pub(crate) fn vocabulary_matches(vocab: &[String]) -> bool {
        vocab.len() == NER_TAGS.len() && vocab.iter().zip(NER_TAGS).all(|(a, b)| a == b)
    }

    /// Number of classes.
    pub(crate) const COUNT: usize = NER_TAGS.len();

    /// The entity kind, if inside one.
    pub fn entity(self) -> Option<Entity> {
        match self {
            Ner::O => None,
            Ner::B(e) | Ner::I(e) => Some(e),
        }
    }

    /// The tag's name: `O`, `B-PER`, `I-LOC` …
    pub fn name(self) -> &'static str {
        match self {
            Ner::O => "O",
            Ner::B(Entity::Per) => "B-PER",
            Ner::I(Entity::Per) => "I-PER",
            Ner::B(Entity::Loc) => "B-LOC",
            Ner::I(Entity::Loc) => "I-LOC",
            Ner::B(Entity::Org) => "B-ORG",
            Ner::I(Entity::Org) => "I-ORG",
        }
    }
}

impl fmt::Display for Ner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn morph_tags_round_trip() {
        for tag in [
            "PUNCT",
            "NOUN|Animacy=Inan|Case=Nom|Gender=Masc|Number=Sing",
            "VERB|Aspect=Perf|Mood=Imp|Number=Sing|Person=2|VerbForm=Fin|Voice=Act",
        ] {
            let parsed = MorphTag::parse(tag).unwrap();
            assert_eq!(parsed.to_string(), tag);
        }
        let verb = MorphTag::parse("VERB|Aspect=Perf|Mood=Imp|Number=Sing|Person=2|VerbForm=Fin").unwrap();
        assert_eq!((verb.pos, verb.mood(), verb.person(), verb.case()), (Pos::Verb, Some("Imp"), Some("2"), None));
        assert_eq!(verb.feats.iter().count(), 5);
    }

    #[test]
    fn malformed_tags_are_rejected() {
        for tag in ["", "<pad>", "NOUN|Case", "NOUN|Case=Xyz", "NOUN|Number=Sing|Case=Nom", "NOUN|Case=Nom|Case=Gen"] {
            assert!(MorphTag::parse(tag).is_none(), "{tag}");
        }
    }

    #[test]
    fn rels_and_ner() {
        assert_eq!(Rel::parse("nsubj").map(Rel::name), Some("nsubj"));
        assert_eq!(Rel::from_class(42).name(), "root");
        assert_eq!(Ner::from_class(4), Ner::B(Entity::Loc));
        assert_eq!(Ner::from_class(0), Ner::O);
        assert_eq!(Ner::from_class(7).to_string(), "I-ORG");
    }
}
