#!/usr/bin/env bash
# Fuzzes the style engine's check and rewrite (fuzz/fuzz_targets/check_rewrite.rs) for SECONDS
# (default 60) and exits non-zero on a finding (panic, failed property, crash, timeout, OOM).
#
#   bash fuzz/run.sh [SECONDS]
#
# Works from any directory, on the stable toolchain: cargo-fuzz passes nightly-only flags
# (-Zsanitizer, sanitizer coverage), which stable rustc accepts with RUSTC_BOOTSTRAP=1. The
# target is built as cargo fuzz builds by default: optimised (release), with debug assertions,
# overflow checks and AddressSanitizer.
#
# The committed seeds (fuzz/corpus/check_rewrite/*.txt) are only read: new inputs go to a
# temporary working corpus, removed at exit (or to $SUFLER_FUZZ_CORPUS, kept, if set). A finding
# is saved under fuzz/artifacts/check_rewrite/ and reproduced with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run check_rewrite fuzz/artifacts/check_rewrite/<file>
#
# Environment: SUFLER_FUZZ_CORPUS (above); SUFLER_FUZZ_TARGET_DIR, a build directory instead of
# fuzz/target (one kept between runs saves the half-hour cold build); SUFLER_FUZZ_SPELLER=full
# to fuzz with the spelling rule on (slow: see fuzz/fuzz_targets/check_rewrite.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: bash fuzz/run.sh [SECONDS]" >&2
    exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

# The stable toolchain where rustup has one (a machine may also have a nightly as its default).
if [ -z "${RUSTUP_TOOLCHAIN:-}" ] && command -v rustup >/dev/null 2>&1 \
    && rustup toolchain list 2>/dev/null | grep -q '^stable'; then
    export RUSTUP_TOOLCHAIN=stable
fi
export RUSTC_BOOTSTRAP=1

seeds=fuzz/corpus/check_rewrite
if [ -n "${SUFLER_FUZZ_CORPUS:-}" ]; then
    work="$SUFLER_FUZZ_CORPUS"
    mkdir -p "$work"
else
    work="$(mktemp -d "${TMPDIR:-/tmp}/sufler-fuzz-corpus.XXXXXX")"
    trap 'rm -rf "$work"' EXIT
fi

# No sanitizer by default: the harness runs safe code paths (no encoder), panics and failed
# properties are caught without one, and an AddressSanitizer build of the whole dependency tree
# took 32 min on 2 cores (CI has 90 min for everything). SUFLER_FUZZ_SANITIZER=address restores it.
build=(--sanitizer "${SUFLER_FUZZ_SANITIZER:-none}")
if [ -n "${SUFLER_FUZZ_TARGET_DIR:-}" ]; then
    build+=(--target-dir "$SUFLER_FUZZ_TARGET_DIR")
fi

# Build first, so that the build's time is not taken from the fuzzing time and a build error
# is told apart from a finding.
cargo fuzz build "${build[@]}" check_rewrite

# libFuzzer options:
#   -max_len=4096        drafts are chat messages; the seeds' longest lines fit, and longer
#                        inputs only slow the run down (the 128 KB limit is tested in tests/).
#   -rss_limit_mb=4096   the engine holds the Russian morphology and hunspell dictionaries
#                        (a few hundred MB under AddressSanitizer); 4 GB still catches a leak
#                        or a blow-up on a 24 GB machine.
#   -timeout=60          one input (two checks and two rewrites of at most 4 KB) taking a
#                        minute is a finding.
#   -dict                words, marks and fact shapes of operator drafts.
# The first corpus directory receives new inputs; the committed seeds are only read.
status=0
cargo fuzz run "${build[@]}" check_rewrite "$work" "$seeds" -- \
    -max_total_time="$seconds" \
    -max_len=4096 \
    -rss_limit_mb=4096 \
    -timeout=60 \
    -dict=fuzz/check_rewrite.dict \
    -print_final_stats=1 || status=$?

if [ "$status" -ne 0 ]; then
    echo "fuzz/run.sh: FINDING (exit $status); inputs in fuzz/artifacts/check_rewrite/:" >&2
    ls -l fuzz/artifacts/check_rewrite/ >&2 2>/dev/null || true
    exit "$status"
fi
echo "fuzz/run.sh: no finding in ${seconds}s; working corpus: $(find "$work" -type f | wc -l) inputs"
