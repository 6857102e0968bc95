#!/usr/bin/env bash
# HTTP load test of `sufler serve` (issue 6): a release server on loopback with tokens, 50
# connections for 30 s on a mix of POST /v1/suggest, /v1/check and /v1/rewrite, measured with
# oha, beside the encoder's own batch throughput (`sufler bench encoder --json`) measured in the
# same run on the same machine.
#
#   benches/http_load.sh [SECONDS] [SUGGEST_CONNS CHECK_CONNS REWRITE_CONNS]
#
# oha sends one URL per run, so the mix is three oha processes started together, one per
# endpoint, whose connection counts add up to 50 (default 20 suggest + 15 check + 15 rewrite);
# each reads its bodies line by line from a file (-Z), so the requests carry different client
# messages and drafts (from eval/chat-messages.txt) rather than one cached text. Every response
# is stored by oha in SQLite (--db-url), so the latency percentiles per endpoint and overall are
# exact, not merged from three summaries. An error is any non-2xx answer or any failed request.
#
# Two phases, each on its own fresh dialogues:
# 1. capacity — a closed loop: every connection sends its next request as soon as the last
#    one is answered. It measures throughput (the ratio goal); its latency is queueing by
#    construction (Little's law: mean latency = 50 connections / throughput).
# 2. latency — an open loop at a fixed rate (oha -q, split over the endpoints in proportion to
#    their connections, with --latency-correction so a stalled server is not hidden by
#    coordinated omission): the p99 goal, measured at RATE requests/s (default: 0.4 × the
#    encoder's batch throughput, about 45 % of the capacity — a server runs below its capacity,
#    not at it).
#
# Prints per phase: requests, errors (must be 0), p50/p99 per endpoint and overall, throughput
# (requests/s), the texts the server's encoder embedded and the cache hits (from /metrics), and
# the ratio of throughput to the encoder's batch throughput, beside the goals (ratio >= 0.8,
# p99 <= 50 ms). Exit 1 when a request failed; the goals are reported, not enforced. Needs oha
# (cargo install oha --locked), curl and python3. Sends traffic to 127.0.0.1 only.
# SERVE_ARGS (environment) passes extra flags to `sufler serve` (e.g. --batch-tokens 2048).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
conns=("${2:-20}" "${3:-15}" "${4:-15}")
target=${CARGO_TARGET_DIR:-target}

command -v oha >/dev/null || { echo "http_load: installing oha" >&2; cargo install oha --locked; }
command -v curl >/dev/null || { echo "http_load: curl is missing (apt-get install curl)" >&2; exit 1; }
echo "http_load: building release" >&2
cargo build --release --quiet --bin sufler
bin=$target/release/sufler
model=models/cache/multilingual-e5-small
[ -f "$model/config.json" ] || { echo "http_load: $model is missing: run ./setup" >&2; exit 1; }
export SUFLER_MODEL_DIR=$PWD/$model

work=$(mktemp -d "${TMPDIR:-/tmp}/sufler-http-load.XXXXXX")
server=""
oha_pids=()
cleanup() {
    for p in "${oha_pids[@]}"; do kill "$p" 2>/dev/null || true; done
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The encoder alone, before the server starts (nothing else competes for the cores).
echo "http_load: sufler bench encoder --json" >&2
"$bin" bench encoder --json > "$work/encoder.json"

# Request bodies, one JSON per line. Every line is a different dialogue: the client's message
# (from eval/chat-messages.txt) and the draft carry that dialogue's own order number, and there
# are more lines than a run sends, so the server's embedding cache only hits what real work on
# one dialogue repeats (suggest and answer-all both embed a one-sentence client question), never
# a text replayed from an earlier cycle of the file.
bodies() {
python3 - "$work/$1" "$2" <<'EOF'
import json, os, sys
work, base = sys.argv[1], int(sys.argv[2])
os.makedirs(work, exist_ok=True)
messages = [l.strip() for l in open("eval/chat-messages.txt", encoding="utf-8") if l.strip()]
drafts = [
    "привет, щас гляну твой заказ {n}!!! подожди",
    "Здравствуйте! Ваш заказ {n} передан в доставку, курьер приедет завтра с 10 до 14.",
    "ты где взял этот номер? напиши номер заказа, у меня {n} не находится",
    "Добрый день, проверю заказ {n} и вернусь к Вам через 5 минут",
    "ок, щас посмотрю че там с оплатой по {n}",
    "Здравствуйте, Анна! Деньги по заказу {n} вернутся на карту в течение 10 рабочих дней.",
]
lines = 60000
with open(f"{work}/suggest.jsonl", "w", encoding="utf-8") as s, open(f"{work}/draft.jsonl", "w", encoding="utf-8") as d:
    for i in range(lines):
        n = f"{base + i * 7919 % 1_000_000}"
        client = f"{messages[i % len(messages)]} Заказ {n}."
        dialogue = [{"role": "client", "text": client}]
        s.write(json.dumps({"dialogue": dialogue, "client": {"name": "Анна"}, "k": 3}, ensure_ascii=False) + "\n")
        d.write(json.dumps({"text": drafts[i % len(drafts)].format(n=n), "dialogue": dialogue,
                            "client": {"name": "Анна"}}, ensure_ascii=False) + "\n")
EOF
}
bodies capacity 4000000
bodies latency 5000000
bodies warmup 6000000

# The server, with tokens.
token=$(python3 -c "import secrets; print(secrets.token_hex(16))")
SUFLER_TOKENS="operator=op-$token,admin=ad-$token" "$bin" serve --addr 127.0.0.1:0 --db "$work/library.db" --init ${SERVE_ARGS:-} \
    2> "$work/server.log" &
server=$!
port=""
for _ in $(seq 600); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
    if [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/readyz" >/dev/null; then break; fi
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || { echo "http_load: server not ready" >&2; exit 1; }
url=http://127.0.0.1:$port
auth="Authorization: Bearer op-$token"
admin="Authorization: Bearer ad-$token"

# Warm-up: every endpoint a few times.
for i in 1 2 3 4 5; do
    curl -sf -H "$auth" -H 'Content-Type: application/json' -d "$(sed -n "${i}p" "$work/warmup/suggest.jsonl")" "$url/v1/suggest" >/dev/null
    curl -sf -H "$auth" -H 'Content-Type: application/json' -d "$(sed -n "${i}p" "$work/warmup/draft.jsonl")" "$url/v1/check" >/dev/null
    curl -sf -H "$auth" -H 'Content-Type: application/json' -d "$(sed -n "${i}p" "$work/warmup/draft.jsonl")" "$url/v1/rewrite" >/dev/null
done

# run_phase NAME [RATE]: the three oha processes together, then the phase's report.
run_phase() {
    local phase=$1 rate=${2:-} dir=$work/$1 rate_args=("" "" "")
    curl -sf -H "$admin" "$url/metrics" > "$dir/metrics-before.txt"
    echo "http_load: $phase: ${seconds}s, connections suggest ${conns[0]} + check ${conns[1]} + rewrite ${conns[2]}${rate:+, $rate requests/s}" >&2
    if [ -n "$rate" ]; then
        local total_conns=$((conns[0] + conns[1] + conns[2]))
        for i in 0 1 2; do
            rate_args[$i]="-q $(python3 -c "print(max(1, round($rate * ${conns[$i]} / $total_conns)))") --latency-correction"
        done
    fi
    local endpoints=(suggest check rewrite) files=(suggest draft draft)
    for i in 0 1 2; do
        local e=${endpoints[$i]}
        # shellcheck disable=SC2086
        oha -z "${seconds}s" -w -c "${conns[$i]}" ${rate_args[$i]} -m POST -H "$auth" -T application/json \
            -Z "$dir/${files[$i]}.jsonl" --no-tui --output-format json --db-url "$dir/$e.db" "$url/v1/$e" \
            > "$dir/$e.json" 2> "$dir/$e.err" &
        oha_pids+=($!)
    done
    for p in "${oha_pids[@]}"; do wait "$p"; done
    oha_pids=()
    curl -sf -H "$admin" "$url/metrics" > "$dir/metrics-after.txt"
    cp "$work/encoder.json" "$dir/"
    python3 benches/http_load_report.py "$dir" "$seconds" "${conns[@]}" ${rate:+--rate "$rate"} || failed=1
}

failed=0
run_phase capacity
capacity=$(python3 -c "
import json
runs = [json.load(open('$work/capacity/' + e + '.json')) for e in ('suggest', 'check', 'rewrite')]
print(round(sum(sum(r['statusCodeDistribution'].values()) for r in runs) / max(r['summary']['total'] for r in runs)))")
# The latency phase's default rate: 0.4 × the encoder's own batch throughput, the same
# reference as the ratio goal (the capacity phase's own figure moves ±10 % between runs).
latency_rate=$(python3 -c "import json; print(round(0.4 * json.load(open('$work/encoder.json'))['batch_texts_per_s']))")
echo "http_load: capacity $capacity requests/s" >&2
run_phase latency "${RATE:-$latency_rate}"
exit $failed
