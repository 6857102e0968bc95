//! Rewrite: applies the automatic fixes of the active rules and keeps the promises of
//! STYLE-RULES.md.
//!
//! Order: the rules run one after another in the fixed order of the rule table (case → emoji and
//! marks → slang, diminutives, jargon, listed typos, «я не знаю» → «ты» → «Вы» → name form and spelling →
//! greeting, name, introduction → softeners → «Вы» capitals → vocative commas → end punctuation
//! → sentence capitals → numbered lists → paragraphs); each rule sees the text as the rules before
//! it left it. The whole sequence repeats until nothing changes (at most [`MAX_ROUNDS`]), which
//! makes the result a fixed point: rewriting it again changes nothing.
//!
//! Bounded work (issue 19: a client name that contains its own first name once made a draft
//! grow to megabytes):
//! - a round (one pass over the sequence) must leave fewer fixable findings than it found, or
//!   it is undone and the rewrite stops;
//! - a change whose inserted text the same rule would change again is not made;
//! - the text never grows past twice the draft plus a greeting and an introduction
//!   ([`growth_limit`]): changes beyond that are withheld with their reason;
//! - a [`Deadline`] is looked at between rules, rounds and guard passes.
//!
//! Guarantees:
//! 1. Facts verbatim: an edit that touches a protected token (number, date, time, amount, id,
//!    phone, e-mail, URL, quoted name, the client's name) is dropped before it is applied, and
//!    after every rule the facts of the draft are counted again; an edit that lost one is undone.
//! 2. Every edit is reported with its rule, the text before and after, its span in the draft
//!    (characters) and a Russian reason.
//! 3. Idempotent (see above).
//! 4. Meaning guard: the encoder similarity between draft and rewrite is reported. The risky
//!    rules (marked `risky` in their data file: word-list swaps) run after the others; when their
//!    edits take the text below the profile's similarity threshold they are withheld and
//!    reported as withheld.
//! 5. Flag and suggest rules never change the text.
//! 6. Never worse: an edit after which its place has a new issue, doubled punctuation or mixed
//!    «ты»/«Вы» is refused and reported in `withheld` (see [`run`]).

use std::collections::HashMap;
use std::ops::Range;

use serde::Serialize;

use super::catalog::FixKind;
use super::rules::{Change, RULES};
use super::{CharIndex, Context, Issue, MemoScope, Profile, RuleDef, StyleEngine};
use crate::deadline::Deadline;
use crate::encoder::{cosine, Embedder, TextKind};
use crate::error::Result;
use crate::text::segment::Doc;

/// Most passes over the rule sequence before the result is taken as it is.
pub const MAX_ROUNDS: usize = 4;

/// One applied change.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Edit {
    /// Rule id.
    pub rule: String,
    /// The text that was replaced (as it stood when the rule ran).
    pub before: String,
    /// The new text.
    pub after: String,
    /// Start in the draft, in characters.
    pub start: usize,
    /// End in the draft, in characters (equal to `start` for an insertion).
    pub end: usize,
    /// One-line Russian reason.
    pub reason: String,
}

/// The result of a rewrite.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Rewrite {
    /// The rewritten text.
    pub text: String,
    /// Applied edits in the order they were made.
    pub edits: Vec<Edit>,
    /// Issues that remain in the rewritten text (offsets into `text`).
    pub issues: Vec<Issue>,
    /// Encoder cosine similarity between draft and rewrite (absent without an encoder).
    pub similarity: Option<f32>,
    /// Edits withheld, each with its reason: by the meaning guard, by the never-worse guard, or
    /// the whole rewrite of a rude draft (rule `no-rudeness`, the whole draft as its span, an
    /// empty `after`).
    pub withheld: Vec<Edit>,
}

/// Maps positions in the text being rewritten back to the draft.
#[derive(Clone)]
struct SourceMap {
    /// Consecutive pieces: (current range, draft range, edited).
    pieces: Vec<(Range<usize>, Range<usize>, bool)>,
}

impl SourceMap {
    fn new(len: usize) -> SourceMap {
        SourceMap { pieces: vec![(0..len, 0..len, false)] }
    }

    /// The draft position of current position `pos`; inside an edited piece a start maps to the
    /// piece's draft start and an end to its draft end. (The pieces are in text order: a binary
    /// search, so that mapping every edit of a long draft stays linear overall.)
    fn draft(&self, pos: usize, is_end: bool) -> usize {
        let pieces = &self.pieces;
        let from = pieces.partition_point(|(cur, _, _)| if is_end { cur.end < pos } else { cur.end <= pos });
        let fits = |cur: &Range<usize>| {
            if is_end {
                cur.start < pos && pos <= cur.end
            } else {
                cur.start <= pos && pos < cur.end
            }
        };
        let piece =
            pieces[from..].iter().take_while(|(cur, _, _)| cur.start <= pos).find(|(cur, _, _)| fits(cur)).or_else(
                || {
                    let k = pieces.partition_point(|(cur, _, _)| cur.end < pos);
                    pieces.get(k).filter(|(cur, _, _)| cur.start <= pos && pos <= cur.end)
                },
            );
        match piece {
            Some((cur, orig, false)) => orig.start + (pos - cur.start).min(orig.len()),
            Some((_, orig, true)) => {
                if is_end {
                    orig.end
                } else {
                    orig.start
                }
            }
            None => self.pieces.last().map_or(0, |(_, orig, _)| orig.end),
        }
    }

    /// The draft range that current range `range` came from.
    fn draft_range(&self, range: Range<usize>) -> Range<usize> {
        let start = self.draft(range.start, false);
        start..self.draft(range.end, true).max(start)
    }

    /// Records that current range `range` became `new_len` bytes.
    #[cfg(test)]
    fn replace(&mut self, range: Range<usize>, new_len: usize) {
        self.replace_all(&[(range, new_len)]);
    }

    /// Records that each current range of `changes` (sorted, non-overlapping) became its number
    /// of bytes: one pass over the pieces for the whole batch. A piece the range overlaps is
    /// split (unedited) or merged into the new edited piece (an earlier edit).
    fn replace_all(&mut self, changes: &[(Range<usize>, usize)]) {
        let origs: Vec<Range<usize>> = changes.iter().map(|(r, _)| self.draft_range(r.clone())).collect();
        let shift = |r: &Range<usize>, d: isize| (r.start as isize + d) as usize..(r.end as isize + d) as usize;
        let mut queue = std::mem::take(&mut self.pieces).into_iter();
        let mut pieces = Vec::with_capacity(queue.len() + 2 * changes.len());
        let mut carry = None;
        // How far the pieces after the changes made so far have moved.
        let mut delta = 0isize;
        // The edited piece of the last change, not yet closed (a later change of the batch may
        // fall inside the earlier edit it merged): its current start, its end before the batch
        // and its draft range.
        let mut open: Option<(usize, usize, Range<usize>)> = None;
        for ((range, new_len), orig) in changes.iter().zip(origs) {
            let at = (range.start as isize + delta) as usize;
            let mut merged = match open.take() {
                Some((lo, end, o)) if range.start < end => {
                    (lo, end.max(range.end), o.start.min(orig.start)..o.end.max(orig.end))
                }
                Some((lo, end, o)) => {
                    pieces.push((lo..(end as isize + delta) as usize, o, true));
                    (at, range.end, orig)
                }
                None => (at, range.end, orig),
            };
            while let Some((cur, o, edited)) = carry.take().or_else(|| queue.next()) {
                let touches = cur.start < range.end && range.start < cur.end
                    || (range.is_empty() && cur.start < range.start && range.start < cur.end);
                if cur.end <= range.start && !touches {
                    pieces.push((shift(&cur, delta), o, edited));
                } else if cur.start >= range.end && !touches {
                    carry = Some((cur, o, edited));
                    break;
                } else if edited {
                    // A partly overlapped earlier edit merges into this one.
                    merged.2 = merged.2.start.min(o.start)..merged.2.end.max(o.end);
                    merged.0 = merged.0.min((cur.start.min(range.start) as isize + delta) as usize);
                    merged.1 = merged.1.max(cur.end);
                } else {
                    if cur.start < range.start {
                        let keep = range.start - cur.start;
                        pieces.push((shift(&(cur.start..range.start), delta), o.start..o.start + keep, false));
                    }
                    if cur.end > range.end {
                        // The rest lies after this change: the next one may split it again.
                        let skip = range.end - cur.start;
                        carry = Some((range.end..cur.end, o.start + skip..o.end, false));
                        break;
                    }
                }
            }
            delta += *new_len as isize - range.len() as isize;
            open = Some(merged);
        }
        if let Some((lo, end, o)) = open {
            pieces.push((lo..(end as isize + delta) as usize, o, true));
        }
        pieces.extend(carry.into_iter().chain(queue).map(|(cur, o, edited)| (shift(&cur, delta), o, edited)));
        self.pieces =
            pieces.into_iter().filter(|(cur, o, edited)| !cur.is_empty() || !o.is_empty() || *edited).collect();
    }
}

/// Counts of the protected token texts of a segmented text.
fn fact_counts<'t>(doc: &Doc<'t>) -> HashMap<&'t str, usize> {
    let mut counts = HashMap::new();
    for t in doc.tokens.iter().filter(|t| t.protected) {
        *counts.entry(doc.slice(t)).or_insert(0) += 1;
    }
    counts
}

/// Whether every fact of the draft still occurs in `text` at least as often.
fn keeps_facts(facts: &HashMap<String, usize>, text: &str) -> bool {
    facts.iter().all(|(fact, &n)| text.matches(fact.as_str()).count() >= n)
}

/// Applies `changes` (sorted, non-overlapping) to `text`.
fn apply(text: &str, changes: &[Change]) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut pos = 0;
    for c in changes {
        out.push_str(&text[pos..c.start]);
        out.push_str(&c.text);
        pos = c.end;
    }
    out.push_str(&text[pos..]);
    out
}

/// A rewrite in progress: the current text, how it maps back to the draft, and the edits so far.
#[derive(Clone)]
struct Rewriter<'e> {
    engine: &'e StyleEngine,
    ctx: &'e Context,
    profile: &'e Profile,
    draft_chars: std::rc::Rc<CharIndex>,
    facts: std::rc::Rc<HashMap<String, usize>>,
    text: String,
    map: SourceMap,
    edits: Vec<Edit>,
    /// Per edit (same order as `edits` before the final reordering of one rule's batch): the
    /// rule index and the draft byte range.
    edit_spans: Vec<(usize, Range<usize>)>,
    scope: MemoScope,
    /// Edits the never-worse guard refused: (rule index, draft byte range). A change of that
    /// rule that maps onto that stretch of the draft is not made again.
    blocked: std::rc::Rc<Vec<(usize, Range<usize>)>>,
    /// Longest the text may grow (characters; see [`growth_limit`]).
    limit: usize,
    /// Changes not made because the text would have outgrown `limit`, with their draft spans.
    overgrown: Vec<(Edit, Range<usize>)>,
    deadline: &'e Deadline,
}

/// Room for a short draft's word swaps beyond doubling («спс» → «спасибо» is 2.3×), in
/// characters.
const SHORT_DRAFT_SLACK: usize = 64;

/// The longest text a rewrite of `draft` may reach, in characters: twice the draft, plus the
/// greeting and the operator's introduction the rewrite may add (they carry the client's and the
/// operator's names, whatever their length), plus [`SHORT_DRAFT_SLACK`].
pub(crate) fn growth_limit(engine: &StyleEngine, draft: &str, ctx: &Context) -> usize {
    let chars = |s: &str| s.chars().count();
    let greeting = chars("Здравствуйте, ! ") + ctx.client_name().map_or(0, chars);
    let introduction = engine.catalog.get("introduce-self").and_then(|d| d.text("template")).map_or(0, chars)
        + ctx.operator_name().map_or(0, chars);
    2 * chars(draft) + greeting + introduction + SHORT_DRAFT_SLACK
}

impl<'e> Rewriter<'e> {
    fn new(
        engine: &'e StyleEngine,
        draft: &str,
        ctx: &'e Context,
        profile: &'e Profile,
        blocked: &[(usize, Range<usize>)],
        limit: usize,
        deadline: &'e Deadline,
    ) -> Rewriter<'e> {
        let draft_doc = engine.segment(draft, ctx);
        // The client's name is protected from alteration by every rule, but rule B1 may drop an
        // extra occurrence, so it is not counted as a fact.
        let name_words: Vec<&str> = ctx.client_name().map(|n| n.split_whitespace().collect()).unwrap_or_default();
        let facts = fact_counts(&draft_doc)
            .into_iter()
            .filter(|(k, _)| !name_words.contains(k))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        Rewriter {
            engine,
            ctx,
            profile,
            draft_chars: std::rc::Rc::new(CharIndex::new(draft)),
            facts: std::rc::Rc::new(facts),
            text: draft.to_string(),
            map: SourceMap::new(draft.len()),
            edits: Vec::new(),
            edit_spans: Vec::new(),
            scope: engine.scope(ctx),
            blocked: std::rc::Rc::new(blocked.to_vec()),
            limit,
            overgrown: Vec::new(),
            deadline,
        }
    }

    /// The draft byte range that current range `range` came from.
    fn draft_range(&self, range: Range<usize>) -> Range<usize> {
        self.map.draft_range(range)
    }

    /// Whether the guard refused this rule's change at this place of the draft.
    fn is_blocked(&self, rule: usize, change: &Change) -> bool {
        let span = self.draft_range(change.start..change.end);
        self.blocked.iter().any(|(r, b)| *r == rule && b.start <= span.end && span.start <= b.end)
    }

    /// Runs the rule sequence until a fixed point, leaving out the rules `skip` names. The text
    /// is segmented again only after a rule changed it. A round that does not leave fewer
    /// fixable findings than it started with is undone, and the rewrite stops there.
    fn run(&mut self, skip: &dyn Fn(&str) -> bool) -> Result<()> {
        let engine = self.engine;
        let rules: Vec<(usize, &RuleDef)> = engine
            .active_rules(self.profile)
            .filter(|(_, def)| def.fix == FixKind::Auto && !skip(&def.id) && engine.unavailable(def, None).is_none())
            .collect();
        let mut pending = self.pending(&rules);
        for _ in 0..MAX_ROUNDS {
            let before = self.clone();
            let mut changed = false;
            let mut next = 0;
            while next < rules.len() {
                let text = self.text.clone();
                let doc = engine.segment(&text, self.ctx);
                while next < rules.len() {
                    self.deadline.check()?;
                    let (rule, def) = rules[next];
                    next += 1;
                    if self.apply_rule(rule, def, &doc)? {
                        changed = true;
                        break;
                    }
                }
            }
            if !changed {
                break;
            }
            let left = self.pending(&rules);
            if left >= pending {
                let overgrown = std::mem::take(&mut self.overgrown);
                *self = before;
                self.overgrown = overgrown;
                break;
            }
            pending = left;
        }
        Ok(())
    }

    /// How many changes `rules` would still make to the current text.
    fn pending(&self, rules: &[(usize, &RuleDef)]) -> usize {
        let doc = self.engine.segment(&self.text, self.ctx);
        rules.iter().map(|&(rule, def)| self.changes(rule, def, &doc).len()).sum()
    }

    /// Rule `rule`'s changes to `doc` that may be made: none to a protected token (unless the
    /// rule's changes span facts by design), none that changes nothing, none the guard refused.
    fn changes(&self, rule: usize, def: &RuleDef, doc: &Doc) -> Vec<Change> {
        let text = doc.text;
        self.engine
            .run_rule_memo(rule, doc, self.ctx, self.profile, self.scope)
            .into_iter()
            .filter_map(|f| f.change)
            .filter(|c| def.spans_protected || !doc.touches_protected(c.start..c.end))
            .filter(|c| text.get(c.start..c.end).is_some_and(|old| old != c.text))
            .filter(|c| !self.is_blocked(rule, c))
            .collect()
    }

    /// The changes of `kept` (sorted, applied to `doc`) whose inserted text rule `rule` would
    /// change again: a fix must not feed itself («Иван» → «Иван Петрович» where the full name
    /// holds the name again).
    fn self_feeding(&self, rule: usize, def: &RuleDef, doc: &Doc, kept: &[Change]) -> Vec<usize> {
        let candidate = apply(doc.text, kept);
        let again = self.changes(rule, def, &self.engine.segment(&candidate, self.ctx));
        let mut shift = 0isize;
        let mut out = Vec::new();
        for (k, c) in kept.iter().enumerate() {
            let start = (c.start as isize + shift) as usize;
            let inserted = start..start + c.text.len();
            shift += c.text.len() as isize - (c.end - c.start) as isize;
            let inside = |n: &Change| {
                if n.start == n.end {
                    inserted.start < n.start && n.start < inserted.end
                } else {
                    n.start < inserted.end && inserted.start < n.end
                }
            };
            if !inserted.is_empty() && again.iter().any(inside) {
                out.push(k);
            }
        }
        out
    }

    /// Applies one rule's changes that keep every fact; whether anything changed. `doc` is the
    /// current text, segmented.
    fn apply_rule(&mut self, rule: usize, def: &RuleDef, doc: &Doc) -> Result<bool> {
        let text = doc.text;
        let mut changes = self.changes(rule, def, doc);
        changes.sort_by_key(|c| (c.start, c.end));
        let mut kept: Vec<Change> = Vec::with_capacity(changes.len());
        for c in changes {
            // Non-overlapping, and one insertion per point.
            if kept.last().is_none_or(|k: &Change| c.start >= k.end && !(c.start == k.start && c.start == c.end)) {
                kept.push(c);
            }
        }
        if kept.is_empty() {
            return Ok(false);
        }
        let feeding = self.self_feeding(rule, def, doc, &kept);
        kept = kept.into_iter().enumerate().filter(|(k, _)| !feeding.contains(k)).map(|(_, c)| c).collect();
        // Front to back, while the text stays within its limit; the rest is withheld.
        let mut len = text.chars().count();
        let mut over = Vec::new();
        kept.retain(|c| {
            let grown = len + c.text.chars().count() - text[c.start..c.end].chars().count();
            if grown > self.limit {
                over.push(c.clone());
                return false;
            }
            len = grown;
            true
        });
        for c in over {
            let span = self.draft_range(c.start..c.end);
            if !self.overgrown.iter().any(|(e, s)| e.rule == RULES[rule].0 && *s == span) {
                let edit = Edit {
                    rule: RULES[rule].0.to_string(),
                    before: text[c.start..c.end].to_string(),
                    after: c.text,
                    start: self.draft_chars.of(span.start),
                    end: self.draft_chars.of(span.end),
                    reason: "Правка не применена: текст стал бы более чем вдвое длиннее черновика.".to_string(),
                };
                self.overgrown.push((edit, span));
            }
        }
        if kept.is_empty() {
            return Ok(false);
        }
        let mut candidate = apply(text, &kept);
        if !keeps_facts(&self.facts, &candidate) {
            // Undo the offending edits one by one: keep only those that lose no fact.
            let mut safe = Vec::new();
            for c in &kept {
                self.deadline.check()?;
                let mut trial = safe.clone();
                trial.push(c.clone());
                if keeps_facts(&self.facts, &apply(text, &trial)) {
                    safe.push(c.clone());
                }
            }
            kept = safe;
            candidate = apply(text, &kept);
        }
        for c in &kept {
            let Range { start, end } = self.draft_range(c.start..c.end);
            self.edit_spans.push((rule, start..end));
            self.edits.push(Edit {
                rule: RULES[rule].0.to_string(),
                before: self.text[c.start..c.end].to_string(),
                after: c.text.clone(),
                start: self.draft_chars.of(start),
                end: self.draft_chars.of(end),
                reason: def.reason.clone(),
            });
        }
        let batch: Vec<(Range<usize>, usize)> = kept.iter().map(|c| (c.start..c.end, c.text.len())).collect();
        self.map.replace_all(&batch);
        self.text = candidate;
        Ok(!kept.is_empty())
    }
}

/// `draft` with only rule `rule`'s automatic fixes applied.
pub(crate) fn fix_only(engine: &StyleEngine, draft: &str, ctx: &Context, profile: &Profile, rule: &str) -> String {
    let limit = growth_limit(engine, draft, ctx);
    let unbounded = Deadline::none();
    let mut rewriter = Rewriter::new(engine, draft, ctx, profile, &[], limit, &unbounded);
    match rewriter.run(&|id| id != rule) {
        Ok(()) => rewriter.text,
        // Without a time limit and with no one to cancel it, the run cannot stop early.
        Err(_) => draft.to_string(),
    }
}

/// Most edits the never-worse guard refuses in one pass (each round refuses at least one and
/// rewrites again, so this also bounds the rounds).
const MAX_REFUSED: usize = 24;

/// Runs the rewrite for `engine`.
///
/// The safe rules run first; the risky ones (word-list swaps whose dictionary replacement may
/// not fit the context) then run on that result. The meaning guard compares the two texts, so
/// its decision depends only on what the risky edits change — and rewriting the output again
/// reaches the same two texts and the same decision, which keeps the rewrite idempotent.
///
/// Before that, the never-worse guard re-analyses every result (see [`Judge`]): an edit after
/// which its sentence has a new issue, doubled punctuation or mixed «ты»/«Вы» is refused, listed
/// in `withheld` with the reason, and the rewrite runs again without it.
pub(crate) fn run(
    engine: &StyleEngine,
    draft: &str,
    ctx: &Context,
    embedder: Option<&dyn Embedder>,
    deadline: &Deadline,
) -> Result<Rewrite> {
    let profile = engine.profile(ctx)?;
    let (embedding, disabled) = match engine.tone_embedding(draft, embedder)? {
        Ok(embedding) => (embedding, Vec::new()),
        Err(why) => (None, vec![why]),
    };
    let tone = engine.tone().zip(embedding.as_ref()).map(|(model, e)| model.score_embedded(draft, e));
    let alarm = tone.as_ref().is_some_and(|t| t.toxic);
    let sure = alarm && tone.as_ref().is_some_and(|t| t.as_sure_as_words());
    if let Some(refusal) = rude_draft(engine, draft, ctx, profile, (alarm, sure)) {
        let report = engine.check_embedded(draft, ctx, embedder, deadline, embedding.as_deref(), disabled)?;
        return Ok(Rewrite {
            text: draft.to_string(),
            edits: Vec::new(),
            issues: report.issues,
            similarity: None,
            withheld: vec![refusal],
        });
    }
    let limit = growth_limit(engine, draft, ctx);
    // A draft the toxicity head alarms on, but not surely, or whose toxicity is doubtful:
    // rewritten without the words that decorate (a softener or thanks beside a threat would make
    // it worse); an alarm's A10 issue is kept.
    let sober = tone.as_ref().is_some_and(|t| t.doubtful());
    let (safe, mut full, refused) = guarded(engine, draft, ctx, profile, limit, deadline, sober)?;
    let mut withheld: Vec<Edit> = refused.into_iter().map(|(e, _)| e).collect();
    // A refused edit leaves a text whose own analysis differs from the draft's: rewriting it
    // again may find more to do. Going on until nothing changes keeps the rewrite idempotent;
    // the later passes' edits are reported in the draft's coordinates.
    let mut passes = 1;
    while !withheld.is_empty() && passes < GUARD_PASSES {
        let (_, next, refused) = guarded(engine, &full.text, ctx, profile, limit, deadline, sober)?;
        if next.text == full.text {
            break;
        }
        let to_draft = |e: &Edit, span: &Range<usize>| {
            let d = full.draft_range(span.clone());
            Edit { start: full.draft_chars.of(d.start), end: full.draft_chars.of(d.end), ..e.clone() }
        };
        let edits: Vec<Edit> = next.edits.iter().zip(&next.edit_spans).map(|(e, (_, s))| to_draft(e, s)).collect();
        withheld.extend(refused.iter().map(|(e, span)| to_draft(e, span)));
        full.edits.extend(edits);
        full.text = next.text;
        passes += 1;
    }
    let mut similarity = None;
    let mut result = full;
    if let Some(embedder) = embedder {
        // The draft, the safe result and the full result in one encoder call (a server queues
        // each call: one round trip instead of two, and no text embedded twice).
        let meaning = Meaning::embed(embedder, [draft, &safe.text, &result.text])?;
        let kept_full = result.text == safe.text || meaning.similarity(1, 2) >= profile.meaning_guard;
        if !kept_full {
            withheld.extend(result.edits.split_off(safe.edits.len()));
            result = safe;
        }
        similarity = Some(meaning.similarity(0, if kept_full { 2 } else { 1 }));
    }
    deadline.check()?;
    let mut report = engine.check_any_length(&result.text, ctx, embedder, deadline)?;
    if alarm && !report.issues.iter().any(|i| i.rule == "no-rudeness") {
        // The draft's alarm stays with its rewrite: a «Вы» or a fixed word does not make a
        // threat polite, even if the sentence vector now says so.
        let alarm = engine.tone_alarm(&result.text, profile).into_iter().collect();
        report.issues.extend(engine.issues(&result.text, profile, alarm));
        report.issues.sort_by_key(|i| (i.start, i.end));
    }
    Ok(Rewrite { text: result.text, edits: result.edits, issues: report.issues, similarity, withheld })
}

/// The refusal of a whole rewrite: the draft has rude words (A10) with no safe edit, or the tone
/// model's toxicity head alarms and is as sure as such words would make it (`sure`) or A10's
/// lists found a mild word too. Softeners, a greeting or capital «Вы» around an insult or
/// a threat would only make it worse; the operator has to say it in their own words.
fn rude_draft(
    engine: &StyleEngine,
    draft: &str,
    ctx: &Context,
    profile: &Profile,
    (alarm, sure): (bool, bool),
) -> Option<Edit> {
    let (rule, def) = engine.active_rules(profile).find(|(_, def)| def.id == "no-rudeness")?;
    let doc = engine.segment(draft, ctx);
    let findings = engine.run_rule_memo(rule, &doc, ctx, profile, engine.scope(ctx));
    // A mild word the lists would fix is no longer mild in a draft the tone model alarms on.
    let rude = findings.iter().any(|f| f.change.is_none()) || sure || alarm && !findings.is_empty();
    rude.then(|| Edit {
        rule: def.id.clone(),
        before: draft.to_string(),
        after: String::new(),
        start: 0,
        end: draft.chars().count(),
        reason: def.text("withheld").unwrap_or_default().to_string(),
    })
}

/// Most guarded passes (see [`run`]).
const GUARD_PASSES: usize = 3;

/// The rewrite of `draft` under the never-worse guard: the safe rules' result, the full result
/// and the refused edits with their reasons (and byte spans in `draft`). A `sober` rewrite makes
/// no edit of the [`super::DECORATING`] rules.
#[allow(clippy::type_complexity)]
fn guarded<'e>(
    engine: &'e StyleEngine,
    draft: &str,
    ctx: &'e Context,
    profile: &'e Profile,
    limit: usize,
    deadline: &'e Deadline,
    sober: bool,
) -> Result<(Rewriter<'e>, Rewriter<'e>, Vec<(Edit, Range<usize>)>)> {
    let risky = |id: &str| engine.catalog.get(id).is_some_and(|d| d.risky);
    let judge = Judge::new(engine, draft, ctx, profile);
    // A rule blocked over the whole draft makes no edit anywhere in it.
    let mut blocked: Vec<(usize, Range<usize>)> = engine
        .active_rules(profile)
        .filter(|(_, def)| sober && super::DECORATING.contains(&def.id.as_str()))
        .map(|(rule, _)| (rule, 0..draft.len()))
        .collect();
    let preset = blocked.len();
    let mut withheld = Vec::new();
    loop {
        deadline.check()?;
        let mut safe = Rewriter::new(engine, draft, ctx, profile, &blocked, limit, deadline);
        safe.run(&risky)?;
        let mut full = safe.clone();
        full.run(&|_| false)?;
        let refused = if blocked.len() - preset < MAX_REFUSED { judge.refuse(&full) } else { Vec::new() };
        if refused.is_empty() {
            withheld.extend(full.overgrown.iter().cloned());
            return Ok((safe, full, withheld));
        }
        for (index, reason) in refused {
            blocked.push(full.edit_spans[index].clone());
            withheld.push((Edit { reason, ..full.edits[index].clone() }, full.edit_spans[index].1.clone()));
        }
    }
}

/// The never-worse guard: what the draft's own analysis found, to compare each rewrite with.
///
/// A rewrite is judged sentence by sentence, in draft coordinates (the rewriter's source map
/// takes every place of the result back to the draft). It fails where
/// 1. a rule reports an issue in a sentence of the result that it did not report in that
///    sentence of the draft (the check of a draft and of its rewrite must agree);
/// 2. punctuation is doubled («руб..», «, ,», «,.») where the draft had no such run;
/// 3. «ты» is left beside an inserted «Вы» (mixed address).
///
/// The edits to refuse are the ones that made the sentence: for 1 and 2 the last edit that
/// touched the place (or its sentence), for 3 every «Вы» edit of the sentence.
struct Judge<'e> {
    engine: &'e StyleEngine,
    ctx: &'e Context,
    profile: &'e Profile,
    /// The draft's sentences (byte ranges).
    sentences: Vec<Range<usize>>,
    /// (rule index, draft sentence) of every finding on the draft.
    found: std::collections::HashSet<(usize, usize)>,
    /// (rule index, draft byte span) of every finding on the draft.
    found_spans: Vec<(usize, Range<usize>)>,
    draft: String,
}

/// Rules the guard does not hold a rewrite to: they judge the message as a whole (its length,
/// its paragraphs), not a sentence, so an edit elsewhere may change their verdict.
const WHOLE_MESSAGE_RULES: [&str; 4] = ["too-short", "paragraphs", "greeting-only", "next-step"];

/// Rules that say what the message lacks (thanks, the operator's name, the client's name) at a
/// place computed from the greeting: when an edit moves the greeting, their place moves with
/// it. Their issue is new only if the draft had none from the same rule anywhere.
const MESSAGE_LACKS_RULES: [&str; 4] = ["thanks", "introduce-self", "use-name", "ask-name"];

impl<'e> Judge<'e> {
    fn new(engine: &'e StyleEngine, draft: &str, ctx: &'e Context, profile: &'e Profile) -> Judge<'e> {
        let doc = engine.segment(draft, ctx);
        let sentences: Vec<Range<usize>> = doc.sentences.iter().map(|s| s.start..s.end).collect();
        let mut judge = Judge {
            engine,
            ctx,
            profile,
            sentences,
            found: Default::default(),
            found_spans: Vec::new(),
            draft: draft.to_string(),
        };
        let findings = engine.local_findings(&doc, ctx, profile);
        judge.found = findings.iter().map(|(rule, span)| (*rule, judge.sentence_of(span.start))).collect();
        judge.found_spans = findings;
        judge
    }

    /// The draft sentence holding byte `pos` (the one before it, between sentences).
    fn sentence_of(&self, pos: usize) -> usize {
        self.sentences.iter().rposition(|s| s.start <= pos).unwrap_or(0)
    }

    /// The edits of `result` to refuse, with the Russian reason; empty when it passes.
    fn refuse(&self, result: &Rewriter) -> Vec<(usize, String)> {
        if result.edits.is_empty() {
            return Vec::new();
        }
        let doc = self.engine.segment(&result.text, self.ctx);
        // The edit at the place of a new issue: the last one whose new text holds the issue's
        // text, else the last one at that place. An issue no edit touches is not the rewrite's to
        // answer for (refusing an edit elsewhere would only lose a good one).
        let edit_at = |span: &Range<usize>, found: &str| {
            let touches = |a: &Range<usize>, b: &Range<usize>| {
                if a.is_empty() || b.is_empty() {
                    a.start <= b.end && b.start <= a.end
                } else {
                    a.start < b.end && b.start < a.end
                }
            };
            let at: Vec<usize> = (0..result.edits.len()).filter(|&e| touches(&result.edit_spans[e].1, span)).collect();
            at.iter()
                .rev()
                .find(|&&e| !found.trim().is_empty() && result.edits[e].after.contains(found.trim()))
                .or(at.last())
                .copied()
        };
        let mut refused: Vec<(usize, String)> = Vec::new();
        let mut refuse = |edit: usize, reason: String| {
            if !refused.iter().any(|(e, _)| *e == edit) {
                refused.push((edit, reason));
            }
        };
        for (rule, span) in self.engine.local_findings(&doc, self.ctx, self.profile) {
            let id = RULES[rule].0;
            let draft_span = result.draft_range(span.clone());
            let sentence = self.sentence_of(draft_span.start);
            // Old when the draft had it in the same sentence, or at the same place (an edit next
            // to it may move where the place maps to).
            let overlaps = |s: &Range<usize>| s.start <= draft_span.end && draft_span.start <= s.end;
            let same_place = self.found_spans.iter().any(|(r, s)| *r == rule && overlaps(s));
            let lacked_before = MESSAGE_LACKS_RULES.contains(&id) && self.found_spans.iter().any(|(r, _)| *r == rule);
            if same_place
                || lacked_before
                || self.found.contains(&(rule, sentence))
                || WHOLE_MESSAGE_RULES.contains(&id)
            {
                continue;
            }
            if let Some(edit) = edit_at(&draft_span, result.text.get(span.clone()).unwrap_or("")) {
                let title = self.engine.catalog.get(id).map_or(id, |d| d.title.as_str());
                refuse(edit, format!("Правка не применена: после неё появилось новое замечание «{title}»."));
            }
        }
        for run in doubled_punctuation(&result.text) {
            let draft_span = result.draft_range(run.clone());
            let widened = draft_span.start.saturating_sub(1)..(draft_span.end + 1).min(self.draft.len());
            if self.draft.get(widened).is_some_and(|d| !doubled_punctuation(d).is_empty()) {
                continue;
            }
            if let Some(edit) = edit_at(&draft_span, "") {
                refuse(edit, "Правка не применена: она удвоила бы знак препинания.".to_string());
            }
        }
        // A «ты» form whose change the guard itself refused (a misread word: «роутер» taken for
        // a verb) is no evidence of the informal register.
        let refused_here = |span: &Range<usize>| {
            let d = result.draft_range(span.clone());
            result.blocked.iter().any(|(r, b)| RULES[*r].0 == "polite-you" && b.start <= d.end && d.start <= b.end)
        };
        let informal: Vec<Range<usize>> = self
            .engine
            .local_rule_findings("polite-you", &doc, self.ctx, self.profile)
            .into_iter()
            .filter(|span| !refused_here(span))
            .collect();
        for s in &doc.sentences {
            let informal = informal.iter().any(|span| s.start <= span.start && span.end <= s.end);
            if !informal {
                continue;
            }
            let sent = result.draft_range(s.start..s.end);
            for (e, (rule, span)) in result.edit_spans.iter().enumerate() {
                if RULES[*rule].0 == "polite-you" && sent.start <= span.start && span.end <= sent.end {
                    refuse(
                        e,
                        "Правка не применена: в предложении осталось бы смешанное обращение на «ты» и «Вы»."
                            .to_string(),
                    );
                }
            }
        }
        refused
    }
}

/// Runs of punctuation that are never right: «..» (two dots, not an ellipsis), a comma next to
/// another mark («, ,», «,.»), an end mark followed by a dot («!.», «?.»). Spaces inside a run
/// are ignored. «.,» is not among them: «и т. д., а также» is correct.
fn doubled_punctuation(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let marks: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < marks.len() {
        let (start, c) = marks[i];
        if !matches!(c, '.' | ',' | '!' | '?' | ';' | ':') {
            i += 1;
            continue;
        }
        // The run: marks, possibly separated by spaces.
        let mut j = i;
        let mut run = String::new();
        let mut end = start;
        while j < marks.len() && (matches!(marks[j].1, '.' | ',' | '!' | '?' | ';' | ':' | ' ')) {
            if marks[j].1 != ' ' {
                run.push(marks[j].1);
                end = marks[j].0 + 1;
            }
            j += 1;
        }
        const BAD: [&str; 15] =
            ["..", "!.", "?.", ",,", ",.", ",!", ",?", ",;", ";,", ",:", ":,", ";;", "::", ".;", ":."];
        if BAD.contains(&run.as_str()) {
            out.push(start..end);
        }
        i = j.max(i + 1);
    }
    out
}

/// Embeddings of versions of one message (as queries: they are the same message), for their
/// meaning similarity. A blank version is similar only to another blank one.
struct Meaning<const N: usize> {
    blank: [bool; N],
    vectors: Vec<Vec<f32>>,
    /// Index into `vectors` of each version (equal texts share one vector).
    slot: [usize; N],
}

impl<const N: usize> Meaning<N> {
    fn embed(embedder: &dyn Embedder, texts: [&str; N]) -> Result<Self> {
        let blank = texts.map(|t| t.trim().is_empty());
        let mut distinct: Vec<&str> = Vec::new();
        let mut slot = [usize::MAX; N];
        for (i, text) in texts.iter().enumerate().filter(|&(i, _)| !blank[i]) {
            slot[i] = distinct.iter().position(|d| d == text).unwrap_or_else(|| {
                distinct.push(text);
                distinct.len() - 1
            });
        }
        let vectors = if distinct.is_empty() { Vec::new() } else { embedder.embed(&distinct, TextKind::Query)? };
        Ok(Meaning { blank, vectors, slot })
    }

    fn similarity(&self, a: usize, b: usize) -> f32 {
        match (self.blank[a], self.blank[b]) {
            (true, true) => 1.0,
            (false, false) => cosine(&self.vectors[self.slot[a]], &self.vectors[self.slot[b]]),
            _ => 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_map_follows_edits_back_to_the_draft() {
        // draft: "ab cd ef"; replace "cd" (3..5) by "XYZW", then insert "!" at the end.
        let mut map = SourceMap::new(8);
        map.replace(3..5, 4);
        assert_eq!((map.draft(3, false), map.draft(7, true)), (3, 5));
        assert_eq!(map.draft(8, false), 6); // "ef" moved by 2
        map.replace(10..10, 1);
        assert_eq!(map.draft(10, false), 8);
        // An edit inside the first edit maps to the first edit's draft span.
        map.replace(4..5, 2);
        assert_eq!((map.draft(4, false), map.draft(6, true)), (3, 5));
    }

    #[test]
    fn a_batch_of_edits_maps_as_the_same_edits_made_one_by_one() {
        // Pseudo-random batches of non-overlapping replacements, insertions and deletions over
        // a text that keeps changing; the batch and the edits made back to front one at a time
        // must give the same pieces.
        let mut seed = 0x2545_f491_u64;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n.max(1)
        };
        let (mut batched, mut single, mut len) = (SourceMap::new(40), SourceMap::new(40), 40);
        for _ in 0..200 {
            let mut batch = Vec::new();
            let mut pos = 0;
            while pos < len && batch.len() < 4 {
                let start = pos + next(len - pos);
                let end = (start + next(4)).min(len);
                batch.push((start..end, next(5)));
                pos = end + 1;
            }
            batched.replace_all(&batch);
            for (range, new_len) in batch.iter().rev() {
                single.replace(range.clone(), *new_len);
            }
            assert_eq!(batched.pieces, single.pieces, "after {batch:?}");
            len = (len as isize + batch.iter().map(|(r, n)| *n as isize - r.len() as isize).sum::<isize>()) as usize;
            for pos in 0..=len {
                let (start, end) = (batched.draft(pos, false), batched.draft(pos, true));
                assert!(start <= 40 && end <= 40, "position {pos} maps outside the draft: {start}, {end}");
            }
        }
    }
}
