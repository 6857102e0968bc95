#!/usr/bin/env python3
"""The figures of benches/http_load.sh from oha's per-request SQLite files and JSON summaries.

    python3 benches/http_load_report.py WORKDIR SECONDS SUGGEST_CONNS CHECK_CONNS REWRITE_CONNS [--rate N]

WORKDIR holds {suggest,check,rewrite}.{db,json}, encoder.json and metrics-{before,after}.txt.
Exit 1 when any request failed (a non-2xx answer or a transport error).
"""

import json
import math
import re
import sqlite3
import sys

GOAL_RATIO = 0.8
GOAL_P99_MS = 50.0


def percentile(sorted_values, q):
    """Nearest-rank percentile (as sufler's own benches compute it)."""
    if not sorted_values:
        return float("nan")
    rank = min(max(math.ceil(q * len(sorted_values)), 1), len(sorted_values))
    return sorted_values[rank - 1]


def metric_sum(path, name):
    total = 0.0
    for line in open(path, encoding="utf-8"):
        if line.startswith(name) and not line.startswith("#"):
            m = re.match(r"^[^\s{]+(\{[^}]*\})?\s+([0-9.eE+-]+|NaN)", line)
            if m and m.group(2) != "NaN":
                total += float(m.group(2))
    return total


def main():
    rate = None
    if "--rate" in sys.argv:
        at = sys.argv.index("--rate")
        rate = float(sys.argv[at + 1])
        del sys.argv[at : at + 2]
    work, seconds = sys.argv[1], float(sys.argv[2])
    conns = dict(zip(("suggest", "check", "rewrite"), map(int, sys.argv[3:6])))
    rows, all_ms, errors_total, requests_total = [], [], 0, 0
    for endpoint, c in conns.items():
        db = sqlite3.connect(f"{work}/{endpoint}.db")
        answers = db.execute("SELECT end - COALESCE(start_latency_correction, start), status FROM oha").fetchall()
        summary = json.load(open(f"{work}/{endpoint}.json", encoding="utf-8"))
        transport_errors = sum(summary.get("errorDistribution", {}).values())
        bad_status = sum(1 for a in answers if not 200 <= a[1] < 300)
        ms = sorted(a[0] * 1e3 for a in answers if 200 <= a[1] < 300)
        statuses = summary.get("statusCodeDistribution", {})
        n = len(answers) + transport_errors
        duration = summary["summary"]["total"]
        rows.append((endpoint, c, n, bad_status + transport_errors, n / duration, percentile(ms, 0.5),
                     percentile(ms, 0.99), statuses, summary.get("errorDistribution", {})))
        all_ms += ms
        errors_total += bad_status + transport_errors
        requests_total += n
    all_ms.sort()
    # The three runs start together: the wall time of the mix is the longest run (each is
    # SECONDS plus the requests in flight at the deadline, which -w waits for).
    wall = max(json.load(open(f"{work}/{e}.json"))["summary"]["total"] for e in conns)
    rps = requests_total / wall
    encoder = json.load(open(f"{work}/encoder.json", encoding="utf-8"))
    enc_rps = encoder["batch_texts_per_s"]
    texts = metric_sum(f"{work}/metrics-after.txt", "sufler_encoder_batch_texts_sum") - metric_sum(
        f"{work}/metrics-before.txt", "sufler_encoder_batch_texts_sum")
    batches = metric_sum(f"{work}/metrics-after.txt", "sufler_encoder_batch_texts_count") - metric_sum(
        f"{work}/metrics-before.txt", "sufler_encoder_batch_texts_count")

    loop = f"open loop at {rate:g} requests/s (latency-corrected)" if rate else "closed loop"
    print(f"\nsufler serve under load: {int(seconds)} s, {sum(conns.values())} connections, {loop}, loopback, oha")
    print(f"{'endpoint':<10}{'conns':>6}{'requests':>10}{'errors':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for endpoint, c, n, err, r, p50, p99, statuses, errs in rows:
        extra = f" transport errors {errs}" if errs else ""
        print(f"{endpoint:<10}{c:>6}{n:>10}{err:>8}{r:>9.1f}{p50:>9.1f}{p99:>9.1f}  {statuses}{extra}")
    p50, p99 = percentile(all_ms, 0.5), percentile(all_ms, 0.99)
    print(f"{'overall':<10}{sum(conns.values()):>6}{requests_total:>10}{errors_total:>8}{rps:>9.1f}{p50:>9.1f}{p99:>9.1f}")
    print(f"\nencoder alone (sufler bench encoder --json): {enc_rps:.1f} texts/s batch, "
          f"{encoder['threads']} threads, {encoder['weights']} weights, single text p50 {encoder['p50_ms']:.1f} ms")
    if batches:
        print(f"server's encoder during the run: {texts:.0f} texts in {batches:.0f} batches "
              f"(mean batch {texts / batches:.1f}), {texts / wall:.1f} texts/s")
    hits, misses = (metric_sum(f"{work}/metrics-after.txt", name) - metric_sum(f"{work}/metrics-before.txt", name)
                    for name in ("sufler_encoder_cache_hits_total", "sufler_encoder_cache_misses_total"))
    if hits + misses:
        print(f"embedding cache: {hits:.0f} hits, {misses:.0f} misses ({hits / (hits + misses):.0%} of texts "
              f"served without the encoder)")
    ratio = rps / enc_rps
    if rate:
        print(f"\nlatency phase (open loop at {rate:g} requests/s, {ratio:.2f} of the encoder's batch throughput): "
              f"overall p99 {p99:.1f} ms   goal ≤ {GOAL_P99_MS:.0f} ms: {'met' if p99 <= GOAL_P99_MS else 'NOT met'}")
    else:
        print(f"\ncapacity phase: throughput ratio (requests/s ÷ encoder batch texts/s) {ratio:.2f}   "
              f"goal ≥ {GOAL_RATIO}: {'met' if ratio >= GOAL_RATIO else 'NOT met'}")
        print(f"(a closed loop's latency is queueing: {sum(conns.values())} connections / {rps:.0f} requests/s = "
              f"{sum(conns.values()) / rps * 1e3:.0f} ms mean by Little's law; the p99 goal is the latency phase's)")
    print(f"errors: {errors_total} (must be 0)")
    sys.exit(1 if errors_total else 0)


if __name__ == "__main__":
    main()
