"""Draw a blind, reproducible validation sample of body paragraphs for hand coding.

A sample is a CSV with the columns of :data:`SAMPLE_COLUMNS`:

- ``para_id``, ``doc_id``: the paragraph drawn and its document;
- ``stratum``: the stratum it was drawn from (``all`` for a simple random sample, else the value
  of the stratifying manifest column, e.g. the genre);
- ``inclusion_probability``: the probability that this paragraph was drawn (n_h / N_h of its
  stratum), so estimates from the sample can be weighted back to the corpus;
- ``split``: ``tune`` (rules may be written and tuned from these) or ``test`` (held out: never
  read to write a rule; scored once per change), assigned at random with the same seed. Once a
  ``test`` split's scores have been used to choose between rules, relabel it ``dev`` (never read, but no
  longer held out): the briefing and ``make log-test`` then say so, and a new sample is the held-out check;
- ``text``: the paragraph exactly as in the corpus;
- ``themes``, ``coder``: empty, for the coder to fill (theme ids joined by ``;``).

With ``years`` (``1946-2000``; either end may be left out) only paragraphs of documents dated in those
years are drawn, e.g. a tune sample of older speeches whose wording the rules were not written from;
the inclusion probabilities are then those within that period.

The coder sees only ``para_id`` and ``text`` (and the codebook's definitions): never the stratum,
the split or anything the rules say. The same paragraphs table, ``n``, ``seed``, ``test_fraction``
and ``stratify`` give the same file, byte for byte; another seed gives another draw.

Command line (``make validation-sample CORPUS=... N=400 SEED=1 OUT=sample.csv``)::

    python -m helpers.annotation.validation_sample --paragraphs build/<corpus>/paragraphs.parquet \\
        --n 400 --seed 1 --out sample.csv [--test-fraction 0.5] [--stratify genre] [--years 1946-2000]
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from helpers.errors import ParameterError, run_cli
from helpers.io import write_csv

SAMPLE_COLUMNS = ["para_id", "doc_id", "stratum", "inclusion_probability", "split", "text", "themes", "coder"]
SPLITS = ("tune", "test")


def _allocate(sizes: pd.Series, n: int) -> pd.Series:
    """Proportional allocation of ``n`` draws over strata of ``sizes`` (largest remainder, ties by name)."""
    exact = sizes / sizes.sum() * n
    alloc = np.floor(exact).astype(int)
    short = n - int(alloc.sum())
    if short:
        order = (exact - alloc).sort_values(ascending=False, kind="mergesort").index[:short]
        alloc[order] += 1
    return alloc.clip(upper=sizes)


#: ``YEARS=`` of ``make validation-sample``: a first and a last year (four digits each), either one left out.
YEARS = re.compile(r"\s*(\d{4})?\s*-\s*(\d{4})?\s*|\s*(\d{4})\s*")


def parse_years(text: str) -> tuple[int | None, int | None]:
    """``"1946-2000"`` -> ``(1946, 2000)``; ``"-2000"`` -> ``(None, 2000)``; ``"1990"`` -> ``(1990, 1990)``."""
    m = YEARS.fullmatch(str(text))
    if m is None:
        raise ParameterError(f"YEARS must be FIRST-LAST in four-digit years (1946-2000, -2000 or 1990-). Got {text!r} instead.")
    if m.group(3):
        return int(m.group(3)), int(m.group(3))
    first, last = (int(g) if g else None for g in m.group(1, 2))
    if first is not None and last is not None and first > last:
        raise ParameterError(f"YEARS={text!r}: the first year is after the last. Give FIRST-LAST, e.g. 1946-2000.")
    return first, last


def draw_sample(paragraphs: pd.DataFrame, n: int, seed: int, test_fraction: float = 0.5,
                stratify: str | None = None, exclude: Sequence[str] = (),
                years: tuple[int | None, int | None] = (None, None)) -> pd.DataFrame:
    """Draw ``n`` body paragraphs at random, without replacement, and split them into tune/test.

    ``paragraphs``: the ingest table (``para_id``, ``doc_id``, ``kind``, ``text`` and the manifest
    columns). With ``stratify`` (a column, e.g. ``genre``), ``n`` is allocated to its values in
    proportion to their body paragraphs and each stratum is sampled on its own. Returns a frame
    with :data:`SAMPLE_COLUMNS`, in draw order (which does not reveal document order).
    ``split`` gives ``round(n * test_fraction)`` rows ``test`` and the rest ``tune``.
    ``exclude``: paragraph ids never drawn (e.g. those of an earlier sample, to draw a fresh test split);
    the inclusion probabilities are then those of the remaining paragraphs.
    ``years``: (first, last) year of the documents' dates drawn from, inclusive (``None``: open); the
    inclusion probabilities are then those within the period.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ParameterError(f"N must be a whole number of at least 1. Got {n!r} instead.")
    if not 0.0 <= test_fraction <= 1.0:
        raise ParameterError(f"test_fraction must be between 0 and 1. Got {test_fraction!r} instead.")
    body = paragraphs.loc[paragraphs["kind"] == "body", ["para_id", "doc_id", "text"]
                          + ([stratify] if stratify and stratify in paragraphs.columns else [])]
    if stratify and stratify not in paragraphs.columns:
        choices = ", ".join(sorted(c for c in paragraphs.columns if c not in ("text", "text_norm")))
        raise ParameterError(f"stratify must be a column of the paragraphs table ({choices}). Got {stratify!r} instead.")
    if len(exclude):
        body = body[~body["para_id"].isin(set(exclude))]
    first, last = years
    if first is not None or last is not None:
        year = pd.to_numeric(paragraphs.loc[body.index, "date"].astype(str).str[:4], errors="coerce")
        body = body[year.between(first if first is not None else -1, last if last is not None else 9999)]
        if body.empty:
            raise ParameterError(f"no body paragraph is dated in the years {first or ''}-{last or ''}. Widen YEARS.")
    body = body.sort_values("para_id", kind="mergesort").reset_index(drop=True)
    if n > len(body):
        raise ParameterError(f"N={n} is more than the corpus's {len(body)} body paragraphs. Choose a smaller N.")
    rng = np.random.default_rng(seed)
    strata = body[stratify].astype(str).replace("", "unknown") if stratify else pd.Series("all", index=body.index)
    sizes = strata.value_counts().sort_index()
    alloc = _allocate(sizes, n)
    if int(alloc.sum()) < n:  # a stratum too small for its share: cannot happen with proportional shares, but say so
        raise ParameterError(f"cannot allocate N={n} over the strata of {stratify!r}: {dict(sizes)}")
    picked: list[pd.DataFrame] = []
    for stratum, size in sizes.items():
        k = int(alloc[stratum])
        if k == 0:
            continue
        members = body.index[strata == stratum]
        rows = body.loc[rng.choice(members, size=k, replace=False), ["para_id", "doc_id", "text"]].copy()
        rows["stratum"] = stratum
        rows["inclusion_probability"] = k / int(size)
        picked.append(rows)
    sample = pd.concat(picked, ignore_index=True)
    sample = sample.iloc[rng.permutation(len(sample))].reset_index(drop=True)
    n_test = int(round(len(sample) * test_fraction))
    split = np.array(["tune"] * len(sample), dtype=object)
    split[rng.permutation(len(sample))[:n_test]] = "test"
    sample["split"] = split
    sample["themes"] = ""
    sample["coder"] = ""
    return sample[SAMPLE_COLUMNS]


def _has_coding(path: Path) -> bool:
    try:
        existing = pd.read_csv(path, dtype=str, keep_default_na=False)
    except Exception:  # unreadable: treat as precious rather than overwrite it
        return True
    return "themes" in existing.columns and bool((existing["themes"].str.strip() != "").any())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.validation_sample",
                                     description="Draw a blind validation sample of body paragraphs for hand coding.")
    parser.add_argument("--paragraphs", required=True, help="paragraphs.parquet written by the ingest")
    parser.add_argument("--n", required=True, help="paragraphs to draw")
    parser.add_argument("--seed", required=True, help="random seed (a whole number)")
    parser.add_argument("--out", required=True, help="CSV to write")
    parser.add_argument("--test-fraction", default="0.5", help="share of the sample held out as the test split (0.5)")
    parser.add_argument("--stratify", default="", help="manifest column to stratify by (e.g. genre); empty: simple random sample")
    parser.add_argument("--exclude", action="append", default=[],
                        help="an earlier sample CSV whose paragraphs are never drawn (repeatable): a fresh test split")
    parser.add_argument("--years", default="", help="draw only from documents of these years: FIRST-LAST (1946-2000, -2000, 1990-)")
    parser.add_argument("--force", action="store_true", help="overwrite an OUT that already holds coded themes")
    args = parser.parse_args(argv)
    values = {}
    for name, text, kind in (("N", args.n, int), ("SEED", args.seed, int), ("TEST_FRACTION", args.test_fraction, float)):
        try:
            values[name] = kind(str(text).strip())
        except ValueError:
            raise ParameterError(f"{name} must be a {'whole number' if kind is int else 'number'}. Got {text!r} instead.") from None
    out = Path(args.out)
    if out.exists() and not args.force and _has_coding(out):
        raise ParameterError(f"{out} already exists and holds coded themes; drawing again would lose that coding. "
                             "Choose another OUT (or pass --force to overwrite it).")
    from helpers.corpus.corpus import read_paragraphs

    excluded: list[str] = []
    for earlier in args.exclude:
        try:
            excluded += pd.read_csv(earlier, dtype=str, keep_default_na=False, usecols=["para_id"])["para_id"].tolist()
        except (OSError, ValueError) as exc:
            raise ParameterError(f"{earlier}: cannot read its para_id column to exclude those paragraphs ({exc}). "
                                 "Give an earlier sample CSV.") from None
    sample = draw_sample(read_paragraphs(args.paragraphs), values["N"], values["SEED"], values["TEST_FRACTION"],
                         args.stratify or None, excluded, parse_years(args.years) if args.years.strip() else (None, None))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(sample, out)
    counts = sample["split"].value_counts()
    print(f"drew {len(sample)} body paragraphs (seed {values['SEED']}; {counts.get('tune', 0)} tune, "
          f"{counts.get('test', 0)} test{f'; years {args.years.strip()}' if args.years.strip() else ''}) -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
