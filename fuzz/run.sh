#!/usr/bin/env bash
# Fuzzes the style engine's check and rewrite for SECONDS in all (default 60), split evenly
# between the two targets — over drafts (fuzz/fuzz_targets/check_rewrite.rs) and over the
# dialogue around a draft (check_rewrite_context.rs) — and exits non-zero on a finding (panic,
# failed property, crash, timeout, OOM).
#
#   bash fuzz/run.sh [SECONDS]
#
# Works from any directory, on the stable toolchain: cargo-fuzz passes nightly-only flags
# (-Zsanitizer, sanitizer coverage), which stable rustc accepts with RUSTC_BOOTSTRAP=1. The
# target is built as cargo fuzz builds by default: optimised (release), with debug assertions,
# overflow checks and AddressSanitizer.
#
# The committed seeds (fuzz/corpus/<target>/*.txt) are only read: new inputs go to a temporary
# working corpus per target, removed at exit (or under $SUFLER_FUZZ_CORPUS/<target>, kept, if
# set). A finding is saved under fuzz/artifacts/<target>/ and reproduced with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> fuzz/artifacts/<target>/<file>
#
# Environment: SUFLER_FUZZ_CORPUS (above); SUFLER_FUZZ_TARGET_DIR, a build directory instead of
# fuzz/target (one kept between runs saves the half-hour cold build); SUFLER_FUZZ_SPELLER=full
# to fuzz with the spelling rule on (slow: see fuzz/fuzz_targets/check_rewrite.rs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]] || [ "$seconds" -lt 2 ]; then
    echo "usage: bash fuzz/run.sh [SECONDS]  (at least 2: one for each target)" >&2
    exit 2
fi
targets=(check_rewrite check_rewrite_context)

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

if [ -n "${SUFLER_FUZZ_CORPUS:-}" ]; then
    work="$SUFLER_FUZZ_CORPUS"
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
for target in "${targets[@]}"; do
    cargo fuzz build "${build[@]}" "$target"
done

# libFuzzer options:
#   -max_len=4096        drafts are chat messages; the seeds' longest lines fit, and longer
#                        inputs only slow the run down (the 128 KB limit is tested in tests/).
#   -rss_limit_mb=4096   the engine holds the Russian morphology and hunspell dictionaries
#                        (a few hundred MB under AddressSanitizer); 4 GB still catches a leak
#                        or a blow-up on a 24 GB machine.
#   -timeout=60          one input (two checks and two rewrites of at most 4 KB) taking a
#                        minute is a finding.
#   -dict                words, marks and fact shapes of operator drafts.
# The first corpus directory receives new inputs; the committed seeds are only read. Both
# targets use the same dictionary (the context target's names and messages are drafts' words).
share=$((seconds / ${#targets[@]}))
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    status=0
    cargo fuzz run "${build[@]}" "$target" "$work/$target" "fuzz/corpus/$target" -- \
        -max_total_time="$share" \
        -max_len=4096 \
        -rss_limit_mb=4096 \
        -timeout=60 \
        -dict=fuzz/check_rewrite.dict \
        -print_final_stats=1 || status=$?
    if [ "$status" -ne 0 ]; then
        echo "fuzz/run.sh: FINDING in $target (exit $status); inputs in fuzz/artifacts/$target/:" >&2
        ls -l "fuzz/artifacts/$target/" >&2 2>/dev/null || true
        exit "$status"
    fi
    echo "fuzz/run.sh: $target: no finding in ${share}s; working corpus: $(find "$work/$target" -type f | wc -l) inputs"
done
