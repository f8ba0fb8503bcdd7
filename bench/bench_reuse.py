"""Benchmark: verbatim-reuse detection (helpers.analysis.overlap.find_reuse) over 100,000 generated paragraphs.

Generates (in a temporary folder, removed afterwards) 100,000 paragraphs in 2,000 documents:
Zipf-distributed words from a 30,000-word vocabulary, 20-110 words per paragraph, with
1,000 planted passages (15-60 words copied from a paragraph of one document into a paragraph
of another, with 0-2 words changed). Reports, each in a fresh process so the figures are the
detector's own:

- time and peak memory (max RSS) of ``find_reuse`` on all 100,000 paragraphs (targets:
  under 2 minutes, under 4 GB), and how many planted passages it recovered;
- the brute-force reference (``find_reuse_bruteforce``, every pair of paragraphs) on a
  sample, the indexed detector on the same sample (results must be equal), and the
  brute-force time extrapolated to the full corpus (pairs grow with n²);
- for scale, ``similar_paragraphs`` (TF-IDF cosine) on the same 100,000 paragraphs.

Usage: ``python bench/bench_reuse.py [--paragraphs 100000] [--sample 1500] [--skip-similar]``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SIMILAR_MIN = 0.3  # at this scale analysts ask for clearly similar pairs; 0.1 would list ~3 for every document pair
SYLLABLES = ["ka", "to", "ri", "ne", "sa", "mo", "lu", "ve", "di", "pa", "ze", "gor", "tan", "bel", "rus", "nor"]


def vocabulary(size: int, rng: np.random.Generator) -> np.ndarray:
    words: set[str] = set()
    while len(words) < size:
        n = int(rng.integers(1, 5))
        words.add("".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), n)))
    return np.array(sorted(words))


def generate(n_paragraphs: int, n_docs: int, n_plants: int, seed: int = 7) -> tuple[pd.DataFrame, int, list[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    vocab = vocabulary(30_000, rng)
    ranks = np.arange(1, len(vocab) + 1)
    p = 1.0 / ranks**1.05
    p /= p.sum()
    lengths = rng.integers(20, 111, n_paragraphs)
    flat = vocab[rng.choice(len(vocab), size=int(lengths.sum()), p=p)]
    offsets = np.r_[0, np.cumsum(lengths)]
    paras = [list(flat[offsets[i]:offsets[i + 1]]) for i in range(n_paragraphs)]
    doc_of = np.arange(n_paragraphs) * n_docs // n_paragraphs
    plants = []
    for _ in range(n_plants):
        src, dst = (int(x) for x in rng.integers(0, n_paragraphs, 2))
        while doc_of[dst] == doc_of[src]:
            dst = int(rng.integers(0, n_paragraphs))
        length = int(rng.integers(15, 61))
        start = int(rng.integers(0, max(1, len(paras[src]) - length)))
        piece = list(paras[src][start:start + length])
        for _ in range(int(rng.integers(0, 3))):  # small edits
            piece[int(rng.integers(1, len(piece) - 1))] = str(vocab[int(rng.integers(0, len(vocab)))])
        at = int(rng.integers(0, len(paras[dst]) + 1))
        paras[dst][at:at] = piece
        plants.append((src, dst))
    texts = [" ".join(w).capitalize() + "." for w in paras]
    df = pd.DataFrame({
        "para_id": [f"d{d:05d}-p{i:06d}" for i, d in enumerate(doc_of)],
        "doc_id": [f"d{d:05d}" for d in doc_of],
        "date": [f"20{10 + d % 15:02d}-01-01" for d in doc_of],
        "organization": [f"org{d % 50}" for d in doc_of],
        "text": texts,
    })
    return df, int(sum(len(w) for w in paras)), plants


def run(path: str, mode: str) -> None:
    """Child process: load the paragraphs, run one detector, save its result, print a JSON line of figures."""
    from helpers.analysis.overlap import find_reuse, find_reuse_bruteforce, similar_paragraphs

    df = pd.read_parquet(path)
    fn = {"indexed": find_reuse, "brute": find_reuse_bruteforce,
          "similar": lambda d: similar_paragraphs(d, top_n=3, min_similarity=SIMILAR_MIN)}[mode]
    t0 = time.perf_counter()
    out = fn(df)
    elapsed = time.perf_counter() - t0
    out.to_parquet(f"{path}.{mode}.parquet")
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_kb / 1024, "rows": len(out),
                      "doc_pairs": int(out[["doc_a", "doc_b"]].drop_duplicates().shape[0]) if len(out) else 0}))


def child(path: str, mode: str) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--run", path, "--mode", mode],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paragraphs", type=int, default=100_000)
    parser.add_argument("--documents", type=int, default=2_000)
    parser.add_argument("--plants", type=int, default=1_000)
    parser.add_argument("--sample", type=int, default=1_500)
    parser.add_argument("--skip-similar", action="store_true", help="do not time similar_paragraphs")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="indexed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        run(args.run, args.mode)
        return 0

    with tempfile.TemporaryDirectory(prefix="bench_reuse_") as tmp:
        t0 = time.perf_counter()
        df, words, plants = generate(args.paragraphs, args.documents, args.plants)
        path = str(Path(tmp) / "paragraphs.parquet")
        df.to_parquet(path)
        print(f"generated {len(df):,} paragraphs, {df['doc_id'].nunique():,} documents, {words:,} words, "
              f"{args.plants:,} planted passages ({time.perf_counter() - t0:.1f} s)")

        full = child(path, "indexed")
        found = pd.read_parquet(f"{path}.indexed.parquet")
        pids = df["para_id"].to_numpy()
        pairs = {frozenset(p) for p in zip(found["para_a"], found["para_b"])}
        recovered = sum(frozenset((pids[s], pids[d])) in pairs for s, d in plants)
        ok_time = "OK" if full["seconds"] < 120 else "OVER TARGET"
        ok_mem = "OK" if full["peak_mb"] < 4096 else "OVER TARGET"
        print(f"indexed find_reuse, {len(df):,} paragraphs: {full['seconds']:.1f} s ({ok_time}: < 120 s), "
              f"peak memory {full['peak_mb']:.0f} MB ({ok_mem}: < 4096 MB), {full['rows']:,} passages "
              f"in {full['doc_pairs']:,} document pairs; planted passages recovered: {recovered:,} of {len(plants):,}")

        # Sample for the brute-force ratio: the paragraphs of the first planted pairs plus random others.
        n = args.sample
        rng = np.random.default_rng(11)
        chosen = list(dict.fromkeys(i for s, d in plants[: n // 10] for i in (s, d)))
        rest = np.setdiff1d(np.arange(len(df)), chosen)
        chosen += rng.choice(rest, size=n - len(chosen), replace=False).tolist()
        sample_path = str(Path(tmp) / "sample.parquet")
        df.iloc[sorted(chosen)].reset_index(drop=True).to_parquet(sample_path)
        brute = child(sample_path, "brute")
        small = child(sample_path, "indexed")
        same = pd.read_parquet(f"{sample_path}.brute.parquet").equals(pd.read_parquet(f"{sample_path}.indexed.parquet"))
        pairs_ratio = (len(df) / n) ** 2
        print(f"sample of {n:,} paragraphs ({small['rows']} passages): brute force {brute['seconds']:.2f} s, "
              f"indexed {small['seconds']:.2f} s, same result: {same}")
        print(f"brute force extrapolated to {len(df):,} paragraphs (x{pairs_ratio:,.0f} pairs): "
              f"~{brute['seconds'] * pairs_ratio / 3600:,.1f} h, i.e. ~{brute['seconds'] * pairs_ratio / full['seconds']:,.0f}"
              f" times the indexed run")
        if not args.skip_similar:
            sim = child(path, "similar")
            print(f"similar_paragraphs (TF-IDF cosine >= {SIMILAR_MIN}, top 3 per document pair), {len(df):,} paragraphs: "
                  f"{sim['seconds']:.1f} s, peak memory {sim['peak_mb']:.0f} MB, {sim['rows']:,} pairs "
                  f"in {sim['doc_pairs']:,} document pairs")
        if not same:
            print("error: indexed and brute-force results differ on the sample", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
