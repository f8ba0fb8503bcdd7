"""Benchmark: ``make report`` on the default corpus and on the UN General Debate corpus (2015-2024).

The environment (.venv) must already be installed. Reports and build products go to a
temporary folder (``REPORTS=`` and ``BUILD=`` on the make command line), so the project's
own ``reports/`` and ``build/`` are untouched. Figures and targets on the 2-core reference
machine:

- default corpus (8 documents): full build under 60 s, no-op rebuild under 2 s;
- UNGDC (1,938 speeches, ``../shared/corpora/ungdc-2015-2024``, copied to the temporary
  folder so one speech can be edited): full ``make report`` under 5 minutes with peak memory
  (largest process) under 4 GB, no-op rebuild under 2 s, rebuild after one speech changed
  under 30 s. Only with ``--ungdc`` (``make bench`` runs ``bench/bench_ungdc.py`` for these
  figures, with per-stage times; this is the same measurement from the briefing's side).

Prints the figures and exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
UNGDC = ROOT.parent / "shared" / "corpora" / "ungdc-2015-2024"
FULL_TARGET_S = 60.0
NOOP_TARGET_S = 2.0
UNGDC_FULL_TARGET_S = 300.0
UNGDC_MEMORY_TARGET_GB = 4.0
UNGDC_ONE_CHANGED_TARGET_S = 30.0


def run_make(reports: Path, build: Path, *extra: str) -> tuple[float, str, float]:
    """Run ``make report``; return wall seconds, stdout and the peak RSS (GB) of the largest process so far."""
    start = time.perf_counter()
    result = subprocess.run(["make", "report", f"REPORTS={reports}", f"BUILD={build}", *extra], cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"make report {' '.join(extra)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024
    return elapsed, result.stdout, peak_gb


def recipes(out: str) -> int:
    return sum(1 for ln in out.splitlines() if ln.startswith(".venv/bin/python"))


def bench_default(tmp: Path) -> bool:
    reports, build = tmp / "reports", tmp / "build"
    full, _, _ = run_make(reports, build)
    noop, out, _ = run_make(reports, build)
    html, pdf = reports / "briefing.html", reports / "briefing.pdf"
    print(f"default corpus: full make report (ingest, annotate, analyse, execute, HTML, PDF): {full:.1f} s (target < {FULL_TARGET_S:.0f} s)")
    print(f"default corpus: no-op make report: {noop:.2f} s (target < {NOOP_TARGET_S:.0f} s); recipes run: {recipes(out)}")
    print(f"default corpus: briefing.html {html.stat().st_size / 1024:.0f} KiB, briefing.pdf {pdf.stat().st_size / 1024:.0f} KiB")
    return full < FULL_TARGET_S and noop < NOOP_TARGET_S and recipes(out) == 0


def bench_ungdc(tmp: Path) -> bool:
    from pypdf import PdfReader

    corpus, reports, build = tmp / "ungdc", tmp / "ungdc-reports", tmp / "ungdc-build"
    shutil.copytree(UNGDC, corpus)
    args = (f"CORPUS={corpus}",)
    full, _, peak = run_make(reports, build, *args)
    noop, out, _ = run_make(reports, build, *args)
    speech = sorted((corpus / "txt").glob("*.txt"))[0]
    speech.write_text(speech.read_text(encoding="utf-8") + "\nWe also reaffirm our commitment to multilateralism.", encoding="utf-8")
    one, out_one, _ = run_make(reports, build, *args)
    pages = len(PdfReader(str(reports / "briefing.pdf")).pages)
    print(f"UNGDC (1,938 speeches): full make report: {full:.1f} s (target < {UNGDC_FULL_TARGET_S:.0f} s), peak memory of the largest "
          f"process {peak:.2f} GB (target < {UNGDC_MEMORY_TARGET_GB:.0f} GB)")
    print(f"UNGDC: no-op make report: {noop:.2f} s (target < {NOOP_TARGET_S:.0f} s); recipes run: {recipes(out)}")
    print(f"UNGDC: make report after one speech changed ({speech.name}): {one:.1f} s (target < {UNGDC_ONE_CHANGED_TARGET_S:.0f} s); "
          f"recipes run: {recipes(out_one)}")
    print(f"UNGDC: briefing.pdf {pages} pages, {(reports / 'briefing.pdf').stat().st_size / 1024:.0f} KiB; "
          f"briefing.html {(reports / 'briefing.html').stat().st_size / 1024:.0f} KiB")
    return (full < UNGDC_FULL_TARGET_S and peak < UNGDC_MEMORY_TARGET_GB and noop < NOOP_TARGET_S and recipes(out) == 0
            and one < UNGDC_ONE_CHANGED_TARGET_S)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ungdc", action="store_true", help="also make report on a copy of the UNGDC corpus (several minutes)")
    args = parser.parse_args(argv)
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        ok &= bench_default(Path(tmp))
    if not args.ungdc or not (UNGDC / "manifest.csv").is_file():
        print(f"UNGDC: skipped ({'pass --ungdc; make bench measures it in bench/bench_ungdc.py' if not args.ungdc else f'{UNGDC} not present'})")
    else:
        with tempfile.TemporaryDirectory(prefix="bench-report-ungdc-") as tmp:
            ok &= bench_ungdc(Path(tmp))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
