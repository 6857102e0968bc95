//! Fuzzes the style engine's `check` and `rewrite` over the dialogue around a draft, not only the
//! draft: the client's name (any text, one that holds its own first name, a name in a case
//! form), the operator's name, the client's messages, the profile, the dialogue position and how
//! often the name was already used (issue 19: a client name that contains its first name once
//! made a rewrite grow without bound).
//!
//! Input layout, so that a finding reproduces from its bytes alone: byte 0 holds the flags
//! (bits 0–1: first message yes / no / unknown; bits 2–4: name uses 0–7; bits 5–6: the profile;
//! bit 7: whether the client's clock time is given), byte 1 the clock time; the rest, decoded
//! as UTF-8 with invalid bytes replaced, is «client name\noperator name\nmessage|message…\ndraft»
//! (missing lines are left out of the context; the draft may span lines).
//!
//! Properties: those of `check_rewrite.rs` (no panic, errors only for an over-long draft, valid
//! spans, facts kept, bounded output), checked by `common::exercise`.
//!
//! Run it with `bash fuzz/run.sh [SECONDS]` from the repository root (it runs both targets).

#![no_main]

mod common;

use common::{engine, exercise};
use libfuzzer_sys::fuzz_target;
use sufler::style::{ClockTime, Context};

fuzz_target!(|data: &[u8]| {
    let (flags, clock, rest) = match data {
        [flags, clock, rest @ ..] => (*flags, *clock, rest),
        _ => (0, 0, data),
    };
    let text = String::from_utf8_lossy(rest);
    let mut lines = text.splitn(4, '\n');
    let some = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_string);
    let client_name = some(lines.next());
    let operator_name = some(lines.next());
    let client_messages = lines.next().map(|m| m.split('|').map(str::to_string).collect()).unwrap_or_default();
    let draft = lines.next().unwrap_or("");
    let engine = engine();
    let profiles = engine.profiles();
    let ctx = Context {
        client_name,
        client_messages,
        operator_name,
        first_message: [Some(true), Some(false), None, None][usize::from(flags & 3)],
        name_uses: u32::from((flags >> 2) & 7),
        client_time: (flags & 0x80 != 0).then_some(ClockTime { hour: clock % 24, minute: (clock / 4) % 60 }),
        profile: Some(profiles[usize::from((flags >> 5) & 3) % profiles.len()].name.clone()),
    };
    exercise(engine, draft, &ctx);
});
