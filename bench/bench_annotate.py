"""Benchmark of theme annotation: the real command line on generated corpora of 200,000 and
1,000,000 body paragraphs, against a plain baseline measured in the same run.

What is measured
- End to end: ``python -m helpers.annotation.annotate --paragraphs X.parquet --codebook data/codebook.yml
  --reports DIR`` in a fresh subprocess (interpreter start, imports, reading Parquet, coding,
  writing annotated_paragraphs.csv, annotations.csv and evidence.csv). Paragraphs per second =
  body paragraphs / wall-clock seconds of the subprocess. Peak memory = the subprocess's maximum
  resident set size (``VmHWM`` of ``/proc/self/status``, read inside it: ``ru_maxrss`` would
  report this script's own peak, inherited across fork and exec). Three runs
  per size: without the per-document cache, with ``--build`` and an empty cache (the first
  ``make annotate``: every document coded and its cache file written; generated documents have
  100 paragraphs each) and with every document cached (a rebuild after, e.g., an override
  changed); the three must write byte-identical files.
- Baseline: the way a notebook would do it: one compiled ``re.search`` per codebook rule per
  paragraph (each term's inflected forms in one pattern with ``\\b`` word boundaries, plus the
  regex rules), run in this process on the first BASELINE_N paragraphs of the smaller corpus;
  the same paragraphs are also coded by the engine in this process (matching only, no I/O, in the
  command line's chunk size), and the codes on which the two disagree are counted (the baseline
  ignores ``exclude`` phrases, so it finds more in themes that have them).

The corpus: paragraphs of 2-5 sentences drawn at random (fixed seed) from the seed corpus's
body paragraphs and from neutral filler sentences, so that theme words occur about as often as
in real documents. Everything is written to a temporary folder that is removed at the end.

Run: ``.venv/bin/python bench/bench_annotate.py`` (``make bench``). Target: at least 20,000
paragraphs per second end to end, with peak memory flat in corpus size.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from helpers.annotation.annotate import DEFAULT_CHUNK_SIZE, Matcher  # noqa: E402
from helpers.annotation.codebook import load_codebook  # noqa: E402
from helpers.corpus.corpus import load_paragraphs  # noqa: E402
from helpers.corpus.text import fold  # noqa: E402

SIZES = (200_000, 1_000_000)
BASELINE_N = 10_000
ROW_GROUP = 50_000
CODEBOOK = ROOT / "data" / "codebook.yml"
FILLER = [
    "The delegations exchanged views on the agenda of the next meeting.",
    "The parties noted the progress achieved since the previous session.",
    "Participants thanked the host country for its hospitality.",
    "The secretariat will prepare a report on the results of the work.",
    "The meeting was held in a constructive and friendly atmosphere.",
    "Further steps will be discussed at the level of experts.",
    "Member states agreed to continue working on these questions.",
    "The chairman summed up the results of the discussion.",
]
WRAPPER = """
import json, resource, runpy, sys, time
sys.argv = ["helpers.annotation.annotate"] + sys.argv[1:]
t0 = time.perf_counter()
try:
    runpy.run_module("helpers.annotation.annotate", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    if exc.code not in (0, None):
        raise
# VmHWM is this process's own peak; ru_maxrss would also count the parent's peak before exec
try:
    with open("/proc/self/status") as fh:
        peak = next(int(x.split()[1]) for x in fh if x.startswith("VmHWM:")) / 1024
except OSError:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print("BENCH " + json.dumps({"seconds_in_process": time.perf_counter() - t0, "max_rss_mb": peak}))
"""


def seed_sentences() -> list[str]:
    """Sentences of the seed corpus's body paragraphs, plus neutral filler sentences."""
    paras = load_paragraphs(ROOT / "data", ROOT / "data" / "cleaning.yml")
    body = paras.loc[paras["kind"] == "body", "text"]
    sents = [s.strip() for t in body for s in re.split(r"(?<=[.!?])\s+", t) if len(s.strip()) > 20]
    return sents + FILLER * (len(sents) // len(FILLER))


def generate(path: Path, n: int, sentences: list[str], seed: int = 0) -> None:
    """Write ``n`` body paragraphs to a Parquet file in row groups of ROW_GROUP."""
    rng = np.random.default_rng(seed)
    writer = None
    for start in range(0, n, ROW_GROUP):
        m = min(ROW_GROUP, n - start)
        lengths = rng.integers(2, 6, size=m)
        picks = rng.integers(0, len(sentences), size=int(lengths.sum()))
        texts, k = [], 0
        for ln in lengths.tolist():
            texts.append(" ".join(sentences[i] for i in picks[k:k + ln].tolist()))
            k += ln
        docs = [f"gen-{(start + i) // 100:05d}" for i in range(m)]
        table = pa.table({
            "para_id": [f"{d}-p{(start + i) % 100 + 1:03d}" for i, d in enumerate(docs)],
            "doc_id": docs,
            "position": pa.array([(start + i) % 100 + 1 for i in range(m)], pa.int64()),
            "kind": ["body"] * m,
            "source_para": pa.nulls(m, pa.int64()),
            "text": texts,
            "n_words": pa.array([t.count(" ") + 1 for t in texts], pa.int64()),
            "label_chars": pa.array(np.zeros(m, dtype=np.int64)),  # no numbering label before the text
            "title": ["Generated document"] * m,
            "organization": ["BENCH"] * m,
            "genre": ["speech"] * m,
            "date": ["2024-01-01"] * m,
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def run_cli(parquet: Path, reports: Path, build: Path | None = None) -> dict:
    """Run the annotate command line in a fresh interpreter; return timing and peak memory.
    With ``build``, the per-document cache in ``build/annotations`` is used (as make annotate does)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, "--paragraphs", str(parquet), "--codebook", str(CODEBOOK),
         "--reports", str(reports)] + (["--build", str(build)] if build else []),
        capture_output=True, text=True, cwd=ROOT,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"annotate failed:\n{proc.stderr}")
    stats = json.loads(next(x for x in proc.stdout.splitlines() if x.startswith("BENCH "))[6:])
    stats["wall_seconds"] = wall
    # CPU time (user + system) of the subprocess: less sensitive than wall time to other jobs on a shared machine
    stats["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats["output_mb"] = sum(f.stat().st_size for f in reports.glob("*.csv")) / 2**20
    return stats


def baseline_patterns(codebook) -> list[tuple[str, re.Pattern[str]]]:
    """One compiled pattern per codebook rule, as a notebook would write them."""
    pats = []
    for theme in codebook.themes:
        for term in theme.terms:
            forms = ["[\\s\\-/']+".join(re.escape(w) for w in words) for words in term.forms()]
            tail = "\\w*" if term.prefix else ""
            pats.append((theme.id, re.compile(r"\b(?:" + "|".join(forms) + ")" + tail + r"\b", re.IGNORECASE)))
        for rx in theme.regex:
            pats.append((theme.id, re.compile(rx, re.IGNORECASE)))
    return pats


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench_annotate_"))
    try:
        sentences = seed_sentences()
        codebook = load_codebook(CODEBOOK)
        results = {}
        for n in SIZES:
            build = tmp / f"b{n}"
            build.mkdir()
            parquet = build / "paragraphs.parquet"
            t0 = time.perf_counter()
            generate(parquet, n, sentences)
            gen_s = time.perf_counter() - t0
            runs = {"no cache": run_cli(parquet, tmp / f"r{n}"),
                    "cache written": run_cli(parquet, tmp / f"r{n}c", build),
                    "all cached": run_cli(parquet, tmp / f"r{n}w", build)}
            for name in ("annotated_paragraphs.csv", "annotations.csv", "evidence.csv"):
                for other in ("c", "w"):
                    if (tmp / f"r{n}" / name).read_bytes() != (tmp / f"r{n}{other}" / name).read_bytes():
                        raise SystemExit(f"{name} differs between the uncached and cached runs at {n:,} paragraphs")
            results[n] = stats = runs["no cache"]
            n_docs = len(list((build / "annotations").glob("*.arrow")))
            print(f"{n:>9,} paragraphs in {n_docs:,} documents (generated in {gen_s:.1f} s), end to end "
                  f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs):")
            for label, st in runs.items():
                print(f"    {label:<14} {st['wall_seconds']:5.1f} s, {n / st['wall_seconds']:7,.0f} paragraphs/s "
                      f"({n / st['cpu_seconds']:,.0f} per CPU second), peak memory {st['max_rss_mb']:.0f} MB, "
                      f"{st['output_mb']:.0f} MB of CSV written")
            for r in ("", "c", "w"):
                shutil.rmtree(tmp / f"r{n}{r}")
            shutil.rmtree(build / "annotations")

        # baseline vs engine on the same paragraphs, in this process, matching only
        sample = pq.ParquetFile(tmp / f"b{SIZES[0]}" / "paragraphs.parquet").read_row_group(0).column("text").to_pylist()[:BASELINE_N]
        pats = baseline_patterns(codebook)
        t0 = time.perf_counter()
        base = []
        for text in sample:
            f = fold(text)
            base.append({theme for theme, p in pats if p.search(f)})
        base_s = time.perf_counter() - t0
        matcher = Matcher(codebook)
        t0 = time.perf_counter()
        eng = [set() for _ in sample]
        for lo in range(0, len(sample), DEFAULT_CHUNK_SIZE):
            para, theme = matcher.match_arrays(sample[lo:lo + DEFAULT_CHUNK_SIZE])[:2]
            for i, t in zip(para.tolist(), theme.tolist()):
                eng[lo + i].add(matcher.themes[t])
        eng_s = time.perf_counter() - t0
        same = sum(a == b for a, b in zip(base, eng)) / len(sample)
        base_only = sum(len(a - b) for a, b in zip(base, eng))
        eng_only = sum(len(b - a) for a, b in zip(base, eng))
        with_exclude = {t.id for t in codebook.themes if t.exclude}
        unexplained = sum(len((a - b) - with_exclude) for a, b in zip(base, eng))
        base_rate = len(sample) / base_s
        print(f"baseline (one re.search per rule per paragraph, {len(pats)} rules): {base_rate:,.0f} paragraphs/s "
              f"on {len(sample):,} paragraphs; engine on the same paragraphs (matching only): "
              f"{len(sample) / eng_s:,.0f} paragraphs/s ({base_s / eng_s:.0f}x)")
        print(f"same theme sets on {same:.1%} of them; {base_only} codes found by the baseline only "
              f"({base_only - unexplained} of them in themes with 'exclude' phrases, which the baseline ignores), "
              f"{eng_only} by the engine only")
        for n in SIZES:
            rate = n / results[n]["wall_seconds"]
            print(f"ratio end to end / baseline at {n:,}: {rate / base_rate:.1f}x")
        flat = results[SIZES[-1]]["max_rss_mb"] / results[SIZES[0]]["max_rss_mb"]
        print(f"peak memory {SIZES[-1]:,} / {SIZES[0]:,} paragraphs: {flat:.2f} (1.00 = flat)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
