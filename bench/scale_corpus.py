"""Write an N-times corpus from the UN General Debate slice (1,938 speeches): perturbed copies, outside this repository.

Copy 0 is the slice itself (files copied byte for byte); copy k >= 1 of speech ``ISO_NN_YYYY``
is ``ISO_<NN+10k>_<YYYY+10k>`` (the same state speaking ten sessions later: new id, date and
title shifted by 10k years) whose text has ``substitute`` (default 2%) of its words replaced by
words drawn from the slice's own vocabulary (seeded by the copy and the speech, so a rerun
writes the same bytes). Most of each paragraph therefore survives verbatim in every copy, as a
state's formulas do from one year to the next, and the reuse join meets realistic families of
near-identical passages. Writes ``OUT/txt/*.txt`` and ``OUT/manifest.csv``; never commit it.

Usage: ``python bench/scale_corpus.py COPIES OUT [--source DIR] [--substitute 0.02]``.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT.parent / "shared" / "corpora" / "ungdc-2015-2024"
WORD = re.compile(r"[A-Za-z]{4,}")


def perturb(text: str, rng: random.Random, vocab: list[str], share: float) -> str:
    """``text`` with about ``share`` of its words (4+ letters) replaced by vocabulary words."""
    def swap(m: re.Match) -> str:
        return rng.choice(vocab) if rng.random() < share else m.group()
    return WORD.sub(swap, text)


def write_scaled(copies: int, out: Path, source: Path = SLICE, share: float = 0.02) -> int:
    with (source / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        fields, rows = reader.fieldnames, list(reader)
    (out / "txt").mkdir(parents=True, exist_ok=True)
    vocab_rng = random.Random(0)
    sample = [(source / r["file"]).read_text(encoding="utf-8", errors="replace") for r in vocab_rng.sample(rows, min(50, len(rows)))]
    vocab = sorted({w.lower() for t in sample for w in WORD.findall(t)})
    written = []
    for k in range(copies):
        for r in rows:
            iso, session, year = r["doc_id"].split("_")
            src = source / r["file"]
            if k == 0:
                new = dict(r, file=f"txt/{r['doc_id']}.txt")
                shutil.copyfile(src, out / new["file"])
            else:
                s, y = int(session) + 10 * k, int(year) + 10 * k
                doc_id = f"{iso}_{s}_{y}"
                text = perturb(src.read_text(encoding="utf-8", errors="replace"), random.Random(f"{k}/{r['doc_id']}"), vocab, share)
                (out / "txt" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
                new = dict(r, doc_id=doc_id, file=f"txt/{doc_id}.txt", date=f"{y:04d}{r['date'][4:]}",
                           title=r["title"].replace(f"{int(session)}th session", f"{s}th session"),
                           source=f"{r['source']} (bench copy {k}, {share:.0%} of words substituted)")
            written.append(new)
    with (out / "manifest.csv").open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(written)
    return len(written)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("copies", type=int, help="copies of the slice (1 = the slice itself)")
    parser.add_argument("out", type=Path, help="corpus folder to write (outside this repository)")
    parser.add_argument("--source", type=Path, default=SLICE, help="corpus folder to copy (default: the shared slice)")
    parser.add_argument("--substitute", type=float, default=0.02, help="share of words replaced in each copy")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    if out == ROOT or ROOT in out.parents:
        sys.exit(f"error: {out} is inside the repository; write the corpus elsewhere.")
    if args.copies < 1:
        sys.exit(f"error: COPIES must be a whole number >= 1. Got {args.copies} instead.")
    n = write_scaled(args.copies, out, args.source, args.substitute)
    print(f"wrote {n:,} speeches ({args.copies}x) to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
