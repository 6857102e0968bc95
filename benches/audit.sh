#!/usr/bin/env bash
# `sufler audit` on a synthetic log (issue 7): memory stays bounded on a large file and the
# throughput is reported, in one run on one machine.
#
#   benches/audit.sh [SIZE] [ENCODER_SLICE]
#
# 1. eval/gen_dialogue_log.py writes a SIZE log (default 1G; seeded, 0.1 % malformed lines)
#    into target/audit-bench/ (reused when present: the file is big and the same seed gives
#    the same bytes).
# 2. The release binary audits the whole log without the encoder (every rule except D2, no
#    tone) under /usr/bin/time -v: wall time, messages/s, max RSS (goal: ≤ 500 MB).
# 3. With the encoder (D2's semantic match and the tone head on every operator message) on the
#    first ENCODER_SLICE of the same dialogues (default 20M): messages/s and max RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
size=${1:-1G}
slice=${2:-20M}
dir=target/audit-bench
mkdir -p "$dir"
log="$dir/log-$size.jsonl"
[ -s "$log" ] || python3 eval/gen_dialogue_log.py --bytes "$size" --out "$log" --seed 7
cargo build --release --quiet --bin sufler

run() { # name, log, extra flags...
    local name=$1 file=$2
    shift 2
    /usr/bin/time -v -o "$dir/$name.time" target/release/sufler audit "$file" "$@" \
        --json "$dir/$name.json" > "$dir/$name.out" 2> "$dir/$name.err"
    python3 - "$name" "$file" "$dir/$name.json" "$dir/$name.time" <<'PY'
import json, os, re, sys
name, log, report, timing = sys.argv[1:]
metrics = {m["id"]: m["value"] for m in json.load(open(report))["metrics"]}
time = open(timing).read()
rss_mb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", time).group(1)) / 1024
wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", time).group(1)
seconds = sum(float(p) * 60 ** i for i, p in enumerate(reversed(wall.split(":"))))
size_mb = os.path.getsize(log) / 2**20
print(f"{name:<12} {size_mb:>9.0f} {metrics['messages']:>11.0f} {seconds:>9.1f} "
      f"{metrics['messages'] / seconds:>11.0f} {size_mb / seconds:>8.1f} {rss_mb:>9.0f}")
PY
}

# The same seed gives the same dialogues: the slice is the big log's first SLICE bytes.
[ -s "$dir/slice-$slice.jsonl" ] || python3 eval/gen_dialogue_log.py --bytes "$slice" --out "$dir/slice-$slice.jsonl" --seed 7
printf '%-12s %9s %11s %9s %11s %8s %9s\n' run "log MB" messages "wall s" "messages/s" "MB/s" "max RSS MB"
run no-encoder "$log" --no-encoder
run encoder "$dir/slice-$slice.jsonl"
echo "(goal: max RSS ≤ 500 MB on the 1 GB log; reports in $dir/*.json)"
