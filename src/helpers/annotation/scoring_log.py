"""The log of held-out scorings: one row each time the rules are scored on a ``test`` (or ``dev``) split.

The ``test`` split is read only as numbers, once per rule change; this log is the record that it
was (``data/validation/test-log.csv``). :func:`log_held_out` appends the micro figures of the
``rules`` annotation on the ``held-out`` sample of an ``agreement.csv``, or on its ``dev`` sample when it
has no held-out one (:func:`helpers.annotation.split_agreement.reference_sample`).

Columns of the log: ``date`` (UTC, ISO 8601), ``commit`` (the commit scored: ``git rev-parse
--short HEAD``, with ``+dirty`` when the codebook or the rule data had uncommitted changes),
``codebook`` (first 12 hex digits of the SHA-256 of the codebook file), ``paragraphs`` (held-out
paragraphs scored), ``precision``, ``precision_low``, ``precision_high``, ``recall``, ``recall_low``,
``recall_high``, ``f1``, ``f1_low``, ``f1_high`` (micro, rules alone), ``note`` (what changed),
````sample_from``, ``sample_to`` (dates YYYY-MM-DD of the earliest and latest document of the held-out
paragraphs: the text the figures hold for; blank when unknown), ``sample`` (``held-out``, or ``dev``: paragraphs
never read to write a rule but whose scores chose between rules, which flatter the coding somewhat). A log
written before these columns existed gets them when the next row is appended (the dates blank, ``sample``
``held-out``, which is what every row was then meant to be).

Command line (``make log-test REPORTS=... NOTE='...'``)::

    python -m helpers.annotation.scoring_log --agreement REPORTS/agreement.csv --codebook data/codebook.yml \\
        --log data/validation/test-log.csv --note "what changed" \\
        --scored REPORTS/validation_scored.csv --documents build/<corpus>/documents.csv
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from helpers.annotation.split_agreement import reference_sample
from helpers.errors import ParameterError, run_cli

LOG_COLUMNS = ["date", "commit", "codebook", "paragraphs", "precision", "precision_low", "precision_high",
               "recall", "recall_low", "recall_high", "f1", "f1_low", "f1_high", "note", "sample_from", "sample_to", "sample"]


def sample_period(scored_csv: str | Path, documents_csv: str | Path) -> tuple[str, str]:
    """Dates (YYYY-MM-DD) of the earliest and latest document of the held-out paragraphs of a
    ``validation_scored.csv``, from the ingest's ``documents.csv``; ("", "") when none is dated."""
    scored = pd.read_csv(scored_csv, dtype=str, keep_default_na=False)
    dates = pd.read_csv(documents_csv, dtype=str, keep_default_na=False).set_index("doc_id")["date"]
    held = scored.loc[scored["sample"] == reference_sample(scored["sample"]), "doc_id"]
    found = sorted(d for d in dates.reindex(held.unique()).dropna() if d)
    return (found[0], found[-1]) if found else ("", "")


def held_out_row(agreement: pd.DataFrame) -> dict[str, object]:
    """Micro figures of the rules alone on the held-out sample of an agreement table (its dev sample when it has no
    held-out one), with ``sample`` saying which."""
    if "sample" not in agreement.columns:
        raise ParameterError("the agreement table has no `sample` column: score a sample with a test split first.")
    sample = reference_sample(agreement["sample"])
    micro = agreement[(agreement["annotation"] == "rules") & (agreement["sample"] == sample)]
    overall = micro[micro["theme"] == "(overall)"]
    if overall.empty:
        raise ParameterError("the agreement table has no held-out or dev rows: the validation sample has no coded test "
                             "(or dev) split.")
    r = overall.iloc[0]
    row: dict[str, object] = {"paragraphs": int(micro[micro["theme"] == "(macro)"]["n"].iloc[0]), "sample": sample}
    for m in ("precision", "recall", "f1"):
        for c in (m, f"{m}_low", f"{m}_high"):
            row[c] = f"{float(r[c]):.4f}"
    return row


def _commit(paths: Sequence[str]) -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *paths], capture_output=True, text=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def codebook_digest(codebook: str | Path) -> str:
    """The log's ``codebook`` key: the first 12 hex digits of the codebook file's SHA-256."""
    return hashlib.sha256(Path(codebook).read_bytes()).hexdigest()[:12]


def log_held_out(agreement_csv: str | Path, codebook: str | Path, log: str | Path, note: str,
                 rule_data: Sequence[str] = (), period: tuple[str, str] = ("", "")) -> dict[str, object]:
    """Append one row to ``log`` (created with its header if missing); return the row. ``period``:
    :func:`sample_period` of the paragraphs scored."""
    agreement = pd.read_csv(agreement_csv)
    row = {"date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
           "commit": _commit([str(codebook), *rule_data]),
           "codebook": codebook_digest(codebook),
           **held_out_row(agreement), "note": note, "sample_from": period[0], "sample_to": period[1]}
    path = Path(log)
    _add_new_columns(path)
    new = not path.is_file()
    with path.open("a", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LOG_COLUMNS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)
    return row


def _add_new_columns(path: Path) -> None:
    """Give a log written with fewer columns than :data:`LOG_COLUMNS` the missing ones (blank), in place (atomic)."""
    if not path.is_file():
        return
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns) == LOG_COLUMNS:
        return
    from helpers.io import atomic_path

    filled = table.reindex(columns=LOG_COLUMNS, fill_value="")
    if "sample" not in table.columns:
        filled["sample"] = "held-out"
    with atomic_path(path) as tmp:
        filled.to_csv(tmp, index=False, lineterminator="\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.scoring_log", description=__doc__.split("\n\n")[0])
    parser.add_argument("--agreement", required=True, help="agreement.csv of make annotate")
    parser.add_argument("--codebook", required=True, help="the codebook scored")
    parser.add_argument("--log", required=True, help="the log CSV to append to")
    parser.add_argument("--note", required=True, help="what changed since the last scoring")
    parser.add_argument("--rule-data", nargs="*", default=[], help="data files of the rule language (aliases, spelling)")
    parser.add_argument("--scored", help="validation_scored.csv of the same run: the held-out paragraphs, for their dates")
    parser.add_argument("--documents", help="documents.csv of the ingest (doc_id, date)")
    args = parser.parse_args(argv)
    period = sample_period(args.scored, args.documents) if args.scored and args.documents else ("", "")
    row = log_held_out(args.agreement, args.codebook, args.log, args.note, args.rule_data, period)
    print(f"{row['sample']} (rules alone, {row['paragraphs']} paragraphs): precision {row['precision']} recall {row['recall']} "
          f"F1 {row['f1']} [{row['f1_low']}, {row['f1_high']}] -> {args.log}")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
