#!/usr/bin/env python3
"""Times the read side of picus-journal on a large journal (see make-journal.py) and reports peak memory.

    scripts/measure-read-side.py --db /tmp/million.sqlite [--cli .build/release/picus-journal] [--runs 5]

Each command runs --runs times; the table shows the median wall time and the largest peak RSS
(from wait4's rusage of that very process). Exports go to a file in a temporary folder.
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time


def run(cli, arguments):
    started = time.perf_counter()
    process = subprocess.Popen([cli] + arguments, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    stderr = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(arguments)} failed: {stderr}")
    return elapsed, usage.ru_maxrss / 1024, stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", required=True)
    parser.add_argument("--cli", default=".build/release/picus-journal")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    out = tempfile.mkdtemp(prefix="picus-journal-measure-")
    entries = int(subprocess.run(["sqlite3", args.db, "SELECT COUNT(*) FROM entry"], capture_output=True, text=True).stdout or 0) \
        if subprocess.run(["which", "sqlite3"], capture_output=True).returncode == 0 else None
    empty = os.path.join(out, "empty.sqlite")
    subprocess.run([args.cli, "replay", "--dry-run", "--db", empty], check=True, stdout=subprocess.DEVNULL)
    baseline = [run(args.cli, ["list", "--db", empty])[0] for _ in range(args.runs)]
    print(f"baseline: `list` on an empty journal (process start, open, migrate check): {statistics.median(baseline):.3f} s")
    commands = [
        ("list --status 422 --since 7d --limit 50", ["list", "--status", "422", "--since", "7d", "--limit", "50", "--format", "json"]),
        ("list (newest 50, table)", ["list"]),
        ("list --grep gateway --limit 50", ["list", "--grep", "gateway", "--limit", "50", "--format", "json"]),
        ("list --path '/v1/simulations*' --state queued", ["list", "--path", "/v1/simulations*", "--state", "queued", "--format", "json"]),
        ("stats", ["stats"]),
        ("stats --by day", ["stats", "--by", "day"]),
        ("export --format ndjson (all)", ["export", "--format", "ndjson", "-o", os.path.join(out, "all.ndjson")]),
        ("export --format har --since 7d", ["export", "--format", "har", "--since", "7d", "-o", os.path.join(out, "week.har")]),
        ("export --format csv --status 5xx", ["export", "--format", "csv", "--status", "5xx", "-o", os.path.join(out, "5xx.csv")]),
    ]
    print(f"journal: {args.db} ({os.path.getsize(args.db) / 1e6:.0f} MB{f', {entries} entries' if entries else ''}), "
          f"median of {args.runs} runs")
    print(f"{'command':48} {'median s':>9} {'min s':>7} {'peak RSS MB':>12}  notes")
    for name, arguments in commands:
        runs = [run(args.cli, arguments + ["--db", args.db]) for _ in range(args.runs if "export" not in name else max(1, args.runs // 2))]
        times = [r[0] for r in runs]
        peak = max(r[1] for r in runs)
        note = ""
        if "exported" in runs[0][2]:
            exported = int(runs[0][2].split("exported ")[1].split(" ")[0])
            note = f"{exported} entries, {exported / statistics.median(times):,.0f} entries/s"
        print(f"{name:48} {statistics.median(times):9.3f} {min(times):7.3f} {peak:12.1f}  {note}")


if __name__ == "__main__":
    main()
