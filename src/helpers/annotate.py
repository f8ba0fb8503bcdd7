"""Rule-based theme coding of body paragraphs, with evidence, analysts' overrides and validation.

Pipeline stage: ``paragraphs.parquet`` (from :mod:`helpers.corpus`) + codebook -> themes.

Matching engine (:class:`Matcher`): every ``terms``/``exclude`` phrase of the codebook, with its
inflected forms, is one key of a single Aho-Corasick automaton (pyahocorasick) run once over a
chunk of paragraphs joined together; every ``regex`` rule is one alternative of a single combined
compiled pattern run once over the same chunk. No loop runs over the patterns for each paragraph.

How a chunk of texts is matched:

1. the texts are joined with a separator that no rule can cross, then folded with
   :func:`helpers.text.fold` (same length: curly quotes -> straight, dashes -> ``-``) and
   lower-cased;
2. for the automaton, every character that is not a word character becomes a space and runs of
   spaces are collapsed (an index array maps positions back). Keys are `` word`` (prefix) or
   `` word `` (whole word) so a key can only match at word boundaries;
3. a phrase match is kept only if the text between its words is white space, hyphens, dashes,
   slashes or apostrophes (``information. Security`` is not ``information security``);
4. regex matches that start or end inside a word are dropped;
5. per paragraph and theme, matches inside an ``exclude`` phrase of that theme are dropped, and a
   match lying inside a longer match of the same theme is dropped (``drug`` inside
   ``drug trafficking`` is one piece of evidence, not two).

Spans are character offsets into the paragraph's ``text`` exactly as written:
``text[start:end]`` is the matched word or phrase.

Overrides (``data/annotations/overrides.csv``, ``para_id,theme,action,coder,note``) are applied
after the rules: ``remove`` takes a theme away even when rules fire, ``add`` gives it with source
``manual``. When several rows name the same paragraph and theme, the last row wins (the file is
append-only, so later decisions supersede earlier ones). This module only ever reads that file.

Command line (``make annotate``)::

    python -m helpers.annotate --paragraphs build/X/paragraphs.parquet --codebook data/codebook.yml \\
        [--overrides data/annotations/overrides.csv] [--validation data/annotations/validation.csv] \\
        --reports REPORTS [--chunk-size 20000]

writes ``REPORTS/annotated_paragraphs.csv``, ``annotations.csv`` and ``evidence.csv`` and, with
``--validation``, ``agreement.csv`` and ``validation_disagreements.csv``; it prints the agreement
of the rules alone and of the final annotation. Paragraphs are streamed from the Parquet file in
record batches and the CSV files are written incrementally, so memory does not grow with the corpus.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from helpers.agreement import agreement_table, disagreement_table
from helpers.codebook import Codebook, Term, load_codebook
from helpers.errors import AnnotationError, run_cli
from helpers.io import atomic_path, write_csv
from helpers.text import fold

ANNOTATED_COLUMNS = [
    "para_id", "doc_id", "title", "organization", "genre", "date", "source_para",
    "position", "n_words", "text", "themes",
]
ANNOTATION_COLUMNS = ["para_id", "doc_id", "theme", "source", "evidence"]
EVIDENCE_COLUMNS = ["para_id", "doc_id", "theme", "rule", "rule_kind", "term", "start", "end", "status"]
OVERRIDE_COLUMNS = ["para_id", "theme", "action", "coder", "note"]
VALIDATION_COLUMNS = ["para_id", "themes", "coder"]
OVERRIDE_ACTIONS = ("add", "remove")
REQUIRED_PARAGRAPH_COLUMNS = [c for c in ANNOTATED_COLUMNS if c != "themes"] + ["kind"]

_SEP = " \x00 "
_NONWORD_RE = re.compile(r"[^\w\x00]")
_TAIL_RE = re.compile(r"\w*")
_BAD_GAP_RE = re.compile(r"[^\w\s\-/']")
_KIND_TERM, _KIND_EXCLUDE = 0, 1


# --------------------------------------------------------------------------- matching engine

@dataclass(frozen=True)
class Rule:
    """One rule of the codebook: its theme, kind (``term``/``regex``/``exclude``) and text."""

    theme: str
    kind: str
    source: str


class Matcher:
    """The codebook compiled into one Aho-Corasick automaton and one combined regex.

    Build once with ``Matcher(codebook)``; :meth:`match` codes any number of texts.
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.themes: list[str] = codebook.theme_ids
        self.rules: list[Rule] = []
        keys: dict[str, tuple[int, bool, bool, list[tuple[int, int, int]]]] = {}
        for ti, theme in enumerate(codebook.themes):
            for kind, items in (("term", theme.terms), ("exclude", theme.exclude)):
                for term in items:
                    rid = len(self.rules)
                    self.rules.append(Rule(theme.id, kind, term.source))
                    self._add_term(keys, term, ti, rid, _KIND_EXCLUDE if kind == "exclude" else _KIND_TERM)
        self.automaton = ahocorasick.Automaton()
        for key, (klen, prefix, multi, entries) in keys.items():
            self.automaton.add_word(key, (klen, prefix, multi, tuple(entries)))
        self.automaton.make_automaton()
        self.regex_rules: list[tuple[int, int, re.Pattern[str]]] = []
        for ti, theme in enumerate(codebook.themes):
            for pattern in theme.regex:
                rid = len(self.rules)
                self.rules.append(Rule(theme.id, "regex", pattern))
                self.regex_rules.append((ti, rid, re.compile(pattern, re.IGNORECASE)))
        self.combined: re.Pattern[str] | None = (
            re.compile("|".join(f"(?:{p.pattern})" for _, _, p in self.regex_rules), re.IGNORECASE)
            if self.regex_rules else None
        )

    @staticmethod
    def _add_term(keys: dict, term: Term, ti: int, rid: int, kind: int) -> None:
        multi = len(term.words) > 1
        for words in term.forms():
            key = " " + " ".join(words) + ("" if term.prefix else " ")
            entry = (ti, rid, kind)
            if key in keys:
                if entry not in keys[key][3]:
                    keys[key][3].append(entry)
            else:
                keys[key] = (len(key), term.prefix, multi, [entry])

    # -- internals
    def _raw_matches(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        n = len(texts)
        offsets = np.empty(n + 1, dtype=np.int64)
        pos = len(_SEP)
        for i, t in enumerate(texts):
            offsets[i] = pos
            pos += len(t) + len(_SEP)
        offsets[n] = pos
        joined = _SEP + _SEP.join(texts) + _SEP
        folded = fold(joined)
        lower = folded.lower()
        if len(lower) != len(folded):  # a few characters lower-case to two; keep those as they are
            lower = "".join(c.lower() if len(c.lower()) == 1 else c for c in folded)
        spaced = _NONWORD_RE.sub(" ", lower)
        codes = np.frombuffer(spaced.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        keep = np.ones(codes.shape[0], dtype=bool)
        keep[1:] = ~((codes[1:] == 32) & (codes[:-1] == 32))
        back = np.flatnonzero(keep)
        compact = codes[keep].tobytes().decode("utf-32-le", "surrogatepass")

        c_start: list[int] = []
        c_end: list[int] = []
        c_entries: list[tuple] = []
        c_multi: list[bool] = []
        tail = _TAIL_RE.match
        for last, (klen, prefix, multi, entries) in self.automaton.iter(compact):
            c_start.append(last - klen + 2)
            c_end.append(tail(compact, last + 1).end() if prefix else last)
            c_entries.append(entries)
            c_multi.append(multi)
        o_start = back[np.asarray(c_start, dtype=np.int64)] if c_start else np.empty(0, np.int64)
        o_end = back[np.asarray(c_end, dtype=np.int64) - 1] + 1 if c_end else np.empty(0, np.int64)

        rows_i: list[int] = []
        rows_t: list[int] = []
        rows_r: list[int] = []
        rows_k: list[int] = []
        rows_s: list[int] = []
        rows_e: list[int] = []
        bad_gap = _BAD_GAP_RE.search
        for h, (s, e) in enumerate(zip(o_start.tolist(), o_end.tolist())):
            if c_multi[h] and bad_gap(folded, s, e):
                continue
            for ti, rid, kind in c_entries[h]:
                rows_t.append(ti)
                rows_r.append(rid)
                rows_k.append(kind)
                rows_s.append(s)
                rows_e.append(e)
        if self.combined is not None:
            search = self.combined.search
            p = 0
            while (m := search(folded, p)) is not None:
                s = m.start()
                for ti, rid, pat in self.regex_rules:
                    mm = pat.match(folded, s)
                    if mm is None or mm.end() <= s:
                        continue
                    e = mm.end()
                    if _cuts_word(folded, s) or _cuts_word(folded, e) or "\x00" in folded[s:e]:
                        continue
                    rows_t.append(ti)
                    rows_r.append(rid)
                    rows_k.append(_KIND_TERM)
                    rows_s.append(s)
                    rows_e.append(e)
                p = s + 1
        s_arr = np.asarray(rows_s, dtype=np.int64)
        para = np.searchsorted(offsets, s_arr, side="right") - 1
        local_s = s_arr - offsets[para] if len(s_arr) else s_arr
        local_e = np.asarray(rows_e, dtype=np.int64) - offsets[para] if len(s_arr) else s_arr
        return para, np.asarray(rows_t, dtype=np.int64), np.asarray(rows_r, dtype=np.int64), \
            np.asarray(rows_k, dtype=np.int8), local_s, local_e

    def match(self, texts: Sequence[str]) -> pd.DataFrame:
        """Find every rule match in ``texts`` (exclusions and nested matches already removed).

        Input: a sequence of paragraph texts as written.
        Output columns: ``index`` (int, position of the text in ``texts``), ``theme`` (str, theme
        id), ``rule`` (str, the rule as written in the codebook), ``rule_kind`` (``term`` or
        ``regex``), ``start``, ``end`` (int, character offsets into that text;
        ``text[start:end]`` is the match), sorted by index, theme order in the codebook, start.
        """
        para, theme, rule, kind, start, end = self._raw_matches(texts)
        order = np.lexsort((-end, start, theme, para))
        para, theme, rule, kind, start, end = (a[order] for a in (para, theme, rule, kind, start, end))
        out_i: list[int] = []
        out_t: list[int] = []
        out_r: list[int] = []
        out_s: list[int] = []
        out_e: list[int] = []
        p_l, t_l, r_l, k_l, s_l, e_l = (a.tolist() for a in (para, theme, rule, kind, start, end))
        n = len(p_l)
        i = 0
        while i < n:
            j = i
            while j < n and p_l[j] == p_l[i] and t_l[j] == t_l[i]:
                j += 1
            excl = [(s_l[k], e_l[k]) for k in range(i, j) if k_l[k] == _KIND_EXCLUDE]
            reach = -1  # end of the longest kept match so far (matches sorted by start, longest first)
            for k in range(i, j):
                if k_l[k] == _KIND_EXCLUDE:
                    continue
                s, e = s_l[k], e_l[k]
                if excl and any(xs <= s and e <= xe for xs, xe in excl):
                    continue
                if e <= reach:
                    continue
                reach = e
                out_i.append(p_l[k])
                out_t.append(t_l[k])
                out_r.append(r_l[k])
                out_s.append(s)
                out_e.append(e)
            i = j
        rules = self.rules
        return pd.DataFrame(
            {
                "index": np.asarray(out_i, dtype=np.int64),
                "theme": pd.array([self.themes[t] for t in out_t], dtype="str"),
                "rule": pd.array([rules[r].source for r in out_r], dtype="str"),
                "rule_kind": pd.array([rules[r].kind for r in out_r], dtype="str"),
                "start": np.asarray(out_s, dtype=np.int64),
                "end": np.asarray(out_e, dtype=np.int64),
            }
        )


def _cuts_word(s: str, pos: int) -> bool:
    """True if ``pos`` lies between two word characters of ``s`` (inside a word)."""
    return 0 < pos < len(s) and _isword(s[pos - 1]) and _isword(s[pos])


def _isword(c: str) -> bool:
    return c.isalnum() or c == "_"


# --------------------------------------------------------------------------- analysts' files

def _read_rows(path: str | Path, expected: list[str], what: str) -> list[tuple[int, dict[str, str]]]:
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(f"{p}: {what} file not found. Create it with the header {','.join(expected)}.")
    with p.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = reader.fieldnames or []
        missing = [c for c in expected if c not in header]
        if missing:
            raise AnnotationError(
                f"{p}, line 1: {what} header must have the columns {','.join(expected)}; "
                f"missing {', '.join(missing)} (found: {','.join(header) or 'nothing'})."
            )
        rows = []
        for row in reader:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue
            rows.append((reader.line_num, {k: (row.get(k) or "").strip() for k in expected}))
    return rows


def read_overrides(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read and check analysts' overrides (themes and actions; paragraph ids are checked later).

    Output columns: ``para_id`` (str), ``theme`` (str), ``action`` (``add``|``remove``),
    ``coder`` (str), ``note`` (str), ``line`` (int, line number in the file).
    Raises :class:`AnnotationError` naming the file and line for an unknown theme, an unknown
    action, or an empty para_id or coder.
    """
    out = []
    for line, row in _read_rows(path, OVERRIDE_COLUMNS, "overrides"):
        where = f"{path}, line {line}"
        if not row["para_id"]:
            raise AnnotationError(f"{where}: para_id is empty. Give the id of a body paragraph.")
        if row["theme"] not in codebook:
            raise AnnotationError(
                f"{where}: unknown theme '{row['theme']}' for paragraph {row['para_id']}. "
                f"Known themes: {', '.join(codebook.theme_ids)}."
            )
        if row["action"] not in OVERRIDE_ACTIONS:
            raise AnnotationError(
                f"{where}: action must be one of {{add, remove}}. Got '{row['action']}' instead."
            )
        if not row["coder"]:
            raise AnnotationError(f"{where}: coder is empty. Say who made the decision.")
        out.append({**row, "line": line})
    return pd.DataFrame(out, columns=OVERRIDE_COLUMNS + ["line"]).astype({"line": "int64"})


def read_validation(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read and check the hand-coded validation sample (paragraph ids are checked later).

    Output columns: ``para_id`` (str), ``themes`` (str, sorted ids joined by ``;``),
    ``coder`` (str), ``line`` (int). Raises :class:`AnnotationError` naming the row for an
    unknown theme, an empty or repeated para_id.
    """
    out = []
    seen: dict[str, int] = {}
    for line, row in _read_rows(path, VALIDATION_COLUMNS, "validation"):
        where = f"{path}, line {line}"
        pid = row["para_id"]
        if not pid:
            raise AnnotationError(f"{where}: para_id is empty. Give the id of a body paragraph.")
        if pid in seen:
            raise AnnotationError(f"{where}: paragraph {pid} is coded twice (first at line {seen[pid]}). Keep one row.")
        seen[pid] = line
        themes = [t.strip() for t in row["themes"].split(";") if t.strip()]
        for t in themes:
            if t not in codebook:
                raise AnnotationError(
                    f"{where}: unknown theme '{t}' for paragraph {pid}. Known themes: {', '.join(codebook.theme_ids)}."
                )
        out.append({"para_id": pid, "themes": ";".join(sorted(set(themes))), "coder": row["coder"], "line": line})
    return pd.DataFrame(out, columns=VALIDATION_COLUMNS + ["line"]).astype({"line": "int64"})


def check_para_ids(table: pd.DataFrame, kinds: dict[str, str], path: str | Path, what: str) -> None:
    """Raise :class:`AnnotationError` naming the first row of ``table`` whose ``para_id`` is not a
    body paragraph. ``kinds`` maps the paragraph ids that exist to their kind."""
    for pid, line in zip(table["para_id"], table["line"]):
        kind = kinds.get(pid)
        if kind is None:
            raise AnnotationError(
                f"{path}, line {line}: unknown paragraph '{pid}' in the {what}. "
                "Use a para_id from annotated_paragraphs.csv (the corpus may have changed)."
            )
        if kind != "body":
            raise AnnotationError(
                f"{path}, line {line}: paragraph '{pid}' is a {kind} paragraph; only body paragraphs are coded. "
                "Remove the row."
            )


def _split(themes: str) -> set[str]:
    return {t for t in themes.split(";") if t}


# --------------------------------------------------------------------------- coding

@dataclass
class Coding:
    """Result of coding paragraphs: the three output tables."""

    paragraphs: pd.DataFrame   # ANNOTATED_COLUMNS plus ``themes_rules``
    annotations: pd.DataFrame  # ANNOTATION_COLUMNS
    evidence: pd.DataFrame     # EVIDENCE_COLUMNS


def _overrides_by_para(overrides: pd.DataFrame | None) -> dict[str, dict[str, tuple[str, str, str]]]:
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    if overrides is None:
        return out
    for pid, theme, action, coder, note in overrides[OVERRIDE_COLUMNS].itertuples(index=False):
        out.setdefault(pid, {})[theme] = (action, coder, note)  # later rows win
    return out


def _code_chunk(
    body: pd.DataFrame, matcher: Matcher, by_para: dict[str, dict[str, tuple[str, str, str]]]
) -> Coding:
    texts = body["text"].tolist()
    pids = body["para_id"].tolist()
    docs = body["doc_id"].tolist()
    m = matcher.match(texts)
    order = {t: i for i, t in enumerate(matcher.themes)}
    rule_themes: list[set[str]] = [set() for _ in texts]
    terms: dict[tuple[int, str], list[str]] = {}
    for i, theme, s, e in zip(m["index"].tolist(), m["theme"].tolist(), m["start"].tolist(), m["end"].tolist()):
        rule_themes[i].add(theme)
        terms.setdefault((i, theme), []).append(f"{texts[i][s:e]} ({s}-{e})")
    final_themes: list[list[str]] = []
    ann_rows: list[tuple[str, str, str, str, str]] = []
    removed: set[tuple[int, str]] = set()
    for i, pid in enumerate(pids):
        themes = set(rule_themes[i])
        manual: dict[str, str] = {}
        for theme, (action, coder, note) in by_para.get(pid, {}).items():
            if action == "remove":
                if theme in themes:
                    removed.add((i, theme))
                themes.discard(theme)
            elif theme not in themes:
                themes.add(theme)
                manual[theme] = f"override by {coder}" + (f": {note}" if note else "")
        ordered = sorted(themes, key=order.__getitem__)
        final_themes.append(sorted(themes))
        for theme in ordered:
            if theme in manual:
                ann_rows.append((pid, docs[i], theme, "manual", manual[theme]))
            else:
                ann_rows.append((pid, docs[i], theme, "rule", "; ".join(terms[(i, theme)])))
    paragraphs = body[[c for c in ANNOTATED_COLUMNS if c != "themes"]].copy()
    paragraphs["themes"] = [";".join(t) for t in final_themes]
    paragraphs["themes_rules"] = [";".join(sorted(t)) for t in rule_themes]
    idx = m["index"].to_numpy()
    status = [
        "removed" if (i, t) in removed else "kept" for i, t in zip(idx.tolist(), m["theme"].tolist())
    ] if removed else ["kept"] * len(m)
    evidence = pd.DataFrame(
        {
            "para_id": pd.array([pids[i] for i in idx.tolist()], dtype="str"),
            "doc_id": pd.array([docs[i] for i in idx.tolist()], dtype="str"),
            "theme": m["theme"],
            "rule": m["rule"],
            "rule_kind": m["rule_kind"],
            "term": pd.array([texts[i][s:e] for i, s, e in zip(idx.tolist(), m["start"].tolist(), m["end"].tolist())], dtype="str"),
            "start": m["start"],
            "end": m["end"],
            "status": pd.array(status, dtype="str"),
        },
        columns=EVIDENCE_COLUMNS,
    )
    annotations = pd.DataFrame(ann_rows, columns=ANNOTATION_COLUMNS)
    return Coding(paragraphs.reset_index(drop=True), annotations, evidence)


def _check_columns(columns: Iterable[str], where: str) -> None:
    missing = [c for c in REQUIRED_PARAGRAPH_COLUMNS if c not in set(columns)]
    if missing:
        raise AnnotationError(
            f"{where}: the paragraph table lacks the column(s) {', '.join(missing)}. "
            "Build it with helpers.corpus first (make ingest)."
        )


def code_paragraphs(
    paragraphs: pd.DataFrame,
    codebook: Codebook | str | Path,
    overrides: pd.DataFrame | str | Path | None = None,
) -> Coding:
    """Code the body paragraphs of ``paragraphs`` with the codebook's rules, then apply overrides.

    Inputs: the paragraph table of :mod:`helpers.corpus` (only ``kind == 'body'`` rows are
    coded); a :class:`Codebook` or the path of one; optional overrides (a path, or the table of
    :func:`read_overrides`).
    Output: :class:`Coding` with
    ``paragraphs``: one row per body paragraph, columns ``para_id, doc_id, title, organization,
    genre, date, source_para, position, n_words, text`` (as in the corpus), ``themes`` (str, final
    theme ids sorted and joined by ``;``, empty when none), ``themes_rules`` (same, rules alone);
    ``annotations``: one row per (paragraph, final theme): ``para_id, doc_id, theme``, ``source``
    (``rule``|``manual``), ``evidence`` (str, matched words with spans ``word (start-end)``, or
    the override's coder and note);
    ``evidence``: one row per rule match: ``para_id, doc_id, theme, rule`` (as written in the
    codebook), ``rule_kind`` (``term``|``regex``), ``term`` (str, matched text), ``start``,
    ``end`` (int, offsets into ``text``), ``status`` (``kept``, or ``removed`` by an override).
    """
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    _check_columns(paragraphs.columns, "paragraphs")
    body = paragraphs[paragraphs["kind"] == "body"].reset_index(drop=True)
    table = None
    if overrides is not None:
        table = overrides if isinstance(overrides, pd.DataFrame) else read_overrides(overrides, cb)
        if "line" not in table.columns:
            table = table.assign(line=range(2, len(table) + 2))
        check_para_ids(table, dict(zip(paragraphs["para_id"], paragraphs["kind"])),
                       overrides if not isinstance(overrides, pd.DataFrame) else "overrides", "overrides")
    return _code_chunk(body, Matcher(cb), _overrides_by_para(table))


def annotate_paragraphs(
    paragraphs: pd.DataFrame,
    codebook: Codebook | str | Path,
    overrides: pd.DataFrame | str | Path | None = None,
) -> pd.DataFrame:
    """Annotated body paragraphs: the ``paragraphs`` table of :func:`code_paragraphs`.

    Columns: ``para_id, doc_id, title, organization, genre, date, source_para, position,
    n_words, text, themes, themes_rules`` (see :func:`code_paragraphs`).
    """
    return code_paragraphs(paragraphs, codebook, overrides).paragraphs


# --------------------------------------------------------------------------- streaming CLI

def _iter_body_batches(path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    pf = pq.ParquetFile(path)
    cols = [c for c in REQUIRED_PARAGRAPH_COLUMNS]
    for batch in pf.iter_batches(batch_size=chunk_size, columns=cols):
        df = batch.to_pandas()
        body = df[df["kind"] == "body"]
        if len(body):
            yield body.reset_index(drop=True)


def _kinds_of(path: Path, wanted: set[str], chunk_size: int) -> dict[str, str]:
    """Kinds of the paragraphs in ``wanted`` that exist in the Parquet file (streamed)."""
    found: dict[str, str] = {}
    if not wanted:
        return found
    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=max(chunk_size, 65536), columns=["para_id", "kind"]):
        ids = batch.column(0).to_pylist()
        kinds = batch.column(1).to_pylist()
        for pid, kind in zip(ids, kinds):
            if pid in wanted:
                found[pid] = kind
    return found


@dataclass
class RunSummary:
    """Counts and agreement figures of one :func:`annotate_corpus` run."""

    n_paragraphs: int
    n_annotations: int
    n_evidence: int
    n_manual: int
    n_removed: int
    agreement: pd.DataFrame | None
    disagreements: pd.DataFrame | None


def annotate_corpus(
    paragraphs_path: str | Path,
    codebook: Codebook | str | Path,
    reports: str | Path,
    overrides_path: str | Path | None = None,
    validation_path: str | Path | None = None,
    chunk_size: int = 20000,
) -> RunSummary:
    """Stream ``paragraphs.parquet`` through the coder and write the report files.

    Writes (atomically, each complete or not at all) ``reports/annotated_paragraphs.csv``
    (columns of :func:`code_paragraphs`' ``paragraphs`` minus ``themes_rules``),
    ``annotations.csv``, ``evidence.csv`` and, with a validation file, ``agreement.csv``
    (:func:`helpers.agreement.agreement_table` for ``annotation`` = ``rules`` and ``final``) and
    ``validation_disagreements.csv`` (:func:`helpers.agreement.disagreement_table` plus
    ``doc_id`` and ``text``). Memory stays flat: one chunk of ``chunk_size`` rows at a time.
    """
    ppath = Path(paragraphs_path)
    if not ppath.is_file():
        raise AnnotationError(f"{ppath}: paragraphs file not found. Run make ingest (helpers.corpus) first.")
    if chunk_size < 1:
        raise AnnotationError(f"chunk_size must be a positive integer. Got {chunk_size} instead.")
    try:
        schema_names = pq.ParquetFile(ppath).schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise AnnotationError(f"{ppath}: cannot read the Parquet file ({exc}). Rebuild it with make ingest.") from None
    _check_columns(schema_names, str(ppath))
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    matcher = Matcher(cb)
    overrides = read_overrides(overrides_path, cb) if overrides_path else None
    validation = read_validation(validation_path, cb) if validation_path else None
    wanted: set[str] = set()
    for t in (overrides, validation):
        if t is not None:
            wanted.update(t["para_id"])
    kinds = _kinds_of(ppath, wanted, chunk_size)
    if overrides is not None:
        check_para_ids(overrides, kinds, overrides_path, "overrides")
    if validation is not None:
        check_para_ids(validation, kinds, validation_path, "validation sample")
    by_para = _overrides_by_para(overrides)
    val_ids = set(validation["para_id"]) if validation is not None else set()
    val_rows: list[pd.DataFrame] = []

    reports = Path(reports)
    n_par = n_ann = n_ev = n_manual = n_removed = 0
    out_cols = [c for c in ANNOTATED_COLUMNS]
    with ExitStack() as stack:
        paths = {
            name: stack.enter_context(atomic_path(reports / f"{name}.csv"))
            for name in ("annotated_paragraphs", "annotations", "evidence")
        }
        handles = {name: stack.enter_context(open(p, "w", encoding="utf-8", newline="")) for name, p in paths.items()}
        first = True
        for body in _iter_body_batches(ppath, chunk_size):
            coding = _code_chunk(body, matcher, by_para)
            for name, df in (
                ("annotated_paragraphs", coding.paragraphs[out_cols]),
                ("annotations", coding.annotations),
                ("evidence", coding.evidence),
            ):
                df.to_csv(handles[name], index=False, header=first, lineterminator="\n")
            first = False
            n_par += len(coding.paragraphs)
            n_ann += len(coding.annotations)
            n_ev += len(coding.evidence)
            n_manual += int((coding.annotations["source"] == "manual").sum())
            n_removed += int((coding.evidence["status"] == "removed").sum())
            if val_ids:
                sel = coding.paragraphs[coding.paragraphs["para_id"].isin(val_ids)]
                if len(sel):
                    val_rows.append(sel[["para_id", "doc_id", "text", "themes", "themes_rules"]])
        if first:  # no body paragraph at all: still write headers
            for name, cols in (("annotated_paragraphs", out_cols), ("annotations", ANNOTATION_COLUMNS),
                               ("evidence", EVIDENCE_COLUMNS)):
                pd.DataFrame(columns=cols).to_csv(handles[name], index=False, lineterminator="\n")
        for h in handles.values():
            h.close()

    agreement = disagreements = None
    if validation is not None:
        coded = pd.concat(val_rows, ignore_index=True) if val_rows else pd.DataFrame(
            columns=["para_id", "doc_id", "text", "themes", "themes_rules"])
        gold = {p: _split(t) for p, t in zip(validation["para_id"], validation["themes"])}
        tables, dis = [], []
        for label, col in (("rules", "themes_rules"), ("final", "themes")):
            pred = {p: _split(t) for p, t in zip(coded["para_id"], coded[col])}
            tables.append(agreement_table(gold, pred, cb.theme_ids).assign(annotation=label))
            dis.append(disagreement_table(gold, pred, cb.theme_ids).assign(annotation=label))
        agreement = pd.concat(tables, ignore_index=True)
        agreement = agreement[["annotation"] + [c for c in agreement.columns if c != "annotation"]]
        disagreements = pd.concat(dis, ignore_index=True)
        disagreements = disagreements.merge(coded[["para_id", "doc_id", "text"]], on="para_id", how="left")
        disagreements = disagreements[["annotation", "para_id", "doc_id", "theme", "gold", "predicted", "kind", "text"]]
        write_csv(agreement, reports / "agreement.csv")
        write_csv(disagreements, reports / "validation_disagreements.csv")
    return RunSummary(n_par, n_ann, n_ev, n_manual, n_removed, agreement, disagreements)


def format_agreement(agreement: pd.DataFrame) -> str:
    """Two lines per annotation (rules alone, final): overall precision, recall, F1, kappa."""
    lines = []
    for label, name in (("rules", "rules alone"), ("final", "final (rules + overrides)")):
        row = agreement[(agreement["annotation"] == label) & (agreement["theme"] == "(overall)")]
        if row.empty:
            continue
        r = row.iloc[0]
        lines.append(
            f"  {name:<27} precision {r['precision']:.3f}  recall {r['recall']:.3f}  "
            f"F1 {r['f1']:.3f}  kappa {r['kappa']:.3f}  ({int(r['fp'])} spurious, {int(r['fn'])} missed, "
            f"{int(r['n'])} paragraph-theme decisions)"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.annotate",
        description="Code body paragraphs with the codebook's themes; write annotated_paragraphs.csv, "
        "annotations.csv, evidence.csv and, with --validation, agreement figures.",
    )
    parser.add_argument("--paragraphs", required=True, help="paragraphs.parquet from helpers.corpus")
    parser.add_argument("--codebook", required=True, help="YAML codebook (data/codebook.yml)")
    parser.add_argument("--overrides", help="analysts' overrides CSV (para_id,theme,action,coder,note)")
    parser.add_argument("--validation", help="hand-coded validation CSV (para_id,themes,coder)")
    parser.add_argument("--reports", required=True, help="output folder")
    parser.add_argument("--chunk-size", type=int, default=20000, help="paragraphs per chunk (default 20000)")
    args = parser.parse_args(argv)
    s = annotate_corpus(args.paragraphs, args.codebook, args.reports, args.overrides, args.validation, args.chunk_size)
    print(
        f"annotated {s.n_paragraphs} body paragraphs: {s.n_annotations} paragraph-theme codes "
        f"({s.n_manual} added by overrides, {s.n_removed} rule matches removed by overrides), "
        f"{s.n_evidence} evidence rows -> {args.reports}/annotated_paragraphs.csv"
    )
    if s.agreement is not None:
        n_dis = int((s.disagreements["annotation"] == "final").sum())
        print(f"agreement with the validation sample ({args.validation}):")
        print(format_agreement(s.agreement))
        print(f"  per theme: {args.reports}/agreement.csv; {n_dis} final disagreements: "
              f"{args.reports}/validation_disagreements.csv")
    return 0


if __name__ == "__main__":
    sys.exit(run_cli(main))
