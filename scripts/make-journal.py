#!/usr/bin/env python3
"""Builds a large picus-journal journal of synthetic but realistic entries, for measuring the read side.

    scripts/make-journal.py --entries 1000000 --db /tmp/million.sqlite [--cli .build/release/picus-journal]

The CLI creates and migrates the journal (so the schema is exactly the binary's); this script then
fills it in one transaction with Python's sqlite3. The mix: 60% succeeded, the rest spread over 422,
404, 400 (error_code 1001), 410, 503/429/504 (some queued, some succeeded on a later attempt), refused
connections, expired and pending entries, created over the last 30 days. Seeded, so runs repeat.
"""
import argparse
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid

PATHS = [
    ("GET", "/v1/agents", None), ("GET", "/v1/agents/{id}", None), ("GET", "/v1/simulations", "limit=25&offset=0"),
    ("POST", "/v1/simulations", None), ("GET", "/v1/simulations/{id}", None), ("POST", "/v1/simulations/{id}/simulate-now", None),
    ("GET", "/v1/templates", None), ("GET", "/v1/templates/{id}", None), ("GET", "/v1/integrations", None),
    ("GET", "/v2/mitigation/devices", None),
]

# (weight, final state, [(status, transport, message, error_code, errors, body_kind)] attempts in order)
VALIDATION = ("validation error", None, {"limit": "tag=max, param=50, given value=1000"})
OUTCOMES = [
    (60, "succeeded", [(200, None, None, None, None, None)]),
    (10, "failed", [(422, None, VALIDATION[0], None, VALIDATION[2], "json")]),
    (5, "failed", [(404, None, "not found error", None, None, "json")]),
    (3, "failed", [(400, None, "simulation_already_exist", "1001", None, "json")]),
    (2, "failed", [(410, None, "this endpoint is deprecated, use /v2/mitigation/devices", None, None, "json")]),
    (5, "succeeded", [(503, None, "service unavailable", None, None, "json"), (200, None, None, None, None, None)]),
    (4, "queued", [(503, None, "service unavailable", None, None, "json")]),
    (3, "queued", [(429, None, "rate limit exceeded", None, None, "json")]),
    (3, "queued", [(504, None, "504 Gateway Time-out", None, None, "html"), (504, None, "504 Gateway Time-out", None, None, "html")]),
    (2, "queued", [(None, "refused", "Could not connect to the server.", None, None, None)]),
    (1, "expired", [(503, None, "service unavailable", None, None, "json")] * 10),
    (1, "failed", [(500, None, "internal server error", None, None, "json")]),
    (1, "pending", []),
]


def endpoint(method, path):
    parts = ["{id}" if p.isdigit() else p for p in path.split("/")]
    return f"{method} {'/'.join(parts)}"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--db", required=True)
    parser.add_argument("--cli", default=".build/release/picus-journal")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()

    if os.path.exists(args.db):
        sys.exit(f"{args.db} exists; pass a new path")
    subprocess.run([args.cli, "replay", "--dry-run", "--db", args.db], check=True, stdout=subprocess.DEVNULL)

    rng = random.Random(args.seed)
    weights = [o[0] for o in OUTCOMES]
    now_ms = int(time.time() * 1000)
    month_ms = 30 * 86_400_000
    started = time.time()
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("BEGIN")
    entry_rows, attempt_rows = [], []

    def flush():
        db.executemany(
            "INSERT INTO entry (id, uuid, createdAt, updatedAt, origin, method, path, endpoint, query, requestHeaders, "
            "requestBody, state, attemptCount, lastStatus, lastTransportError, lastErrorMessage, lastErrorCode, nextAttemptAt) "
            "VALUES (?, ?, ?, ?, 'https://api.picussecurity.com', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", entry_rows)
        db.executemany(
            "INSERT INTO attempt (entryId, number, startedAt, durationMs, status, transportError, outcome, responseHeaders, "
            "errorMessage, errorCode, errors, bodyKind, body, bodySize) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            attempt_rows)
        entry_rows.clear()
        attempt_rows.clear()

    for entry_id in range(1, args.entries + 1):
        created = now_ms - int(month_ms * (1 - entry_id / args.entries)) - rng.randrange(1000)
        method, template, query = rng.choice(PATHS)
        path = template.replace("{id}", str(rng.randrange(1, 500)))
        weight_pick = rng.choices(OUTCOMES, weights)[0]
        _, state, attempts = weight_pick
        body = json.dumps({"simulation_name": f"sim-{entry_id}", "agent_id": 1}) if method == "POST" else None
        headers = json.dumps({"authorization": "Bearer <redacted>", "content-type": "application/json"}, sort_keys=True)
        t = created
        last = (None, None, None, None, None, None)
        for number, attempt in enumerate(attempts, start=1):
            status, transport, message, code, errors, kind = attempt
            outcome = "success" if status and 200 <= status < 300 else (
                "retryable" if status in (408, 429, 503, 504) or transport else "permanent")
            raw = None
            if kind == "json":
                raw = json.dumps({k: v for k, v in {"message": message, "error_code": int(code) if code else None,
                                                      "errors": errors}.items() if v is not None}).encode()
            elif kind == "html":
                raw = f"<html><head><title>{message}</title></head><body><h1>{message}</h1></body></html>".encode()
            attempt_rows.append((entry_id, number, t, round(rng.uniform(5, 400), 3), status, transport, outcome,
                                 json.dumps({"content-type": "text/html" if kind == "html" else "application/json"}) if status else None,
                                 message, code, json.dumps(errors, sort_keys=True) if errors else None, kind, raw,
                                 len(raw) if raw else None))
            last = attempt
            t += rng.randrange(1000, 600_000)
        status, transport, message, code, _, _ = last
        failed = state != "succeeded"
        entry_rows.append((entry_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)), created, t, method, path,
                           endpoint(method, path), query, headers, body, state, len(attempts), status, transport,
                           message if failed else None, code if failed else None,
                           t + 60_000 if state in ("queued", "pending") else None))
        if len(entry_rows) >= 20_000:
            flush()
    flush()
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    size = os.path.getsize(args.db)
    print(f"{args.entries} entries written to {args.db} in {time.time() - started:.1f} s ({size / 1e6:.0f} MB)")


if __name__ == "__main__":
    main()
