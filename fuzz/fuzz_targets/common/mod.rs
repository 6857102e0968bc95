//! What the fuzz targets share: the engine, loaded once per process, and the properties every
//! check and rewrite must have (see `check_rewrite.rs` for the list).

use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;

use sufler::style::spell;
use sufler::style::{Context, StyleEngine, MAX_DRAFT_BYTES};
use sufler::text::segment::{Doc, Token, TokenKind};
use sufler::Error;

/// The engine with its rules, word lists, profiles and dictionaries, loaded once per process
/// (the morphology and spelling dictionaries take seconds to load).
pub fn engine() -> &'static StyleEngine {
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

/// Checks and rewrites `draft` under `ctx` and asserts the properties of the module docs.
pub fn exercise(engine: &StyleEngine, draft: &str, ctx: &Context) {
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
    // Bounded output (issue 19): twice the draft, plus a greeting and an introduction with the
    // names in them, plus 64 characters of slack.
    let names =
        [ctx.client_name(), ctx.operator_name()].into_iter().flatten().map(|n| n.chars().count()).sum::<usize>();
    let bound = 2 * chars
        + "Здравствуйте, ! Меня зовут {operator}, я помогу Вам.".chars().count()
        + names
        + 64;
    assert!(
        out_chars <= bound,
        "rewrite grew {chars} chars to {out_chars} (bound {bound})\ndraft: {draft:?}\nctx: {ctx:?}"
    );
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
    // Without an encoder the meaning guard cannot run: an edit is withheld only by the
    // never-worse guard or the growth limit, each with its «Правка не применена: …» reason —
    // or the whole rewrite of a rude draft is refused (A10), which leaves the draft as it is.
    assert!(out.similarity.is_none(), "meaning guard ran without an encoder");
    let refusal = |e: &sufler::style::Edit| e.rule == "no-rudeness" && e.after.is_empty();
    if out.withheld.iter().any(refusal) {
        assert!(
            out.text == draft && out.edits.is_empty() && out.withheld.len() == 1,
            "a refused rewrite changed the draft: {out:?}\ndraft: {draft:?}"
        );
    }
    assert!(
        out.withheld.iter().all(|e| e.reason.starts_with("Правка не применена") || refusal(e)),
        "an edit withheld without a guard's reason: {:?}\ndraft: {draft:?}\nctx: {ctx:?}",
        out.withheld
    );
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
