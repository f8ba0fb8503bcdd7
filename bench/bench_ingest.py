"""Benchmark: stream a generated corpus of 1,000 documents x 1,000 paragraphs through ingest.

Reports paragraphs per second and the peak memory (max RSS) of the ingest process, run as
``make ingest`` runs it (``python -m helpers.corpus.corpus``). Sizes can be reduced for a quick look:
``python bench/bench_ingest.py --docs 100 --paras 1000``.
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORDS = ("security cooperation terrorism drug trafficking member states organization international "
         "information space peacekeeping united nations regional conflict dialogue sovereignty the of and "
         "in to on for with we note support stress").split()


def make_corpus(folder: Path, n_docs: int, n_paras: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    rows = ["doc_id,file,title,organization,genre,date"]
    for d in range(n_docs):
        paras = [" ".join(rng.choices(WORDS, k=rng.randint(20, 60))).capitalize() + "." for _ in range(n_paras)]
        (folder / f"doc{d:05d}.txt").write_text("\n\n".join(paras), encoding="utf-8")
        rows.append(f"doc{d:05d},doc{d:05d}.txt,Document {d},Org{d % 7},speech,2024-01-{d % 28 + 1:02d}")
    (folder / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--docs", type=int, default=1000)
    parser.add_argument("--paras", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus, build = Path(tmp) / "corpus", Path(tmp) / "build"
        corpus.mkdir()
        make_corpus(corpus, args.docs, args.paras)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "helpers.corpus.corpus", "--corpus", str(corpus), "--build", str(build)], check=True)
        elapsed = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    n = args.docs * args.paras
    print(f"ingest: {args.docs} documents x {args.paras} paragraphs = {n:,} paragraphs in {elapsed:.1f} s "
          f"-> {n / elapsed:,.0f} paragraphs/s, peak memory {peak_mb:,.0f} MB")


if __name__ == "__main__":
    main()
