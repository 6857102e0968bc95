#!/usr/bin/env bash
# The attack load test of issue 19 (finding 2): a release `sufler serve --dev` on loopback gets
# pathological requests (5 000-character texts) and, meanwhile, one ordinary suggestion a second;
# then SIGTERM with slow requests in flight. benches/attack_load.py sends the requests and prints
# the numbers (what each phase does and the goals are in its docstring).
#
#   benches/attack_load.sh [TIMEOUT_SECONDS]       (default 10, the server's --timeout default)
#
# SUFLER_BIN (environment) runs another build instead of building this checkout (e.g. an older
# binary, for a before/after comparison); SECONDS_PER_PHASE (default 20) and SLOW (default 3)
# shape the phases. Needs curl and python3. Sends traffic to 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
timeout=${1:-10}
target=${CARGO_TARGET_DIR:-target}
if [ -z "${SUFLER_BIN:-}" ]; then
    echo "attack_load: building release" >&2
    cargo build --release --quiet --bin sufler
fi
bin=${SUFLER_BIN:-$target/release/sufler}
model=models/cache/multilingual-e5-small
[ -f "$model/config.json" ] || { echo "attack_load: $model is missing: run ./setup" >&2; exit 1; }
export SUFLER_MODEL_DIR=$PWD/$model

work=$(mktemp -d "${TMPDIR:-/tmp}/sufler-attack-load.XXXXXX")
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

init=""
[[ $("$bin" serve --help) == *--init* ]] && init=--init   # older builds create the file anyway
RUST_LOG=warn "$bin" serve --dev --addr 127.0.0.1:0 --db "$work/library.db" $init --timeout "$timeout" \
    2> "$work/server.log" &
server=$!
port=""
for _ in $(seq 1 600); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
    if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.5
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "attack_load: server not ready" >&2; exit 1; }
echo "attack_load: $bin on port $port, --timeout $timeout s, $(nproc) cores" >&2
python3 benches/attack_load.py "$port" "$server" "$timeout"
wait "$server" 2>/dev/null || true
server=""
