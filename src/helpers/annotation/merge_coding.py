"""Merge coders' blind coding into a drawn validation sample (and a second coder's file beside it).

Coders receive the sample's paragraphs in batches (``para_id,text`` only) and return
``para_id,themes`` files, one row per paragraph they were given. This module checks each return
against the sample and writes, without changing a single judgement (theme ids are only sorted
and de-duplicated):

- the sample itself with ``themes`` and ``coder`` filled for the rows of each batch
  (``coder`` = the name given with the batch);
- with ``--second``, ``<sample>.second-coder.csv``: the sample's columns, only the rows the
  second coder coded, ``coder`` = the second coder's name;
- with ``--adjudicated`` (``para_id,theme,decision,reason``; decision ``present`` or ``absent``), the
  disagreements between the first and the second coder settled by a third coder who saw the paragraph,
  the themes both coders agreed on and the disputed theme, not who coded what: the decision replaces the
  first coder's judgement on that theme in the sample (the gold), and ``coder`` becomes
  ``<first coder>+adjudicated``. Every disagreement must be settled, and only disagreements. The first
  coder's own coding of the second coder's rows is kept in ``<sample>.first-coder.csv``, so the two
  coders' agreement is measured before adjudication.

Checks (each raises :class:`~helpers.errors.AnnotationError` naming the file and line): every
returned para_id is in the sample and appears once; every theme is a codebook theme; together the
batches of the first coder cover each sample row at most once; a batch that misses rows it was given
(``--given``) is incomplete.

Command line (``make merge-coding``)::

    python -m helpers.annotation.merge_coding --sample data/validation/ungdc-2015-2024.csv --codebook data/codebook.yml \\
        --batch coder-a1=data/validation/coding/batch1.csv [--batch ...] \\
        [--second coder-b=data/validation/coding/second-coder.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from helpers.annotation.codebook import Codebook, load_codebook
from helpers.errors import AnnotationError, run_cli
from helpers.io import read_text_csv, write_csv
from helpers.annotation.validation_sample import SAMPLE_COLUMNS


def read_coding(path: str | Path, codebook: Codebook, sample_ids: set[str]) -> pd.DataFrame:
    """A coder's ``para_id,themes`` file, checked. Columns ``para_id``, ``themes`` (sorted ids joined by ``;``)."""
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(f"{p}: coding file not found.")
    rows, seen = [], {}
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        if not {"para_id", "themes"} <= set(reader.fieldnames or []):
            raise AnnotationError(f"{p}, line 1: a coding file has the columns para_id,themes. "
                                  f"Found {','.join(reader.fieldnames or []) or 'nothing'}.")
        for row in reader:
            where = f"{p}, line {reader.line_num}"
            pid = (row["para_id"] or "").strip()
            if pid not in sample_ids:
                raise AnnotationError(f"{where}: paragraph '{pid}' is not in the sample.")
            if pid in seen:
                raise AnnotationError(f"{where}: paragraph '{pid}' is coded twice (first at line {seen[pid]}).")
            seen[pid] = reader.line_num
            themes = sorted({t.strip() for t in (row["themes"] or "").split(";") if t.strip()})
            unknown = [t for t in themes if t not in codebook]
            if unknown:
                raise AnnotationError(f"{where}: unknown theme '{unknown[0]}' for paragraph {pid}. "
                                      f"Known themes: {', '.join(codebook.theme_ids)}.")
            rows.append({"para_id": pid, "themes": ";".join(themes)})
    return pd.DataFrame(rows, columns=["para_id", "themes"])


def _named(spec: str, what: str) -> tuple[str, str]:
    coder, sep, path = spec.partition("=")
    if not sep or not coder.strip() or not path.strip():
        raise AnnotationError(f"{what} must be CODER=FILE (e.g. coder-a1=batch1.csv). Got '{spec}' instead.")
    return coder.strip(), path.strip()


def merge_coding(sample: pd.DataFrame, batches: Sequence[tuple[str, pd.DataFrame]]) -> pd.DataFrame:
    """The sample with ``themes`` and ``coder`` filled from ``batches`` ((coder, coding) pairs).

    A paragraph coded in two batches raises :class:`AnnotationError`; rows no batch codes keep
    their ``themes`` and ``coder``.
    """
    out = sample.copy()
    done: dict[str, str] = {}
    for coder, coding in batches:
        for pid in coding["para_id"]:
            if pid in done:
                raise AnnotationError(f"paragraph '{pid}' is coded by both {done[pid]} and {coder}; give each row to one batch.")
            done[pid] = coder
        themes = dict(zip(coding["para_id"], coding["themes"]))
        hit = out["para_id"].isin(themes)
        out.loc[hit, "themes"] = out.loc[hit, "para_id"].map(themes)
        out.loc[hit, "coder"] = coder
    return out


def settle(sample: pd.DataFrame, second: pd.DataFrame, decisions: pd.DataFrame, where: str) -> pd.DataFrame:
    """The sample with the first/second-coder disagreements replaced by the adjudicator's ``decisions``.

    ``sample``: coded by the first coder; ``second``: the second coder's rows (``para_id``, ``themes``);
    ``decisions``: ``para_id, theme, decision`` (``present``/``absent``). Raises
    :class:`AnnotationError` (naming ``where`` and the line) for a decision on a theme the coders agreed on,
    an unknown decision, or a disagreement left unsettled.
    """
    first = {p: set(filter(None, t.split(";"))) for p, t in zip(sample["para_id"], sample["themes"])}
    disputed = {(p, t) for p, t2 in zip(second["para_id"], second["themes"])
                for t in first[p] ^ set(filter(None, t2.split(";")))}
    settled: dict[str, set[str]] = {}
    for line, (pid, theme, decision) in enumerate(zip(decisions["para_id"], decisions["theme"], decisions["decision"]), 2):
        if (pid, theme) not in disputed:
            raise AnnotationError(f"{where}, line {line}: the coders agree on '{theme}' for paragraph '{pid}'; "
                                  "only disagreements are adjudicated.")
        if decision not in ("present", "absent"):
            raise AnnotationError(f"{where}, line {line}: decision must be one of {{present, absent}}. Got '{decision}' instead.")
        themes = settled.setdefault(pid, set(first[pid]))
        (themes.add if decision == "present" else themes.discard)(theme)
        disputed.discard((pid, theme))
    if disputed:
        pid, theme = sorted(disputed)[0]
        raise AnnotationError(f"{where}: {len(disputed)} disagreement(s) between the coders are not settled "
                              f"(first: '{theme}' for paragraph '{pid}'). Add a decision for each.")
    out = sample.copy()
    hit = out["para_id"].isin(settled)
    out.loc[hit, "themes"] = out.loc[hit, "para_id"].map(lambda p: ";".join(sorted(settled[p])))
    out.loc[hit, "coder"] = out.loc[hit, "coder"] + "+adjudicated"
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.merge_coding", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", required=True, help="the drawn sample (helpers.annotation.validation_sample), rewritten in place")
    parser.add_argument("--codebook", required=True, help="codebook whose theme ids the coding must use")
    parser.add_argument("--batch", action="append", default=[], help="CODER=FILE: a first-coder batch (repeat)")
    parser.add_argument("--given", action="append", default=[],
                        help="FILE: the para_id list a batch was given (same order as --batch): checks it is complete")
    parser.add_argument("--second", help="CODER=FILE: a second coder's independent coding of some sample rows")
    parser.add_argument("--adjudicated", help="FILE (para_id,theme,decision,reason): every first/second-coder "
                        "disagreement settled by a third coder; the decisions become the gold")
    args = parser.parse_args(argv)
    if args.adjudicated and not args.second:
        raise AnnotationError("--adjudicated settles disagreements with a second coder: give --second too.")
    cb = load_codebook(args.codebook)
    sample = read_text_csv(args.sample)
    missing = [c for c in SAMPLE_COLUMNS if c not in sample.columns]
    if missing:
        raise AnnotationError(f"{args.sample}: not a drawn sample; missing column(s) {', '.join(missing)}.")
    ids = set(sample["para_id"])
    batches = []
    for k, spec in enumerate(args.batch):
        coder, path = _named(spec, "--batch")
        coding = read_coding(path, cb, ids)
        if k < len(args.given):
            given = read_text_csv(args.given[k])["para_id"]
            lacking = [p for p in given if p not in set(coding["para_id"])]
            if lacking:
                raise AnnotationError(f"{path}: incomplete: {len(lacking)} of the {len(given)} paragraphs given in "
                                      f"{args.given[k]} are not coded (first: {lacking[0]}).")
        batches.append((coder, coding))
    merged = merge_coding(sample, batches)
    if args.second:
        coder, path = _named(args.second, "--second")
        coding = read_coding(path, cb, ids)
        second = merge_coding(sample[sample["para_id"].isin(set(coding["para_id"]))].assign(themes="", coder=""),
                              [(coder, coding)])
        if args.adjudicated:
            decisions = read_text_csv(args.adjudicated)
            lacking = [c for c in ("para_id", "theme", "decision") if c not in decisions.columns]
            if lacking:
                raise AnnotationError(f"{args.adjudicated}, line 1: missing column(s) {', '.join(lacking)}; "
                                      "an adjudication file has para_id,theme,decision,reason.")
            raw = merged[merged["para_id"].isin(set(coding["para_id"]))]
            target = Path(args.sample).with_name(Path(args.sample).stem + ".first-coder.csv")
            write_csv(raw[SAMPLE_COLUMNS], target)  # before adjudication: what the two coders' agreement is measured on
            print(f"{target}: the first coder's own coding of the {len(raw)} rows the second coder coded")
            merged = settle(merged, coding, decisions, args.adjudicated)
    write_csv(merged[SAMPLE_COLUMNS], args.sample)
    n_coded = int((merged["coder"] != "").sum())
    n_settled = int(merged["coder"].str.endswith("+adjudicated").sum())
    print(f"{args.sample}: {n_coded} of {len(merged)} rows coded ({', '.join(c for c, _ in batches)})"
          + (f"; {n_settled} rows with disagreements settled by adjudication" if n_settled else ""))
    if args.second:
        target = Path(args.sample).with_name(Path(args.sample).stem + ".second-coder.csv")
        write_csv(second[SAMPLE_COLUMNS], target)
        print(f"{target}: {len(second)} rows coded by {coder} "
              f"({', '.join(f'{k} {v}' for k, v in second['split'].value_counts().items())})")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
