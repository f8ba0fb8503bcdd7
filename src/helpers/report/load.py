"""Load the briefing's inputs as DataFrames: read only, never a write.

Every function here reads files that make's stages wrote (``REPORTS/annotated_paragraphs.csv``,
``evidence.csv``, the analysis CSVs, the ingest folder ``build/<corpus>``) or the corpus itself,
and returns a DataFrame or a plain value. Nothing is written anywhere, so a notebook run by hand
with any parameters leaves ``reports/`` byte-identical (tested in ``tests/test_notebooks.py``).

The usual first cell of a section notebook::

    from helpers.report import load
    sel = load.load_selection(corpus=corpus, codebook=codebook, reports=reports, ...)   # checked parameters
    paragraphs = load.load_paragraphs(sel)       # one row per selected body paragraph
    documents = load.load_documents(sel, paragraphs)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.analysis.analysis import read_annotated, read_evidence
from helpers.errors import ParameterError
from helpers.analysis.frequencies import split_themes
from helpers.io import file_stamp, restore_formulas
from helpers.params import DEFAULTS, Selection, resolve_path, select_paragraphs, validate_params

#: Paragraph kinds of the ingest (only ``body`` is coded).
KINDS = ("body", "title", "dateline", "salutation", "closing", "editorial")
DOC_COLUMNS = ("doc_id", "title", "organization", "genre", "date", "file", "iso3", "warnings")


@functools.lru_cache(maxsize=4)
def _annotated(path: str, mtime: float) -> pd.DataFrame:
    return read_annotated(path)


def _read_annotated(reports: Path) -> pd.DataFrame:
    path = reports / "annotated_paragraphs.csv"
    if not path.is_file():
        raise ParameterError(f"{path}: annotated paragraphs not found. Run `make annotate` (or make analyse) first, "
                             "or set the 'reports' parameter to the folder that holds them.")
    return _annotated(str(path), path.stat().st_mtime).copy()


@functools.lru_cache(maxsize=4)
def _codebook(path: str, mtime: float) -> Any:
    from helpers.annotation.codebook import load_codebook

    return load_codebook(path)


def load_codebook(selection: Selection) -> Any:
    """The codebook of ``selection`` (:class:`helpers.annotation.codebook.Codebook`: ``themes`` with ``id``, ``label``, ...)."""
    path = resolve_path(selection.codebook)
    return _codebook(str(path), path.stat().st_mtime)


def load_selection(**params: Any) -> Selection:
    """Check the notebook parameters against the data and return the :class:`~helpers.params.Selection`.

    ``params``: the names of :data:`helpers.params.DEFAULTS` (missing ones take the default).
    Raises :class:`~helpers.errors.ParameterError` naming the parameter, the allowed values and
    what was given (unknown organisation or theme, empty selection, unknown ``group_by``).
    """
    merged = {**DEFAULTS, **params}
    reports = resolve_path(merged["reports"])
    annotated = _read_annotated(reports)
    codebook_path = resolve_path(merged["codebook"])
    if not codebook_path.is_file():
        raise ParameterError(f"{codebook_path}: codebook not found. Set the 'codebook' parameter to an existing YAML codebook.")
    theme_ids = [t.id for t in _codebook(str(codebook_path), codebook_path.stat().st_mtime).themes]
    return validate_params(merged, annotated, theme_ids)


def load_paragraphs(selection: Selection) -> pd.DataFrame:
    """The selected body paragraphs: one row per paragraph of ``annotated_paragraphs.csv`` in the selection.

    Columns: ``para_id`` (str), ``doc_id`` (str), ``title``, ``organization``, ``genre``, ``date``
    (str, YYYY-MM-DD), ``source_para`` (Int64, the source's own paragraph number or NA),
    ``position`` (Int64, position in our split), ``n_words`` (Int64, words), ``text`` (str),
    ``label_chars``, ``themes`` (str, ``;``-separated theme ids, restricted to the selected themes).
    """
    chosen = select_paragraphs(_read_annotated(resolve_path(selection.reports)), selection)
    if not selection.all_themes:
        keep = set(selection.themes)
        chosen = chosen.assign(themes=chosen["themes"].map(lambda c: ";".join(t for t in split_themes(c) if t in keep)))
    return chosen


@functools.lru_cache(maxsize=4)
def _evidence(reports: str, stamp: tuple[tuple[int, int], ...]) -> pd.DataFrame | None:
    return read_evidence(reports)


def _read_evidence(reports: Path) -> pd.DataFrame | None:
    """:func:`read_evidence`, parsed once per version of the files it reads (a kernel runs several sections)."""
    stamp = tuple(file_stamp(reports / name) for name in ("evidence.csv", "annotations.csv"))
    evidence = _evidence(str(reports), stamp)
    return None if evidence is None else evidence.copy()


def load_evidence(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame | None:
    """The rule matches (``evidence.csv``) of ``paragraphs`` and the selected themes, or ``None`` without one.

    Columns: ``para_id``, ``doc_id``, ``theme``, ``rule``, ``rule_kind``, ``term`` (matched text),
    ``start``, ``end`` (character offsets in the paragraph), ``status``.
    """
    evidence = _read_evidence(resolve_path(selection.reports))
    if evidence is None:
        return None
    # Arrow's is_in: pandas's isin converts a large value set element by element.
    chosen = pc.is_in(pa.array(evidence["para_id"].astype(str)), value_set=pa.array(paragraphs["para_id"].astype(str)))
    keep = chosen.to_numpy(zero_copy_only=False) & evidence["theme"].isin(set(selection.themes)).to_numpy()
    return evidence[keep].reset_index(drop=True)


def theme_labels(selection: Selection) -> dict[str, str]:
    """Theme id -> label of the codebook, e.g. ``{"terrorism": "Terrorism and extremism", ...}``."""
    return {t.id: t.label for t in load_codebook(selection).themes}


def theme_starts(selection: Selection) -> dict[str, str]:
    """Theme id -> first date (YYYY-MM-DD) of the themes whose codebook entry has a ``from`` date, e.g.
    ``{"russia_ukraine_war": "2014-02-20"}``: their rules code nothing before it, so their trends start then."""
    return {t.id: t.from_date for t in load_codebook(selection).themes if t.from_date}


def _kind_counts(paragraphs: pd.DataFrame) -> pd.DataFrame:
    kinds = paragraphs.groupby(["doc_id", "kind"]).size().unstack(fill_value=0)
    out = pd.DataFrame(index=kinds.index)
    out["paragraphs"] = kinds.sum(axis=1)
    for k in KINDS:
        out[f"kind_{k}"] = kinds[k] if k in kinds.columns else 0
    return out


def _finish_documents(docs: pd.DataFrame, allp: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    docs = docs.copy()
    for c in DOC_COLUMNS:
        docs[c] = docs[c].fillna("").astype(str) if c in docs.columns else ""
    counts = _kind_counts(allp) if len(allp) else pd.DataFrame()
    docs = docs[list(DOC_COLUMNS)].join(counts, on="doc_id") if len(counts) else docs[list(DOC_COLUMNS)]
    docs["removed"] = docs["doc_id"].map(removed.groupby("doc_id").size()).fillna(0).astype(int)
    for c in ["paragraphs", *[f"kind_{k}" for k in KINDS]]:
        docs[c] = docs[c].fillna(0).astype(int) if c in docs.columns else 0
    return docs.sort_values(["date", "doc_id"], kind="mergesort").reset_index(drop=True)


@functools.lru_cache(maxsize=4)
def _ingest_tables(corpus: str, build: str | None, selected: frozenset[str], stamp: float) -> tuple[pd.DataFrame, ...]:
    """Documents, cleaning log, paragraph kinds and skipped documents, from the ingest folder or the corpus."""
    if build is not None and (Path(build) / "documents.csv").is_file():
        b = Path(build)
        docs = pd.read_csv(b / "documents.csv", dtype=str, keep_default_na=False)
        docs = docs[docs["doc_id"].isin(selected)]
        removed = (pd.read_csv(b / "cleaning.csv", dtype={"doc_id": str, "rule": str, "text": str}, keep_default_na=False)
                   if (b / "cleaning.csv").is_file() else pd.DataFrame(columns=["doc_id", "char_start", "char_end", "rule", "text"]))
        removed = removed[removed["doc_id"].isin(selected)].reset_index(drop=True)
        allp = (pd.read_parquet(b / "paragraphs.parquet", columns=["para_id", "doc_id", "kind"]) if (b / "paragraphs.parquet").is_file()
                else pd.DataFrame(columns=["para_id", "doc_id", "kind"]))
        allp = allp[allp["doc_id"].isin(selected)].reset_index(drop=True)
        skipped = (pd.read_csv(b / "skipped.csv", dtype=str, keep_default_na=False) if (b / "skipped.csv").is_file()
                   else pd.DataFrame(columns=["doc_id", "file", "line", "error"]))
        return _finish_documents(docs, allp, removed), removed, allp, skipped
    from helpers.corpus.corpus import iter_documents

    docs_l, removed_l, allp_l, skipped_l = [], [], [], []
    for doc in iter_documents(Path(corpus), on_error="skip", skipped=skipped_l):
        if doc.meta["doc_id"] not in selected:
            continue
        docs_l.append({k: doc.meta.get(k, "") for k in DOC_COLUMNS})
        removed_l.append(doc.removed)
        allp_l.append(doc.paragraphs[["para_id", "doc_id", "kind"]])
    removed = pd.concat(removed_l, ignore_index=True) if removed_l else pd.DataFrame(columns=["doc_id", "char_start", "char_end", "rule", "text"])
    allp = pd.concat(allp_l, ignore_index=True) if allp_l else pd.DataFrame(columns=["para_id", "doc_id", "kind"])
    skipped = pd.DataFrame(skipped_l, columns=["doc_id", "file", "line", "error"]).astype(str)
    return _finish_documents(pd.DataFrame(docs_l, columns=list(DOC_COLUMNS)), allp, removed), removed, allp, skipped


def _ingest(selection: Selection, paragraphs: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    build = str(resolve_path(selection.build)) if selection.build else None
    documents = Path(build or resolve_path(selection.corpus)) / ("documents.csv" if build else "manifest.csv")
    stamp = documents.stat().st_mtime if documents.is_file() else 0.0  # a new ingest (make) is read again in a lab session
    tables = _ingest_tables(str(resolve_path(selection.corpus)), build, frozenset(paragraphs["doc_id"].astype(str)), stamp)
    return tuple(t.copy() for t in tables)


def load_documents(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """One row per document that has a paragraph in ``paragraphs``, sorted by date and id.

    Read from the ingest folder ``selection.build`` when it has ``documents.csv``, else from the
    corpus in memory (default cleaning rules). Columns: ``doc_id``, ``title``, ``organization``,
    ``genre``, ``date``, ``file``, ``iso3``, ``warnings`` (str, ``" | "``-separated ingest
    warnings), ``paragraphs`` (int, all kinds), ``kind_body`` ... ``kind_editorial`` (int,
    paragraphs per kind), ``removed`` (int, fragments cleaning removed).
    """
    return _ingest(selection, paragraphs)[0]


def load_cleaning(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """What cleaning removed from the selected documents: ``doc_id``, ``char_start``, ``char_end``
    (character offsets in the raw file), ``rule`` (name in cleaning.yml), ``text`` (what was removed)."""
    return _ingest(selection, paragraphs)[1]


def load_paragraph_kinds(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Every paragraph of the selected documents, all kinds: ``para_id``, ``doc_id``, ``kind`` (one of :data:`KINDS`)."""
    return _ingest(selection, paragraphs)[2]


def load_skipped(selection: Selection, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Documents the ingest skipped (``ON_ERROR=skip``): ``doc_id``, ``file``, ``line`` (manifest line), ``error``."""
    return _ingest(selection, paragraphs)[3]


def load_assignments(selection: Selection, documents: pd.DataFrame) -> pd.DataFrame:
    """The group(s) of each document under ``selection.group_by`` (:func:`helpers.corpus.groups.assign_groups`).

    Columns: ``doc_id``, ``group`` (str; the organisation with ``group_by=organization``; ``rest``
    or ``none`` for speakers outside the chosen group(s)). A document in several groups has one
    row per group.
    """
    from helpers.corpus.groups import assign_groups, load_groups

    groups = load_groups(resolve_path(selection.groups))
    return assign_groups(documents[["doc_id", "organization", "date", "iso3"]], selection.group_by, groups)


#: The group set a passage family is counted across when the briefing is per organisation or per one group.
FAMILY_GROUP_SET = "blocs"


def load_family_groups(selection: Selection, documents: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The groups whose number carrying a reused passage says how far it crossed blocs, and their set's name.

    The briefing's own group set when ``group_by`` is one (e.g. ``blocs``, ``eurasian``), else
    :data:`FAMILY_GROUP_SET` of the groups file (members on each document's date, as
    :func:`load_assignments`); ``(None, "")`` when the groups file has no such set.
    """
    from helpers.corpus.groups import assign_groups, load_groups

    groups = load_groups(resolve_path(selection.groups))
    name = selection.group_by if selection.group_by in groups.sets else FAMILY_GROUP_SET
    if name not in groups.sets:
        return None, ""
    return assign_groups(documents[["doc_id", "organization", "date", "iso3"]], name, groups), name


def is_full_selection(selection: Selection) -> bool:
    """True when the selection is the whole corpus with the analysis defaults (``make analyse``'s own tables apply)."""
    s = selection
    return (s.all_organizations and s.all_themes and not s.date_from and not s.date_to
            and s.min_reuse_words == DEFAULTS["min_reuse_words"])


#: Columns of the analysis CSVs read as text (the rest are numbers; empty cells are NaN).
TEXT_COLUMNS = {"doc_a", "doc_b", "para_a", "para_b", "organization_a", "organization_b", "shared_themes", "shared_terms",
                "text_a", "text_b", "group", "term", "by", "doc_id", "theme", "theme_a", "theme_b", "para_id", "quote",
                "title", "date", "direction", "correction", "passage", "first_doc_id", "first_date"}


def read_report_csv(path: str | Path) -> pd.DataFrame:
    """A CSV of the reports folder, text columns as str (formula-guard quotes removed), numbers as numbers."""
    header = pd.read_csv(path, nrows=0).columns
    return restore_formulas(pd.read_csv(path, dtype={c: str for c in header if c in TEXT_COLUMNS}, keep_default_na=False,
                                        na_values={c: [""] for c in header if c not in TEXT_COLUMNS}))


def load_analysis_table(selection: Selection, name: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The table ``name`` of ``make analyse`` (e.g. ``"text_reuse.csv"``) when the selection is the whole corpus
    (:func:`is_full_selection`: same arguments, so the same numbers), else ``compute()`` on the selection."""
    return load_analysis_tables(selection, (name,), lambda: (compute(),))[0]


def load_analysis_tables(selection: Selection, names: Sequence[str],
                         compute: Callable[[], tuple[pd.DataFrame, ...]]) -> tuple[pd.DataFrame, ...]:
    """:func:`load_analysis_table` for tables computed together (e.g. ``reuse_clusters.csv`` and its members):
    all of them as ``make analyse`` wrote them, or all from ``compute()``, never a mix."""
    paths = [resolve_path(selection.reports) / name for name in names]
    if is_full_selection(selection) and all(p.is_file() for p in paths):
        return tuple(read_report_csv(p) for p in paths)
    return tuple(compute())


def load_agreement(selection: Selection) -> pd.DataFrame:
    """``agreement.csv`` of ``make annotate`` (empty without a validation sample).

    One row per ``annotation`` (``rules`` alone or ``final`` = rules plus overrides), ``sample``
    (``in-sample``: the paragraphs the rules were tuned on; ``dev``: never read, but scored while choosing rules;
    ``held-out``: the test split) and
    ``theme`` (a theme id, ``(overall)`` = micro over all decisions, ``(macro)`` = mean over
    themes). Columns ``n`` (paragraphs), ``gold_pos``, ``pred_pos``, ``tp``, ``fp``, ``fn``,
    ``tn`` (counts), ``precision``, ``recall``, ``f1``, ``kappa`` (0-1) and their 95% interval
    bounds ``*_low``/``*_high``.
    """
    path = resolve_path(selection.reports) / "agreement.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path, keep_default_na=True)
    if "sample" not in table.columns:
        table.insert(1, "sample", "in-sample")
    return table


def load_disagreements(selection: Selection) -> pd.DataFrame:
    """Paragraph-theme decisions where the final coding and the validation sample differ (``validation_disagreements.csv``).

    Columns: ``annotation`` (``final``), ``sample``, ``para_id``, ``doc_id``, ``theme``, ``gold``, ``predicted`` (0/1),
    ``kind`` (``missed``: hand coder only; ``spurious``: coding only), ``text``.
    """
    path = resolve_path(selection.reports) / "validation_disagreements.csv"
    if not path.is_file():
        return pd.DataFrame(columns=["annotation", "sample", "para_id", "doc_id", "theme", "gold", "predicted", "kind", "text"])
    dis = restore_formulas(pd.read_csv(path, dtype=str, keep_default_na=False))
    return dis[dis["annotation"] == "final"].reset_index(drop=True) if "annotation" in dis.columns else dis


def load_coder_agreement(selection: Selection) -> pd.DataFrame:
    """Two coders' agreement (``coder_agreement.csv``; empty without a second coder): one row per theme and
    ``(overall)`` with the two coders' counts, Cohen's kappa and its 95% interval (see :func:`helpers.annotation.annotate.coder_agreement`)."""
    path = resolve_path(selection.reports) / "coder_agreement.csv"
    return pd.read_csv(path, keep_default_na=True) if path.is_file() else pd.DataFrame()


#: Every scoring of a held-out split, one row each (``make log-test``): the project's record of how the rules generalise.
TEST_LOG = Path(__file__).resolve().parents[3] / "data" / "validation" / "test-log.csv"


def load_agreement_by_period(selection: Selection) -> pd.DataFrame:
    """``agreement_by_period.csv`` of ``make annotate``: held-out micro agreement per period of the documents' dates
    (:func:`helpers.annotation.split_agreement.agreement_by_period`); empty without a held-out validation sample."""
    path = resolve_path(selection.reports) / "agreement_by_period.csv"
    if not path.is_file():
        return pd.DataFrame()
    return pd.read_csv(path, dtype={"period": str}, keep_default_na=False)


def load_held_out_log(selection: Selection, log: str | Path = TEST_LOG) -> pd.DataFrame:
    """The logged held-out scorings of the selection's codebook: :func:`held_out_log` of ``selection.codebook``."""
    return held_out_log(resolve_path(selection.codebook), log)


def held_out_log(codebook: str | Path, log: str | Path = TEST_LOG) -> pd.DataFrame:
    """The rows of the held-out scoring log (``data/validation/test-log.csv``, written by ``make log-test``) whose
    ``codebook`` is this codebook file (:func:`helpers.annotation.scoring_log.codebook_digest`); empty for any other codebook.

    Columns ``date`` (UTC), ``commit``, ``codebook``, ``paragraphs`` (held-out paragraphs scored),
    ``precision``, ``recall``, ``f1`` with ``*_low``/``*_high`` (95% bootstrap interval; micro, rules alone)
    ``note`` (which sample was scored, after which change), ``sample_from``/``sample_to`` and ``sample`` (``held-out``,
    or ``dev``: a split whose scores chose between rules; ``held-out`` for a log written before the column). These
    figures come from text the rules were not written from, unlike a corpus's own in-sample validation set.
    """
    from helpers.annotation.scoring_log import codebook_digest

    path, book = Path(log), Path(codebook)
    if not path.is_file() or not book.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path, dtype={"commit": str, "codebook": str, "note": str}, keep_default_na=False)
    if "sample" not in table.columns:
        table["sample"] = "held-out"
    return table[table["codebook"] == codebook_digest(book)].reset_index(drop=True)


def load_annotation_warnings(selection: Selection) -> list[str]:
    """The annotation stage's warnings (``build/<corpus>/annotation_warnings.csv``): rows of overrides or the
    validation sample set aside, contradictory overrides. Empty without an ingest folder."""
    path = resolve_path(selection.build) / "annotation_warnings.csv" if selection.build else None
    if path is None or not path.is_file():
        return []
    return pd.read_csv(path, dtype=str, keep_default_na=False)["warning"].tolist()
