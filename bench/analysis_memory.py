"""Where the analysis stage holds memory: its log lines with the resident memory of each process.

Runs ``python -m helpers.analysis.analysis`` (arguments passed through) and samples, every 0.2 s, the
resident memory of the main process and of each process below it (the second analysis
process, Dask workers). Each log line is printed with the seconds since start, the memory of
every process at that moment and the peak of the process tree since the previous line, so the
stage that sets the peak is named; a timeline of samples goes to ``--timeline`` (CSV) if given.

Usage::

    python bench/analysis_memory.py --reports /work/data/prof/reports --build /work/data/prof/build
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def main(argv: list[str]) -> int:
    timeline = None
    if "--timeline" in argv:
        i = argv.index("--timeline")
        timeline = Path(argv[i + 1])
        del argv[i:i + 2]
    cmd = [sys.executable, "-m", "helpers.analysis.analysis", *argv]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")})
    ps = psutil.Process(proc.pid)
    state = {"peak": 0, "since": 0, "now": {}, "rows": []}
    lock = threading.Lock()

    def sample() -> None:
        while proc.poll() is None:
            now = {}
            for p in [ps, *ps.children(recursive=True)]:
                try:
                    now[p.pid] = p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    pass
            total = sum(now.values())
            with lock:
                state["now"] = now
                state["peak"] = max(state["peak"], total)
                state["since"] = max(state["since"], total)
                state["rows"].append((round(time.perf_counter() - t0, 1), total, *sorted(now.values(), reverse=True)[:3]))
            time.sleep(0.2)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    for line in proc.stdout:
        with lock:
            now = ", ".join(f"{pid}:{rss / 1e9:.2f}" for pid, rss in state["now"].items())
            since, state["since"] = state["since"], 0
        print(f"{time.perf_counter() - t0:7.1f} s  [{now}] peak since last {since / 1e9:.2f} GB | {line.rstrip()}", flush=True)
    rc = proc.wait()
    thread.join()
    print(f"total {time.perf_counter() - t0:.1f} s, peak of the process tree {state['peak'] / 1e9:.2f} GB, rc {rc}")
    if timeline is not None:
        with timeline.open("w") as fh:
            fh.write("seconds,tree_bytes,largest,second,third\n")
            for row in state["rows"]:
                fh.write(",".join(str(v) for v in row) + "\n")
    return rc


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
