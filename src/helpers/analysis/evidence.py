"""Evidence quotes: the most representative sentences for each theme and organisation, with citations.

A quote is one *complete sentence* of a body paragraph that carries the theme: it begins
with a capital letter, digit or opening quote, ends with ``.``, ``!`` or ``?`` (a closing
quote or bracket may follow), and contains no elision mark (``<…>``, ``[…]``, ``...``).
Sentences are ranked within each (theme, organisation) by

1. the strength of the rule evidence inside the sentence: the number of the theme's rule
   matches it contains (more is better), then the number of distinct matched terms;
2. length: the shortest complete sentence first (a quote should be quotable);
3. date (newest first), then ``para_id`` and offset, so the order is fixed.

At most one quote is taken per paragraph. Each quote carries its citation: document
title, date and ``¶N`` where the source numbers its paragraphs (``source_para``).

The evidence table is the annotation stage's, one row per rule match: ``para_id, theme``
and either ``start, end`` (character offsets into the paragraph's ``text``) or the matched
words in a ``match``/``matched``/``term``/``evidence`` column (several matches in one cell
may be separated by ``;`` or ``|``; each is then searched for in the text, case-, quote-
and dash-insensitively). Rows with ``source`` other than ``rule`` are ignored.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from helpers.arrays import release_memory
from helpers.errors import ParameterError
from helpers.analysis.frequencies import (
    ANNOTATED_HINT, BY_LEVELS, body_only, label_offsets, check_choice, check_number, group_key, require_columns, split_themes,
    usable_evidence,
)
import helpers.corpus.text as _text_module
from helpers.corpus.paragraph_cache import StringCache, source_version
from helpers.corpus.text import WORD_RE, fold

EVIDENCE_HINT = "Pass the evidence table written by the annotation stage (REPORTS/evidence.csv or annotations.csv)."
QUOTE_COLUMNS = [
    "theme", "group", "rank", "doc_id", "para_id", "quote", "start", "end", "matches", "terms", "words",
    "title", "date", "source_para", "citation",
]
TEXT_COLUMNS = ("match", "matched", "matched_text", "term", "evidence")

_SPAN_SUFFIX = re.compile(r"\s*[\[(]\d+\s*[-:]\s*\d+[\])]$")
# A boundary starts with a closing mark or white space after .!? or with white space, "<" or "[" before an
# elision mark; the leading lookahead only lets the regex engine skip every other position faster.
_BOUNDARY = re.compile(r"(?=[\s\"'”’)\]<\[])(?:(?<=[.!?])(?P<close>[\"'”’)\]]*)\s+|\s*(?P<elision><…>|<\.\.\.>|\[…\]|\[\.\.\.\])\s*)")
_ELISION = re.compile(r"<…>|<\.\.\.>|\[…\]|\[\.\.\.\]|…|\.\.\.")
_COMPLETE = re.compile(r"^[\"'“‘(]?[A-Z0-9][\s\S]*[.!?][\"'”’)\]]*$")
_PARAGRAPH_LABEL = re.compile(r"^Paragraph \d+\.$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``[start, end)`` spans of the sentences of ``text`` (split after ``.!?`` + space and at elision marks)."""
    spans, pos = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end("close")  # -1 when the boundary is an elision mark: the sentence ends where the mark starts
        if end < 0:
            end = m.start()
        if end > pos:
            spans.append((pos, end))
        pos = m.end()
    if pos < len(text):
        spans.append((pos, len(text)))
    out = []
    for s, e in spans:
        if not text[s].isspace() and not text[e - 1].isspace():  # nothing to strip (isspace is what strip removes)
            out.append((s, e))
            continue
        seg = text[s:e]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if e - trail > s + lead:
            out.append((s + lead, e - trail))
    return out


def is_complete_sentence(sentence: str) -> bool:
    """True if ``sentence`` starts like a sentence, ends with ``.!?`` and has no elision mark."""
    return _is_complete(fold(sentence.strip()), sentence)


def _is_complete(folded: str, sentence: str) -> bool:
    """:func:`is_complete_sentence` given ``folded = fold(sentence.strip())`` already (a slice of the folded paragraph)."""
    return bool(_COMPLETE.match(folded)) and not _ELISION.search(sentence) and not _PARAGRAPH_LABEL.match(folded)


def _matched_text_column(evidence: pd.DataFrame) -> str | None:
    """``None`` when the evidence table locates its matches by ``start, end``, else its matched-text column
    (the first of :data:`TEXT_COLUMNS` it has); raises :class:`ParameterError` when it has neither."""
    if {"start", "end"} <= set(evidence.columns):
        return None
    col = next((c for c in TEXT_COLUMNS if c in evidence.columns), None)
    if col is None:
        raise ParameterError(
            f"The evidence table has neither start, end (match offsets) nor a matched-text column "
            f"({', '.join(TEXT_COLUMNS)}); it has {', '.join(map(str, evidence.columns))}. {EVIDENCE_HINT}")
    return col


def _match_spans(ev: pd.DataFrame, texts: dict[str, str], col: str | None) -> pd.DataFrame:
    """Usable evidence rows (:func:`usable_evidence`) -> one row per located match: ``para_id, theme, start, end, term``.

    ``col``: :func:`_matched_text_column` of the table (``None``: the rows' ``start, end`` locate the matches)."""
    rows = []
    folded: dict[str, str] = {}
    if col is None:
        starts, ends = pd.notna(ev["start"]).to_numpy(), pd.notna(ev["end"]).to_numpy()
        for pid, theme, s, e, ok in zip(ev["para_id"].astype(str).tolist(), ev["theme"].astype(str).tolist(),
                                        ev["start"].tolist(), ev["end"].tolist(), (starts & ends).tolist()):
            if ok and pid in texts:
                s, e = int(s), int(e)
                raw = texts[pid][s:e]
                term = folded.get(raw)
                if term is None:  # the same words are matched again and again: each is folded once
                    term = folded[raw] = fold(raw).lower()
                rows.append((pid, theme, s, e, term))
    else:
        for pid, theme, cell in zip(ev["para_id"].astype(str).tolist(), ev["theme"].astype(str).tolist(), ev[col].tolist()):
            if pid not in texts or pd.isna(cell):
                continue
            hay = fold(texts[pid]).lower()
            for term in {t.strip() for t in re.split(r"[;|]", str(cell)) if t.strip()}:
                needle = fold(_SPAN_SUFFIX.sub("", term)).lower().strip()
                if not needle:
                    continue
                for m in re.finditer(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", hay):
                    rows.append((pid, theme, m.start(), m.end(), needle))
    out = pd.DataFrame(rows, columns=["para_id", "theme", "start", "end", "term"])
    return out.drop_duplicates(["para_id", "theme", "start", "end"])


def cite(title: object, date: object, source_para: object) -> str:
    """Citation string: ``title, date`` plus ``, ¶N`` when the source numbers its paragraphs."""
    parts = [str(title) if pd.notna(title) else "", str(date) if pd.notna(date) else ""]
    text = ", ".join(p for p in parts if p)
    if source_para is not None and pd.notna(source_para) and str(source_para) != "":
        text += f", ¶{int(source_para)}"
    return text


#: Names the sentence splitting in the sentence cache: this module's and the text folding's source.
SENTENCES_VERSION = source_version(__file__, _text_module.__file__)


#: Quotable paragraphs ranked at a time. Each part keeps its best candidates per (theme, group); the ranking is a
#: total order, so these hold the corpus's best, and the memory follows the part (sentences, matches), not the corpus.
QUOTE_PART_PARAGRAPHS = 50_000
_RANKING = (["theme", "group", "matches", "distinct", "words", "date", "para_id", "start"],
            [True, True, False, False, True, False, True, True])


def evidence_quotes(
    annotated: pd.DataFrame,
    evidence: pd.DataFrame,
    by: str = "organization",
    per_group: int = 3,
    cache_dir: str | Path | None = None,
    update_cache: bool = True,
    part_paragraphs: int = QUOTE_PART_PARAGRAPHS,
) -> pd.DataFrame:
    """The most representative quotes for each theme and organisation (or document, genre, year).

    Parameters
    ----------
    annotated : annotated body paragraphs (``para_id, doc_id, text, themes``; ``title``, ``date``,
        ``source_para`` and the ``by`` column for the citation and grouping).
    evidence : rule matches, see the module docstring.
    by : ``"organization"`` (default), ``"document"``, ``"genre"`` or ``"year"``.
    per_group : quotes kept per (theme, group), at most one per paragraph.
    cache_dir : folder keeping each paragraph's complete sentences (``sentences.parquet``, see
        :func:`helpers.corpus.paragraph_cache.cached_strings`; ``update_cache=False`` only reads it);
        ``None`` (default) caches nothing. Same result either way.
    part_paragraphs : quotable paragraphs (those carrying a theme) ranked at a time; the result is the
        same for any value, the memory grows with it.

    Returns
    -------
    Ordered by theme, group, rank. Columns: ``theme`` (str), ``group`` (str: the organisation,
    doc_id, genre or year), ``rank`` (int, 1 = most representative), ``doc_id``, ``para_id``
    (str), ``quote`` (str: the sentence as written), ``start``, ``end`` (int: its character
    offsets in the paragraph's ``text``), ``matches`` (int: rule matches for the theme inside
    it), ``terms`` (str: the distinct matched terms, ``;``-joined), ``words`` (int),
    ``title``, ``date`` (str), ``source_para`` (Int64), ``citation`` (str).
    """
    check_choice("by", by, BY_LEVELS)
    check_number("per_group", per_group, 1)
    check_number("part_paragraphs", part_paragraphs, 1)
    require_columns(annotated, ["para_id", "doc_id", "text", "themes"], "The annotated paragraphs table", ANNOTATED_HINT)
    require_columns(evidence, ["para_id", "theme"], "The evidence table", EVIDENCE_HINT)

    paras = body_only(annotated)
    # Only paragraphs carrying a theme can be quoted (matches elsewhere are dropped): the lookups are
    # built for those (every row of their ids), not for the million paragraphs of a large corpus.
    codes, cells = pd.factorize(paras["themes"].to_numpy(dtype=object), use_na_sentinel=False)
    has_theme = np.array([bool(split_themes(cell)) for cell in cells], dtype=bool)[codes] if len(cells) else np.zeros(0, bool)
    all_ids, all_unique = pd.factorize(paras["para_id"].astype(str).to_numpy(dtype=object))
    quotable = np.zeros(len(all_unique), dtype=bool)
    quotable[all_ids[has_theme]] = True
    keep = quotable[all_ids]
    # Each paragraph id (every row of it) in one part, each part one run of rows (ids numbered in order of first
    # row), and the evidence rows sorted the same way: a part is then a slice of both tables.
    ids, first = pd.factorize(all_ids[keep])
    unique_ids = np.asarray(all_unique, dtype=object)[first]
    para_part = ids // part_paragraphs
    n_parts = max(1, -(-len(unique_ids) // part_paragraphs))
    paras = paras[keep]
    if np.any(np.diff(para_part) < 0):  # an id on rows apart
        order = np.argsort(para_part, kind="stable")
        paras, para_part = paras.take(order), para_part[order]
    para_bounds = np.searchsorted(para_part, np.arange(n_parts + 1))
    del codes, cells, has_theme, all_ids, all_unique, quotable, keep, ids, first, para_part
    text_col = _matched_text_column(evidence)
    ev = usable_evidence(evidence)[["para_id", "theme"] + (["start", "end"] if text_col is None else [text_col])]
    ev_id = pc.fill_null(pc.index_in(pa.array(ev["para_id"].astype(str).to_numpy(dtype=object), pa.string()),
                                     value_set=pa.array(unique_ids, pa.string())), -1).to_numpy()
    ev_part = np.where(ev_id >= 0, ev_id // part_paragraphs, -1)
    ev_order = np.argsort(ev_part, kind="stable")
    ev = ev.take(ev_order)
    ev_bounds = np.searchsorted(ev_part[ev_order], np.arange(n_parts + 1))
    del ev_id, ev_part, ev_order
    cache = StringCache("sentences", SENTENCES_VERSION, cache_dir, update=update_cache)
    kept = []
    for part in range(n_parts):
        found = _part_candidates(paras.iloc[para_bounds[part]:para_bounds[part + 1]],
                                 ev.iloc[ev_bounds[part]:ev_bounds[part + 1]], text_col, by, per_group, cache)
        if not found.empty:
            kept.append(found)
        release_memory()
    cache.save()
    if not kept:
        return pd.DataFrame(columns=QUOTE_COLUMNS)
    cand = _ranked(pd.concat(kept, ignore_index=True), per_group)
    for col in ("start", "end", "matches", "words", "rank"):
        cand[col] = cand[col].astype(np.int64)
    return cand[QUOTE_COLUMNS].reset_index(drop=True)


def _ranked(cand: pd.DataFrame, per_group: int) -> pd.DataFrame:
    """Candidate sentences -> the best ``per_group`` of each (theme, group), at most one per paragraph, with their ``rank``."""
    cand = cand.sort_values(_RANKING[0], ascending=_RANKING[1], kind="mergesort")
    cand = cand.drop_duplicates(["theme", "group", "para_id"])
    cand["rank"] = cand.groupby(["theme", "group"]).cumcount() + 1
    return cand[cand["rank"] <= per_group].copy()


def _part_candidates(paras: pd.DataFrame, evidence: pd.DataFrame, text_col: str | None, by: str, per_group: int,
                     cache: StringCache) -> pd.DataFrame:
    """The best ``per_group`` quotes of each (theme, group) among the quotable paragraphs ``paras`` (every
    row of their ids), from their usable ``evidence`` rows (``text_col``: see :func:`_match_spans`), with the
    columns of :data:`QUOTE_COLUMNS` and ``distinct``; empty when none."""
    para_ids = paras["para_id"].astype(str).tolist()
    texts = dict(zip(para_ids, paras["text"].fillna("").astype(str).tolist()))
    labels = dict(zip(para_ids, label_offsets(paras).tolist()))
    carried = {(p, t) for p, cell in zip(para_ids, paras["themes"].tolist()) for t in split_themes(cell)}
    matches = _match_spans(evidence, texts, text_col)
    matches = matches[[(p, t) in carried for p, t in zip(matches["para_id"].tolist(), matches["theme"].tolist())]]
    if matches.empty:
        return pd.DataFrame()
    group = dict(zip(para_ids, group_key(paras, by).tolist()))
    meta = paras.set_index(paras["para_id"].astype(str))

    # Complete sentences of the paragraphs with matches (after any numbering label), in one table.
    pids = sorted(set(matches["para_id"].tolist()))
    complete: dict[str, str] = {}  # a paragraph copied into several groups is split once

    def spans_of(key: str) -> str:
        found = complete.get(key)
        if found is None:
            cut_s, text = key.split("|", 1)
            cut = int(cut_s)
            found = complete[key] = " ".join(
                f"{cut + s}:{cut + e}:{len(WORD_RE.findall(text[cut + s:cut + e]))}" for s, e in sentence_spans(text[cut:])
                # spans are stripped already: fold(sentence.strip()) is fold(sentence)
                if _is_complete(fold(text[cut + s:cut + e]), text[cut + s:cut + e]))
        return found

    keys = [f"{labels.get(pid, 0)}|{texts[pid]}" for pid in pids]
    found_all = cache.strings(pd.DataFrame({"para_id": pids}), keys, spans_of)
    del keys
    # "start:end:words start:end:words ..." of each paragraph -> one row per sentence, parsed by numpy at once.
    per_para = np.array([found.count(" ") + 1 if found else 0 for found in found_all], dtype=np.int64)
    spans = np.fromstring(" ".join(f for f in found_all if f).replace(":", " "), dtype=np.int64, sep=" ").reshape(-1, 3)
    if not len(spans):
        return pd.DataFrame()
    sp_code = np.repeat(np.arange(len(pids), dtype=np.int64), per_para)
    sp_s, sp_e, sp_w = spans[:, 0], spans[:, 1], spans[:, 2]
    code = {p: k for k, p in enumerate(pids)}
    big = np.int64(1) << np.int64(32)
    sent_key = sp_code * big + sp_s
    sent_end = sp_e
    # Each match -> the sentence that starts at or before it; kept if it also ends inside that sentence.
    m_code = matches["para_id"].map(code).to_numpy(dtype=np.int64)
    m_start = matches["start"].to_numpy(dtype=np.int64)
    m_end = matches["end"].to_numpy(dtype=np.int64)
    idx = np.searchsorted(sent_key, m_code * big + m_start, side="right") - 1
    ok = idx >= 0
    ok[ok] &= (sent_key[idx[ok]] // big == m_code[ok]) & (m_end[ok] <= sent_end[idx[ok]])
    inside = pd.DataFrame({"sent": idx[ok], "theme": matches["theme"].to_numpy()[ok],
                           "term": matches["term"].to_numpy()[ok]})
    if inside.empty:
        return pd.DataFrame()
    counted = inside.groupby(["sent", "theme"], sort=True).agg(matches=("term", "size"), distinct=("term", "nunique"))
    # The distinct terms of each (sentence, theme), sorted and joined: one str.join per run of the sorted table
    # (same rows and order as counted, whose groups are sorted the same way).
    distinct = inside.drop_duplicates(["sent", "theme", "term"]).sort_values(["sent", "theme", "term"], kind="mergesort")
    d_sent, d_theme = distinct["sent"].to_numpy(), distinct["theme"].to_numpy(dtype=object)
    d_term = distinct["term"].tolist()
    bounds = np.flatnonzero(np.r_[True, (d_sent[1:] != d_sent[:-1]) | (d_theme[1:] != d_theme[:-1]), True]).tolist()
    cand = counted.reset_index()
    cand["terms"] = [";".join(d_term[lo:hi]) for lo, hi in zip(bounds[:-1], bounds[1:])]
    sent = cand["sent"].to_numpy()
    cand["para_id"] = np.asarray(pids, dtype=object)[sp_code[sent]]
    cand["start"] = sp_s[sent]
    cand["end"] = sp_e[sent]
    cand["words"] = sp_w[sent]
    cand["group"] = cand["para_id"].map(group)
    cand["date"] = cand["para_id"].map(meta["date"]) if "date" in meta.columns else None
    cand["date"] = cand["date"].fillna("").astype(str)
    cand = _ranked(cand, per_group)
    # The quotes and citation fields of the kept candidates only (a few per theme and group, not every
    # candidate sentence of the corpus): each quote is its paragraph's text from start to end.
    cand["quote"] = np.asarray([texts[p][a:b] for p, a, b in zip(cand["para_id"].tolist(), cand["start"].tolist(),
                                                                   cand["end"].tolist())], dtype=object)
    for col in ("doc_id", "title", "source_para"):
        cand[col] = cand["para_id"].map(meta[col]) if col in meta.columns else None
    cand["source_para"] = pd.array(pd.to_numeric(cand["source_para"], errors="coerce"), dtype="Int64")
    cand["citation"] = [cite(t, d, sp) for t, d, sp in zip(cand["title"], cand["date"], cand["source_para"])]
    return cand[QUOTE_COLUMNS + ["distinct"]]
