"""The analysis stage: every table the briefing quotes, written to REPORTS/ so readers can check each number.

:func:`write_analysis_tables` runs the analysis modules on the annotated paragraphs and
writes (through :func:`helpers.io.write_csv`: temporary file then rename, fixed order):

================================  ==============================================================
``theme_frequencies.csv``         :func:`helpers.frequencies.theme_frequencies` by document,
                                  organisation, genre and year (column ``by``)
``theme_ranking.csv``             :func:`helpers.frequencies.rank_themes` per document and organisation
``cooccurrence.csv``              :func:`helpers.cooccurrence.theme_cooccurrence` (corpus, min support)
``document_similarity.csv``       :func:`helpers.overlap.document_similarity`
``similar_paragraphs.csv``        :func:`helpers.overlap.similar_paragraphs`
``text_reuse.csv``                :func:`helpers.overlap.find_reuse`
``reuse_by_document_pair.csv``    :func:`helpers.overlap.reuse_by_document_pair`
``keyness.csv``                   :func:`helpers.keyness.keyness` per organisation
``evidence_quotes.csv``           :func:`helpers.evidence.evidence_quotes` (only with an evidence table)
================================  ==============================================================

Command line (used by ``make analyse``)::

    python -m helpers.analysis --reports REPORTS [--min-reuse-words 12]

reads ``REPORTS/annotated_paragraphs.csv`` and, if present, ``REPORTS/evidence.csv`` (one
row per rule match), else ``REPORTS/annotations.csv``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .cooccurrence import theme_cooccurrence
from .errors import ParameterError, run_cli
from .evidence import QUOTE_COLUMNS, evidence_quotes
from .frequencies import ANNOTATED_HINT, check_number, rank_themes, require_columns, theme_frequencies
from .io import write_csv
from .keyness import keyness
from .overlap import document_similarity, find_reuse, reuse_by_document_pair, similar_paragraphs

ANALYSIS_FILES = (
    "theme_frequencies.csv", "theme_ranking.csv", "cooccurrence.csv", "document_similarity.csv",
    "similar_paragraphs.csv", "text_reuse.csv", "reuse_by_document_pair.csv", "keyness.csv", "evidence_quotes.csv",
)


def write_analysis_tables(
    annotated: pd.DataFrame,
    evidence: pd.DataFrame | None,
    reports_dir: str | Path,
    min_reuse_words: int = 12,
    min_support: int = 2,
    top_similar: int = 3,
    keyness_min_freq: int = 3,
    themes: Sequence[str] | None = None,
) -> dict[str, Path]:
    """Compute the analysis tables from ``annotated`` (and ``evidence``) and write them under ``reports_dir``.

    ``annotated`` is the annotated body paragraphs table; ``evidence`` the annotation stage's
    match table (or ``None``: occurrences then count paragraphs and no quotes are chosen).
    ``themes`` lists every codebook theme so absent themes appear with zero counts.
    Returns ``{file name: path written}``.
    """
    check_number("min_reuse_words", min_reuse_words, 5)  # at least one 5-word shingle
    require_columns(annotated, ["para_id", "doc_id", "title", "organization", "genre", "date", "text", "themes"],
                    "The annotated paragraphs table", ANNOTATED_HINT)
    reports = Path(reports_dir)
    freq = pd.concat(
        [theme_frequencies(annotated, by=level, evidence=evidence, themes=themes)
         for level in ("document", "organization", "genre", "year")], ignore_index=True)
    ranking = pd.concat([rank_themes(freq[freq["by"] == level], top=None) for level in ("document", "organization")],
                        ignore_index=True)
    reuse = find_reuse(annotated, min_words=min_reuse_words)
    tables = {
        "theme_frequencies.csv": freq,
        "theme_ranking.csv": ranking,
        "cooccurrence.csv": theme_cooccurrence(annotated, min_support=min_support),
        "document_similarity.csv": document_similarity(annotated),
        "similar_paragraphs.csv": similar_paragraphs(annotated, top_n=top_similar),
        "text_reuse.csv": reuse,
        "reuse_by_document_pair.csv": reuse_by_document_pair(reuse, annotated),
        "keyness.csv": keyness(annotated, by="organization", min_freq=keyness_min_freq),
        "evidence_quotes.csv": (evidence_quotes(annotated, evidence) if evidence is not None
                                else pd.DataFrame(columns=QUOTE_COLUMNS)),
    }
    return {name: write_csv(df, reports / name) for name, df in tables.items()}


def read_annotated(path: str | Path) -> pd.DataFrame:
    """Read ``annotated_paragraphs.csv`` with ids and text as strings and ``source_para`` as Int64."""
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: annotated paragraphs not found. Run `make annotate` first (or pass --reports).")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("source_para", "position", "n_words"):
        if col in df.columns:
            df[col] = pd.array(pd.to_numeric(df[col].replace("", None), errors="coerce"), dtype="Int64")
    return df


def read_evidence(reports_dir: str | Path) -> pd.DataFrame | None:
    """``REPORTS/evidence.csv`` if present, else ``REPORTS/annotations.csv`` if present, else ``None``."""
    for name in ("evidence.csv", "annotations.csv"):
        path = Path(reports_dir) / name
        if path.is_file():
            df = pd.read_csv(path, dtype=str, keep_default_na=False)
            for col in ("start", "end"):
                if col in df.columns:
                    df[col] = pd.to_numeric(df[col].replace("", None), errors="coerce")
            return df
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.analysis", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", required=True, help="reports folder holding annotated_paragraphs.csv")
    parser.add_argument("--min-reuse-words", type=int, default=12, help="shortest reused passage reported (words)")
    parser.add_argument("--min-support", type=int, default=2, help="minimum paragraphs for a co-occurring pair")
    args = parser.parse_args(argv)
    annotated = read_annotated(Path(args.reports) / "annotated_paragraphs.csv")
    written = write_analysis_tables(annotated, read_evidence(args.reports), args.reports,
                                    min_reuse_words=args.min_reuse_words, min_support=args.min_support)
    for name, path in written.items():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
