//! Segmentation of chat Russian into tokens and sentences.
//!
//! Operators type without capitals or final punctuation, with emoji, «)))», URLs, phones, order
//! ids and amounts glued to units («300р»). The segmenter first finds every fact-like span with
//! one ordered regular expression (facts are never edited by any rule), then splits the rest into
//! words, punctuation, emoji, smileys and whitespace, and finally groups tokens into sentences.
//!
//! ```
//! use sufler::text::segment::{Doc, TokenKind};
//! let doc = Doc::new("привет, заказ №4821 придёт 12.03 в 14:30)))", &[], &[]);
//! let facts: Vec<&str> = doc.tokens.iter().filter(|t| t.protected).map(|t| doc.slice(t)).collect();
//! assert_eq!(facts, ["№4821", "12.03", "14:30"]);
//! assert!(doc.tokens.iter().any(|t| t.kind == TokenKind::Smiley));
//! ```

use crate::text::words::is_letter;
use std::ops::{Deref, Range};
use std::rc::Rc;
use std::sync::OnceLock;

use regex::Regex;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// Letters, possibly joined by hyphens or apostrophes («какой-то»).
    Word,
    /// A plain number or number range («3–4», «1 490»).
    Number,
    /// A web address.
    Url,
    /// An e-mail address.
    Email,
    /// A phone number.
    Phone,
    /// An amount with a currency («300р», «1 490 ₽»).
    Money,
    /// A date («12.03», «5 марта»).
    Date,
    /// A clock time («14:30»).
    Time,
    /// An identifier with digits («№ 4821-1934», «A-77812»).
    Id,
    /// One punctuation mark or a run of the same sentence marks («!!!», «...», «?!»).
    Punct,
    /// One or more emoji pictographs (with joiners and modifiers).
    Emoji,
    /// A text smiley: «:)», «;-)», «)))», «xD».
    Smiley,
    /// Spaces and tabs.
    Space,
    /// One line break (CRLF counts as one).
    Newline,
    /// Anything else (symbols, stray marks).
    Other,
}

impl TokenKind {
    /// Fact-like kinds: their text must survive every rewrite byte for byte.
    pub fn is_fact(self) -> bool {
        matches!(
            self,
            TokenKind::Number
                | TokenKind::Url
                | TokenKind::Email
                | TokenKind::Phone
                | TokenKind::Money
                | TokenKind::Date
                | TokenKind::Time
                | TokenKind::Id
        )
    }
}

/// One token: a byte range of the text and what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    /// Kind of token.
    pub kind: TokenKind,
    /// Byte offset of the first byte.
    pub start: usize,
    /// Byte offset past the last byte.
    pub end: usize,
    /// A fact, a quoted product name or the client's name: no rule may change it.
    pub protected: bool,
    /// Inside «…» or "…" quotes.
    pub quoted: bool,
}

impl Token {
    /// The byte range.
    pub fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// A sentence: a byte range and the tokens it holds (trailing whitespace excluded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    /// Byte offset of the first non-space token.
    pub start: usize,
    /// Byte offset past the last non-space token (end punctuation included).
    pub end: usize,
    /// Token indices (into [`Doc::tokens`]) of the sentence's tokens, whitespace excluded at
    /// both ends.
    pub tokens: Range<usize>,
    /// The sentence ends at a line break or at the end of the text.
    pub ends_line: bool,
}

/// A segmented text: the text and what segmentation found in it ([`Segments`], shared between
/// the documents of equal texts; a `Doc` reads its fields through `Deref`).
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// The text.
    pub text: &'a str,
    segments: Rc<Segments>,
}

/// Everything segmentation finds in a text.
#[derive(Debug)]
pub struct Segments {
    /// All tokens, covering the text without gaps.
    pub tokens: Vec<Token>,
    /// Sentences in order.
    pub sentences: Vec<Sentence>,
    /// Per token: the folded word (lower case, «ё» → «е») for words, empty otherwise.
    pub folded: Vec<String>,
    /// Maximal runs of word tokens separated only by spaces: where phrases can match.
    pub runs: Vec<Vec<usize>>,
    /// Indices of all word tokens, in order.
    pub word_tokens: Vec<usize>,
}

impl Deref for Doc<'_> {
    type Target = Segments;

    fn deref(&self) -> &Segments {
        &self.segments
    }
}

/// The ordered fact pattern: earlier alternatives win at the same position.
///
/// Word boundaries are ASCII-only (`(?-u:\b)`), next to digits and Latin letters: Unicode
/// boundaries would push the regex engine off its DFA onto the slow PikeVM (measured: half the
/// time of a rewrite). Where a boundary would sit next to Cyrillic (a currency «р» before
/// «рабочих»), [`Doc::new`] checks the character after the match instead.
fn fact_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        let alternatives: Vec<String> = fact_patterns().iter().map(|(_, p)| format!("(?:{p})")).collect();
        Regex::new(&format!("(?xi){}", alternatives.join("|"))).expect("the fact pattern is valid")
    })
}

/// Each fact kind's pattern alone, anchored: which kind a match of [`fact_regex`] is. Finding
/// with the combined pattern and naming the kind here (on a few characters) is faster than
/// capture groups, which need a backtracking pass over the text.
fn fact_kinds() -> &'static [(TokenKind, Regex)] {
    static KINDS: OnceLock<Vec<(TokenKind, Regex)>> = OnceLock::new();
    KINDS.get_or_init(|| {
        fact_patterns()
            .into_iter()
            .map(|(kind, p)| (kind, Regex::new(&format!("(?xi)^(?:{p})$")).expect("the fact pattern is valid")))
            .collect()
    })
}

/// The fact patterns in priority order (earlier kinds win at the same position).
fn fact_patterns() -> Vec<(TokenKind, String)> {
    let months = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря";
    let currency =
        r"(?:₽|\$|€|руб(?:л(?:ей|я|ь))?\.?|р\.?|тыс\.?\s?(?:₽|руб\.?|р\.?)|usd(?-u:\b)|eur(?-u:\b)|rub(?-u:\b))";
    vec![
        (
            TokenKind::Url,
            r"(?:https?://|www\.)[^\s«»<>\x22]+[^\s«»<>\x22.,!?;:)\]]
            |(?-u:\b)[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:ru|com|net|org|su|io|me|info|shop|online)(?-u:\b)(?:/[^\s«»<>\x22]*[^\s«»<>\x22.,!?;:)\]])?"
                .to_string(),
        ),
        (TokenKind::Email, r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+".to_string()),
        (
            TokenKind::Phone,
            r"(?:\+7|(?-u:\b)8)[\s-]?\(?\d{3}\)?[\s-]?\d{3}[\s-]?\d{2}[\s-]?\d{2}(?-u:\b)|\+\d{1,3}[\s-]?\(?\d{2,4}\)?(?:[\s-]?\d{2,4}){2,4}(?-u:\b)".to_string(),
        ),
        (
            TokenKind::Date,
            format!(
                r"(?-u:\b)\d{{1,2}}\.\d{{1,2}}\.(?:\d{{4}}|\d{{2}})(?-u:\b)|(?-u:\b)\d{{4}}-\d{{2}}-\d{{2}}(?-u:\b)|(?-u:\b)\d{{1,2}}\s(?:{months})(?:\s\d{{4}}(?-u:\b))?|(?-u:\b)(?:0?[1-9]|[12]\d|3[01])\.(?:0?[1-9]|1[0-2])(?-u:\b)"
            ),
        ),
        (TokenKind::Time, r"(?-u:\b)(?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d)?(?-u:\b)".to_string()),
        (
            TokenKind::Money,
            format!(
                r"(?:\$|€)\s?\d(?:[\d\s]*\d)?(?:[.,]\d+)?|\d{{1,3}}(?:[\s\u{{a0}}\u{{202f}}]\d{{3}})+(?:[.,]\d+)?\s?{currency}|\d+(?:[.,]\d+)?\s?{currency}"
            ),
        ),
        (
            TokenKind::Id,
            r"№\s?[\w/-]*\d[\w/-]*|\#\d[\w-]*|[\p{L}]+[-_]?\d[\w/-]*|\d+[-_/][\w-]*\d[\w-]*|\d+\p{L}+\d[\w-]*|\d+[-_/](?-i:\p{Lu}{1,5})"
                .to_string(),
        ),
        (
            TokenKind::Number,
            r"\d{1,3}(?:[\s\u{a0}\u{202f}]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?(?:\s?[–—-]\s?\d+(?:[.,]\d+)?)?%?".to_string(),
        ),
    ]
}

/// Text smileys that are not made of emoji code points.
fn smiley_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
            [:;=][-^o']?[)(DPpOо3\]\[*]+   # :) ;-) :D =) :(( :Р
            |[xXхХ][DdДд]                  # xD (only as a word of its own: checked by the caller)
            |\)\)+|\(\(+                   # ))) (((
            |\^_?\^                        # ^^ ^_^
        ",
        )
        .expect("the smiley pattern is valid")
    })
}

/// Whether `c` is an emoji pictograph or a character that only occurs inside emoji sequences.
pub fn is_emoji(c: char) -> bool {
    matches!(c as u32,
        0x1F000..=0x1FAFF   // pictographs, emoticons, transport, flags, supplemental symbols
        | 0x2600..=0x27BF   // misc symbols, dingbats
        | 0x2B00..=0x2BFF   // arrows and stars (⭐, ⬆)
        | 0x2300..=0x23FF   // ⌚ ⏰
        | 0xFE0F | 0x200D   // variation selector, zero-width joiner
        | 0xE0020..=0xE007F // tags
    )
}

/// Whether `id` is digits, a hyphen and a case ending of an ordinal numeral («12-ГО», «5-Й»).
fn is_ordinal_suffix(id: &str) -> bool {
    const ENDINGS: [&str; 24] = [
        "й", "я", "е", "ю", "х", "м", "го", "му", "ми", "ое", "ой", "ый", "ий", "ая", "ую", "ые", "ие", "ых", "их",
        "ым", "им", "ом", "ого", "ому",
    ];
    let Some((digits, suffix)) = id.split_once('-') else { return false };
    digits.chars().all(|c| c.is_ascii_digit()) && ENDINGS.contains(&crate::text::words::lower(suffix).as_str())
}

/// Characters that end a sentence.
pub fn is_sentence_end(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…')
}

/// Letters (and combining marks, which stay in their word). Russian and ASCII letters are
/// tested first: `char::is_alphabetic` takes a slow table path for every non-ASCII character.
fn is_word_char(c: char) -> bool {
    matches!(c, 'а'..='я' | 'А'..='Я' | 'ё' | 'Ё' | 'a'..='z' | 'A'..='Z')
        || (!c.is_ascii() && (c.is_alphabetic() || matches!(c as u32, 0x0300..=0x036F)))
}

impl<'a> Doc<'a> {
    /// Segments `text`. `protected_words` (e.g. the client's name as given) and
    /// `abbreviations` (lower case, without the final dot: «т.д», «ул»; `true` for those that
    /// always precede a word or number) refine the result.
    pub fn new(text: &'a str, protected_words: &[&str], abbreviations: &[(&str, bool)]) -> Doc<'a> {
        let mut tokens = Vec::with_capacity(text.len() / 3 + 1);
        let mut pos = 0;
        for m in fact_regex().find_iter(text) {
            scan_plain(text, pos, m.start(), &mut tokens);
            let kind =
                fact_kinds().iter().find(|(_, re)| re.is_match(m.as_str())).map_or(TokenKind::Number, |(k, _)| *k);
            let (mut kind, mut end) = (kind, m.end());
            // «300 рабочих»: the «р» was the start of a word, not a currency.
            let glued = |at: usize| text[at..].chars().next().is_some_and(is_letter);
            if kind == TokenKind::Money && text[..end].ends_with(is_letter) && glued(end) {
                end = m.start() + m.as_str().rfind(|c: char| c.is_ascii_digit()).map_or(0, |d| d + 1);
                kind = TokenKind::Number;
            }
            // «12-ГО» in a shouted draft is an ordinal and «12-ПЛАТЁЖ» a number before a word,
            // not a code like «3345-ПЛ».
            let cut_word = text[..end].ends_with(is_letter) && glued(end);
            if kind == TokenKind::Id && (is_ordinal_suffix(&text[m.start()..end]) || cut_word) {
                end = m.start() + m.as_str().find(|c: char| !c.is_ascii_digit()).unwrap_or(m.len());
                kind = TokenKind::Number;
            }
            tokens.push(Token { kind, start: m.start(), end, protected: true, quoted: false });
            pos = end;
        }
        scan_plain(text, pos, text.len(), &mut tokens);
        mark_lone_brackets(text, &mut tokens);
        mark_quotes(text, &mut tokens);
        mark_protected_words(text, &mut tokens, protected_words);
        let sentences = split_sentences(text, &tokens, abbreviations);
        let folded = tokens
            .iter()
            .map(|t| if t.kind == TokenKind::Word { crate::text::fold(&text[t.start..t.end]) } else { String::new() })
            .collect();
        let runs = word_runs(&tokens);
        let word_tokens = (0..tokens.len()).filter(|&i| tokens[i].kind == TokenKind::Word).collect();
        Doc { text, segments: Rc::new(Segments { tokens, sentences, folded, runs, word_tokens }) }
    }

    /// The segments of `text` as one of the same text found them: the caller keeps them by text
    /// (and segmentation options) to segment a text it has seen again for free.
    ///
    /// # Panics
    /// When `segments` do not cover `text` (they were found in another text).
    pub fn with_segments(text: &'a str, segments: Rc<Segments>) -> Doc<'a> {
        assert_eq!(segments.tokens.last().map_or(0, |t| t.end), text.len(), "segments of another text");
        Doc { text, segments }
    }

    /// What segmentation found, to share with [`Doc::with_segments`].
    pub fn segments(&self) -> Rc<Segments> {
        self.segments.clone()
    }

    /// The text of a token.
    pub fn slice(&self, token: &Token) -> &'a str {
        &self.text[token.start..token.end]
    }

    /// The text of token `i`.
    pub fn tok(&self, i: usize) -> &'a str {
        self.slice(&self.tokens[i])
    }

    /// Whether a byte range overlaps a protected or quoted token. Zero-length ranges count as
    /// overlapping when they fall strictly inside such a token.
    pub fn touches_protected(&self, range: Range<usize>) -> bool {
        // Tokens are in text order and do not overlap: only those from the first one ending
        // after `range.start` can touch it (a binary search; rules ask this once per change).
        let first = self.tokens.partition_point(|t| t.end <= range.start);
        self.tokens[first..].iter().take_while(|t| t.start < range.end.max(range.start + 1)).any(|t| {
            (t.protected || t.quoted)
                && if range.start == range.end {
                    t.start < range.start && range.start < t.end
                } else {
                    t.start < range.end && range.start < t.end
                }
        })
    }

    /// Indices of the word tokens of sentence `s`.
    pub fn words(&self, s: &Sentence) -> impl Iterator<Item = usize> + '_ {
        s.tokens.clone().filter(|&i| self.tokens[i].kind == TokenKind::Word)
    }

    /// The index of the token that starts at byte `start`, if any.
    pub fn token_at(&self, start: usize) -> Option<usize> {
        self.tokens.binary_search_by_key(&start, |t| t.start).ok()
    }

    /// The first and last token of bytes `start..end`, when the range covers whole tokens.
    pub fn tokens_spanning(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        let first = self.token_at(start)?;
        let last = self.tokens.binary_search_by_key(&end, |t| t.end).ok()?;
        (first <= last).then_some((first, last))
    }

    /// The next non-space token index after `i` within the text.
    pub fn next_non_space(&self, i: usize) -> Option<usize> {
        (i + 1..self.tokens.len()).find(|&j| self.tokens[j].kind != TokenKind::Space)
    }

    /// The previous non-space token index before `i`.
    pub fn prev_non_space(&self, i: usize) -> Option<usize> {
        (0..i).rev().find(|&j| self.tokens[j].kind != TokenKind::Space)
    }
}

/// Maximal runs of word tokens separated only by spaces.
fn word_runs(tokens: &[Token]) -> Vec<Vec<usize>> {
    let mut runs = Vec::new();
    let mut run = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::Word => run.push(i),
            TokenKind::Space => {}
            _ if !run.is_empty() => runs.push(std::mem::take(&mut run)),
            _ => {}
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Splits a fact-free stretch into words, punctuation, emoji, smileys and whitespace.
fn scan_plain(text: &str, from: usize, to: usize, tokens: &mut Vec<Token>) {
    let part = &text[from..to];
    let mut pos = 0;
    for m in smiley_regex().find_iter(part) {
        // A «:)» glued to a word is still a smiley; «(» that opens a bracket is not matched
        // because the pattern needs two of them or a face. «xD» must stand alone.
        let alone = |c: Option<char>| !c.is_some_and(char::is_alphanumeric);
        if m.as_str().chars().all(is_letter)
            && !(alone(part[..m.start()].chars().next_back()) && alone(part[m.end()..].chars().next()))
        {
            continue;
        }
        scan_symbols(text, from + pos, from + m.start(), tokens);
        tokens.push(plain(TokenKind::Smiley, from + m.start(), from + m.end()));
        pos = m.end();
    }
    scan_symbols(text, from + pos, to, tokens);
}

fn plain(kind: TokenKind, start: usize, end: usize) -> Token {
    Token { kind, start, end, protected: false, quoted: false }
}

fn scan_symbols(text: &str, from: usize, to: usize, tokens: &mut Vec<Token>) {
    let part = &text[from..to];
    let chars: Vec<(usize, char)> = part.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (offset, c) = chars[i];
        let start = from + offset;
        let run_end = |mut j: usize, pred: &dyn Fn(char) -> bool| {
            while j < chars.len() && pred(chars[j].1) {
                j += 1;
            }
            j
        };
        let (kind, next) = if is_word_char(c) {
            // Letters joined by single hyphens or apostrophes stay one word: «какой-то».
            let mut j = run_end(i, &is_word_char);
            while j + 1 < chars.len() && matches!(chars[j].1, '-' | '\'' | '’') && is_word_char(chars[j + 1].1) {
                j = run_end(j + 1, &is_word_char);
            }
            (TokenKind::Word, j)
        } else if c == '\r' && chars.get(i + 1).is_some_and(|&(_, n)| n == '\n') {
            (TokenKind::Newline, i + 2)
        } else if matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}') {
            (TokenKind::Newline, i + 1)
        } else if c.is_whitespace() {
            (
                TokenKind::Space,
                run_end(i, &|c: char| c.is_whitespace() && !matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')),
            )
        } else if is_emoji(c) {
            (TokenKind::Emoji, run_end(i, &|c: char| is_emoji(c) || matches!(c as u32, 0x1F3FB..=0x1F3FF)))
        } else if matches!(c, '.' | '!' | '?' | '…') {
            (TokenKind::Punct, run_end(i, &|c: char| matches!(c, '.' | '!' | '?' | '…')))
        } else if c.is_ascii_punctuation() || matches!(c, '«' | '»' | '—' | '–' | '„' | '“' | '”' | '‘' | '’')
        {
            (TokenKind::Punct, i + 1)
        } else {
            (TokenKind::Other, i + 1)
        };
        let end = chars.get(next).map_or(to, |&(o, _)| from + o);
        tokens.push(plain(kind, start, end));
        i = next;
    }
}

/// A «)» that closes no «(» after a word is a smiley («не переживайте)»); after a number it is
/// a list marker («1)»).
fn mark_lone_brackets(text: &str, tokens: &mut [Token]) {
    let mut depth = 0usize;
    let mut prev_kind = None;
    for t in tokens.iter_mut() {
        if t.kind == TokenKind::Punct {
            match &text[t.start..t.end] {
                "(" => depth += 1,
                ")" if depth > 0 => depth -= 1,
                ")" if matches!(
                    prev_kind,
                    Some(TokenKind::Word | TokenKind::Punct | TokenKind::Money | TokenKind::Time | TokenKind::Date)
                ) =>
                {
                    t.kind = TokenKind::Smiley;
                }
                _ => {}
            }
        }
        if !matches!(t.kind, TokenKind::Space | TokenKind::Newline) {
            prev_kind = Some(t.kind);
        }
    }
}

/// Longest quotation (in words) that counts as a name and is protected: «Тариф Плюс» is a
/// product; a quoted sentence is speech, which the rules may still read.
const MAX_QUOTED_NAME_WORDS: usize = 6;

/// Marks tokens inside «…», „…“ and "…" quotes as quoted, and short quotations (product names,
/// titles) as protected. A straight quote opens only before a non-space and closes only after
/// one; a doubled «""» is an escaped quote character, not a boundary; quotes close on their line.
fn mark_quotes(text: &str, tokens: &mut [Token]) {
    let is_quote = |t: &Token| t.kind == TokenKind::Punct && &text[t.start..t.end] == "\"";
    let mut open: Option<(usize, char)> = None;
    let mut spans = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        // A name or a quotation does not run across a line break: a quote still open at the
        // end of a line was never closed (the rules would otherwise edit lines "inside" it).
        if t.kind == TokenKind::Newline {
            open = None;
        }
        if t.kind != TokenKind::Punct {
            continue;
        }
        let c = text[t.start..].chars().next().unwrap_or(' ');
        if c == '"' && (tokens.get(i + 1).is_some_and(is_quote) || i > 0 && is_quote(&tokens[i - 1])) {
            continue;
        }
        let before_space = i == 0 || matches!(tokens[i - 1].kind, TokenKind::Space | TokenKind::Newline);
        let after_space = tokens.get(i + 1).is_none_or(|n| matches!(n.kind, TokenKind::Space | TokenKind::Newline));
        match (open, c) {
            (None, '«' | '„' | '“') => open = Some((i, c)),
            (None, '"') if before_space && !after_space => open = Some((i, c)),
            (Some((start, '«')), '»') | (Some((start, '„' | '“')), '“' | '”') => {
                spans.push(start..=i);
                open = None;
            }
            (Some((start, '"')), '"') if !before_space => {
                spans.push(start..=i);
                open = None;
            }
            _ => {}
        }
    }
    for span in spans {
        let words = tokens[span.clone()].iter().filter(|t| t.kind == TokenKind::Word).count();
        for t in &mut tokens[span] {
            t.quoted = true;
            t.protected |= words <= MAX_QUOTED_NAME_WORDS;
        }
    }
}

/// Marks the client's name (as given) wherever it occurs as a whole word.
fn mark_protected_words(text: &str, tokens: &mut [Token], words: &[&str]) {
    if words.is_empty() {
        return;
    }
    for t in tokens.iter_mut().filter(|t| t.kind == TokenKind::Word) {
        if words.contains(&&text[t.start..t.end]) {
            t.protected = true;
        }
    }
}

fn split_sentences(text: &str, tokens: &[Token], abbreviations: &[(&str, bool)]) -> Vec<Sentence> {
    let mut sentences = Vec::new();
    let mut first: Option<usize> = None;
    let mut last = 0;
    let close = |sentences: &mut Vec<Sentence>, first: usize, last: usize, ends_line: bool| {
        sentences.push(Sentence {
            start: tokens[first].start,
            end: tokens[last].end,
            tokens: first..last + 1,
            ends_line,
        });
    };
    for (i, t) in tokens.iter().enumerate() {
        match t.kind {
            TokenKind::Newline => {
                if let Some(f) = first.take() {
                    close(&mut sentences, f, last, true);
                }
            }
            TokenKind::Space => {}
            _ => {
                first.get_or_insert(i);
                last = i;
                if t.kind == TokenKind::Punct && !t.quoted && ends_sentence(text, tokens, i, abbreviations) {
                    // Closing quotes and brackets right after the mark belong to this sentence.
                    let mut end = i;
                    while end + 1 < tokens.len()
                        && tokens[end + 1].kind == TokenKind::Punct
                        && matches!(&text[tokens[end + 1].start..tokens[end + 1].end], "»" | ")" | "\"" | "”")
                    {
                        end += 1;
                    }
                    if end == i {
                        let f = first.take().unwrap_or(i);
                        let ends_line = tokens.get(i + 1).is_none_or(|n| n.kind == TokenKind::Newline);
                        close(&mut sentences, f, i, ends_line);
                    }
                }
            }
        }
    }
    if let Some(f) = first {
        close(&mut sentences, f, last, true);
    }
    // A sentence's `ends_line` also holds when only spaces separate it from a line break.
    for s in &mut sentences {
        if !s.ends_line {
            let rest = &text[s.end..];
            let gap = rest.len() - rest.trim_start_matches([' ', '\t']).len();
            s.ends_line = rest[gap..].is_empty() || rest[gap..].starts_with(['\n', '\r']);
        }
    }
    sentences
}

/// Whether punctuation token `i` ends its sentence.
fn ends_sentence(text: &str, tokens: &[Token], i: usize, abbreviations: &[(&str, bool)]) -> bool {
    let mark = &text[tokens[i].start..tokens[i].end];
    if !mark.chars().all(is_sentence_end) {
        return false;
    }
    let next = tokens.get(i + 1);
    // «3.5», «т.д», «ru.» glued to the next word: a sentence ends only before a break.
    if next.is_some_and(|n| {
        !matches!(n.kind, TokenKind::Space | TokenKind::Newline | TokenKind::Emoji | TokenKind::Smiley)
    }) && !next.is_some_and(|n| n.kind == TokenKind::Punct)
    {
        return false;
    }
    // «1. Пришлите …»: a number opening a line is a list marker, not a sentence of its own.
    let line_start = |j: usize| j == 0 || tokens[j - 1].kind == TokenKind::Newline;
    if matches!(mark, ".") && i > 0 && tokens[i - 1].kind == TokenKind::Number && line_start(i - 1) {
        return false;
    }
    if mark == "." && i > 0 && tokens[i - 1].kind == TokenKind::Word {
        // «т. д.», «руб.», «ул.»: the word before the dot (and the one before that for «т. д.»)
        // decides, and only when the next word starts in lower case.
        let word = text[tokens[i - 1].start..tokens[i - 1].end].to_lowercase();
        // The next non-space token: a lower-case word or a number continues the sentence.
        let next = tokens[i + 1..].iter().position(|t| t.kind != TokenKind::Space).map(|p| i + 1 + p);
        let next_continues = next.map(|j| &tokens[j]).is_some_and(|t| {
            t.kind.is_fact() || t.kind == TokenKind::Word && text[t.start..].starts_with(char::is_lowercase)
        });
        // «т. д.» and «т.д.»: the word two steps back, across one dot (and maybe a space).
        let dot_before = |j: usize| tokens.get(j).is_some_and(|t| &text[t.start..t.end] == ".");
        let back = if i >= 3 && dot_before(i - 2) {
            Some(i - 3)
        } else if i >= 4 && tokens[i - 2].kind == TokenKind::Space && dot_before(i - 3) {
            Some(i - 4)
        } else {
            None
        };
        let two = back
            .filter(|&j| tokens[j].kind == TokenKind::Word)
            .map(|j| format!("{}.{}", text[tokens[j].start..tokens[j].end].to_lowercase(), word));
        let known = |w: &str| abbreviations.iter().find(|(a, _)| *a == w).map(|(_, precedes)| *precedes);
        // «Смирновой О.В. и принесите»: an initial (one capital letter) is an abbreviation too.
        let is_initial = |t: &Token| {
            let mut letters = text[t.start..t.end].chars();
            t.kind == TokenKind::Word && letters.next().is_some_and(char::is_uppercase) && letters.next().is_none()
        };
        let initial = is_initial(&tokens[i - 1]);
        // «Иванов И. И.»: an initial before another.
        if initial && next.is_some_and(|j| is_initial(&tokens[j]) && dot_before(j + 1)) {
            return false;
        }
        let kind = two.as_deref().and_then(known).or_else(|| known(&word)).or(initial.then_some(false));
        match kind {
            Some(true) => return false,
            Some(false) if next_continues => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        let doc = Doc::new(text, &[], &[]);
        doc.tokens.iter().filter(|t| t.kind != TokenKind::Space).map(|t| (t.kind, doc.slice(t))).collect()
    }

    fn facts(text: &str) -> Vec<(TokenKind, String)> {
        let doc = Doc::new(text, &[], &[]);
        doc.tokens.iter().filter(|t| t.kind.is_fact()).map(|t| (t.kind, doc.slice(t).to_string())).collect()
    }

    #[test]
    fn tokens_cover_the_text_without_gaps() {
        for text in ["", "a", "привет!!! как дела)))", "🙂🙂 ок", "x\r\ny", "зaказ №5 — 300р."]
        {
            let doc = Doc::new(text, &[], &[]);
            let mut pos = 0;
            for t in &doc.tokens {
                assert_eq!(t.start, pos, "{text:?}");
                assert!(t.end > t.start);
                pos = t.end;
            }
            assert_eq!(pos, text.len());
        }
    }

    #[test]
    fn finds_facts_operators_type() {
        use TokenKind::*;
        assert_eq!(
            facts("заказ № 4821-1934 на 1 490 ₽ придёт 12.03 к 14:30"),
            [(Id, "№ 4821-1934".into()), (Money, "1 490 ₽".into()), (Date, "12.03".into()), (Time, "14:30".into())]
        );
        assert_eq!(facts("доставка 300р, 3–4 рабочих дня"), [(Money, "300р".into()), (Number, "3–4".into())]);
        assert_eq!(
            facts("за 300 рабочих часов, $ 100 и 5 руб."),
            [(Number, "300".into()), (Money, "$ 100".into()), (Money, "5 руб.".into())]
        );
        assert_eq!(
            facts("пишите на help@shop.ru или https://shop.example.ru/returns."),
            [(Email, "help@shop.ru".into()), (Url, "https://shop.example.ru/returns".into())]
        );
        assert_eq!(
            facts("звоните +7 912 345-67-89 или 8 (800) 555-35-35"),
            [(Phone, "+7 912 345-67-89".into()), (Phone, "8 (800) 555-35-35".into())]
        );
        assert_eq!(facts("код A-77812 и 5 марта"), [(Id, "A-77812".into()), (Date, "5 марта".into())]);
        // A code of digits and capital letters; an ordinal's ending is not one.
        assert_eq!(facts("заказ 3345-ПЛ, счёт 12-КР."), [(Id, "3345-ПЛ".into()), (Id, "12-КР".into())]);
        assert_eq!(facts("ДО 12-ГО ЧИСЛА, 5-й день"), [(Number, "12".into()), (Number, "5".into())]);
        assert_eq!(facts("12-ПЛАТЁЖ"), [(Number, "12".into())]);
    }

    #[test]
    fn smileys_emoji_and_punctuation_runs() {
        use TokenKind::*;
        assert_eq!(kinds("спасибо)))"), [(Word, "спасибо"), (Smiley, ")))")]);
        assert_eq!(kinds("не переживайте)"), [(Word, "не"), (Word, "переживайте"), (Smiley, ")")]);
        assert_eq!(
            kinds("1) да (до 18:00)"),
            [(Number, "1"), (Punct, ")"), (Word, "да"), (Punct, "("), (Word, "до"), (Time, "18:00"), (Punct, ")")]
        );
        assert_eq!(kinds("ок :-) 👍🏻"), [(Word, "ок"), (Smiley, ":-)"), (Emoji, "👍🏻")]);
        assert_eq!(kinds("xD тахD"), [(Smiley, "xD"), (Word, "тахD")]);
        assert_eq!(kinds("что?!!"), [(Word, "что"), (Punct, "?!!")]);
        assert_eq!(kinds("какой-то интернет-магазин"), [(Word, "какой-то"), (Word, "интернет-магазин")]);
    }

    #[test]
    fn sentences_split_at_marks_and_line_breaks() {
        let text = "привет. заказ готов!\nзаберите его на ул. Ленина, т. д. и т.п. ок";
        let doc = Doc::new(text, &[], &[("т.д", false), ("т.п", false), ("т", true), ("ул", true)]);
        let got: Vec<&str> = doc.sentences.iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(got, ["привет.", "заказ готов!", "заберите его на ул. Ленина, т. д. и т.п. ок"]);
        assert!(doc.sentences[1].ends_line);
        assert!(!doc.sentences[0].ends_line);
        // Initials go on before a lower-case word, and end a sentence before a capital.
        let text = "директору Смирновой О.В. и принесите. Врач Иванов И. И. Ждём вас";
        let doc = Doc::new(text, &[], &[]);
        let got: Vec<&str> = doc.sentences.iter().map(|s| &text[s.start..s.end]).collect();
        assert_eq!(got, ["директору Смирновой О.В. и принесите.", "Врач Иванов И. И.", "Ждём вас"]);
    }

    #[test]
    fn quoted_product_names_and_the_client_name_are_protected() {
        let text = "Анна, ваш «Тариф Плюс» подключён";
        let doc = Doc::new(text, &["Анна"], &[]);
        let protected: Vec<&str> =
            doc.tokens.iter().filter(|t| t.protected && t.kind == TokenKind::Word).map(|t| doc.slice(t)).collect();
        assert_eq!(protected, ["Анна", "Тариф", "Плюс"]);
    }
}
