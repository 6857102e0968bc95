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
//! 4. The rewrite is bounded: at most twice the draft plus a greeting and an introduction (with
//!    the client's and the operator's names) and 64 characters.
//!
//! The spelling rule is off unless `SUFLER_FUZZ_SPELLER=full` (see `common::turn_the_speller_off`).
//! `check_rewrite_context.rs` fuzzes the dialogue around the draft as well.
//!
//! Run it with `bash fuzz/run.sh [SECONDS]` from the repository root.

#![no_main]

mod common;

use common::{engine, exercise};
use libfuzzer_sys::fuzz_target;
use sufler::style::{ClockTime, Context, StyleEngine};

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
