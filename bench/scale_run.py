"""Benchmark at scale: seconds and peak memory of the whole process tree, per stage, rows of each output.

Runs one cold ``make report`` on a corpus (a fresh reports and build folder), as a user would, and samples
its process tree every 0.2 s through /proc (psutil): the peak is the largest sum of the resident memory of
make and every process below it (Python, a second analysis process, Dask workers, the notebook kernels),
so it is what the machine needed. make runs independent stages at once (the text analysis beside the
annotation, the briefing's tables beside the render), so each stage is timed by its own process, from when
it appears to when it ends, and the stages' times add up to more than the total; each stage's peak is that of
its own process tree (its second process, forked workers or notebook kernels with it; Dask workers count in the
total only). Prints a table and the rows of every CSV written, and the machine's load before and after.

Usage (``make bench-scale COPIES=4 SCALE_DIR=/work/data/scale`` does the first)::

    python bench/scale_run.py --copies 4 --dir /work/data/scale     # writes the 4x corpus, then builds it
    python bench/scale_run.py --corpus /work/data/ungdc-full --dir /work/data/full   # an existing corpus
    DASK_SCHEDULER=tcp://127.0.0.1:8786 python bench/scale_run.py ...   # on a running cluster
    python bench/scale_run.py --copies 4 --dir /work/data/scale --cluster 2   # starts a scheduler and 2 workers (dask CLI)

With ``--cluster N`` the scheduler and workers (started with ``dask scheduler`` / ``dask worker``
on loopback, each in its own folder under ``--dir``) count in the peak memory, and are stopped at the end.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from scale_corpus import write_scaled  # noqa: E402

#: The stages, by the module make runs (``--only`` of the analysis), in pipeline order.
STAGES = {"corpus.inputs": "check", "corpus.corpus": "ingest", "annotation.annotate": "annotate",
          "analysis.analysis:text": "text analysis", "analysis.analysis:themes": "theme analysis",
          "report.report_tables": "report tables", "report.render": "render"}


def tree_rss(proc: psutil.Process) -> list[int]:
    """Resident bytes of ``proc`` and of each process below it."""
    sizes = []
    try:
        procs = [proc, *proc.children(recursive=True)]
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # a process of the tree ended while it was listed
        procs = [proc]
    for p in procs:
        try:
            sizes.append(p.memory_info().rss)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return sizes


def stage_of(cmdline: list[str]) -> str | None:
    """The stage a process runs (:data:`STAGES`), from its command line ``python -m helpers.<module> ... [--only x]``."""
    if "-m" not in cmdline[:-1]:
        return None
    module = cmdline[cmdline.index("-m") + 1].removeprefix("helpers.")
    if "--only" in cmdline[:-1]:
        module += ":" + cmdline[cmdline.index("--only") + 1]
    return STAGES.get(module)


def note_stages(make: psutil.Process, spans: dict[int, list], now: float) -> None:
    """Record in ``spans`` (pid -> [stage, first seen, last seen, peak bytes]) each stage process ``make`` runs at
    ``now``, with the resident memory of its process tree (the stage's second process, forked workers, kernels)."""
    for child in make.children(recursive=False):
        try:
            stage = spans[child.pid][0] if child.pid in spans else stage_of(child.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if stage:
            span = spans.setdefault(child.pid, [stage, now, now, 0])
            span[2] = now
            span[3] = max(span[3], sum(tree_rss(child)))


def measured(cmd: list[str], log, also: list[psutil.Process] = (), env: dict | None = None
             ) -> tuple[float, int, int, int, dict[str, float], dict[str, int], dict[str, tuple[float, float]]]:
    """Run ``cmd``; return (seconds, peak bytes of its process tree and of the trees of ``also``,
    peak bytes of the largest single process among them, exit code, seconds of each stage's process,
    peak bytes of each stage's process tree, when each stage was first and last seen, in seconds from the start)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
    ps = psutil.Process(proc.pid)
    peak = largest = 0
    spans: dict[int, list] = {}  # pid -> [stage, first seen, last seen]
    while proc.poll() is None:
        now = time.perf_counter() - t0
        try:
            sizes = [s for p in (ps, *also) for s in tree_rss(p)]
            note_stages(ps, spans, now)
        except psutil.NoSuchProcess:  # a stage's process ended while it was read: sample again (make's end ends the loop)
            time.sleep(0.2)
            continue
        peak, largest = max(peak, sum(sizes)), max(largest, max(sizes, default=0))
        time.sleep(0.2)
    stages: dict[str, float] = {}
    stage_peaks: dict[str, int] = {}
    seen: dict[str, tuple[float, float]] = {}
    for stage, first, last, stage_peak in spans.values():
        stages[stage] = round(stages.get(stage, 0.0) + last - first, 1)
        stage_peaks[stage] = max(stage_peaks.get(stage, 0), stage_peak)
        lo, hi = seen.get(stage, (first, last))
        seen[stage] = (round(min(lo, first), 1), round(max(hi, last), 1))
    return time.perf_counter() - t0, peak, largest, proc.wait(), stages, stage_peaks, seen


def start_cluster(work: Path, n: int, port: int = 8786) -> tuple[list[subprocess.Popen], str]:
    """A scheduler and ``n`` single-threaded workers started with Dask's CLI on loopback, each in its own folder."""
    dask = str(Path(sys.executable).parent / "dask")
    address = f"tcp://127.0.0.1:{port}"
    procs = []
    for name, args in [("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"])] + [
            (f"worker{i}", ["worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1", "--no-dashboard",
                            "--memory-limit", "0"]) for i in range(1, n + 1)]:
        folder = work / "cluster" / name
        folder.mkdir(parents=True, exist_ok=True)
        procs.append(subprocess.Popen([dask, *args], cwd=folder, stdout=(folder / "log.txt").open("w"), stderr=subprocess.STDOUT,
                                      start_new_session=True))
        time.sleep(2 if name == "scheduler" else 0)
    from dask.distributed import Client
    with Client(address, timeout="30s") as client:
        client.wait_for_workers(n, timeout=120)
    return procs, address


def stop_cluster(procs: list[subprocess.Popen]) -> None:
    for p in reversed(procs):
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def csv_rows(path: Path) -> int:
    """Records of a CSV file (header excluded), as Python's csv module reads them."""
    with path.open(encoding="utf-8", newline="") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, help="write the N-times corpus of the shared slice first")
    parser.add_argument("--corpus", type=Path, help="an existing corpus folder instead")
    parser.add_argument("--dir", type=Path, required=True, help="working folder outside the repository (corpus, build, reports)")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--cluster", type=int, default=0, help="start a scheduler and this many workers with the dask CLI")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus and build folder")
    args = parser.parse_args(argv)
    work = args.dir.resolve()
    if work == ROOT or ROOT in work.parents:
        sys.exit(f"error: {work} is inside the repository; pass --dir elsewhere.")
    work.mkdir(parents=True, exist_ok=True)
    if args.corpus is not None:
        corpus = args.corpus.resolve()
        label = corpus.name
    elif args.copies:
        corpus = work / f"corpus-x{args.copies}"
        label = f"{args.copies}x"
        if not (corpus / "manifest.csv").is_file():
            t0 = time.perf_counter()
            n = write_scaled(args.copies, corpus)
            print(f"generated {n:,} speeches in {time.perf_counter() - t0:.0f} s -> {corpus}", flush=True)
    else:
        sys.exit("error: pass --copies N or --corpus DIR")
    if args.cluster:
        label += f"-cluster{args.cluster}"
    reports, build = work / f"reports-{label}", work / f"build-{label}"
    shutil.rmtree(reports, ignore_errors=True)
    shutil.rmtree(build, ignore_errors=True)
    load0 = os.getloadavg()
    cluster, env = [], None
    if args.cluster:
        cluster, address = start_cluster(work, args.cluster)
        env = dict(os.environ, DASK_SCHEDULER=address)
    try:
        with (work / f"make-{label}.log").open("w") as log:
            cmd = ["make", "report", f"CORPUS={corpus}", f"REPORTS={reports}", f"BUILD={build}", f"WORKERS={args.workers}"]
            total, peak_b, largest_b, rc, stages, stage_peaks, seen = measured(cmd, log, [psutil.Process(p.pid) for p in cluster], env)
    finally:
        stop_cluster(cluster)
    total, peak, largest = round(total, 1), round(peak_b / 1e9, 2), round(largest_b / 1e9, 2)
    stage_gb = {name: round(b / 1e9, 2) for name, b in stage_peaks.items()}
    for name in STAGES.values():
        if name in stages:
            print(f"{name:15s} {stages[name]:8.1f} s  peak {stage_gb[name]:6.2f} GB   "
                  f"(from {seen[name][0]:6.1f} s to {seen[name][1]:6.1f} s)", flush=True)
    print(f"{'total':15s} {total:8.1f} s  peak {peak:6.2f} GB  largest process {largest:6.2f} GB"
          + (f"  FAILED (rc {rc}, see {work / f'make-{label}.log'})" if rc else "")
          + f"   (load average before {load0[0]:.2f}, after {os.getloadavg()[0]:.2f}; "
          f"scheduler {(env or os.environ).get('DASK_SCHEDULER', 'none')}, workers {args.workers})")
    rows = {}
    paragraphs = build / "paragraphs.parquet"
    if paragraphs.is_file():
        import pyarrow.parquet as pq
        rows["paragraphs.parquet"] = pq.ParquetFile(paragraphs).metadata.num_rows
    for f in sorted(reports.glob("*.csv")):
        rows[f.name] = csv_rows(f)
    for name, n in rows.items():
        print(f"  {name:32s} {n:>12,} rows")
    print(json.dumps({"corpus": label, "stages": stages, "stage_span_seconds": seen, "stage_peak_gb": stage_gb, "total_seconds": total, "peak_gb": peak,
                      "largest_process_gb": largest, "rc": rc,
                      "rows": rows, "load": [load0[0], os.getloadavg()[0]]}))
    if not args.keep:
        shutil.rmtree(build, ignore_errors=True)
    return 0 if rc == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
