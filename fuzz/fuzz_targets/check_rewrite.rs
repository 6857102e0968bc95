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
//!    `protected`), the same way `rewrite` counts them for its fact guard; a quoted name must
//!    also survive as a whole.
//!
//! The spelling rule is off unless `SUFLER_FUZZ_SPELLER=full` (see [`turn_the_speller_off`]).
//!
//! Run it with `bash fuzz/run.sh [SECONDS]` from the repository root.

#![no_main]

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sufler::text::segment::{Doc, Token, TokenKind};
use sufler::style::spell;
use sufler::style::{ClockTime, Context, StyleEngine, MAX_DRAFT_BYTES};
use sufler::Error;

/// The engine with its rules, word lists, profiles and dictionaries, loaded once per process
/// (the morphology and spelling dictionaries take seconds to load).
fn engine() -> &'static StyleEngine {
    static ENGINE: OnceLock<StyleEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let speller_off = turn_the_speller_off();
        let engine = StyleEngine::embedded().expect("the embedded style data loads");
        assert!(
            !speller_off || engine.speller().is_none(),
            "the spelling rule should be off with {} set to a broken dictionary",
            spell::DICT_DIR_ENV
        );
        engine
    })
}

/// Unless `SUFLER_FUZZ_SPELLER=full` (or an explicit `SUFLER_HUNSPELL_DIR`) is set, points
/// `SUFLER_HUNSPELL_DIR` at a dictionary that cannot be read, which turns the spelling rule
/// (C3) off: the engine then runs as it does on a machine without hunspell-ru, with C3 reported
/// under `disabled`. Whether it did is returned.
///
/// Why: C3 asks hunspell for suggestions for every unknown word, and fuzzed text is mostly
/// unknown words. Spellbook's suggestion search costs 80–170 ms a word uninstrumented, and far
/// more under the sanitizers: with it the target runs 3 inputs a second, and a 1 KB input of
/// made-up words takes ten minutes (a libFuzzer timeout). C3 only suggests, so it cannot change
/// a rewrite; the other rules, the segmenter, the rewrite and its fact guard are what this target
/// is for. `SUFLER_FUZZ_SPELLER=full bash fuzz/run.sh 600` fuzzes with the real dictionary.
fn turn_the_speller_off() -> bool {
    if std::env::var("SUFLER_FUZZ_SPELLER").is_ok_and(|v| v == "full")
        || std::env::var_os(spell::DICT_DIR_ENV).is_some()
    {
        return false;
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("hunspell-off");
    // Not UTF-8: `spell::load_default` cannot read it and disables the speller (it does not fall
    // back to the system's dictionary when the one named by the variable is broken).
    let broken: &[u8] = b"\xff\xfe not a dictionary\n";
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        for ext in ["aff", "dic"] {
            let path = dir.join(format!("{}.{ext}", spell::DICT_NAME));
            if std::fs::read(&path).ok().as_deref() != Some(broken) {
                // Written aside and renamed, so that parallel jobs never read half a file.
                let tmp = dir.join(format!("{}.{ext}.{}", spell::DICT_NAME, std::process::id()));
                std::fs::write(&tmp, broken)?;
                std::fs::rename(&tmp, &path)?;
            }
        }
        Ok(())
    });
    match written {
        Ok(()) => {
            std::env::set_var(spell::DICT_DIR_ENV, &dir);
            true
        }
        Err(e) => {
            eprintln!("check_rewrite: {}: {e}; fuzzing with the spelling rule on", dir.display());
            false
        }
    }
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
        first_message: [Some(true), Some(false), None][(hash % 3) as usize],
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
    for (fact, n) in facts(draft, ctx).into_iter().flatten() {
        let kept = out.text.matches(fact).count();
        assert!(
            kept >= n,
            "rewrite lost fact {fact:?} ({n} in the draft, {kept} in the rewrite)\ndraft: {draft:?}\nrewrite: {:?}\nctx: {ctx:?}",
            out.text
        );
    }
}

/// The facts of `draft` with their counts, as the rewrite's fact guard counts them: the
/// segmenter's protected tokens, less the client's name (rule B1 may drop it when it occurs too
/// often); then each quoted name as a whole. Two maps: a quoted name and a token may read alike.
fn facts<'t>(draft: &'t str, ctx: &Context) -> [HashMap<&'t str, usize>; 2] {
    let name_words: Vec<&str> = ctx.client_name().map(|n| n.split_whitespace().collect()).unwrap_or_default();
    let doc = Doc::new(draft, &name_words, &[]);
    let mut tokens = HashMap::new();
    for t in doc.tokens.iter().filter(|t| t.protected) {
        let fact = doc.slice(t);
        if !name_words.contains(&fact) {
            *tokens.entry(fact).or_insert(0) += 1;
        }
    }
    // A quoted name («Тариф Плюс») is a run of quoted, protected tokens from an opening quote to
    // a closing one (the segmenter protects the whole of a short quotation). A fact inside a long
    // quotation is quoted and protected too, but is neither preceded nor followed by a
    // protected quote mark.
    let mut names = HashMap::new();
    let in_name = |t: &Token| t.quoted && t.protected;
    let mut i = 0;
    while i < doc.tokens.len() {
        let first = i;
        while i < doc.tokens.len() && in_name(&doc.tokens[i]) {
            i += 1;
        }
        if i == first {
            i += 1;
            continue;
        }
        let (open, close) = (&doc.tokens[first], &doc.tokens[i - 1]);
        if i - first >= 2 && open.kind == TokenKind::Punct && close.kind == TokenKind::Punct {
            *names.entry(&draft[open.start..close.end]).or_insert(0) += 1;
        }
    }
    [tokens, names]
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
