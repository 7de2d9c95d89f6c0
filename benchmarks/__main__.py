"""Every benchmark, then one table: figure, ours, baseline (same run), ratio, Mesos' own figure.

    python -m benchmarks [--json] [--quick] [--only transport,allocator] [--timeout S]

Each benchmark runs as its own OS process (``python -m benchmarks.<name> --json``, with
``--quick`` when given: the smoke run CI does), one after another so they do not share the
cores; its last line of output is its JSON object. The summary rows are benchmarks/summary.py's.
With --json the last line is one JSON object: ``benchmarks`` (name -> that benchmark's own
object, every key it prints), ``summary`` (the rows) and ``failed`` (name -> why). The exit
status is 1 when a benchmark failed (the others still run and are summarised).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.summary import BENCHMARKS, rows, table

__all__ = ["main", "run_benchmark"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_benchmark(name: str, quick: bool, timeout: float) -> tuple[dict[str, Any] | None, str]:
    """(its JSON object, "") or (None, why it failed)."""
    argv = [sys.executable, "-m", f"benchmarks.{name}", "--json", *(["--quick"] if quick else [])]
    try:
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {timeout:g} s"
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return None, f"exited {done.returncode}: {tail[0][:300]}"
    try:
        figures = json.loads(lines[-1])
    except ValueError:
        return None, f"its last line is not JSON: {lines[-1][:200]!r}"
    if not isinstance(figures, dict):
        return None, f"its last line is not a JSON object: {lines[-1][:200]!r}"
    return figures, ""


def _names(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()] if text else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown benchmark {unknown[0]!r} (known: {', '.join(BENCHMARKS)})")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON line of every figure")
    parser.add_argument("--quick", action="store_true", help="each benchmark's smoke run (what CI does)")
    parser.add_argument("--only", type=_names, default=list(BENCHMARKS), metavar="A,B",
                        help=f"run only these (of {', '.join(BENCHMARKS)})")
    parser.add_argument("--timeout", type=float, default=0.0, metavar="S",
                        help="seconds allowed per benchmark (default 300 with --quick, else 3600)")
    args = parser.parse_args(argv)
    timeout = args.timeout or (300.0 if args.quick else 3600.0)
    results: dict[str, dict[str, Any]] = {}
    failed: dict[str, str] = {}
    for name in args.only:
        t0 = time.perf_counter()
        figures, why = run_benchmark(name, args.quick, timeout)
        took = time.perf_counter() - t0
        if figures is None:
            failed[name] = why
            print(f"{name}: FAILED after {took:.0f} s: {why}", file=sys.stderr, flush=True)
        else:
            results[name] = figures
            print(f"{name}: done in {took:.0f} s", file=sys.stderr, flush=True)
    summary = rows(results)
    print(table(summary), flush=True)
    for name, why in failed.items():
        print(f"FAILED {name}: {why}")
    if args.json:
        print(json.dumps({"benchmarks": results, "summary": [r._asdict() for r in summary], "failed": failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
