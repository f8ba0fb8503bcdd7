"""Benchmark: a full ``make report`` on the default corpus, then a no-op rebuild.

The environment (.venv) must already be installed. Reports and build products go to a
temporary folder (``REPORTS=`` and ``BUILD=`` on the make command line), so the project's
own ``reports/`` and ``build/`` are untouched. Targets on the 2-core reference machine:
full build under 60 s, no-op rebuild under 2 s. Prints the figures and exits non-zero when
a target is missed.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FULL_TARGET_S = 60.0
NOOP_TARGET_S = 2.0


def run_make(reports: Path, build: Path) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(["make", "report", f"REPORTS={reports}", f"BUILD={build}"], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"make report failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return elapsed, result.stdout


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        reports, build = Path(tmp) / "reports", Path(tmp) / "build"
        full, _ = run_make(reports, build)
        noop, out = run_make(reports, build)
        html, pdf = reports / "briefing.html", reports / "briefing.pdf"
        print(f"full make report (ingest, annotate, analyse, execute, HTML, PDF): {full:.1f} s (target < {FULL_TARGET_S:.0f} s)")
        print(f"no-op make report: {noop:.2f} s (target < {NOOP_TARGET_S:.0f} s); recipes run: {sum(1 for ln in out.splitlines() if ln.startswith('.venv/bin/python'))}")
        print(f"briefing.html {html.stat().st_size / 1024:.0f} KiB, briefing.pdf {pdf.stat().st_size / 1024:.0f} KiB")
        ok = full < FULL_TARGET_S and noop < NOOP_TARGET_S and ".venv/bin/python" not in out
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
