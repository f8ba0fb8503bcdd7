"""Rule-based theme coding of body paragraphs, with evidence, analysts' overrides and validation.

Pipeline stage: ``paragraphs.parquet`` (from :mod:`helpers.corpus.corpus`) + codebook -> themes.

Matching engine (:class:`Matcher`): every ``terms``/``exclude`` phrase of the codebook, with its
inflected forms, and one required literal ("anchor") of every ``regex`` rule are the keys of a
single Aho-Corasick automaton (pyahocorasick), run once over a chunk of paragraphs joined
together. No loop runs over the patterns for each paragraph: a regex is only tried in the small
window around an occurrence of its anchor (the literal prefilter of grep tools); a regex with no
literal of two or more word characters is run once over the whole chunk.

How a chunk of texts is matched:

1. the texts are joined with a separator that no rule can cross; per character, table lookups
   give the text folded as :func:`helpers.corpus.text.fold` does (same length: curly quotes ->
   straight, dashes -> ``-``) and a lower-cased view in which every non-word character is a
   space;
2. runs of spaces in that view are collapsed (an index array maps positions back). Keys are
   `` word`` (prefix) or `` word `` (whole word) so a key only matches at word boundaries;
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

    python -m helpers.annotation.annotate --build build/X [--paragraphs build/X/paragraphs.parquet] \\
        --codebook data/codebook.yml [--overrides data/annotations/overrides.csv] \\
        [--validation data/annotations/validation.csv] --reports REPORTS [--chunk-size 2000] [--workers N]

writes ``REPORTS/annotated_paragraphs.csv``, ``annotations.csv`` and ``evidence.csv`` and, with
``--validation``, ``agreement.csv`` (per ``sample``: ``in-sample`` for the seed set and a sample's
``tune`` split, ``dev`` for its ``dev`` split, ``held-out`` for its ``test`` split; 95 % intervals,
:mod:`helpers.annotation.split_agreement`), ``agreement_by_period.csv`` (the held-out, else dev, paragraphs per period),
``validation_disagreements.csv``, ``validation_scored.csv`` (each coded paragraph's split, inclusion
probability, gold, rules and final themes: what the analysis stage needs to correct shares) and, when
``<sample>.second-coder.csv`` lies beside the sample, ``coder_agreement.csv`` (second coder against
the first); it prints the agreement of the rules alone and of the final annotation, held-out first,
with the two coders' agreement beside them. Paragraphs are streamed from the Parquet file in
record batches and the CSV files are written incrementally (Arrow's CSV writer: every text field
is quoted), so memory does not grow with the corpus.

Incremental: with ``--build`` each document's rule matches (before overrides) are kept in
``build/X/annotations/<doc_id>@<key>.arrow`` (an Arrow IPC file), the key hashing the document's body paragraphs
(``para_id`` and ``text``), the codebook's rules (not its labels or comments), this module's
matching code and a cache version. A rebuild matches only the documents whose paragraphs or
rules changed; overrides are applied afresh on every run, so they are never stale; files of
older versions of a document, older codebooks and removed documents are deleted at the end of
a successful run. ``--workers N`` (or ``DASK_SCHEDULER=tcp://host:8786``) matches the batches of
whole documents on Dask (:mod:`helpers.parallel`); results are consumed in input order, so the
files written are byte-identical to a run in one process, cached or not.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import os
import re
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain, islice
from pathlib import Path

import ahocorasick
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from helpers.annotation.agreement import disagreement_table
from helpers.annotation.split_agreement import READING_ORDER, SPLIT_SAMPLE, agreement_by_period, agreement_by_sample, reference_sample
from helpers.annotation.codebook import Codebook, load_codebook
from helpers.safe_regex import EncodedText, SafePattern, compile_pattern
from helpers.errors import AnnotationError, run_cli
from helpers.io import atomic_path, neutralise_batch, not_utf8, read_arrow, remove_stale_temporaries, write_arrow, write_csv
from helpers.parallel import ForkRunner, runner
from helpers.corpus.text import LINE_BREAK_MARK, fold

ANNOTATED_COLUMNS = [
    "para_id", "doc_id", "title", "organization", "genre", "date", "source_para",
    "position", "n_words", "text", "label_chars", "themes",
]
ANNOTATION_COLUMNS = ["para_id", "doc_id", "theme", "source", "evidence"]
EVIDENCE_COLUMNS = ["para_id", "doc_id", "theme", "rule", "rule_kind", "term", "start", "end", "status"]
OVERRIDE_COLUMNS = ["para_id", "theme", "action", "coder", "note"]
VALIDATION_COLUMNS = ["para_id", "themes", "coder"]
#: Columns a drawn sample (helpers.annotation.validation_sample) adds: they decide in-sample/dev/held-out and the weights.
VALIDATION_OPTIONAL = ["split", "inclusion_probability", "text"]
#: Per coded validation paragraph, what the analysis stage needs to correct shares (REPORTS/validation_scored.csv).
SCORED_COLUMNS = ["para_id", "doc_id", "sample", "split", "inclusion_probability", "coder", "gold", "rules", "final"]
OVERRIDE_ACTIONS = ("add", "remove")
REQUIRED_PARAGRAPH_COLUMNS = [c for c in ANNOTATED_COLUMNS if c != "themes"] + ["kind"]
DEFAULT_CHUNK_SIZE = 2000
_STR, _INT = pa.string(), pa.int64()
_OUTPUT_SCHEMAS = {
    "annotations": pa.schema([(c, _STR) for c in ANNOTATION_COLUMNS]),
    "evidence": pa.schema([(c, _INT if c in ("start", "end") else _STR) for c in EVIDENCE_COLUMNS]),
}

_SEP = " \x00 "
_TAIL_RE = re.compile(r"\w*")
_BAD_GAP_RE = re.compile(r"[^\w\s\-/']")
_KIND_TERM, _KIND_EXCLUDE, _KIND_ANCHOR, _KIND_CO_ANCHOR = 0, 1, 2, 3
_BROKEN_WORD_RE = re.compile(r"(?<=\w)" + LINE_BREAK_MARK + r"(?=\w)")


def _join_broken_words(text: str) -> tuple[str, list[int]]:
    """``text`` with every line-break mark between two word characters removed, and for each character
    of the result its offset in ``text``."""
    drop = {m.start() for m in _BROKEN_WORD_RE.finditer(text)}
    kept = [i for i in range(len(text)) if i not in drop]
    return "".join(text[i] for i in kept), kept


# --------------------------------------------------------------------------- matching engine

@dataclass(frozen=True)
class Rule:
    """One rule of the codebook: its theme, kind (``term``/``regex``/``exclude``), text and
    speaker scope ("" any, ``organizations`` or ``states``; see :mod:`helpers.annotation.codebook`)."""

    theme: str
    kind: str
    source: str
    speakers: str = ""


def speaker_kinds(organization: Sequence[object], iso3: Sequence[object] | None) -> np.ndarray:
    """Per paragraph: ``"states"`` when its document's organisation is a country (``iso3`` set),
    ``"organizations"`` when it is named but not a country, ``""`` when unknown (empty or
    ``unknown``, or no ``iso3`` column to tell). Compared with a rule's ``speakers`` scope."""
    if iso3 is None:
        return np.full(len(organization), "", dtype=object)
    out = []
    for org, code in zip(organization, iso3):
        code = "" if code is None or (isinstance(code, float) and code != code) else str(code)
        org = "" if org is None or (isinstance(org, float) and org != org) else str(org).strip()
        out.append("states" if code else ("organizations" if org and org.lower() != "unknown" else ""))
    return np.asarray(out, dtype=object)


def _build_luts() -> tuple[np.ndarray, np.ndarray]:
    r"""Lookup tables over the Basic Multilingual Plane (code point -> code point).

    ``folded``: :func:`helpers.corpus.text.fold` of the character. ``spaced``: the folded character
    lower-cased (kept as is when its lower case is longer than one character) if it is a word
    character (``\w`` of :mod:`re`: alphanumeric or ``_``), a space otherwise; NUL (the chunk
    separator) stays NUL.
    """
    chars = "".join(map(chr, range(_BMP)))
    folded_s = fold(chars)
    folded = np.frombuffer(folded_s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).copy()
    spaced = np.empty(_BMP, dtype=np.uint32)
    for i, ch in enumerate(folded_s):
        if ch.isalnum() or ch == "_":
            lo = ch.lower()
            spaced[i] = ord(lo) if len(lo) == 1 else ord(ch)
        else:
            spaced[i] = 32
    spaced[0] = 0
    return folded, spaced


_BMP = 0x10000
_LUTS: tuple[np.ndarray, np.ndarray] | None = None


def _char_views(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Folded code points and the "spaced" view (lower-cased word characters, space elsewhere).

    Same results as :func:`helpers.corpus.text.fold`, ``str.lower`` and the ``\w`` class of :mod:`re`,
    computed with one table lookup per character.
    """
    global _LUTS
    if _LUTS is None:
        _LUTS = _build_luts()
    f_lut, s_lut = _LUTS
    if not len(codes) or int(codes.max()) < _BMP:
        return np.take(f_lut, codes), np.take(s_lut, codes)
    safe = np.minimum(codes, _BMP - 1)
    folded, spaced = f_lut[safe], s_lut[safe]
    for i in np.flatnonzero(codes >= _BMP).tolist():  # characters beyond the BMP (emoji, rare scripts)
        ch = chr(int(codes[i]))
        folded[i] = ord(fold(ch))
        lo = ch.lower()
        spaced[i] = (ord(lo) if len(lo) == 1 else ord(ch)) if (ch.isalnum() or ch == "_") else 32
    return folded, spaced


def regex_anchor(pattern: str) -> tuple[str, bool, bool] | None:
    """The longest run of word characters every match of ``pattern`` must contain.

    Returns ``(literal in lower case, word boundary before, word boundary after)`` or None when
    the pattern has no such run of at least two characters (the regex is then run over the
    whole text instead of only where its anchor occurs).
    """
    return _longest(regex_literals(pattern))


def _longest(literals: list[tuple[str, bool, bool]]) -> tuple[str, bool, bool] | None:
    """The longest of :func:`regex_literals`' runs (the first of equal length), or None when there is none."""
    return max(literals, key=lambda r: len(r[0])) if literals else None


def regex_literals(pattern: str) -> list[tuple[str, bool, bool]]:
    """Every run of at least two word characters that every match of ``pattern`` must contain, in the
    order they occur: ``(literal in lower case, word boundary before, word boundary after)``."""
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    runs: list[tuple[str, bool, bool]] = []

    def walk(items) -> None:
        cur: list[str] = []
        lead = False
        after_b = False
        for op, av in items:
            if op is C.LITERAL and (chr(av).isalnum() or chr(av) == "_"):
                if not cur:
                    lead = after_b
                cur.append(chr(av))
                after_b = False
                continue
            if op is C.AT:
                if av is C.AT_BOUNDARY:
                    if cur:
                        runs.append(("".join(cur), lead, True))
                        cur = []
                    after_b = True
                continue
            if cur:
                runs.append(("".join(cur), lead, False))
                cur = []
            after_b = False
            if op is C.SUBPATTERN:
                walk(av[-1])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT) and av[0] >= 1:
                walk(av[2])
        if cur:
            runs.append(("".join(cur), lead, False))

    walk(_parser.parse(pattern, re.IGNORECASE))
    out = []
    for lit, lead, trail in runs:
        if len(lit) >= 2:
            low = lit.lower()
            out.append(((low if len(low) == len(lit) else lit), lead, trail))
    return out


def _max_width(pattern: str) -> int:
    """Longest possible match of ``pattern`` in characters (a large number when unbounded)."""
    from re import _parser  # type: ignore[attr-defined]

    return min(int(_parser.parse(pattern, re.IGNORECASE).getwidth()[1]), _UNBOUNDED)


_UNBOUNDED = 1 << 40
_MAX_CO_ANCHORS = 2


def _co_anchors(literals: list[tuple[str, bool, bool]], anchor: str) -> list[str]:
    """Up to :data:`_MAX_CO_ANCHORS` literals besides ``anchor`` that every match of a pattern contains (of its
    :func:`regex_literals`, longest first, at least four characters, none inside the anchor). A paragraph
    without all of them cannot match, so its anchor hits need no search: a proximity rule such as
    ``democrati* NEAR/3 "international relations"`` is searched only where both sides occur."""
    found: list[str] = []
    for lit, _, _ in sorted(literals, key=lambda r: -len(r[0])):
        if len(lit) >= 4 and lit not in anchor and lit not in found:
            found.append(lit)
    return found[:_MAX_CO_ANCHORS]


class Matcher:
    """The codebook compiled into one Aho-Corasick automaton (pyahocorasick).

    Keys of the automaton: every inflected form of every ``terms`` and ``exclude`` phrase, and
    one anchor literal per ``regex`` rule (:func:`regex_anchor`). A regex is run only inside the
    paragraphs where its anchor occurs (like the literal prefilter of grep tools); a regex
    without an anchor is run over the whole chunk. Build once with ``Matcher(codebook)``;
    :meth:`match` codes any number of texts.
    """

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.themes: list[str] = codebook.theme_ids
        self.rules: list[Rule] = []
        keys: dict[str, list[tuple[int, int, int]]] = {}
        prefix_keys: set[str] = set()

        def add(key: str, entry: tuple[int, int, int], prefix: bool) -> None:
            # a key's leading/trailing space says whether it must start/end at a word boundary;
            # a prefix term's key has no trailing space and its match is extended to the word's end
            entries = keys.setdefault(key, [])
            if entry not in entries:
                entries.append(entry)
            if prefix:
                prefix_keys.add(key)

        for ti, theme in enumerate(codebook.themes):
            for kind, items in (("term", theme.terms), ("exclude", theme.exclude)):
                for term in items:
                    rid = len(self.rules)
                    self.rules.append(Rule(theme.id, kind, term.source))
                    for words in term.forms():
                        key = " " + " ".join(words) + ("" if term.prefix else " ")
                        add(key, (ti, rid, _KIND_EXCLUDE if kind == "exclude" else _KIND_TERM), term.prefix)
        #: per regex rule: theme number, rule number, pattern (compiled by RE2 when first searched, :meth:`_pattern`:
        #: a rebuild after one speech changed searches a few rules, and compiling all 250 took 0.8 s)
        self.regex_rules: list[tuple[int, int, str]] = []
        self._compiled: dict[int, SafePattern] = {}
        self.unanchored: list[int] = []
        widths: list[int] = []
        co_anchors: list[int] = []
        for ti, theme in enumerate(codebook.themes):
            near = [(rule.source, p) for rule in theme.near for p in rule.patterns]  # two patterns per rule
            for k, pattern in enumerate(list(theme.regex) + [p for _, p in near]):
                if k < len(theme.regex):
                    rid = len(self.rules)
                    self.rules.append(Rule(theme.id, "regex", pattern, theme.speakers_of(k)))
                elif (k - len(theme.regex)) % 2 == 0:  # the first pattern of a proximity rule: its Rule
                    rid = len(self.rules)
                    self.rules.append(Rule(theme.id, "near", near[k - len(theme.regex)][0]))
                j = len(self.regex_rules)
                self.regex_rules.append((ti, rid, pattern))
                widths.append(_max_width(pattern))
                literals = regex_literals(pattern)  # parsed once for the anchor and the co-anchors
                anchor = _longest(literals)
                if anchor is None:
                    self.unanchored.append(j)
                    co_anchors.append(0)
                else:
                    lit, lead, trail = anchor
                    # anchors only locate paragraphs: their end (prefix-extended or not) is not used
                    add((" " if lead else "") + lit + (" " if trail else ""), (ti, j, _KIND_ANCHOR), False)
                    others = _co_anchors(literals, lit)
                    for c, other in enumerate(others):  # entry (co-anchor number, regex number, kind)
                        add(other, (c, j, _KIND_CO_ANCHOR), False)
                    co_anchors.append(len(others))
        self._regex_width = np.asarray(widths, dtype=np.int64)
        #: per regex rule, how many other literals (:func:`_co_anchors`) a paragraph must contain before it is searched
        self._n_co = np.asarray(co_anchors, dtype=np.int64)
        #: alphabetical rank of each theme number (outputs list themes in id order)
        self.rank = np.argsort(np.argsort(np.asarray(self.themes, dtype=object))).astype(np.int64)
        self.theme_names = np.asarray(self.themes, dtype=object)
        self.rule_sources = np.asarray([r.source for r in self.rules], dtype=object)
        self.rule_kinds = np.asarray([r.kind for r in self.rules], dtype=object)
        self.rule_speakers = np.asarray([r.speakers for r in self.rules], dtype=object)
        self.scoped = bool(any(self.rule_speakers))
        #: per theme number, its ``from`` date (YYYY-MM-DD, "" = any date)
        self.theme_from = np.asarray([t.from_date for t in codebook.themes], dtype=object)
        self.dated = bool(any(self.theme_from))
        self.automaton = ahocorasick.Automaton()
        n_keys = len(keys)
        self._klen = np.zeros(n_keys, dtype=np.int64)
        self._lead = np.zeros(n_keys, dtype=np.int64)
        self._trail = np.zeros(n_keys, dtype=np.int64)
        self._prefix = np.zeros(n_keys, dtype=bool)
        self._multi = np.zeros(n_keys, dtype=bool)
        self._ent_start = np.zeros(n_keys + 1, dtype=np.int64)
        ent: list[tuple[int, int, int]] = []
        for kid, (key, entries) in enumerate(keys.items()):
            self.automaton.add_word(key, kid)
            self._klen[kid] = len(key)
            self._lead[kid] = key.startswith(" ")
            self._trail[kid] = key.endswith(" ")
            self._prefix[kid] = key in prefix_keys
            self._multi[kid] = " " in key.strip(" ")
            self._ent_start[kid] = len(ent)
            ent.extend(entries)
        self._ent_start[n_keys] = len(ent)
        self._ent = np.asarray(ent, dtype=np.int64).reshape(-1, 3)
        self.automaton.make_automaton()

    def match(self, texts: Sequence[str]) -> pd.DataFrame:
        """Find every rule match in ``texts`` (exclusions and nested matches already removed).

        Input: a sequence of paragraph texts as written.
        Output columns: ``index`` (int, position of the text in ``texts``), ``theme`` (str, theme
        id), ``rule`` (str, the rule as written in the codebook), ``rule_kind`` (``term`` or
        ``regex``), ``start``, ``end`` (int, character offsets into that text;
        ``text[start:end]`` is the match), sorted by index, theme id, start.
        """
        para, theme, rule, start, end = self.match_arrays(texts)
        rules = self.rules
        return pd.DataFrame(
            {
                "index": para,
                "theme": pd.array([self.themes[t] for t in theme.tolist()], dtype="str"),
                "rule": pd.array([rules[r].source for r in rule.tolist()], dtype="str"),
                "rule_kind": pd.array([rules[r].kind for r in rule.tolist()], dtype="str"),
                "start": start,
                "end": end,
            }
        )

    def match_arrays(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        """:meth:`match` as five int64 arrays ``(index, theme number, rule number, start, end)``;
        theme numbers index ``self.themes``, rule numbers ``self.rules``.

        A word broken by a line-break mark (``aggres¬sion``, :data:`LINE_BREAK_MARK`) is matched both ways:
        as a hyphen (``non¬interference`` is ``non-interference``, :func:`helpers.corpus.text.fold`) and, in a
        second pass over the texts that have one, joined (``aggression``), its span then covering the mark."""
        candidates = self._candidates(texts)
        broken = [i for i, t in enumerate(texts) if LINE_BREAK_MARK in t and _BROKEN_WORD_RE.search(t)]
        if broken:
            joined, kept = zip(*(_join_broken_words(texts[i]) for i in broken))
            para, theme, rule, kind, start, end = self._candidates(joined)
            if len(para):
                # offsets in the joined text -> offsets in the text as written (a span over the mark keeps it)
                starts = [kept[p][s] for p, s in zip(para.tolist(), start.tolist())]
                ends = [kept[p][e - 1] + 1 for p, e in zip(para.tolist(), end.tolist())]
                second = (np.asarray(broken, dtype=np.int64)[para], theme, rule, kind,
                          np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64))
                candidates = tuple(np.concatenate((a, b)) for a, b in zip(candidates, second))
        return self._resolve(*candidates)

    def _candidates(self, texts: Sequence[str]) -> tuple[np.ndarray, ...]:
        """Every match of every rule in ``texts`` before :meth:`_resolve`: six int64 arrays ``(index, theme
        number, rule number, kind, start, end)``, offsets into each text."""
        n = len(texts)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
        offsets = np.empty(n + 1, dtype=np.int64)
        offsets[0] = len(_SEP)
        np.cumsum(lengths + len(_SEP), out=offsets[1:])
        offsets[1:] += len(_SEP)
        joined = _SEP + _SEP.join(texts) + _SEP
        codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        folded_c, spaced = _char_views(codes)
        folded = folded_c.tobytes().decode("utf-32-le", "surrogatepass")
        is_space = spaced == 32
        keep = np.ones(len(spaced), dtype=bool)
        keep[1:] = ~(is_space[1:] & is_space[:-1])  # collapse runs of spaces, remember where from
        back = np.flatnonzero(keep)
        compact = spaced[back].tobytes().decode("utf-32-le", "surrogatepass")

        raw_hits = list(self.automaton.iter(compact)) if len(self._klen) else []  # no key: nothing to scan
        hits = np.array(raw_hits, dtype=np.int64).reshape(-1, 2)
        last, kid = hits[:, 0], hits[:, 1]
        c_start = last - self._klen[kid] + 1 + self._lead[kid]
        c_end = last + 1 - self._trail[kid]
        pre = np.flatnonzero(self._prefix[kid])
        if len(pre):  # extend prefix matches to the end of the word
            tail = _TAIL_RE.match
            c_end[pre] = [tail(compact, e).end() for e in c_end[pre].tolist()]
        o_start = back[c_start]
        o_end = back[c_end - 1] + 1
        ok = np.ones(len(kid), dtype=bool)
        multi = np.flatnonzero(self._multi[kid])
        if len(multi):  # words of a phrase: only spaces, hyphens, slashes, apostrophes between them
            bad = _BAD_GAP_RE.search
            ok[multi] = [bad(folded, s_, e_) is None
                         for s_, e_ in zip(o_start[multi].tolist(), o_end[multi].tolist())]
        kid, o_start, o_end = kid[ok], o_start[ok], o_end[ok]
        counts = self._ent_start[kid + 1] - self._ent_start[kid]
        rep = np.repeat(np.arange(len(kid)), counts)
        ent_idx = np.repeat(self._ent_start[kid] - np.cumsum(counts) + counts, counts) + np.arange(int(counts.sum()))
        ent = self._ent[ent_idx]
        e_theme, e_rule, e_kind = ent[:, 0], ent[:, 1], ent[:, 2]
        e_start, e_end = o_start[rep], o_end[rep]

        # regex rules: verified where their anchor occurs, or over everything when they have none
        anchor = e_kind == _KIND_ANCHOR
        co = e_kind == _KIND_CO_ANCHOR
        extra: list[tuple[int, int, int, int]] = []
        if anchor.any() or self.unanchored:
            encoded = EncodedText(folded)  # once for every search below
            if anchor.any():
                at = np.flatnonzero(anchor)
                a_para = np.searchsorted(offsets, e_start[at], side="right") - 1
                a_rule = e_rule[at]
                ok = self._co_anchored(a_para, a_rule, np.searchsorted(offsets, e_start[co], side="right") - 1,
                                       e_rule[co], e_theme[co])
                at, a_para, a_rule = at[ok], a_para[ok], a_rule[ok]
                a_start = e_start[at]
                a_lo = offsets[a_para]
                a_hi = a_lo + lengths[a_para]
                width = self._regex_width[a_rule]
                # a match contains its anchor and is at most `width` long: search only that window
                w_lo = np.maximum(a_lo, e_end[at] - width - 1)
                w_hi = np.minimum(a_hi, a_start + width + 1)
                found = set()
                for j, lo, hi in sorted(set(zip(a_rule.tolist(), w_lo.tolist(), w_hi.tolist()))):
                    found.update(self._regex_spans(j, encoded, lo, hi))
                extra.extend(sorted(found))
            for j in self.unanchored:
                extra.extend(self._regex_spans(j, encoded, 0, len(folded)))
        keep_e = ~(anchor | co)
        theme_a = e_theme[keep_e]
        rule_a = e_rule[keep_e]
        kind_a = e_kind[keep_e]
        start_a = e_start[keep_e]
        end_a = e_end[keep_e]
        if extra:
            x = np.asarray(extra, dtype=np.int64)
            theme_a = np.concatenate((theme_a, x[:, 0]))
            rule_a = np.concatenate((rule_a, x[:, 1]))
            kind_a = np.concatenate((kind_a, np.full(len(x), _KIND_TERM)))
            start_a = np.concatenate((start_a, x[:, 2]))
            end_a = np.concatenate((end_a, x[:, 3]))
        para_a = np.searchsorted(offsets, start_a, side="right") - 1
        if extra:  # a regex may match in the separators around the texts (^\s+ at the very start): not in any text
            inside = (para_a >= 0) & (para_a < n)
            p_ok = np.where(inside, para_a, 0)
            inside &= (start_a >= offsets[p_ok]) & (end_a <= offsets[p_ok] + lengths[p_ok])
            if not inside.all():
                para_a, theme_a, rule_a, kind_a, start_a, end_a = (a[inside] for a in (para_a, theme_a, rule_a, kind_a, start_a, end_a))
        return para_a, theme_a, rule_a, kind_a, start_a - offsets[para_a], end_a - offsets[para_a]

    def _co_anchored(self, a_para: np.ndarray, a_rule: np.ndarray, c_para: np.ndarray, c_rule: np.ndarray,
                     c_num: np.ndarray) -> np.ndarray:
        """Which anchor hits (paragraph, regex number) lie in a paragraph that also holds every co-anchor of
        their rule (hits: paragraph, regex number, co-anchor number); a rule without co-anchors always does."""
        need = self._n_co[a_rule] > 0
        if not need.any():
            return np.ones(len(a_rule), dtype=bool)
        n = len(self._n_co)
        seen = np.unique((c_para * n + c_rule) * _MAX_CO_ANCHORS + c_num)  # each co-anchor once per paragraph
        pairs, counts = np.unique(seen // _MAX_CO_ANCHORS, return_counts=True)
        complete = pairs[counts == self._n_co[pairs % n]]
        return ~need | np.isin(a_para * n + a_rule, complete)

    def compile_regexes(self) -> None:
        """Compile every regex rule now, for any text and for ASCII text (:meth:`SafePattern.spans`): processes
        forked afterwards inherit them instead of each compiling its own (0.9 s of CPU a process)."""
        for j in range(len(self.regex_rules)):
            self._pattern(j).prepare()

    def _pattern(self, j: int) -> SafePattern:
        """Regex rule ``j`` compiled by RE2 (linear time), once per matcher."""
        pat = self._compiled.get(j)
        if pat is None:
            pat = self._compiled[j] = compile_pattern(self.regex_rules[j][2], ignorecase=True, capture=False)
        return pat

    def _regex_spans(self, j: int, encoded: EncodedText, lo: int, hi: int) -> list[tuple[int, int, int, int]]:
        ti, rid, _ = self.regex_rules[j]
        pat = self._pattern(j)
        folded = encoded.text
        out = []
        for s, e in pat.spans(encoded, lo, hi):  # every start position, as re.search(folded, s + 1, hi) in a loop
            if e > s and not _cuts_word(folded, s) and not _cuts_word(folded, e) and "\x00" not in folded[s:e]:
                out.append((ti, rid, s, e))
        return out

    def _resolve(self, para, theme, rule, kind, start, end) -> tuple[np.ndarray, ...]:
        """Drop matches inside an excluded phrase of their theme, then matches lying inside a
        longer match of the same theme; sort by paragraph, theme, start."""
        rank = self.rank[theme]
        order = np.lexsort((-end, start, rank, para))
        para, theme, rule, kind, start, end, rank = (a[order] for a in (para, theme, rule, kind, start, end, rank))
        excl = kind == _KIND_EXCLUDE
        if excl.any():
            group = para * len(self.themes) + theme
            drop = excl.copy()
            groups_with = set(group[excl].tolist())
            spans: dict[int, list[tuple[int, int]]] = {}
            for g, s, e in zip(group[excl].tolist(), start[excl].tolist(), end[excl].tolist()):
                spans.setdefault(g, []).append((s, e))
            for i in np.flatnonzero(~excl & np.isin(group, list(groups_with))).tolist():
                g, s, e = int(group[i]), int(start[i]), int(end[i])
                if any(xs <= s and e <= xe for xs, xe in spans[g]):
                    drop[i] = True
            keep = ~drop
            para, theme, rule, start, end, rank = (a[keep] for a in (para, theme, rule, start, end, rank))
        if len(para):
            # within a (paragraph, theme) group, keep a match only if it ends after every earlier one
            big = int(end.max()) + 1
            key = (para * len(self.themes) + rank) * big + end
            run_max = np.maximum.accumulate(key)
            keep = np.ones(len(key), dtype=bool)
            keep[1:] = key[1:] > run_max[:-1]
            para, theme, rule, start, end = (a[keep] for a in (para, theme, rule, start, end))
        return para, theme, rule, start, end


def _cuts_word(s: str, pos: int) -> bool:
    """True if ``pos`` lies between two word characters of ``s`` (inside a word)."""
    return 0 < pos < len(s) and _isword(s[pos - 1]) and _isword(s[pos])


def _isword(c: str) -> bool:
    return c.isalnum() or c == "_"


# --------------------------------------------------------------------------- analysts' files

def _read_rows(path: str | Path, expected: list[str], what: str,
               optional: Sequence[str] = ()) -> list[tuple[int, dict[str, str]]]:
    p = Path(path)
    if not p.is_file():
        raise AnnotationError(f"{p}: {what} file not found. Create it with the header {','.join(expected)}.")
    try:
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
            start = reader.line_num + 1  # the line a record starts on: a quoted text may run over several
            for row in reader:
                line, start = start, reader.line_num + 1
                if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                    continue
                keys = expected + [k for k in optional if k in header]
                rows.append((line, {k: (row.get(k) or "").strip() for k in keys}))
    except UnicodeDecodeError:
        raise AnnotationError(not_utf8(p, p.read_bytes(), f"the {what} file")) from None
    except csv.Error as exc:  # a NUL byte, an unterminated quote at the end
        raise AnnotationError(f"{p}, line {reader.line_num}: not a readable CSV ({exc}). Re-save it as a plain UTF-8 CSV.") from None
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
    table = pd.DataFrame(out, columns=OVERRIDE_COLUMNS + ["line"]).astype({"line": "int64"})
    table.attrs["warnings"] = contradictory_overrides(table, path)
    return table


def contradictory_overrides(overrides: pd.DataFrame, path: str | Path) -> list[str]:
    """One warning per paragraph and theme that rows of ``overrides`` both ``add`` and ``remove``,
    saying which row wins: the last one, as rows are applied in file order."""
    out = []
    for (pid, theme), rows in overrides.groupby(["para_id", "theme"], sort=False):
        if rows["action"].nunique() < 2:
            continue
        lines = ", ".join(f"line {ln} ({act})" for ln, act in zip(rows["line"], rows["action"]))
        last = rows.iloc[-1]
        out.append(f"{path}: contradictory overrides for paragraph {pid}, theme '{theme}': {lines}. The last row wins "
                   f"(line {last['line']}: {last['action']}); delete the row that is wrong.")
    return out


def set_aside_skipped(table: pd.DataFrame, skipped_docs: set[str], path: str | Path, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows of ``table`` (overrides or validation sample) naming a paragraph of a document the ingest
    skipped (``ON_ERROR=skip``) are set aside: returns the other rows and one warning per row set aside."""
    if not skipped_docs or table.empty:
        return table, []
    docs = table["para_id"].str.rsplit("-p", n=1).str[0]
    aside = docs.isin(skipped_docs).to_numpy()
    warnings = [f"{path}, line {line}: paragraph '{pid}' belongs to document '{doc}', which the ingest skipped "
                f"(ON_ERROR=skip); this row of the {what} is set aside."
                for pid, doc, line in zip(table["para_id"][aside], docs[aside], table["line"][aside])]
    kept = table[~aside].reset_index(drop=True)
    kept.attrs.update(table.attrs)
    return kept, warnings


def set_aside_changed(table: pd.DataFrame, texts: Mapping[str, str], path: str | Path, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows of a coded sample follow their paragraph's text to its new id, or are set aside when it is gone.

    A sample drawn by :mod:`helpers.annotation.validation_sample` keeps each paragraph's ``text``; when
    the corpus, or how it is split into paragraphs, changes, the same ``para_id`` may name other text
    (or none), and the coder's themes would be scored against the rules' coding of that other text.
    ``texts`` maps paragraph ids to their current text, for every paragraph of the documents the sample
    names (:func:`_paragraphs_named`). A row whose text is now that of exactly one other paragraph of its document
    (numbers shift when an earlier paragraph is joined or split) takes that paragraph's id; a row whose text
    is no paragraph's any more is set aside. Rows without a stored text are kept (:func:`check_para_ids`
    checks them). Returns the rows kept (with their current ids) and a warning for the file when rows were set
    aside; following a text to its new id needs none, since the row is scored on what it was coded on.
    """
    if table.empty or "text" not in table.columns:
        return table, []
    stored = table["text"].astype(str).tolist()
    ids = table["para_id"].astype(str).tolist()
    changed = [bool(t) and not _same_text(t, texts.get(pid)) for pid, t in zip(ids, stored)]
    if not any(changed):
        return table, []
    by_text: dict[tuple[str, str], list[str]] = {}
    for pid, text in texts.items():
        by_text.setdefault((_doc_of(pid), " ".join(text.split())), []).append(pid)
    taken = {pid for pid, c in zip(ids, changed) if not c}
    gone_lines, keep = [], []
    new_ids = list(ids)
    for i, (pid, text, c) in enumerate(zip(ids, stored, changed)):
        if not c:
            keep.append(True)
            continue
        found = next((by_text[key] for form in _stored_forms(text) if (key := (_doc_of(pid), form)) in by_text), [])
        if len(found) == 1 and found[0] not in taken:
            new_ids[i] = found[0]
            taken.add(found[0])
            keep.append(True)
        else:
            gone_lines.append(int(table["line"].iat[i]))
            keep.append(False)
    warnings = []
    if gone_lines:
        warnings.append(f"{path}: {len(gone_lines)} row(s) of the {what} name paragraphs whose text is no paragraph's any more "
                        f"(the corpus, or how it is split into paragraphs, changed): line(s) {_lines_shown(gone_lines)}. They are "
                        "set aside; code those paragraphs again, or draw a fresh sample.")
    out = table.assign(para_id=new_ids)[np.asarray(keep, dtype=bool)].reset_index(drop=True)
    out.attrs.update(table.attrs)
    return out, warnings


def set_aside_not_body(table: pd.DataFrame, kinds: Mapping[str, str], path: str | Path, what: str) -> tuple[pd.DataFrame, list[str]]:
    """Rows of a drawn sample (with a stored ``text``) whose paragraph the cleaning no longer counts as body text (a
    salutation, a title: ``kinds`` maps paragraph ids to their kind) are set aside with one warning for the file: the
    sample was drawn from body paragraphs, and only they are coded. Rows without a stored text are left to
    :func:`check_para_ids`, which stops at them: there the analyst named the paragraph."""
    if table.empty or "text" not in table.columns:
        return table, []
    other = np.asarray([bool(t) and kinds.get(p, "body") != "body" for p, t in zip(table["para_id"], table["text"].astype(str))],
                       dtype=bool)
    if not other.any():
        return table, []
    lines = [int(n) for n in table["line"][other]]
    found = sorted({kinds[p] for p in table["para_id"][other]})
    warning = (f"{path}: {len(lines)} row(s) of the {what} name paragraphs the cleaning no longer counts as body text "
               f"({', '.join(found)}; see the cleaning rules): line(s) {_lines_shown(lines)}. They are set aside; only body "
               "paragraphs are coded.")
    kept = table[~other].reset_index(drop=True)
    kept.attrs.update(table.attrs)
    return kept, [warning]


def _doc_of(para_id: str) -> str:
    """The document id of a paragraph id ``<doc_id>-pNNN``."""
    return para_id.rsplit("-p", 1)[0]


def _lines_shown(lines: list[int]) -> str:
    return ", ".join(str(n) for n in lines[:12]) + (f" and {len(lines) - 12} more" if len(lines) > 12 else "")


def _stored_forms(stored: str) -> tuple[str, ...]:
    """The texts a sample's stored paragraph text may stand for, white space collapsed: itself and, when it
    starts with the ``'`` that keeps a spreadsheet from running it as a formula, itself without it."""
    a = " ".join(stored.split())
    return (a, a[1:]) if a.startswith("'") else (a,)


def _same_text(stored: str, current: str | None) -> bool:
    """Whether a sample's stored paragraph text is the paragraph's ``current`` text (:func:`_stored_forms`)."""
    return current is not None and " ".join(current.split()) in _stored_forms(stored)


def read_validation(path: str | Path, codebook: Codebook) -> pd.DataFrame:
    """Read and check a hand-coded validation sample (paragraph ids are checked later).

    Either the seed file (``para_id,themes,coder``: every row in-sample) or a sample drawn by
    :mod:`helpers.annotation.validation_sample` (also ``split`` and ``inclusion_probability``; a row whose
    ``coder`` is empty is not coded yet and is skipped).
    Output columns: ``para_id`` (str), ``themes`` (str, sorted ids joined by ``;``),
    ``coder`` (str), ``line`` (int), ``split`` (str: ``tune``, ``dev``, ``test`` or "" without a split
    column), ``sample`` (``in-sample``, ``dev`` or ``held-out``, see :mod:`helpers.annotation.split_agreement`),
    ``inclusion_probability`` (float, NaN when the file has none), ``text`` (str: the paragraph as it was
    coded, "" when the file has no text column; see :func:`set_aside_changed`). Raises
    :class:`AnnotationError` naming the row for an unknown theme, an empty or repeated para_id,
    an unknown split or an inclusion probability outside (0, 1].
    """
    out = []
    seen: dict[str, int] = {}
    for line, row in _read_rows(path, VALIDATION_COLUMNS, "validation", VALIDATION_OPTIONAL):
        where = f"{path}, line {line}"
        pid = row["para_id"]
        if "split" in row and not row["coder"]:
            continue  # a drawn sample: this row is not coded (yet)
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
        split = row.get("split", "")
        if split not in SPLIT_SAMPLE:
            raise AnnotationError(f"{where}: split must be one of {{tune, dev, test}} (tune: rules are written from it; "
                                  f"dev: scored while choosing rules; test: held out). Got '{split}' instead.")
        prob = math.nan
        if row.get("inclusion_probability", ""):
            try:
                prob = float(row["inclusion_probability"])
            except ValueError:
                prob = -1.0
            if not 0 < prob <= 1:
                raise AnnotationError(f"{where}: inclusion_probability must be a number in (0, 1]. "
                                      f"Got '{row['inclusion_probability']}' instead.")
        out.append({"para_id": pid, "themes": ";".join(sorted(set(themes))), "coder": row["coder"], "line": line,
                    "split": split, "sample": SPLIT_SAMPLE[split], "inclusion_probability": prob,
                    "text": row.get("text", "")})
    columns = VALIDATION_COLUMNS + ["line", "split", "sample", "inclusion_probability", "text"]
    return pd.DataFrame(out, columns=columns).astype({"line": "int64", "inclusion_probability": "float64"})


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


Columns = dict[str, list]


def _overrides_by_para(overrides: pd.DataFrame | None) -> dict[str, dict[str, tuple[str, str, str]]]:
    out: dict[str, dict[str, tuple[str, str, str]]] = {}
    if overrides is None:
        return out
    for pid, theme, action, coder, note in overrides[OVERRIDE_COLUMNS].itertuples(index=False):
        out.setdefault(pid, {})[theme] = (action, coder, note)  # later rows win
    return out


def _code_columns(
    texts: list[str], pids: list[str], docs: list[str], matcher: Matcher,
    by_para: dict[str, dict[str, tuple[str, str, str]]],
    matches: tuple[np.ndarray, ...] | None = None,
    speakers: np.ndarray | None = None,
    dates: np.ndarray | None = None,
) -> tuple[Columns, Columns, Columns]:
    """Code one chunk of body paragraphs given as lists of texts, para_ids and doc_ids.

    ``matches``: the rule matches of ``texts`` already found (:meth:`Matcher.match_arrays`, e.g.
    read from the annotation cache); found here when None. ``speakers``: each paragraph's
    :func:`speaker_kinds`; matches of a rule scoped to other speakers are dropped (with
    ``None``, every scoped rule is out of scope). ``dates``: each paragraph's document date
    (YYYY-MM-DD); matches of a theme with a ``from`` date are dropped in documents dated before it
    (with ``None`` or an empty date, in every document).
    Returns three column dicts (lists or NumPy arrays): ``themes`` and ``themes_rules`` of each
    paragraph, the annotations (``ANNOTATION_COLUMNS``) and the evidence (``EVIDENCE_COLUMNS``);
    see :func:`code_paragraphs` for their meaning.
    """
    names = matcher.themes
    n_themes = len(names)
    para, theme, rule, start, end = matcher.match_arrays(texts) if matches is None else matches
    # out of scope: a rule scoped to other speakers, a dated theme in a document from before its date
    ok = np.ones(len(rule), dtype=bool)
    if matcher.scoped and len(rule):
        scope = matcher.rule_speakers[rule]
        kinds = speakers if speakers is not None else np.full(len(texts), "", dtype=object)
        ok &= (scope == "") | (scope == kinds[para])
    if matcher.dated and len(rule):
        first = matcher.theme_from[theme]
        day = dates[para] if dates is not None else np.full(len(para), "", dtype=object)
        ok &= (first == "") | ((day != "") & (day >= first))
    if not ok.all():
        para, theme, rule, start, end = para[ok], theme[ok], rule[ok], start[ok], end[ok]
    p_l, s_l, e_l = para.tolist(), start.tolist(), end.tolist()
    terms = [texts[p_][s_:e_] for p_, s_, e_ in zip(p_l, s_l, e_l)]
    labelled = [f"{t} ({s_}-{e_})" for t, s_, e_ in zip(terms, s_l, e_l)]

    # groups of matches of one (paragraph, theme); matches are sorted by paragraph, theme id, start
    key = para * n_themes + matcher.rank[theme]
    cut = np.flatnonzero(np.diff(key)) + 1
    g_first = np.concatenate(([0], cut)).astype(np.int64) if len(key) else np.empty(0, np.int64)
    g_last = np.concatenate((cut, [len(key)])).astype(np.int64) if len(key) else np.empty(0, np.int64)
    g_para = para[g_first].tolist()
    g_theme = [names[t_] for t_ in theme[g_first].tolist()]
    g_evidence = ["; ".join(labelled[i:j]) for i, j in zip(g_first.tolist(), g_last.tolist())]
    rule_sets: list[list[str]] = [[] for _ in texts]
    for p_, th in zip(g_para, g_theme):
        rule_sets[p_].append(th)
    themes_rules = [";".join(t) for t in rule_sets]
    themes_final = themes_rules

    touched = [i for i, pid in enumerate(pids) if pid in by_para] if by_para else []
    removed: set[tuple[int, str]] = set()
    if not touched:
        pid_arr, doc_arr = np.asarray(pids, dtype=object), np.asarray(docs, dtype=object)
        annotations = {"para_id": pid_arr[g_para], "doc_id": doc_arr[g_para], "theme": g_theme,
                       "source": ["rule"] * len(g_para), "evidence": g_evidence}
    else:
        themes_final = list(themes_rules)
        manual: dict[tuple[int, str], str] = {}
        final_sets: dict[int, list[str]] = {}
        for i in touched:
            current = set(rule_sets[i])
            for th, (action, coder, note) in by_para[pids[i]].items():
                if action == "remove":
                    if th in current:
                        removed.add((i, th))
                    current.discard(th)
                elif th not in current:
                    current.add(th)
                    manual[(i, th)] = f"override by {coder}" + (f": {note}" if note else "")
            final_sets[i] = sorted(current)
            themes_final[i] = ";".join(final_sets[i])
        rule_evidence = {(p_, th): ev for p_, th, ev in zip(g_para, g_theme, g_evidence)}
        rows: list[tuple[str, str, str, str, str]] = []
        for i, pid in enumerate(pids):
            for th in final_sets[i] if i in final_sets else rule_sets[i]:
                if (i, th) in manual:
                    rows.append((pid, docs[i], th, "manual", manual[(i, th)]))
                else:
                    rows.append((pid, docs[i], th, "rule", rule_evidence[(i, th)]))
        annotations = {c: [r[k] for r in rows] for k, c in enumerate(ANNOTATION_COLUMNS)}

    pid_arr = np.asarray(pids, dtype=object)
    doc_arr = np.asarray(docs, dtype=object)
    ev_theme = matcher.theme_names[theme]
    if removed:
        status = np.where([(p_, t_) in removed for p_, t_ in zip(p_l, ev_theme.tolist())], "removed", "kept")
    else:
        status = np.full(len(p_l), "kept", dtype=object)
    evidence = {
        "para_id": pid_arr[para],
        "doc_id": doc_arr[para],
        "theme": ev_theme,
        "rule": matcher.rule_sources[rule],
        "rule_kind": matcher.rule_kinds[rule],
        "term": terms,
        "start": start,
        "end": end,
        "status": status.astype(object),
    }
    paragraphs = {"themes": themes_final, "themes_rules": themes_rules}
    return paragraphs, annotations, evidence


def _check_columns(columns: Iterable[str], where: str) -> None:
    missing = [c for c in REQUIRED_PARAGRAPH_COLUMNS if c not in set(columns)]
    if missing:
        raise AnnotationError(
            f"{where}: the paragraph table lacks the column(s) {', '.join(missing)}. "
            "Build it with helpers.corpus.corpus first (make ingest)."
        )


def _frame(cols: Columns, names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: cols[c] for c in names}, columns=names)


def code_paragraphs(
    paragraphs: pd.DataFrame,
    codebook: Codebook | str | Path,
    overrides: pd.DataFrame | str | Path | None = None,
) -> Coding:
    """Code the body paragraphs of ``paragraphs`` with the codebook's rules, then apply overrides.

    Inputs: the paragraph table of :mod:`helpers.corpus.corpus` (only ``kind == 'body'`` rows are
    coded); a :class:`Codebook` or the path of one; optional overrides (a path, or the table of
    :func:`read_overrides`).
    Output: :class:`Coding` with
    ``paragraphs``: one row per body paragraph, columns ``para_id, doc_id, title, organization,
    genre, date, source_para, position, n_words, text`` (as in the corpus), ``themes`` (str, final
    theme ids sorted and joined by ``;``, empty when none), ``themes_rules`` (same, rules alone);
    ``annotations``: one row per (paragraph, final theme), themes in alphabetical order:
    ``para_id, doc_id, theme``, ``source`` (``rule``|``manual``), ``evidence`` (str, matched words
    with spans ``word (start-end)`` joined by ``; ``, or the override's coder and note);
    ``evidence``: one row per rule match: ``para_id, doc_id, theme, rule`` (as written in the
    codebook), ``rule_kind`` (``term``|``regex``), ``term`` (str, matched text), ``start``,
    ``end`` (int, character offsets into ``text``), ``status`` (``kept``, or ``removed`` by an override).
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
    par, ann, ev = _code_columns(body["text"].tolist(), body["para_id"].tolist(), body["doc_id"].tolist(),
                                 Matcher(cb), _overrides_by_para(table), speakers=_speakers_of(body),
                                 dates=_dates_of(body))
    out = body[[c for c in ANNOTATED_COLUMNS if c != "themes"]].copy()
    out["themes"] = par["themes"]
    out["themes_rules"] = par["themes_rules"]
    return Coding(out, _frame(ann, ANNOTATION_COLUMNS),
                  _frame(ev, EVIDENCE_COLUMNS).astype({"start": "int64", "end": "int64"}))


def _column(table: pd.DataFrame | pa.RecordBatch, name: str) -> list | None:
    """The values of column ``name`` of a paragraph table or record batch as a list; None when it has no such column."""
    if isinstance(table, pa.RecordBatch):
        return table.column(name).to_pylist() if name in table.column_names else None
    return table[name].tolist() if name in table.columns else None


def _speakers_of(table: pd.DataFrame | pa.RecordBatch) -> np.ndarray:
    """:func:`speaker_kinds` of a paragraph table or record batch (``organization``, ``iso3`` if present)."""
    return speaker_kinds(_column(table, "organization"), _column(table, "iso3"))


def _dates_of(table: pd.DataFrame | pa.RecordBatch) -> np.ndarray:
    """Each paragraph's document date as YYYY-MM-DD text ("" where there is none), from the ``date`` column."""
    return np.asarray(["" if v is None or (isinstance(v, float) and v != v) else str(v)[:10] for v in _column(table, "date")],
                      dtype=object)


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

def _iter_body_batches(path: Path, chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Body paragraphs of a Parquet file, ``chunk_size`` rows at a time (Arrow record batches
    with the columns of ``ANNOTATED_COLUMNS`` but ``themes``)."""
    pf = pq.ParquetFile(path, pre_buffer=False)  # pre-buffering keeps every row group read: memory would grow
    extra = ["iso3"] if "iso3" in pf.schema_arrow.names else []  # the speaker's kind, for scoped rules
    for batch in pf.iter_batches(batch_size=chunk_size, columns=REQUIRED_PARAGRAPH_COLUMNS + extra):
        body = batch.filter(pc.equal(batch.column("kind"), "body"))
        if body.num_rows:
            yield body.select([c for c in ANNOTATED_COLUMNS if c != "themes"] + extra)


def _paragraphs_named(path: Path, para_ids: set[str]) -> pd.DataFrame:
    """``para_id``, ``kind``, ``text`` and ``date`` of every paragraph of the documents that ``para_ids`` name
    (``<doc_id>-pNNN``), in one read of the Parquet file filtered by document: what the overrides and coded samples
    are checked against (kinds), followed by (texts, :func:`set_aside_changed`) and dated by (years, per period)."""
    columns = ["para_id", "kind", "text", "date"]
    if not para_ids:
        return pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
    docs = sorted({_doc_of(p) for p in para_ids})
    return pq.read_table(path, columns=columns,
                         filters=pc.is_in(pc.field("doc_id"), value_set=pa.array(docs, pa.string()))).to_pandas()


def _years(dates: Mapping[str, object]) -> dict[str, int]:
    """The year of each paragraph id's ``date`` (YYYY-MM-DD); paragraphs without a readable date are left out."""
    return {p: int(str(d)[:4]) for p, d in dates.items() if d and str(d)[:4].isdigit()}


def _iter_units(path: Path, chunk_size: int) -> Iterator[pa.RecordBatch]:
    """Body paragraphs of a Parquet file in record batches of whole documents.

    Each batch holds at least ``chunk_size`` rows (the last may hold fewer) and ends where a
    document ends (a run of rows with the same ``doc_id``), so a document is never split
    across two batches; a document longer than ``chunk_size`` is one batch by itself.
    """
    pending: list[pa.RecordBatch] = []
    n = 0
    for batch in _iter_body_batches(path, chunk_size):
        pending.append(batch)
        n += batch.num_rows
        if n < chunk_size:
            continue
        table = pa.Table.from_batches(pending).combine_chunks()
        docs = table.column("doc_id").to_numpy(zero_copy_only=False)
        changes = np.flatnonzero(docs[1:] != docs[:-1])
        if not len(changes):  # one document so far: read on until it ends
            pending = table.to_batches()
            continue
        cut = int(changes[-1]) + 1  # first row of the last, possibly unfinished, document
        yield from table.slice(0, cut).combine_chunks().to_batches()
        pending = table.slice(cut).to_batches()
        n = table.num_rows - cut
    if pending:
        yield from pa.Table.from_batches(pending).combine_chunks().to_batches()


# --------------------------------------------------------------------------- annotation cache

#: Bump when the layout or meaning of the cached files changes.
ANNOTATION_CACHE_VERSION = "1"
_CACHE_SCHEMA = pa.schema([("position", pa.int32()), ("theme", pa.int32()), ("rule", pa.int32()),
                           ("start", pa.int64()), ("end", pa.int64())])
#: Arrow IPC files: a Parquet file's fixed cost (writer set-up, footer) was most of the time of writing one.
_CACHE_SUFFIX = ".arrow"
_CODE_FINGERPRINT: str | None = None
_MATCHERS: dict[str, Matcher] = {}


def codebook_fingerprint(codebook: Codebook) -> str:
    """Hash of everything in the codebook that decides the rules' matches: the themes in file
    order with their terms, regular expressions and exclusions (labels, definitions, groups
    and comments do not change what the rules find)."""
    rules = [[t.id, [[x.source, list(x.words), x.prefix, x.inflect, x.forms()] for x in t.terms], list(t.regex),
              [[x.source, list(x.words), x.prefix, x.inflect, x.forms()] for x in t.exclude],
              [list(r.patterns) for r in t.near]] for t in codebook.themes]
    blob = json.dumps(rules, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _code_fingerprint() -> str:
    """Hash of the source of the modules that decide the matches (this one, the codebook parser
    and the text folding), so a change in the matching code never reuses old results."""
    global _CODE_FINGERPRINT
    if _CODE_FINGERPRINT is None:
        import helpers.annotation.codebook
        import helpers.annotation.rule_language
        import helpers.safe_regex
        import helpers.corpus.text

        h = hashlib.sha256()
        for path in (__file__, helpers.annotation.codebook.__file__, helpers.annotation.rule_language.__file__, helpers.corpus.text.__file__,
                     helpers.safe_regex.__file__):  # __file__, not __name__: also under -m
            h.update(Path(path).read_bytes())
        _CODE_FINGERPRINT = h.hexdigest()
    return _CODE_FINGERPRINT


def document_key(doc_id: str, para_ids: Sequence[str], texts: Sequence[str], codebook_hash: str) -> str:
    """Cache key of one document's rule coding: a hash of the cache version, the matching code,
    the codebook's rules (:func:`codebook_fingerprint`), the doc_id and the document's body
    paragraphs (``para_id`` and ``text`` of each, in order). 20 hex digits."""
    blob = json.dumps([ANNOTATION_CACHE_VERSION, _code_fingerprint(), codebook_hash, doc_id, list(para_ids), list(texts)],
                      ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def _matcher_for(codebook: Codebook, codebook_hash: str) -> Matcher:
    """One :class:`Matcher` per codebook and process (Dask workers build theirs once)."""
    m = _MATCHERS.get(codebook_hash)
    if m is None:
        _MATCHERS.clear()
        m = _MATCHERS[codebook_hash] = Matcher(codebook)
    return m


def _match_texts(texts: list[str], codebook: Codebook, codebook_hash: str) -> tuple[np.ndarray, ...]:
    """:meth:`Matcher.match_arrays` of ``texts`` (the task run on a Dask worker)."""
    if not texts:
        return tuple(np.empty(0, dtype=np.int64) for _ in range(5))
    return _matcher_for(codebook, codebook_hash).match_arrays(texts)


def _cache_read(path: Path) -> tuple[np.ndarray, ...] | None:
    """The matches kept in a cache file (paragraph numbers relative to the document), or None
    when the file has gone (another run removed it) or cannot be read."""
    table = read_arrow(path)
    if table is None or table.schema.names != _CACHE_SCHEMA.names:
        return None
    return tuple(table.column(i).to_numpy().astype(np.int64) for i in range(5))


def _cache_write(path: Path, matches: tuple[np.ndarray, ...]) -> None:
    """Write one cache file atomically (a temporary name unique to this process, then rename)."""
    write_arrow(pa.Table.from_arrays([pa.array(a, type=f.type) for a, f in zip(matches, _CACHE_SCHEMA)],
                                     schema=_CACHE_SCHEMA), path)


def _slice_matches(matches: tuple[np.ndarray, ...], lo: int, hi: int, shift: int) -> tuple[np.ndarray, ...]:
    """The matches of paragraphs ``lo <= para < hi`` (sorted by para), paragraph numbers moved by ``shift``."""
    para = matches[0]
    a, b = np.searchsorted(para, [lo, hi])
    return (para[a:b] + shift,) + tuple(x[a:b] for x in matches[1:])


def _concat_matches(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    if not parts:
        return tuple(np.empty(0, dtype=np.int64) for _ in range(5))
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(5))


@dataclass
class _Unit:
    """One batch of whole documents on its way through the coder."""

    batch: pa.RecordBatch
    pids: list[str]
    docs: list[str]
    texts: list[str]
    spans: list[tuple[str, int, int, str | None]]      # doc_id, first row, end row, cache file name
    cached: dict[int, tuple[np.ndarray, ...]]          # index in spans -> matches read from the cache
    todo: list[int]                                    # indexes in spans still to be matched


class _DocumentCache:
    """The per-document cache folder ``build/<corpus>/annotations``: ``<doc_id>@<key>.arrow``
    (see :func:`document_key`). Each file holds the document's rule matches before overrides:
    ``position`` (int, 0-based number of the body paragraph within the document), ``theme`` and
    ``rule`` (int, numbers of the theme and rule in codebook order), ``start``, ``end`` (int,
    character offsets into that paragraph's text)."""

    def __init__(self, folder: Path, codebook_hash: str) -> None:
        self.folder = folder
        self.codebook_hash = codebook_hash
        folder.mkdir(parents=True, exist_ok=True)
        remove_stale_temporaries(folder)  # left by a killed run
        self.existing = {f.name for f in os.scandir(folder) if "@" in f.name and f.name.endswith(_CACHE_SUFFIX)}
        self.used: set[str] = set()
        self.hits = 0

    def name(self, doc_id: str, pids: Sequence[str], texts: Sequence[str]) -> str:
        return f"{doc_id}@{document_key(doc_id, pids, texts, self.codebook_hash)}{_CACHE_SUFFIX}"

    def read(self, name: str) -> tuple[np.ndarray, ...] | None:
        self.used.add(name)
        if name not in self.existing:
            return None
        found = _cache_read(self.folder / name)
        self.hits += found is not None
        return found

    def write(self, name: str, matches: tuple[np.ndarray, ...]) -> None:
        # written here, not on a background thread: measured slower (the GIL is shared)
        _cache_write(self.folder / name, matches)

    def prune(self) -> int:
        """Remove the files of this folder not used by this run (an older version of a document,
        an older codebook, a document no longer in the corpus); return how many."""
        n = 0
        for f in os.scandir(self.folder):
            if "@" in f.name and f.name.endswith((_CACHE_SUFFIX, ".parquet")) and f.name not in self.used:  # .parquet: older versions
                Path(f.path).unlink(missing_ok=True)
                n += 1
        return n


def _plan_units(path: Path, chunk_size: int, cache: _DocumentCache | None) -> Iterator[_Unit]:
    """Batches of whole documents with, per document, its cached matches or a place in the to-do list."""
    seen: set[str] = set()
    last: str | None = None
    for batch in _iter_units(path, chunk_size):
        pids = batch.column("para_id").to_pylist()
        docs = batch.column("doc_id").to_pylist()
        texts = batch.column("text").to_pylist()
        bounds = [0] + [i for i in range(1, len(docs)) if docs[i] != docs[i - 1]] + [len(docs)]
        spans: list[tuple[str, int, int, str | None]] = []
        cached: dict[int, tuple[np.ndarray, ...]] = {}
        todo: list[int] = []
        for k, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
            doc = docs[lo]
            name = None
            if cache is not None:
                if doc in seen and doc != last:
                    raise AnnotationError(
                        f"{path}: the body paragraphs of document '{doc}' are not consecutive (again at "
                        f"paragraph {pids[lo]}). Rebuild the table with make ingest (helpers.corpus.corpus), which "
                        "writes each document's paragraphs together."
                    )
                seen.add(doc)
                last = doc
                name = cache.name(doc, pids[lo:hi], texts[lo:hi])
                found = cache.read(name)
                if found is not None:
                    cached[k] = _slice_matches(found, 0, hi - lo, lo)
                    spans.append((doc, lo, hi, name))
                    continue
            spans.append((doc, lo, hi, name))
            todo.append(k)
        yield _Unit(batch, pids, docs, texts, spans, cached, todo)


def _unit_texts(unit: _Unit) -> list[str]:
    if len(unit.todo) == len(unit.spans):
        return unit.texts
    return [t for k in unit.todo for t in unit.texts[unit.spans[k][1]:unit.spans[k][2]]]


def _unit_matches(unit: _Unit, found: tuple[np.ndarray, ...], cache: _DocumentCache | None) -> tuple[np.ndarray, ...]:
    """The matches of every paragraph of ``unit``: ``found`` (for the to-do documents, in their
    order) written to the cache per document and merged with the cached ones."""
    parts: dict[int, tuple[np.ndarray, ...]] = dict(unit.cached)
    offset = 0
    for k in unit.todo:
        _, lo, hi, name = unit.spans[k]
        if cache is not None and name is not None:
            cache.write(name, _slice_matches(found, offset, offset + hi - lo, -offset))
        if len(unit.todo) != len(unit.spans):
            parts[k] = _slice_matches(found, offset, offset + hi - lo, lo - offset)
        offset += hi - lo
    if len(unit.todo) == len(unit.spans):
        return found
    return _concat_matches([parts[k] for k in range(len(unit.spans))])


@dataclass
class RunSummary:
    """Counts and agreement figures of one :func:`annotate_corpus` run: body paragraphs,
    paragraph-theme codes (final), evidence rows, codes added by overrides (``manual``), rule
    codes removed by overrides, the agreement tables when a validation sample was given,
    documents, documents whose rule coding was read from the cache, and stale cache files removed."""

    n_paragraphs: int
    n_annotations: int
    n_evidence: int
    n_manual: int
    n_removed: int
    agreement: pd.DataFrame | None
    disagreements: pd.DataFrame | None
    n_documents: int = 0
    n_cached: int = 0
    n_pruned: int = 0
    coder_agreement: pd.DataFrame | None = None
    #: problems that did not stop the run (contradictory overrides, rows set aside), one sentence each
    warnings: tuple[str, ...] = ()
    #: held-out agreement per period of the documents' dates (agreement_by_period.csv), or None
    by_period: pd.DataFrame | None = None


def annotate_corpus(
    paragraphs_path: str | Path | None,
    codebook: Codebook | str | Path,
    reports: str | Path,
    overrides_path: str | Path | None = None,
    validation_path: str | Path | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    build_dir: str | Path | None = None,
    workers: int | str | None = 1,
    scheduler: str | None = None,
    processes: int = 1,
) -> RunSummary:
    """Stream ``paragraphs.parquet`` through the coder and write the report files.

    Writes (atomically, each complete or not at all) ``reports/annotated_paragraphs.csv``
    (columns of :func:`code_paragraphs`' ``paragraphs`` minus ``themes_rules``),
    ``annotations.csv``, ``evidence.csv`` and, with a validation file, ``agreement.csv``
    (:func:`helpers.annotation.agreement.agreement_table` for ``annotation`` = ``rules`` and ``final``) and
    ``validation_disagreements.csv`` (:func:`helpers.annotation.agreement.disagreement_table` plus
    ``doc_id`` and ``text``). Memory stays flat: one batch of about ``chunk_size`` rows (whole
    documents) at a time.

    ``build_dir`` (the folder of ``paragraphs.parquet``; ``paragraphs_path`` defaults to the
    file there) keeps each document's rule matches, before overrides, in
    ``build_dir/annotations/<doc_id>@<key>.arrow`` (:class:`_DocumentCache`,
    :func:`document_key`): a later run matches only the documents whose paragraphs or whose
    codebook rules changed, applies the overrides afresh, and removes cache files it did not
    use. ``workers`` > 1 or ``scheduler`` (default: the ``DASK_SCHEDULER`` environment
    variable) match the batches on Dask (:func:`helpers.parallel.runner`); else ``processes`` > 1 match
    them in processes forked from this one, which codes and writes meanwhile. The files written
    are byte-identical whichever way the matches were found.
    """
    if paragraphs_path is None:
        if build_dir is None:
            raise AnnotationError("Give the paragraphs file (--paragraphs) or the build folder that holds it (--build).")
        paragraphs_path = Path(build_dir) / "paragraphs.parquet"
    ppath = Path(paragraphs_path)
    if not ppath.is_file():
        raise AnnotationError(f"{ppath}: paragraphs file not found. Run make ingest (helpers.corpus.corpus) first.")
    if chunk_size < 1:
        raise AnnotationError(f"chunk_size must be a positive integer. Got {chunk_size} instead.")
    try:
        schema_names = pq.ParquetFile(ppath).schema_arrow.names
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise AnnotationError(f"{ppath}: cannot read the Parquet file ({exc}). Rebuild it with make ingest.") from None
    _check_columns(schema_names, str(ppath))
    cb = codebook if isinstance(codebook, Codebook) else load_codebook(codebook)
    cb_hash = codebook_fingerprint(cb)
    matcher = _matcher_for(cb, cb_hash)
    overrides = read_overrides(overrides_path, cb) if overrides_path else None
    validation = read_validation(validation_path, cb) if validation_path else None
    second = first_raw = None
    if validation_path and second_coder_path(validation_path).is_file():
        second = read_validation(second_coder_path(validation_path), cb)
        if second_coder_path(validation_path, "first").is_file():  # the gold was adjudicated: compare the raw codings
            first_raw = read_validation(second_coder_path(validation_path, "first"), cb)
    warnings: list[str] = list(cb.warnings) + (overrides.attrs["warnings"] if overrides is not None else [])
    skipped_docs = _skipped_documents(build_dir)
    if overrides is not None:
        overrides, aside = set_aside_skipped(overrides, skipped_docs, overrides_path, "overrides")
        warnings += aside
    coded: dict[str, pd.DataFrame] = {}  # the coded samples by what messages call them, and their files
    coded_path: dict[str, str | Path] = {}
    if validation is not None:
        coded["validation sample"], coded_path["validation sample"] = validation, validation_path
    if second is not None:
        coded["second coder's sample"], coded_path["second coder's sample"] = second, second_coder_path(validation_path)
    if first_raw is not None:
        coded["first coder's sample"], coded_path["first coder's sample"] = first_raw, second_coder_path(validation_path, "first")

    def set_aside(rule: Callable[..., tuple[pd.DataFrame, list[str]]], facts: object) -> None:
        for name, table in coded.items():  # the first coder's rows are the second's: their warnings would repeat
            coded[name], aside = rule(table, facts, coded_path[name], name)
            warnings.extend(aside if name != "first coder's sample" else [])

    set_aside(set_aside_skipped, skipped_docs)
    named = _paragraphs_named(ppath, {p for t in (overrides, *coded.values()) if t is not None for p in t["para_id"]})
    if any((t["text"] != "").any() for t in coded.values()):  # a row follows its text within its document
        set_aside(set_aside_changed, dict(zip(named["para_id"], named["text"])))
    kinds = dict(zip(named["para_id"], named["kind"]))
    set_aside(set_aside_not_body, kinds)
    validation, second, first_raw = (coded.get(n) for n in ("validation sample", "second coder's sample", "first coder's sample"))
    if overrides is not None:
        check_para_ids(overrides, kinds, overrides_path, "overrides")
    if validation is not None:
        check_para_ids(validation, kinds, validation_path, "validation sample")
    if second is not None:
        check_para_ids(second, kinds, second_coder_path(validation_path), "second coder's sample")
    by_para = _overrides_by_para(overrides)
    val_ids = set(validation["para_id"]) if validation is not None else set()
    val_rows: list[tuple[str, str, str, str, str]] = []
    cache = _DocumentCache(Path(build_dir) / "annotations", cb_hash) if build_dir is not None else None

    reports = Path(reports)
    n_par = n_ann = n_ev = n_manual = n_removed = n_docs = 0
    outputs = (
        ("annotated_paragraphs", ANNOTATED_COLUMNS),
        ("annotations", ANNOTATION_COLUMNS),
        ("evidence", EVIDENCE_COLUMNS),
    )
    source_schema = pq.ParquetFile(ppath).schema_arrow
    annotated_schema = pa.schema(
        [source_schema.field(c) for c in ANNOTATED_COLUMNS if c != "themes"] + [pa.field("themes", pa.string())]
    )
    with ExitStack() as stack:
        writers: dict[str, pa_csv.CSVWriter] = {}
        for name, columns in outputs:
            tmp = stack.enter_context(atomic_path(reports / f"{name}.csv"))
            schema = annotated_schema if name == "annotated_paragraphs" else _OUTPUT_SCHEMAS[name]
            writers[name] = stack.enter_context(pa_csv.CSVWriter(str(tmp), schema))
        run = stack.enter_context(runner(workers, scheduler, processes))
        planned: deque[_Unit] = deque()

        def tasks() -> Iterator[list[str]]:
            units = _plan_units(ppath, chunk_size, cache)
            first = list(islice(units, 2))
            if isinstance(run, ForkRunner) and len(first) == 2 and all(len(u.todo) == len(u.spans) for u in first):
                matcher.compile_regexes()  # batches of nothing but work: once here, not in each forked process
            for unit in chain(first, units):
                planned.append(unit)
                yield _unit_texts(unit) if unit.todo else []

        for found in run.map(_match_texts, tasks(), cb, cb_hash):
            unit = planned.popleft()
            batch, pids, docs, texts = unit.batch, unit.pids, unit.docs, unit.texts
            par, ann, ev = _code_columns(texts, pids, docs, matcher, by_para, _unit_matches(unit, found, cache),
                                         speakers=_speakers_of(batch), dates=_dates_of(batch))
            themes = pa.array(par["themes"], pa.string())
            columns = [batch.column(c) for c in ANNOTATED_COLUMNS if c != "themes"]
            annotated = pa.RecordBatch.from_arrays(columns + [themes], names=ANNOTATED_COLUMNS)
            # text a spreadsheet would run as a formula gets a leading ' (helpers.io; read back exactly)
            writers["annotated_paragraphs"].write(neutralise_batch(annotated.cast(annotated_schema)))
            for name, table in (("annotations", ann), ("evidence", ev)):
                writers[name].write(neutralise_batch(pa.RecordBatch.from_pydict(table, schema=_OUTPUT_SCHEMAS[name])))
            n_docs += len(unit.spans)
            n_par += len(pids)
            n_ann += len(ann["para_id"])
            n_ev += len(ev["para_id"])
            n_manual += sum(1 for x in ann["source"] if x == "manual")
            n_removed += sum(len(_split(r) - _split(f)) for r, f in zip(par["themes_rules"], par["themes"]) if r != f)
            if val_ids:
                val_rows.extend(
                    row for row in zip(pids, docs, texts, par["themes"], par["themes_rules"]) if row[0] in val_ids
                )
    n_pruned = cache.prune() if cache is not None else 0

    agreement = disagreements = coders = by_period = None
    if validation is not None:
        coded = pd.DataFrame(val_rows, columns=["para_id", "doc_id", "text", "themes", "themes_rules"])
        gold = {p: _split(t) for p, t in zip(validation["para_id"], validation["themes"])}
        samples = dict(zip(validation["para_id"], validation["sample"]))
        tables, dis, preds = [], [], {}
        for label, col in (("rules", "themes_rules"), ("final", "themes")):
            pred = preds[label] = {p: _split(t) for p, t in zip(coded["para_id"], coded[col])}
            tables.append(agreement_by_sample(gold, pred, samples, cb.theme_ids).assign(annotation=label))
            dis.append(disagreement_table(gold, pred, cb.theme_ids).assign(annotation=label))
        unread = reference_sample(samples.values())
        held = {p: g for p, g in gold.items() if samples.get(p) == unread}
        if held:
            by_period = agreement_by_period(held, preds, _years(dict(zip(named["para_id"], named["date"]))), cb.theme_ids,
                                            sample=unread)
            write_csv(by_period, reports / "agreement_by_period.csv")
        agreement = pd.concat(tables, ignore_index=True)
        agreement = agreement[["annotation"] + [c for c in agreement.columns if c != "annotation"]]
        disagreements = pd.concat(dis, ignore_index=True)
        disagreements = disagreements.merge(coded[["para_id", "doc_id", "text"]], on="para_id", how="left")
        disagreements["sample"] = disagreements["para_id"].map(samples)
        disagreements = disagreements[["annotation", "sample", "para_id", "doc_id", "theme", "gold", "predicted",
                                       "kind", "text"]]
        write_csv(agreement, reports / "agreement.csv")
        write_csv(disagreements, reports / "validation_disagreements.csv")
        scored = validation.merge(coded, on="para_id", how="left")
        scored = scored.rename(columns={"themes_x": "gold", "themes_y": "final", "themes_rules": "rules"})
        write_csv(scored[SCORED_COLUMNS], reports / "validation_scored.csv")
        if second is not None:
            coders = coder_agreement(first_raw if first_raw is not None else validation, second, cb.theme_ids)
            write_csv(coders, reports / "coder_agreement.csv")
    for name, stale in (("validation_scored.csv", validation is None), ("coder_agreement.csv", coders is None),
                        ("agreement_by_period.csv", by_period is None)):
        if stale:  # not from this run's validation sample: never leave an older one for the analysis to read
            (reports / name).unlink(missing_ok=True)
    if build_dir is not None:  # for the briefing's methods section
        write_csv(pd.DataFrame({"warning": warnings}, dtype="str"), Path(build_dir) / "annotation_warnings.csv", for_people=False)
    return RunSummary(n_par, n_ann, n_ev, n_manual, n_removed, agreement, disagreements, n_docs,
                      cache.hits if cache is not None else 0, n_pruned, coders, tuple(warnings), by_period)


def _skipped_documents(build_dir: str | Path | None) -> set[str]:
    """doc_ids the ingest skipped (``build/<corpus>/skipped.csv``, ``ON_ERROR=skip``)."""
    path = Path(build_dir) / "skipped.csv" if build_dir is not None else None
    if path is None or not path.is_file():
        return set()
    return {d for d in pd.read_csv(path, dtype=str, keep_default_na=False)["doc_id"] if d}


def second_coder_path(validation_path: str | Path, which: str = "second") -> Path:
    """Where a second coder's coding of (part of) a validation sample lives: beside it, ``<name>.second-coder.csv``.

    ``which="first"``: ``<name>.first-coder.csv``, the first coder's own coding of those rows before their
    disagreements were adjudicated into the sample (see :mod:`helpers.annotation.merge_coding`); the two coders'
    agreement is measured on it, so adjudication cannot inflate the ceiling.
    """
    p = Path(validation_path)
    return p.with_name(f"{p.stem}.{which}-coder.csv")


def coder_agreement(first: pd.DataFrame, second: pd.DataFrame, themes: Sequence[str]) -> pd.DataFrame:
    """Agreement of a second coder with the first (taken as the reference) on the paragraphs both coded.

    ``first``, ``second``: tables of :func:`read_validation`. Output: the columns of
    :func:`helpers.annotation.split_agreement.agreement_by_sample` preceded by ``annotation`` =
    ``second coder``; the ``sample`` of each paragraph is the first coder's. The two coders'
    agreement is the ceiling the rules aim at.
    """
    shared = set(first["para_id"]) & set(second["para_id"])
    gold = {p: _split(t) for p, t in zip(first["para_id"], first["themes"]) if p in shared}
    pred = {p: _split(t) for p, t in zip(second["para_id"], second["themes"]) if p in shared}
    samples = dict(zip(first["para_id"], first["sample"]))
    table = agreement_by_sample(gold, pred, samples, themes).assign(annotation="second coder")
    return table[["annotation"] + [c for c in table.columns if c != "annotation"]]


def _figure(r: pd.Series, measure: str) -> str:
    low, high = r.get(f"{measure}_low", math.nan), r.get(f"{measure}_high", math.nan)
    span = f" [{low:.2f}, {high:.2f}]" if not (pd.isna(low) or pd.isna(high)) else ""
    return f"{r[measure]:.3f}{span}"


def format_agreement(agreement: pd.DataFrame, coders: pd.DataFrame | None = None) -> str:
    """Per sample (held-out, then dev, then in-sample) and annotation (rules alone, final; the second coder beside them):
    micro precision, recall, F1, kappa with their 95 % intervals."""
    lines = []
    table = agreement if "sample" in agreement.columns else agreement.assign(sample="in-sample")
    parts = [(table, (("rules", "rules alone"), ("final", "final (rules + overrides)")))]
    if coders is not None:
        parts.append((coders, (("second coder", "second coder vs first"),)))
    for sample in READING_ORDER:
        for frame, labels in parts:
            for label, name in labels:
                row = frame[(frame["annotation"] == label) & (frame["theme"] == "(overall)") & (frame["sample"] == sample)]
                if row.empty:
                    continue
                r = row.iloc[0]
                macro = frame[(frame["annotation"] == label) & (frame["theme"] == "(macro)") & (frame["sample"] == sample)]
                n_par = int(macro["n"].iloc[0]) if len(macro) else 0
                lines.append(
                    f"  {sample:<9} {name:<27} precision {_figure(r, 'precision')}  recall {_figure(r, 'recall')}  "
                    f"F1 {_figure(r, 'f1')}  kappa {_figure(r, 'kappa')}  ({int(r['fp'])} spurious, "
                    f"{int(r['fn'])} missed, {int(r['n'])} paragraph-theme decisions in {n_par} paragraphs)"
                )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m helpers.annotation.annotate",
        description="Code body paragraphs with the codebook's themes; write annotated_paragraphs.csv, "
        "annotations.csv, evidence.csv and, with --validation, agreement figures.",
    )
    parser.add_argument("--paragraphs", help="paragraphs.parquet from helpers.corpus.corpus (default: BUILD/paragraphs.parquet)")
    parser.add_argument("--build", help="build folder of the corpus (build/<corpus>): each document's rule coding is kept "
                        "in BUILD/annotations and reused while the document and the codebook's rules are unchanged")
    parser.add_argument("--codebook", required=True, help="YAML codebook (data/codebook.yml)")
    parser.add_argument("--overrides", help="analysts' overrides CSV (para_id,theme,action,coder,note)")
    parser.add_argument("--validation", help="hand-coded validation CSV (para_id,themes,coder)")
    parser.add_argument("--reports", required=True, help="output folder")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                        help=f"paragraphs per chunk (default {DEFAULT_CHUNK_SIZE})")
    parser.add_argument("--workers", default=os.environ.get("WORKERS", "1"),
                        help="Dask workers for the matching (1 = this process; DASK_SCHEDULER=tcp://... uses a cluster)")
    parser.add_argument("--processes", type=int, default=1,
                        help="match in this many forked processes (make passes JOBS when the annotation runs alone)")
    args = parser.parse_args(argv)
    if args.paragraphs is None and args.build is None:
        parser.error("give --paragraphs or --build (the folder of paragraphs.parquet)")
    workers = int(args.workers) if str(args.workers).isdigit() else args.workers
    s = annotate_corpus(args.paragraphs, args.codebook, args.reports, args.overrides, args.validation, args.chunk_size,
                        build_dir=args.build, workers=workers, processes=max(1, args.processes))
    for warning in s.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    cached = (f" ({s.n_cached} of {s.n_documents} documents' rule coding unchanged since the last run, "
              f"read from {args.build}/annotations)" if args.build else "")
    print(
        f"annotated {s.n_paragraphs} body paragraphs{cached}: {s.n_annotations} paragraph-theme codes "
        f"({s.n_manual} added and {s.n_removed} removed by overrides), "
        f"{s.n_evidence} evidence rows -> {args.reports}/annotated_paragraphs.csv"
    )
    if s.agreement is not None:
        n_dis = int((s.disagreements["annotation"] == "final").sum())
        print(f"agreement with the validation sample ({args.validation}):")
        print(format_agreement(s.agreement, s.coder_agreement))
        print(f"  per theme: {args.reports}/agreement.csv; {n_dis} final disagreements: "
              f"{args.reports}/validation_disagreements.csv"
              + (f"; two coders: {args.reports}/coder_agreement.csv" if s.coder_agreement is not None else ""))
        final = s.by_period[s.by_period["annotation"] == "final"] if s.by_period is not None else None
        if final is not None and len(final) > 1:
            print(f"  {final['sample'].iloc[0]}, final, by period of the documents' dates: " + "; ".join(
                f"{r.period} recall {_figure(r._asdict(), 'recall')} F1 {_figure(r._asdict(), 'f1')} ({r.paragraphs} paragraphs)"
                for r in final.itertuples(index=False)) + f" ({args.reports}/agreement_by_period.csv)")
    return 0


if __name__ == "__main__":
    # The importable module's main, not __main__'s: Dask pickles what __main__ defines by value, so each
    # task would carry copies of this module's functions and state (helpers.parallel.importable).
    from helpers.annotation.annotate import main as _main

    raise SystemExit(run_cli(_main))
