#!/usr/bin/env python3
"""schemathesis (v4 CLI) against a running `sufler serve`'s /openapi.json.

    python3 tests/python/run_schemathesis.py URL TOKEN [--max-examples N] [--max-time S] [--report-dir DIR] [EXTRA...]

Runs the CLI in-process (no reliance on the `schemathesis` script being on PATH) with the checks
the API promises: no 5xx (`not_a_server_error`), bodies that match the documented schemas
(`response_schema_conformance`) and only documented statuses (`status_code_conformance`); every
request carries `Authorization: Bearer TOKEN` (an admin token, so every route is authorised).
The number of cases is bounded (`--max-examples` per operation; `--max-time` is off by default
because schemathesis 4 then repeats fuzzing until the time is spent) and generation is
deterministic, so a run is repeatable and ends within a minute or two on 2 cores. Unknown
arguments go to `schemathesis run` as they are. Exit code: schemathesis's own (0: no failure).
With --report-dir, JUnit and HAR reports are written there and the statuses each operation got
are printed (which routes got past validation).
"""

import argparse
import sys

from schemathesis.cli import schemathesis

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("token")
    ap.add_argument("--max-examples", type=int, default=300)
    ap.add_argument("--max-time", type=int, default=0, help="seconds; fuzzing repeats until spent (0: off)")
    ap.add_argument("--report-dir")
    args, extra = ap.parse_known_args()
    url = args.url.rstrip("/")
    argv = [
        "run",
        f"{url}/openapi.json",
        "--url",
        url,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {args.token}",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        "20240601",
        "--generation-deterministic",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        "--phases",
        "examples,coverage,fuzzing",
        "--suppress-health-check",
        "all",
        "--output-truncate",
        "false",
        "--output-sanitize",
        "false",
        "--no-color",
    ]
    if args.max_time > 0:
        argv += ["--max-time", str(args.max_time)]
    if args.report_dir:
        argv += ["--report", "junit,har", "--report-dir", args.report_dir]
    argv += [a for a in extra if a != "--"]
    print("schemathesis", " ".join(a if "Bearer" not in a else "Authorization: Bearer ***" for a in argv), flush=True)
    sys.argv = ["schemathesis", *argv]
    try:
        schemathesis(prog_name="schemathesis")
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if args.report_dir:
        summarize(args.report_dir)
    sys.exit(code)


def summarize(report_dir):
    """Statuses per operation from the HAR report: shows which routes got past validation."""
    import collections
    import glob
    import json
    import re

    counts = collections.defaultdict(collections.Counter)
    for path in glob.glob(f"{report_dir}/har-*.json"):
        with open(path, encoding="utf-8") as f:
            har = json.load(f)
        for entry in har["log"]["entries"]:
            method = entry["request"]["method"]
            url = re.sub(r"^https?://[^/]+", "", entry["request"]["url"]).split("?")[0]
            url = re.sub(r"^/v1/templates/[^/]+", "/v1/templates/{id}", url)
            counts[f"{method} {url}"][entry["response"]["status"]] += 1
    print("\nresponses by operation (from the HAR report):")
    for op in sorted(counts):
        print(f"  {op:40} " + ", ".join(f"{s}×{n}" for s, n in sorted(counts[op].items())))


if __name__ == "__main__":
    main()
