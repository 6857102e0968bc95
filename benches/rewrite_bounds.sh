#!/usr/bin/env bash
# Times the CLI on the inputs of issue 19, finding 1 (no encoder): the fuzz input with the
# dialogue the harness derives (profile messenger-b2b, first message; the NUL characters of the
# client's name left out, as an argument cannot hold them), «Да. »×N at 128 KiB (A3 once
# rescanned the text per sentence) and «ты »×N (one fix per word). Prints wall time, peak memory
# and the draft's and the rewrite's length in characters; start-up (≈0.6 s in the debug build)
# is included, and a line with an empty draft shows it alone.
#
#   bash benches/rewrite_bounds.sh [path/to/sufler]     (default target/debug/sufler)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin="${1:-target/debug/sufler}"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT

python3 - "$dir" <<'PY'
import sys
d = sys.argv[1]
raw = open('fuzz/corpus/check_rewrite/regression-timeout-8311419.txt', 'rb').read()
text = raw.decode('utf-8', 'replace')
name, message = text.split(':', 1)
open(f'{d}/fuzz.txt', 'w').write(text)
open(f'{d}/fuzz.name', 'w').write(name.strip().replace('\0', ''))
open(f'{d}/fuzz.message', 'w').write(message.strip().replace('\0', ''))
open(f'{d}/da.txt', 'w').write(('Да. ' * 40000)[: 128 * 1024 // 2 - 16])
open(f'{d}/ty.txt', 'w').write(('ты ' * 40000)[: 128 * 1024 // 2 - 16])
open(f'{d}/empty.txt', 'w').write('')
PY

run() {
    local label="$1" draft="$2"
    shift 2
    local start end
    start=$(date +%s.%N)
    /usr/bin/time -f "%M" -o "$dir/rss" "$bin" rewrite --json --no-encoder "$@" <"$draft" >"$dir/out.json"
    end=$(date +%s.%N)
    python3 - "$label" "$draft" "$dir/out.json" "$start" "$end" "$(cat "$dir/rss")" <<'PY'
import json, sys
label, draft, out, start, end, rss = sys.argv[1:]
text = json.load(open(out))['text']
print(f"{label:<12} {float(end) - float(start):6.2f} s  {int(rss) // 1024:4d} MB  "
      f"draft {len(open(draft).read()):6d} chars → rewrite {len(text):6d} chars")
PY
}

run start-up "$dir/empty.txt"
run finding-1 "$dir/fuzz.txt" --profile messenger-b2b --first-message --client-name "$(cat "$dir/fuzz.name")" \
    --client-message "$(cat "$dir/fuzz.message")" --operator-name Ольга
run "Да. ×N" "$dir/da.txt"
run "ты ×N" "$dir/ty.txt"
