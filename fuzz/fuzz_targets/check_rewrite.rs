//! Fuzzes the style engine's `check` and `rewrite` over arbitrary text.
//!
//! Every input runs twice: as a draft with a default [`Context`], and as a short dialogue with a
//! client name, a client message, an operator name, a clock time and a profile, all derived from
//! the input so that a finding reproduces from its bytes alone. A panic is a finding; the
//! properties asserted are:
//!
//! 1. `check` and `rewrite` never panic, and return `Err` only for a draft the API refuses on
//!    purpose (`StyleEngine::validate`: longer than `MAX_DRAFT_BYTES`). Empty and whitespace-only
//!    drafts are accepted by the engine, so an error for them is a finding too.
//! 2. Spans are valid: each issue of `check` lies within the draft, each remaining issue of
//!    `rewrite` within the rewritten text, and each edit within the draft (offsets in Unicode
//!    scalar values, `start <= end <= chars`).
//! 3. Facts are kept: every protected token of the draft (number, date, time, amount, id, phone,
//!    e-mail, URL, quoted name) occurs in the rewrite at least as often as in the draft. The
//!    facts are found by the crate's own segmenter (`segment::Doc`, the tokens it marks
//!    `protected`), the same way `rewrite` counts them for its fact guard.
//!
//! Run it with `bash fuzz/run.sh [SECONDS]` from the repository root.

#![no_main]

use std::collections::HashMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sufler::style::segment::{Doc, Token};
use sufler::style::{ClockTime, Context, StyleEngine, MAX_DRAFT_BYTES};
use sufler::Error;

/// The engine with its rules, word lists, profiles and dictionaries, loaded once per process
/// (the morphology and spelling dictionaries take a while to load).
fn engine() -> &'static StyleEngine {
    static ENGINE: OnceLock<StyleEngine> = OnceLock::new();
    ENGINE.get_or_init(|| StyleEngine::embedded().expect("the embedded style data loads"))
}

fuzz_target!(|data: &[u8]| {
    // The engine takes `&str`, so invalid UTF-8 can never reach it (the CLI and the HTTP API
    // decode first). Invalid bytes are replaced by U+FFFD rather than the input being skipped:
    // libFuzzer's byte-level mutations break the two-byte Cyrillic sequences of most seeds, and
    // skipping those inputs would throw away a large share of the runs; the text around the
    // broken byte is still a draft worth checking, and U+FFFD is a character users can send.
    let text = String::from_utf8_lossy(data);
    let engine = engine();
    exercise(engine, &text, &Context::default());
    let (ctx, draft) = dialogue(engine, &text, data);
    exercise(engine, draft, &ctx);
});

/// A dialogue derived from the input: the first line is the client's message, optionally
/// prefixed by the client's name and a colon («Анна: где мой заказ?»; without a colon the first
/// word is the name), and the rest is the draft. A single-line input is both the client's
/// message and the draft. Flags, clock time and profile come from a hash of the bytes.
fn dialogue<'t>(engine: &StyleEngine, text: &'t str, data: &[u8]) -> (Context, &'t str) {
    let (head, draft) = text.split_once('\n').unwrap_or((text, text));
    let (name, message) = match head.split_once(':') {
        Some((name, message)) => (name.trim(), message.trim()),
        None => (head.split_whitespace().next().unwrap_or(""), head.trim()),
    };
    let hash = data.iter().fold(0x811c_9dc5_u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    let profiles = engine.profiles();
    let ctx = Context {
        client_name: Some(name.to_string()),
        client_messages: vec![message.to_string()],
        operator_name: Some("Ольга".to_string()),
        first_message: hash & 1 == 0,
        name_uses: (hash >> 1) % 4,
        client_time: Some(ClockTime { hour: ((hash >> 3) % 24) as u8, minute: ((hash >> 8) % 60) as u8 }),
        profile: Some(profiles[(hash >> 16) as usize % profiles.len()].name.clone()),
    };
    (ctx, draft)
}

/// Checks and rewrites `draft` under `ctx` and asserts the properties of the module docs.
fn exercise(engine: &StyleEngine, draft: &str, ctx: &Context) {
    let chars = draft.chars().count();
    match engine.check(draft, ctx, None) {
        Ok(report) => {
            assert!(draft.len() <= MAX_DRAFT_BYTES, "check accepted a draft of {} bytes", draft.len());
            for issue in &report.issues {
                assert!(
                    issue.start <= issue.end && issue.end <= chars,
                    "check: issue span {}..{} out of {chars} chars: {issue:?}\ndraft: {draft:?}",
                    issue.start,
                    issue.end
                );
            }
        }
        Err(err) => expect_refused("check", draft, &err),
    }
    let out = match engine.rewrite(draft, ctx, None) {
        Ok(out) => out,
        Err(err) => return expect_refused("rewrite", draft, &err),
    };
    assert!(draft.len() <= MAX_DRAFT_BYTES, "rewrite accepted a draft of {} bytes", draft.len());
    let out_chars = out.text.chars().count();
    for issue in &out.issues {
        assert!(
            issue.start <= issue.end && issue.end <= out_chars,
            "rewrite: remaining issue span {}..{} out of {out_chars} chars: {issue:?}\ndraft: {draft:?}\nrewrite: {:?}",
            issue.start,
            issue.end,
            out.text
        );
    }
    for edit in &out.edits {
        assert!(
            edit.start <= edit.end && edit.end <= chars,
            "rewrite: edit span {}..{} out of the draft's {chars} chars: {edit:?}\ndraft: {draft:?}",
            edit.start,
            edit.end
        );
    }
    assert!(out.similarity.is_none() && out.withheld.is_empty(), "meaning guard ran without an encoder");
    for (fact, n) in facts(draft, ctx) {
        let kept = out.text.matches(fact).count();
        assert!(
            kept >= n,
            "rewrite lost fact {fact:?} ({n} in the draft, {kept} in the rewrite)\ndraft: {draft:?}\nrewrite: {:?}\nctx: {ctx:?}",
            out.text
        );
    }
}

/// The facts of `draft` with their counts: the segmenter's protected tokens, as the rewrite's
/// fact guard counts them (less the client's name, which rule B1 may drop when it occurs too
/// often), and each quoted name as a whole.
fn facts<'t>(draft: &'t str, ctx: &Context) -> HashMap<&'t str, usize> {
    let name_words: Vec<&str> = ctx.client_name().map(|n| n.split_whitespace().collect()).unwrap_or_default();
    let doc = Doc::new(draft, &name_words, &[]);
    let mut counts = HashMap::new();
    for t in doc.tokens.iter().filter(|t| t.protected) {
        let fact = doc.slice(t);
        if !name_words.contains(&fact) {
            *counts.entry(fact).or_insert(0) += 1;
        }
    }
    // A quoted name is one fact: the whole «…» (consecutive quoted, protected tokens) must
    // survive, not only each of its words and marks.
    let mut i = 0;
    while i < doc.tokens.len() {
        let quoted = |t: &Token| t.quoted && t.protected;
        if !quoted(&doc.tokens[i]) {
            i += 1;
            continue;
        }
        let start = doc.tokens[i].start;
        while i < doc.tokens.len() && quoted(&doc.tokens[i]) {
            i += 1;
        }
        *counts.entry(&draft[start..doc.tokens[i - 1].end]).or_insert(0) += 1;
    }
    counts
}

/// An error is acceptable only for a draft the engine refuses on purpose (too long); every
/// profile named here exists and no encoder is used, so nothing else may fail.
fn expect_refused(what: &str, draft: &str, err: &Error) {
    assert!(
        draft.len() > MAX_DRAFT_BYTES && matches!(err, Error::InvalidInput(_)),
        "{what} failed on an accepted draft ({} bytes): {err}\ndraft: {draft:?}",
        draft.len()
    );
}
