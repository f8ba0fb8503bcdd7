"""Benchmark: ``make annotate`` end to end and cold on the UN General Debate slice, against the floor of reading it.

Two measurements in one run, on the same corpus (``../shared/corpora/ungdc-2015-2024``, read in place):

1. **cold** ``make annotate`` into a fresh temporary ``REPORTS`` and ``BUILD``: the input check, ingest
   (cleaning, paragraph split) and annotation with evidence, as a user runs it the first time. Figure:
   body paragraphs coded per second of wall time (target: at least 20,000/s).
2. **the floor**: read every file the manifest names and split it into paragraphs at line breaks in plain
   Python, with nothing else (no cleaning, no offsets, no output). No pipeline that reads and splits the
   corpus can be faster; the ratio of the two says how much the pipeline adds to it.

The floor runs first, then make, then the floor again (the better of the two is kept), so a warm page
cache favours neither. Prints the figures and exits 0 (``--strict``: non-zero when the target is missed).

Usage: ``python bench/bench_annotate_cold.py [--corpus DIR] [--workers N] [--strict]``.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNGDC = ROOT.parent / "shared" / "corpora" / "ungdc-2015-2024"
TARGET = 20_000.0
ANNOTATED = re.compile(r"annotated (\d+) body paragraphs")


def floor(corpus: Path) -> tuple[float, int]:
    """Seconds to read and split the corpus's files, and the number of non-empty lines (paragraphs) found."""
    start = time.perf_counter()
    with (corpus / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        files = [row["file"] for row in csv.DictReader(fh)]
    n = 0
    for name in files:
        text = (corpus / name).read_bytes().decode("utf-8", errors="replace")
        n += sum(1 for line in text.splitlines() if line.strip())
    return time.perf_counter() - start, n


def cold_annotate(corpus: Path, workers: str) -> tuple[float, int]:
    """Seconds of a cold ``make annotate`` and the body paragraphs it reports having coded."""
    with tempfile.TemporaryDirectory(prefix="bench-annotate-") as tmp:
        cmd = ["make", "annotate", f"CORPUS={corpus}", f"REPORTS={tmp}/reports", f"BUILD={tmp}/build", f"WORKERS={workers}",
               "VALIDATION="]
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"make annotate failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    m = ANNOTATED.search(proc.stdout + proc.stderr)
    if not m:
        sys.exit("make annotate did not report how many paragraphs it coded")
    return elapsed, int(m.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default=str(UNGDC))
    parser.add_argument("--workers", default="1")
    parser.add_argument("--strict", action="store_true")
    args = parser.parse_args()
    corpus = Path(args.corpus).resolve()
    if not (corpus / "manifest.csv").is_file():
        print(f"skipped: {corpus}/manifest.csv not found")
        return 0
    first, lines = floor(corpus)
    seconds, body = cold_annotate(corpus, args.workers)
    second, _ = floor(corpus)
    read_split = min(first, second)
    rate = body / seconds
    print(f"floor (read + split {lines:,} lines): {read_split:.2f} s, {lines / read_split:,.0f} lines/s")
    print(f"cold make annotate: {seconds:.1f} s for {body:,} body paragraphs = {rate:,.0f} paragraphs/s "
          f"(target {TARGET:,.0f}/s: {'met' if rate >= TARGET else f'missed by {TARGET / rate:.1f}x'}); "
          f"{seconds / read_split:.0f}x the floor's time")
    return 1 if args.strict and rate < TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
