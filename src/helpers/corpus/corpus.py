"""Corpus folders -> documents -> clean, traceable paragraphs.

A corpus is a folder with a ``manifest.csv`` and the files it names (paths relative to the
folder). Required manifest columns: ``doc_id, file, title, organization, genre, date``
(date as YYYY-MM-DD). Optional columns understood here: ``source``, ``speaker``,
``language``, ``notes`` and ``start_line``/``end_line`` (1-based, inclusive line numbers
that cut one document out of a file holding several; blank means the start or the end of
the file). Any other column is carried through as metadata.

Readers: ``.txt`` and ``.md`` (the file's text as is), ``.html``/``.htm`` (main text only:
navigation, headers, footers, scripts and styles dropped, one paragraph per block element,
via BeautifulSoup) and ``.pdf`` (the text layer, via pypdf, with wrapped lines re-joined).
For text files ``char_start``/``char_end`` index the file's decoded text; for HTML and PDF
they index the extracted text that :func:`read_document_text` returns.

Cleaning rules (boilerplate, prefixes, paragraph kinds, source numbering) live in a YAML
file (``data/cleaning.yml``), not in code. Nothing is lost: every removed paragraph or
prefix is logged with its rule and offsets (:func:`iter_documents`' ``removed`` table).

Command line (used by ``make ingest``)::

    python -m helpers.corpus.corpus --corpus data --cleaning data/cleaning.yml --build build/X

writes ``build/X/paragraphs.parquet`` (all paragraphs, every kind), ``documents.csv`` (one
row per document with counts and the file's SHA-256) and ``cleaning.csv`` (what was removed).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from helpers.errors import CorpusError, run_cli
from helpers.safe_regex import PatternError, PatternSet, SafePattern, boundary_problems, compile_pattern
from helpers.io import atomic_path, not_utf8, read_arrow, read_yaml_mapping, write_arrow, write_csv
from helpers.parallel import Runner, chunked, runner
from helpers.corpus.organizations import OrganizationResolver, canonicalize_manifest, load_organizations
from helpers.corpus.paragraph_cache import source_version
import helpers.safe_regex as _safe_regex_module
import helpers.corpus.text as _text_module
from helpers.corpus.text import count_words, fold, normalize

REQUIRED_COLUMNS = ("doc_id", "file", "title", "organization", "genre", "date")
OPTIONAL_COLUMNS = ("source", "speaker", "language", "notes", "start_line", "end_line")
SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf")
FILLABLE_COLUMNS = ("title", "organization", "genre")
ON_ERROR_CHOICES = ("stop", "skip")
KINDS = ("body", "title", "dateline", "salutation", "closing", "editorial")
DOC_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
DEFAULT_CLEANING = Path(__file__).resolve().parents[3] / "data" / "cleaning.yml"

PARAGRAPH_COLUMNS = (
    "para_id", "doc_id", "position", "kind", "source_para", "text", "text_norm",
    "n_words", "char_start", "char_end", "label_chars",
)
REMOVED_COLUMNS = ("doc_id", "char_start", "char_end", "rule", "text")


# --------------------------------------------------------------------------- cleaning rules

@dataclass(frozen=True)
class CleaningRules:
    """Compiled cleaning rules (see ``data/cleaning.yml`` for their meaning)."""

    boilerplate: tuple[tuple[str, re.Pattern[str]], ...]
    prefixes: tuple[tuple[str, re.Pattern[str]], ...]
    kinds: tuple[tuple[str, re.Pattern[str]], ...]
    source_para: tuple[re.Pattern[str], ...]
    title_window: int = 3
    editorial_when_numbered: int = 3
    path: str = ""
    fingerprint: str = ""
    #: the boilerplate, kind and source_para patterns asked at once whether any of them finds a match in
    #: a paragraph (most paragraphs match none), and the prefixes whether any matches at its start
    any_paragraph_rule: PatternSet = field(init=False, repr=False, compare=False)
    any_prefix: PatternSet = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        paragraph_rules = [p for _, p in (*self.boilerplate, *self.kinds)] + list(self.source_para)
        object.__setattr__(self, "any_paragraph_rule", PatternSet(paragraph_rules))
        object.__setattr__(self, "any_prefix", PatternSet([p for _, p in self.prefixes]))


def _compile(pattern: object, path: Path, where: str) -> SafePattern:
    if not isinstance(pattern, str) or not pattern:
        raise CorpusError(f"{path}: {where}: expected a non-empty regular expression string, found {pattern!r}.")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise CorpusError(f"{path}: {where}: the pattern '{pattern}' does not compile ({exc}). Fix the regular expression.") from None
    try:  # run by RE2, in time linear in the text: a cleaning rule cannot hang the build either
        compiled = compile_pattern(pattern)
        errors = boundary_problems(pattern)[0]
        if errors:
            raise PatternError(errors[0])
    except PatternError as exc:
        raise CorpusError(f"{path}: {where}: the pattern '{pattern}' {exc}.") from None
    return compiled


def load_cleaning(path: str | Path | None = None) -> CleaningRules:
    """Read and compile the cleaning rules YAML at ``path`` (default ``data/cleaning.yml``)."""
    path = Path(path) if path else DEFAULT_CLEANING
    data = read_yaml_mapping(path, CorpusError, "cleaning rules file not found. Pass --cleaning <file> or restore data/cleaning.yml.",
                             "boilerplate, prefixes, kinds, source_para")

    def named(key: str) -> tuple[tuple[str, re.Pattern[str]], ...]:
        out = []
        for i, item in enumerate(data.get(key) or []):
            if not isinstance(item, dict) or "name" not in item or "pattern" not in item:
                raise CorpusError(f"{path}: {key}[{i}]: expected {{name: ..., pattern: ...}}, found {item!r}.")
            out.append((str(item["name"]), _compile(item["pattern"], path, f"{key} rule '{item['name']}'")))
        return tuple(out)

    kinds = []
    for kind, patterns in (data.get("kinds") or {}).items():
        if kind not in KINDS or kind == "body":
            raise CorpusError(f"{path}: kinds: '{kind}' is not a paragraph kind. Use one of {', '.join(k for k in KINDS if k != 'body')}.")
        for p in patterns or []:
            kinds.append((kind, _compile(p, path, f"kinds.{kind}")))
    return CleaningRules(
        boilerplate=named("boilerplate"),
        prefixes=named("prefixes"),
        kinds=tuple(kinds),
        source_para=tuple(_compile(p, path, "source_para") for p in data.get("source_para") or []),
        title_window=int(data.get("title_window", 3)),
        editorial_when_numbered=int(data.get("editorial_when_numbered", 3)),
        path=str(path),
        fingerprint=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


# --------------------------------------------------------------------------- manifest

def _check_date(value: str, where: str) -> str:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value or ""):
        raise CorpusError(f"{where}, field 'date': '{value}' is not a date in YYYY-MM-DD form. Write the day as e.g. 2024-10-23.")
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise CorpusError(f"{where}, field 'date': '{value}' is not a real calendar day. Correct the date (YYYY-MM-DD).") from None
    return value


def _check_line_number(value: str, where: str, name: str) -> int | None:
    if value is None or value.strip() == "":
        return None
    if not value.strip().isdigit() or int(value) < 1:
        raise CorpusError(f"{where}, field '{name}': '{value}' is not a line number. Use a whole number from 1, or leave it blank.")
    return int(value)


def read_manifest(corpus_dir: str | Path, on_error: str = "stop") -> pd.DataFrame:
    """Read and validate ``<corpus_dir>/manifest.csv``.

    Returns one row per document, all columns as strings (blank = ""), in manifest order,
    with ``line`` (int, the manifest line the row came from), ``path`` (str, absolute
    path of the document's file) and ``warnings`` (str, "" when none) added. An empty
    ``title``, ``organization`` or ``genre`` becomes ``unknown`` with a warning (real corpora
    have such gaps); any other problem raises :class:`CorpusError` naming the file, line
    and field for: a missing manifest or required column, an empty required field, a bad
    ``doc_id``, a duplicate ``doc_id``, a date that is not a real YYYY-MM-DD day, a file that
    does not exist, an unsupported file type, or bad ``start_line``/``end_line``. With
    ``on_error="skip"`` a row with such a problem is left out instead and listed in
    ``manifest.attrs["skipped"]`` (dicts with ``doc_id, file, line, error``); problems with
    the manifest as a whole (missing file or columns) always stop.
    """
    corpus_dir = Path(corpus_dir)
    path = corpus_dir / "manifest.csv"
    if not corpus_dir.is_dir():
        raise CorpusError(f"{corpus_dir}: corpus folder not found. Pass CORPUS=<folder with a manifest.csv>.")
    if not path.is_file():
        raise CorpusError(f"{path}: manifest not found. A corpus folder needs a manifest.csv with columns {', '.join(REQUIRED_COLUMNS)}.")
    try:
        # utf-8-sig: spreadsheets save CSV with a byte-order mark, which would hide the first column's name
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise CorpusError(
                    f"{path}: missing required column(s) {', '.join(repr(c) for c in missing)}. "
                    f"Required: {', '.join(REQUIRED_COLUMNS)}; found: {', '.join(header) or 'none'}. Add the column(s) to the header line."
                )
            rows = []
            for row in reader:
                if None in row:
                    raise CorpusError(f"{path}, line {reader.line_num}: more fields than header columns. Quote fields that contain commas.")
                row = {k: (v or "").strip() for k, v in row.items()}
                row["line"] = reader.line_num
                rows.append(row)
    except UnicodeDecodeError:
        raise CorpusError(not_utf8(path, path.read_bytes(), "the manifest")) from None
    except csv.Error as exc:  # a NUL byte, ...
        raise CorpusError(f"{path}: not a readable CSV ({exc}). Re-save the manifest as a plain UTF-8 CSV.") from None
    if not rows:
        raise CorpusError(f"{path}: the manifest lists no documents. Add one row per document.")

    if on_error not in ON_ERROR_CHOICES:
        raise CorpusError(f"on_error must be one of {{'stop', 'skip'}}. Got {on_error!r} instead.")
    seen: dict[str, int] = {}
    kept, skipped = [], []
    root = corpus_dir.resolve()  # once, not for each of thousands of rows
    for row in rows:
        try:
            _check_row(row, seen, corpus_dir, path, root)
        except CorpusError as exc:
            if on_error == "stop":
                raise
            skipped.append({"doc_id": row.get("doc_id", ""), "file": row.get("file", ""), "line": row["line"], "error": str(exc)})
            continue
        kept.append(row)
    manifest = pd.DataFrame(kept)
    manifest.attrs["skipped"] = skipped
    return manifest


def _check_row(row: dict, seen: dict[str, int], corpus_dir: Path, path: Path, root: Path) -> None:
    """Validate one manifest row in place (adds ``path`` and ``warnings``); raise CorpusError. ``root``:
    ``corpus_dir`` resolved (once per manifest, by the caller)."""
    where = f"{path}, line {row['line']}"
    warnings = []
    for col in REQUIRED_COLUMNS:
        if row[col]:
            continue
        if col in FILLABLE_COLUMNS:
            row[col] = "unknown"
            warnings.append(f"{where} (doc_id '{row['doc_id']}'): field '{col}' is empty; using 'unknown'. "
                            "Fill it in to group this document correctly.")
        else:
            raise CorpusError(f"{where}: required field '{col}' is empty. Fill it in.")
    if not DOC_ID_RE.match(row["doc_id"]):
        raise CorpusError(f"{where}, field 'doc_id': '{row['doc_id']}' may only contain letters, digits, '.', '_' and '-' (and must start with a letter or digit).")
    if row["doc_id"] in seen:
        raise CorpusError(f"{where}, field 'doc_id': '{row['doc_id']}' is a duplicate of line {seen[row['doc_id']]}. Every document needs its own doc_id.")
    seen[row["doc_id"]] = row["line"]
    _check_date(row["date"], where)
    file = corpus_dir / row["file"]
    inside = _inside_corpus(file, root)
    if inside is None:
        raise CorpusError(
            f"{where}, field 'file': '{row['file']}' is outside the corpus folder {corpus_dir} (after following links). "
            "Only files inside the corpus folder are read: copy the document into it and name it by its relative path."
        )
    if file.suffix.lower() not in SUPPORTED_SUFFIXES:
        raise CorpusError(
            f"{where}, field 'file': '{row['file']}' has an unsupported file type '{file.suffix or '(none)'}'. "
            f"Supported: {', '.join(SUPPORTED_SUFFIXES)}. Convert the document to one of these."
        )
    if not file.is_file():
        raise CorpusError(f"{where}, field 'file': '{row['file']}' does not exist in {corpus_dir}. Fix the path (relative to the corpus folder) or add the file.")
    start = _check_line_number(row.get("start_line"), where, "start_line")
    end = _check_line_number(row.get("end_line"), where, "end_line")
    if start and end and end < start:
        raise CorpusError(f"{where}: end_line {end} is before start_line {start}.")
    row["path"] = str(inside)
    row["warnings"] = " | ".join(warnings)


def _inside_corpus(file: Path, root: Path) -> Path | None:
    """``file`` with every link resolved, or None when that lies outside ``root`` (the corpus folder, resolved):
    a ``../`` path, an absolute path or a symbolic link pointing elsewhere. Nothing outside the corpus folder is
    ever read, so nothing outside it can reach the briefing."""
    real = file.resolve()
    return real if real.is_relative_to(root) and real != root else None


# --------------------------------------------------------------------------- readers

def _decode(data: bytes, path: Path) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CorpusError(
            f"{path}: not valid UTF-8 at byte offset {exc.start} (line {line}, byte 0x{data[exc.start]:02x}). "
            "Re-save the file as UTF-8; the pipeline does not guess encodings."
        ) from None


def _html_text(raw: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(["script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "iframe", "svg", "button"]):
        tag.decompose()
    root = soup.find("main") or soup.find("article") or soup.body or soup
    blocks = []
    for el in root.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "blockquote", "pre", "td", "th", "dt", "dd", "figcaption"]):
        if el.find(["p", "li", "blockquote", "pre", "td", "dd"]):
            continue  # a container; its inner blocks are taken on their own
        text = " ".join(el.get_text(" ").split())
        if text:
            blocks.append(text)
    return "\n\n".join(blocks)


def _pdf_text(path: Path) -> str:
    import logging
    import warnings

    from pypdf import PdfReader

    # pypdf reports what it repairs through logging and warnings ("EOF marker not found"): keep the
    # output to our own message. Any failure of a damaged file is that message, never a traceback.
    log = logging.getLogger("pypdf")
    level, propagate = log.level, log.propagate
    log.setLevel(logging.CRITICAL + 1)
    log.propagate = False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pages = [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    except Exception as exc:  # pypdf raises many types (PdfReadError, KeyError, ...) on a damaged file
        raise CorpusError(f"{path}: cannot read the PDF ({exc or type(exc).__name__}). "
                          "Check the file is a complete PDF with a text layer.") from None
    finally:
        log.setLevel(level)
        log.propagate = propagate
    # Re-join lines wrapped by the layout: a line that does not end a sentence continues on the next.
    paragraphs, current = [], []
    for line in "\n".join(pages).splitlines():
        line = line.strip()
        if not line:
            if current:
                paragraphs.append(" ".join(current))
                current = []
            continue
        current.append(line)
        if re.search(r"[.!?:;\"'”’)]$", line):
            paragraphs.append(" ".join(current))
            current = []
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


#: control characters (NUL, escape, DEL, the C1 block, ...) other than tab, line feed, carriage
#: return, form feed and vertical tab: never part of the text, and they would reach the HTML and PDF
_CONTROL_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]+")
CONTROL_RULE = "control-characters"


def _blank_controls(text: str) -> str:
    """``text`` with each control character (:data:`_CONTROL_RE`) replaced by a space: same length, so
    offsets into the file's text are unchanged; what was there is logged by :func:`_control_removals`."""
    return _CONTROL_RE.sub(lambda m: " " * len(m.group()), text) if _CONTROL_RE.search(text) else text


def _control_removals(text: str, doc_id: str, a: int, b: int) -> list[dict[str, object]]:
    """One removal row (rule ``control-characters``) per run of control characters of ``text[a:b]``;
    the row's ``text`` shows them escaped (``\\x00``), as a CSV cannot hold them all."""
    return [{"doc_id": doc_id, "char_start": m.start(), "char_end": m.end(), "rule": CONTROL_RULE,
             "text": m.group().encode("unicode_escape").decode("ascii")}
            for m in _CONTROL_RE.finditer(text, a, b)]


def read_document_text(path: str | Path) -> str:
    """The text of one document file as the paragraphs' offsets index it: :func:`_read_raw_text`
    with control characters blanked (:func:`_blank_controls`; the ingest logs them as removed)."""
    return _blank_controls(_read_raw_text(path))


def _read_raw_text(path: str | Path) -> str:
    """The text of one document file, control characters included (see :func:`read_document_text`).

    ``.txt``/``.md``: the decoded file, exactly. ``.html``/``.htm``: the main text, one block
    per paragraph, blocks separated by a blank line. ``.pdf``: the text layer with wrapped
    lines re-joined into paragraphs. Raises :class:`CorpusError` for invalid UTF-8 (with the
    byte offset), an unreadable PDF or an unsupported suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".txt", ".md"):
        return _decode(path.read_bytes(), path)
    if suffix in (".html", ".htm"):
        return _html_text(_decode(path.read_bytes(), path))
    if suffix == ".pdf":
        return _pdf_text(path)
    raise CorpusError(f"{path}: unsupported file type '{suffix}'. Supported: {', '.join(SUPPORTED_SUFFIXES)}.")


# --------------------------------------------------------------------------- splitting

_BLANK_LINE_RE = re.compile(r"\n[ \t\u00a0\u3000\r\f\v]*\n")
_EDGE_WS = " \t\r\n\f\v\u00a0\u2007\u202f\u3000\ufeff"


_SENTENCE_END = tuple(".!?:;\"'”’)»…")


def _line_blocks(region: str, a: int, b: int, wrapped_only: bool) -> list[tuple[int, int]]:
    """Cut ``region[a:b]`` at line ends into paragraph spans.

    A line ending in white space (a line broken mid-sentence, as in OCR'd text or a Markdown
    line break) continues, unless it ends a sentence and the next line is indented (the first
    line of a paragraph, as in the General Debate's files of 2005-2011). Otherwise, with
    ``wrapped_only`` False every line ends a paragraph; with ``wrapped_only`` True (inside a
    blank-line-separated block) a line ends a paragraph only if it ends a sentence, so
    hard-wrapped text stays one paragraph.
    """
    out = []
    block_start = a
    pos = a
    for line in region[a:b].splitlines(keepends=True):
        pos += len(line)
        body = line.rstrip("\r\n")
        if pos >= b or not line.endswith(("\n", "\r")):
            break
        if _indented_line_at(region, pos, b) and body.rstrip(_EDGE_WS).endswith(_SENTENCE_END):
            pass  # an indented line after a finished sentence starts a paragraph, even after a line ending in a space
        elif body and body[-1] in " \t":
            continue  # the paragraph goes on
        if wrapped_only and not body.rstrip().endswith(_SENTENCE_END):
            continue  # a hard-wrapped line inside a paragraph
        out.append((block_start, pos))
        block_start = pos
    out.append((block_start, b))
    return out


def _indented_line_at(region: str, pos: int, b: int) -> bool:
    """Whether a non-blank line starting with a space or tab begins at ``pos`` (before ``b``). Only that line
    is looked at: slicing the rest of the block made a long document of indented lines quadratic."""
    if region[pos:pos + 1] not in (" ", "\t"):
        return False
    stop = region.find("\n", pos, b)
    return region[pos:stop if stop >= 0 else b].strip(_EDGE_WS) != ""


#: Hard-wrapped text (a PDF's or a word processor's lines): its typical line is at most this many characters...
WRAPPED_MEDIAN_CHARS = 100
#: ... and at least this share of its lines end mid-sentence.
WRAPPED_OPEN_SHARE = 0.5


def _hard_wrapped(lines: Sequence[str]) -> bool:
    """Whether ``lines`` (non-blank, stripped) are text wrapped at a fixed width: short lines
    (median at most :data:`WRAPPED_MEDIAN_CHARS` characters), most of them (at least
    :data:`WRAPPED_OPEN_SHARE`) ending mid-sentence. One paragraph per line is long and ends sentences."""
    if not lines:
        return False
    lengths = sorted(len(line) for line in lines)
    median = lengths[(len(lengths) - 1) // 2]
    open_lines = sum(not line.endswith(_SENTENCE_END) for line in lines)
    return median <= WRAPPED_MEDIAN_CHARS and open_lines >= WRAPPED_OPEN_SHARE * len(lines)


def split_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` into paragraph spans ``(char_start, char_end)`` into ``text``.

    Blank lines always separate paragraphs. A line break separates paragraphs too, unless the
    line ends in white space (a line broken mid-sentence, as in OCR'd text) or, where the
    region uses blank lines between paragraphs (after most lines) or is hard-wrapped
    (:func:`_hard_wrapped`), the line does not end a sentence. So "one paragraph per line" files
    with a stray blank line, blank-line-separated files, hard-wrapped Markdown and speeches
    exported with a line break every 60 characters split as a reader would (where a wrapped text
    has no blank lines, at lines ending a sentence: its paragraphs cannot be told from its sentences). A break
    of either kind inside a sentence (:func:`_mid_sentence`: no sentence end before it, a lower-case letter
    after it, as at the page breaks of the General Debate's files) separates nothing. Spans exclude
    leading/trailing white space; white-space-only stretches give no paragraph.
    """
    end = len(text) if end is None else end
    region = text[start:end]
    blocks = []
    pos = 0
    for m in _BLANK_LINE_RE.finditer(region):
        blocks.append((pos, m.start()))
        pos = m.end()
    blocks.append((pos, len(region)))
    # Blank-line layout: most paragraphs are followed by a blank line, or the text is hard-wrapped (with
    # or without blank lines between its paragraphs); then single line breaks inside a block are wraps
    # unless they end a sentence.
    lines = [line.strip(_EDGE_WS) for line in region.splitlines()]
    lines = [line for line in lines if line]
    blank_layout = (len(blocks) > 1 and len(blocks) >= len(lines) / 2) or _hard_wrapped(lines)
    raw = []
    for a, b in blocks:
        raw.extend(_line_blocks(region, a, b, wrapped_only=blank_layout))
    spans: list[tuple[int, int]] = []
    for a, b in raw:
        chunk = region[a:b]
        stripped = chunk.strip(_EDGE_WS)
        if not stripped:
            continue
        lead = len(chunk) - len(chunk.lstrip(_EDGE_WS))
        s, e = start + a + lead, start + a + lead + len(stripped)
        if spans and _mid_sentence(text[spans[-1][0]:spans[-1][1]], stripped):
            spans[-1] = (spans[-1][0], e)  # the break (a page break, a stray line break) fell mid-sentence
        else:
            spans.append((s, e))
    return spans


def _mid_sentence(before: str, after: str) -> bool:
    """Whether a paragraph break between ``before`` and ``after`` (both stripped) falls inside a sentence:
    ``before`` does not end one and ``after`` goes on in lower case ("the implementation of" / "the
    agreement ..."). A paragraph never starts with a lower-case letter; an upper-case one may start a
    name mid-sentence, so that break is kept."""
    return not before.endswith(_SENTENCE_END) and after[:1].islower()


def _line_region(text: str, start_line: int | None, end_line: int | None, where: str) -> tuple[int, int]:
    if start_line is None and end_line is None:
        return 0, len(text)
    offsets = [0]
    for m in re.finditer(r"\n", text):
        offsets.append(m.end())
    n_lines = len(offsets)
    first = start_line or 1
    last = end_line or n_lines
    if first > n_lines or last > n_lines:
        raise CorpusError(f"{where}: start_line/end_line ({first}-{last}) go past the end of the file, which has {n_lines} lines.")
    a = offsets[first - 1]
    b = offsets[last] - 1 if last < n_lines else len(text)
    return a, b


def _match_any(patterns: Sequence[tuple[str, re.Pattern[str]]], s: str) -> str | None:
    for name, pat in patterns:
        if pat.search(s):
            return name
    return None


@dataclass
class Document:
    """One document: its manifest fields, raw text, paragraph rows and removed fragments.

    ``rows``/``removed_rows`` are plain dicts (cheap to stream); a document read back from
    the ingest cache has ``rows=None`` and its paragraphs in ``table`` (an Arrow table of
    :data:`PARAGRAPH_COLUMNS`), which ingest writes as it is. :meth:`paragraph_rows` gives
    the dicts either way; :attr:`paragraphs` and :attr:`removed` give DataFrames (see
    :func:`split_paragraphs`), the paragraphs with the manifest fields appended as columns.
    """

    meta: dict[str, object]
    text: str
    rows: list[dict[str, object]] | None
    removed_rows: list[dict[str, object]] = field(default_factory=list)
    meta_columns: tuple[str, ...] = ()
    table: pa.Table | None = None
    #: The ingest cache key (file, manifest row, cleaning rules; see :func:`iter_documents`), "" without a cache.
    cache_key: str = ""
    #: Whether this run split the document (False: it came from the last run's table or a per-document file).
    split: bool = False

    def paragraph_rows(self) -> list[dict[str, object]]:
        """The paragraphs as dicts (from ``rows``, or converted from ``table``)."""
        if self.rows is not None:
            return self.rows
        return self.table.to_pylist() if self.table is not None else []

    @property
    def paragraphs(self) -> pd.DataFrame:
        frame = _paragraph_frame(self.paragraph_rows())
        for c in self.meta_columns:
            frame[c] = pd.Series([str(self.meta[c])] * len(frame), dtype="str")
        return frame

    @property
    def removed(self) -> pd.DataFrame:
        return pd.DataFrame(self.removed_rows, columns=list(REMOVED_COLUMNS))


_ARROW_TYPES = {"position": pa.int64(), "source_para": pa.int64(), "n_words": pa.int64(),
                "char_start": pa.int64(), "char_end": pa.int64(), "label_chars": pa.int64()}
_PARAGRAPH_SCHEMA = pa.schema([(c, {"position": pa.int64(), "source_para": pa.int64(), "n_words": pa.int64(),
                                     "char_start": pa.int64(), "char_end": pa.int64(), "label_chars": pa.int64()}.get(c, pa.string()))
                                for c in PARAGRAPH_COLUMNS])
_DTYPES = {"para_id": "str", "doc_id": "str", "position": "int64", "kind": "str", "source_para": "Int64",
           "text": "str", "text_norm": "str", "n_words": "int64", "char_start": "int64", "char_end": "int64",
           "label_chars": "int64"}


def _paragraph_frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([r[c] for r in rows], dtype=_DTYPES[c]) for c in PARAGRAPH_COLUMNS})


def split_paragraphs(text: str, doc_id: str, rules: CleaningRules, region: tuple[int, int] | None = None,
                     title: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split one document's text into classified paragraphs, removing boilerplate.

    Returns ``(paragraphs, removed)``. ``paragraphs`` columns: ``para_id`` (str,
    ``<doc_id>-pNNN``), ``doc_id``, ``position`` (int, 1-based among kept paragraphs),
    ``kind`` (one of :data:`KINDS`), ``source_para`` (Int64, the source's own number or NA),
    ``text`` (str, exactly ``text[char_start:char_end]``), ``text_norm`` (str, NFC and single
    spaces), ``n_words`` (int, words after the label), ``char_start``, ``char_end`` (int,
    offsets into ``text``), ``label_chars`` (int, characters at the start of ``text`` that are the
    source's numbering label, e.g. 14 for "Paragraph 47. ", 0 when none: analyses of wording
    read ``text[label_chars:]``).
    ``removed`` columns: ``doc_id``, ``char_start``, ``char_end``, ``rule`` (the cleaning
    rule's name), ``text`` (what was removed, as written).
    """
    rows, removed = _split_rows(text, doc_id, rules, region, title)
    return _paragraph_frame(rows), pd.DataFrame(removed, columns=list(REMOVED_COLUMNS))


def _split_rows(text: str, doc_id: str, rules: CleaningRules, region: tuple[int, int] | None,
                title: str) -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    a, b = region or (0, len(text))
    rows: list[dict[str, object]] = []
    removed: list[dict[str, object]] = []
    titles: list[str] = []
    norm_title = normalize(fold(title)).casefold()
    for start, end in split_spans(text, a, b):
        raw = text[start:end]
        text_norm = normalize(raw)
        folded = fold(text_norm)
        hit = rules.any_paragraph_rule.any_search(folded)
        rule = _match_any(rules.boilerplate, folded) if hit else None
        if rule:
            removed.append({"doc_id": doc_id, "char_start": start, "char_end": end, "rule": rule, "text": raw})
            continue
        for name, pat in rules.prefixes if rules.any_prefix.any_match(fold(raw)) else ():
            m = pat.match(fold(raw))
            if m and m.end() < len(raw):
                removed.append({"doc_id": doc_id, "char_start": start, "char_end": start + m.end(), "rule": name, "text": raw[: m.end()]})
                start += m.end()
                raw = text[start:end]
                text_norm = normalize(raw)
                folded = fold(text_norm)
                hit = rules.any_paragraph_rule.any_search(folded)
        kind = "body"
        in_window = len(rows) < rules.title_window
        if folded.casefold() == norm_title or any(folded.startswith(t[:60]) for t in titles):
            kind = "title"
        elif hit:
            for k, pat in rules.kinds:
                if k == "title" and not in_window:
                    continue
                if pat.search(folded):
                    kind = k
                    break
        if kind == "title":
            titles.append(folded)
        source_para, label_chars = None, 0
        for pat in rules.source_para if hit else ():
            m = pat.search(folded)
            if m:
                source_para = int(m.group(1))
                raw_m = pat.match(fold(raw))  # the same label in the text as written, for its length
                if raw_m:
                    label_chars = raw_m.end() + len(raw[raw_m.end():]) - len(raw[raw_m.end():].lstrip(_EDGE_WS))
                break
        rows.append({
            "doc_id": doc_id, "kind": kind, "source_para": source_para, "label_chars": label_chars, "text": raw,
            "text_norm": text_norm, "n_words": count_words(raw[label_chars:]), "char_start": start, "char_end": end,
        })
    numbered = sum(r["source_para"] is not None for r in rows)
    if rules.editorial_when_numbered and numbered >= rules.editorial_when_numbered:
        for r in rows:
            if r["kind"] == "body" and r["source_para"] is None:
                r["kind"] = "editorial"
    width = max(3, len(str(len(rows))))
    for i, r in enumerate(rows, start=1):
        r["position"] = i
        r["para_id"] = f"{doc_id}-p{i:0{width}d}"
    return rows, removed


def iter_documents(corpus_dir: str | Path, cleaning: CleaningRules | str | Path | None = None,
                   on_error: str = "stop", skipped: list[dict[str, object]] | None = None,
                   organizations: OrganizationResolver | str | Path | None = None,
                   cache_dir: str | Path | None = None, run: Runner | None = None,
                   chunk_size: int = 25, previous: Mapping[str, tuple[str, pa.Table, list]] | None = None) -> Iterator[Document]:
    """Yield the corpus's documents one at a time (streaming), in manifest order.

    The manifest is validated in full before the first document is read. Each
    :class:`Document` carries ``meta`` (its manifest fields plus ``sha256`` of its file and
    ``warnings``), ``text`` (the document file's text, see :func:`read_document_text`),
    ``paragraphs`` (see :func:`split_paragraphs`, with the manifest fields appended as
    columns) and ``removed``. Raises :class:`CorpusError` for an unreadable file, an empty
    document or one left empty by cleaning, naming the file and manifest line. With
    ``on_error="skip"`` such documents (and bad manifest rows) are left out and appended to
    ``skipped`` as dicts ``doc_id, file, line, error``. Organisation names are made canonical
    with ``organizations`` (default ``data/organizations.yml``, see
    :func:`helpers.corpus.organizations.canonicalize_manifest`), adding ``organization_as_written``
    and ``iso3``. An unchanged document (same file, manifest row and cleaning rules: its cache
    key) is not split again: ``previous`` (:func:`previous_ingest`: the last ``paragraphs.parquet``
    by document and key) serves it in this process, and ``cache_dir`` holds a document's
    paragraphs as an Arrow file named by its key, read in this process and written by Dask
    workers, which cannot see ``previous``. ``Document.split`` tells which documents were split. ``run`` (see :mod:`helpers.parallel`) processes
    chunks of ``chunk_size`` documents on a Dask cluster; documents still come out in manifest order.
    """
    rules = cleaning if isinstance(cleaning, CleaningRules) else load_cleaning(cleaning)
    resolver = organizations if isinstance(organizations, OrganizationResolver) else load_organizations(organizations)
    manifest = read_manifest(corpus_dir, on_error=on_error)
    skipped_rows = manifest.attrs.get("skipped", [])
    manifest = canonicalize_manifest(manifest, resolver)
    if skipped is not None:
        skipped.extend(skipped_rows)
    meta_cols = [c for c in manifest.columns if c not in ("line", "path", "start_line", "end_line", "warnings")]
    run = run or Runner()
    # Absolute: Dask workers run in their own working directories, and the cache lands where this process says
    # (the manifest rows carry absolute file paths; corpus_dir only names the manifest in messages).
    cache = str(Path(cache_dir).resolve()) if cache_dir else None
    previous = previous if previous and not run.distributed else None
    # Workers cannot see the last paragraphs.parquet: they keep each document they split in its own file. In this
    # process that table is the cache, and thousands of small files would cost a quarter of a cold ingest.
    for results in run.map(_documents_chunk, chunked(manifest.to_dict("records"), chunk_size),
                           str(corpus_dir), rules, meta_cols, on_error, cache, previous, run.distributed):
        for item in results:
            if isinstance(item, Document):
                yield item
            elif skipped is not None:
                skipped.append(item)


#: Names the splitting in the cache keys: the source of this module and of the text helpers, so an edit
#: of either splits every document again.
CACHE_VERSION = source_version(__file__, _text_module.__file__, _safe_regex_module.__file__, extra="4")
#: Key of ``paragraphs.parquet``'s metadata listing each document's id, cache key, rows and removed fragments.
DOCUMENTS_METADATA = b"helpers_documents"


def _cache_key(row: dict, meta_cols: list[str], sha: str, rules: CleaningRules) -> str:
    # Only what shapes the paragraphs: the warnings text names the manifest's path and line, so
    # it would re-split documents whenever the corpus folder moves.
    fields = {c: str(row.get(c, "")) for c in (*meta_cols, "start_line", "end_line")}
    blob = json.dumps([CACHE_VERSION, sha, rules.fingerprint, fields], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


def previous_ingest(path: str | Path) -> dict[str, tuple[str, pa.Table, list]] | None:
    """``{doc_id: (cache key, paragraph table, removed fragments)}`` from a ``paragraphs.parquet``
    written by :func:`ingest` with a cache, or ``None`` (no such file, no document list, unreadable)."""
    try:
        parquet = pq.ParquetFile(path)
        listed = (parquet.metadata.metadata or {}).get(DOCUMENTS_METADATA)  # the file's key-value metadata
        if listed is None:
            return None
        table = parquet.read(columns=list(PARAGRAPH_COLUMNS)).replace_schema_metadata(None)
        documents = json.loads(listed.decode("utf-8"))
    except (OSError, ValueError, pa.ArrowException):
        return None
    found, offset = {}, 0
    for doc_id, key, n_rows, removed in documents:
        found[doc_id] = (key, table.slice(offset, n_rows), removed)
        offset += n_rows
    return found if offset == table.num_rows else None


def _cached_document(meta: dict, meta_cols: list[str], table: pa.Table, removed: list) -> Document:
    """A document whose paragraphs were split before: its Arrow table and removed fragments, no text."""
    return Document(meta=meta, text="", rows=None, removed_rows=removed, table=table,
                    meta_columns=tuple(c for c in meta_cols if c not in PARAGRAPH_COLUMNS))


#: Per-document cache files are Arrow IPC files (``<doc_id>@<key>.arrow``): writing a Parquet file costs
#: five times as much (half a millisecond of fixed cost per file, a second on 2,000 speeches).
CACHE_SUFFIX = ".arrow"


def _cache_read(path: Path, meta: dict, meta_cols: list[str]) -> Document | None:
    """The document kept in a cache file, or None when it has gone or cannot be read (it is then split again)."""
    table = read_arrow(path)
    if table is None or b"helpers" not in (table.schema.metadata or {}):
        return None
    extra = json.loads(table.schema.metadata[b"helpers"].decode("utf-8"))
    return _cached_document(meta, meta_cols, table.replace_schema_metadata(None), extra["removed"])


def _cache_write(path: Path, doc: Document) -> None:
    """Write ``doc``'s paragraphs and removed fragments to ``path``; ``doc.table`` becomes its paragraphs' table."""
    if doc.table is None:
        doc.table = pa.Table.from_pylist(doc.paragraph_rows(), schema=_PARAGRAPH_SCHEMA)
    table = doc.table.replace_schema_metadata({"helpers": json.dumps({"removed": doc.removed_rows}, ensure_ascii=False)})
    # A document's older cache files are removed by ingest() at the end, in one listing of the folder:
    # listing it here for every document written made ingestion quadratic in documents.
    path.parent.mkdir(parents=True, exist_ok=True)
    write_arrow(table, path)


def _documents_chunk(rows: list[dict], corpus_dir: str, rules: CleaningRules, meta_cols: list[str], on_error: str,
                     cache_dir: str | None, previous: Mapping[str, tuple[str, pa.Table, list]] | None = None,
                     write_files: bool = False) -> list[Document | dict[str, object]]:
    """Process consecutive manifest rows; a :class:`Document` per good row, a skipped-row dict per bad one.

    With ``cache_dir``, a document whose file, manifest row and cleaning rules are unchanged
    is taken from ``previous`` (the last ``paragraphs.parquet``) or read back from
    ``<cache_dir>/<doc_id>@<key>.arrow`` instead of being split again; with ``write_files``
    each document split is written there.
    """
    out: list[Document | dict[str, object]] = []
    files: dict[str, tuple[bytes, str]] = {}
    texts: dict[str, tuple[str, str]] = {}
    for row in rows:
        try:
            path = Path(row["path"])
            if row["path"] not in files:
                files.clear()
                data = path.read_bytes()
                files[row["path"]] = (data, hashlib.sha256(data).hexdigest())
            data, sha = files[row["path"]]
            meta = {c: str(row[c]) for c in meta_cols} | {"sha256": sha, "warnings": row.get("warnings", "")}
            key = _cache_key(row, meta_cols, sha, rules) if cache_dir else ""
            cached = Path(cache_dir) / f"{row['doc_id']}@{key}{CACHE_SUFFIX}" if cache_dir else None
            last = previous.get(str(row["doc_id"])) if previous else None
            if cached is not None and last is not None and last[0] == key:
                doc = _cached_document(meta, meta_cols, last[1], last[2])
            elif cached is not None and cached.is_file() and (doc := _cache_read(cached, meta, meta_cols)) is not None:
                pass
            else:
                doc = _read_document(row, corpus_dir, rules, meta_cols, texts, data, sha)
                doc.split = True
                if cached is not None and write_files:
                    _cache_write(cached, doc)
            doc.cache_key = key
            out.append(doc)
        except CorpusError as exc:
            if on_error == "stop":
                raise
            out.append({"doc_id": row["doc_id"], "file": row["file"], "line": row["line"], "error": str(exc)})
    return out


def _read_document(row: dict, corpus_dir: str | Path, rules: CleaningRules, meta_cols: list[str],
                   texts: dict[str, tuple[str, str]], data: bytes, sha: str) -> Document:
    where = f"{Path(corpus_dir) / 'manifest.csv'}, line {row['line']} (doc_id '{row['doc_id']}')"
    path = Path(row["path"])
    if row["path"] not in texts:
        texts.clear()  # documents cut from one file are consecutive in practice; keep one file at a time
        raw = _decode(data, path) if path.suffix.lower() in (".txt", ".md") else _read_raw_text(path)
        texts[row["path"]] = (raw, sha)
    raw, sha = texts[row["path"]]
    text = _blank_controls(raw)
    region = _line_region(text, _check_line_number(row.get("start_line"), where, "start_line"),
                          _check_line_number(row.get("end_line"), where, "end_line"), where)
    if not text[region[0]:region[1]].strip(_EDGE_WS):
        raise CorpusError(f"{path}: the document is empty ({where}). Add its text or remove the row from the manifest.")
    rows, removed = _split_rows(text, row["doc_id"], rules, region, row["title"])
    if text is not raw:  # control characters: blanked in the text, logged as removed like other cleaning
        removed = sorted(removed + _control_removals(raw, row["doc_id"], *region), key=lambda r: (r["char_start"], r["char_end"]))
    if not any(r["kind"] == "body" for r in rows):
        raise CorpusError(
            f"{path}: no body paragraph is left after cleaning ({where}; {len(removed)} paragraph(s) removed as boilerplate, "
            f"{len(rows)} kept as titles, datelines or salutations). Check the file's text and the rules in {rules.path}."
        )
    meta = {c: str(row[c]) for c in meta_cols}
    meta["sha256"] = sha
    meta["warnings"] = row.get("warnings", "")
    return Document(meta=meta, text=text, rows=rows, removed_rows=removed,
                    meta_columns=tuple(c for c in meta_cols if c not in PARAGRAPH_COLUMNS))


def load_paragraphs(corpus_dir: str | Path, cleaning: CleaningRules | str | Path | None = None,
                    organizations: OrganizationResolver | str | Path | None = None) -> pd.DataFrame:
    """All paragraphs of a corpus (every kind) in one DataFrame.

    Columns: :data:`PARAGRAPH_COLUMNS` (see :func:`split_paragraphs`) followed by the
    manifest fields (``file, title, organization, genre, date`` and any optional or extra
    columns, as strings). Filter ``kind == "body"`` for the substantive text.
    """
    frames = [doc.paragraphs for doc in iter_documents(corpus_dir, cleaning, organizations=organizations)]
    return pd.concat(frames, ignore_index=True)


def read_paragraphs(path: str | Path) -> pd.DataFrame:
    """Read a ``paragraphs.parquet`` written by :func:`ingest` (same columns as :func:`load_paragraphs`)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: paragraphs table not found. Run `make ingest` (or python -m helpers.corpus.corpus) first.")
    frame = pd.read_parquet(path)
    return frame.astype({"source_para": "Int64"})


def ingest(corpus_dir: str | Path, build_dir: str | Path, cleaning: CleaningRules | str | Path | None = None,
           batch_rows: int = 50_000, on_error: str = "stop",
           organizations: OrganizationResolver | str | Path | None = None,
           workers: int = 1, scheduler: str | None = None, use_cache: bool = True, processes: int = 1) -> dict[str, int]:
    """Stream a corpus into ``build_dir``: ``paragraphs.parquet``, ``documents.csv``, ``cleaning.csv``.

    Documents are read one at a time and paragraphs written in Parquet row groups of about
    ``batch_rows`` rows, so memory stays flat in corpus size. ``documents.csv`` columns: the
    manifest fields, ``sha256``, ``n_paragraphs``, ``n_body``, ``n_words_body``,
    ``removed_paragraphs``, ``removed_chars``, ``warnings``. ``cleaning.csv`` columns: as the
    ``removed`` table of :func:`split_paragraphs`. ``skipped.csv`` (``doc_id, file, line,
    error``) lists documents left out with ``on_error="skip"`` (header only when none). All
    are written atomically. A rebuild re-splits only the documents that changed: the others
    come from the last ``paragraphs.parquet`` (which lists each document's cache key), or on Dask
    from the per-document Arrow files the workers keep in ``build_dir/docs`` (see
    :func:`iter_documents`); ``use_cache=False`` uses neither. ``workers``/``scheduler`` run the
    per-document work on Dask (:mod:`helpers.parallel`), ``processes`` > 1 in processes forked from
    this one when every document is split (a cold build); the output is the same. Returns
    counts ``{"documents", "paragraphs", "body", "removed", "skipped", "cached"}``.
    """
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    counts = {"documents": 0, "paragraphs": 0, "body": 0, "removed": 0, "skipped": 0, "cached": 0}
    cache_dir = build_dir / "docs" if use_cache else None
    previous = previous_ingest(build_dir / "paragraphs.parquet") if cache_dir is not None else None
    listed: list[list[object]] = []  # each document's id, cache key, rows and removed fragments, for the next run
    skipped: list[dict[str, object]] = []
    docs: list[dict[str, object]] = []
    removed_rows: list[dict[str, object]] = []
    pending: list[pa.Table] = []  # each document's paragraphs with its manifest fields, as Arrow tables
    pending_rows = 0
    writer: pq.ParquetWriter | None = None
    schema: pa.Schema | None = None

    pending_meta: list[tuple[list[str], int]] = []  # each pending document's manifest values and row count

    def flush(tmp: Path) -> None:
        nonlocal writer, pending, pending_meta, pending_rows
        if not pending_rows:
            return
        if writer is None:
            writer = pq.ParquetWriter(tmp, schema)
        paragraphs = pa.concat_tables(pending).combine_chunks()
        lengths = np.array([n for _, n in pending_meta], dtype=np.int64)
        meta = [pa.array(np.repeat(np.array([v[k] for v, _ in pending_meta], dtype=object), lengths), pa.string())
                for k in range(len(schema) - len(PARAGRAPH_COLUMNS))]
        writer.write_table(pa.Table.from_arrays(paragraphs.columns + meta, schema=schema))
        pending, pending_meta, pending_rows = [], [], 0

    # A cold build splits every document: with ``processes`` > 1 they are split in forked processes (the stage runs
    # alone). With the last run's table most documents come from it, in this process, at no cost to share.
    forks = processes if previous is None else 1
    with atomic_path(build_dir / "paragraphs.parquet") as tmp, runner(workers, scheduler, forks) as run:
        try:
            for doc in iter_documents(corpus_dir, cleaning, on_error=on_error, skipped=skipped, organizations=organizations,
                                      cache_dir=cache_dir, run=run, previous=previous):
                removed = doc.removed_rows
                table = doc.table if doc.table is not None else pa.Table.from_pylist(doc.paragraph_rows(), schema=_PARAGRAPH_SCHEMA)
                n_rows = table.num_rows
                is_body = pc.equal(table.column("kind"), "body")
                n_body = int(pc.sum(is_body).as_py() or 0)
                docs.append({**doc.meta, "n_paragraphs": n_rows, "n_body": n_body,
                             "n_words_body": int(pc.sum(pc.filter(table.column("n_words"), is_body)).as_py() or 0),
                             "removed_paragraphs": len(removed),
                             "removed_chars": sum(r["char_end"] - r["char_start"] for r in removed)})
                removed_rows.extend(removed)
                counts["documents"] += 1
                counts["paragraphs"] += n_rows
                counts["body"] += n_body
                counts["removed"] += len(removed)
                counts["cached"] += not doc.split
                if schema is None:  # the first document's manifest fields name the columns
                    schema = pa.schema([(c, _ARROW_TYPES.get(c, pa.string())) for c in (*PARAGRAPH_COLUMNS, *doc.meta_columns)])
                pending.append(table.select(list(PARAGRAPH_COLUMNS)))
                pending_meta.append(([str(doc.meta[c]) for c in schema.names[len(PARAGRAPH_COLUMNS):]], n_rows))
                pending_rows += n_rows
                listed.append([str(doc.meta["doc_id"]), doc.cache_key, n_rows, removed])
                if pending_rows >= batch_rows:
                    flush(tmp)
            flush(tmp)
            if writer is None:
                raise CorpusError(f"{Path(corpus_dir) / 'manifest.csv'}: no document could be read; all {len(skipped)} were skipped "
                                  f"(see the errors above or build/.../skipped.csv).")
            if cache_dir is not None:
                writer.add_key_value_metadata({DOCUMENTS_METADATA: json.dumps(listed, ensure_ascii=False)})
        finally:
            if writer is not None:
                writer.close()
    # intermediates read back by the pipeline and the briefing: kept exactly as written (for_people=False)
    write_csv(pd.DataFrame(docs), build_dir / "documents.csv", for_people=False)
    write_csv(pd.DataFrame(removed_rows, columns=list(REMOVED_COLUMNS)), build_dir / "cleaning.csv", for_people=False)
    write_csv(pd.DataFrame(skipped, columns=["doc_id", "file", "line", "error"]), build_dir / "skipped.csv", for_people=False)
    counts["skipped"] = len(skipped)
    if cache_dir is not None:
        used = {f"{doc_id}@{key}{CACHE_SUFFIX}" for doc_id, key, _, _ in listed}
        for f in cache_dir.glob("*@*"):
            if f.suffix in (CACHE_SUFFIX, ".parquet") and f.name not in used:  # .parquet: written by older versions
                f.unlink(missing_ok=True)  # a document no longer in the manifest, or an older version of one
    return counts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.corpus.corpus", description="Split a corpus folder into clean paragraphs.")
    parser.add_argument("--corpus", required=True, help="corpus folder with manifest.csv")
    parser.add_argument("--build", required=True, help="folder for paragraphs.parquet, documents.csv, cleaning.csv")
    parser.add_argument("--cleaning", default=None, help="cleaning rules YAML (default data/cleaning.yml)")
    parser.add_argument("--workers", default=os.environ.get("WORKERS", "1"),
                        help="Dask workers for the per-document work (1 = this process; DASK_SCHEDULER=tcp://... uses a cluster)")
    parser.add_argument("--processes", type=int, default=1,
                        help="split the documents of a cold build in this many forked processes (make passes JOBS)")
    parser.add_argument("--organizations", default=None, help="canonical organisation names YAML (default data/organizations.yml)")
    parser.add_argument("--on-error", default="stop", choices=ON_ERROR_CHOICES,
                        help="stop at the first bad document (default) or skip it and list it in skipped.csv")
    args = parser.parse_args(argv)
    counts = ingest(args.corpus, args.build, args.cleaning, on_error=args.on_error, organizations=args.organizations,
                    workers=int(args.workers) if str(args.workers).isdigit() else args.workers, processes=max(1, args.processes))
    docs = pd.read_csv(Path(args.build) / "documents.csv", usecols=["warnings"], keep_default_na=False)
    for warning in docs["warnings"]:
        for w in filter(None, str(warning).split(" | ")):
            print(f"warning: {w}", file=sys.stderr)
    if counts["skipped"]:
        skipped = pd.read_csv(Path(args.build) / "skipped.csv")
        for r in skipped.itertuples():
            print(f"skipped: {r.error}", file=sys.stderr)
    print(f"ingested {counts['documents']} documents: {counts['paragraphs']} paragraphs "
          f"({counts['body']} body, {counts['cached']} documents unchanged since the last run), "
          f"{counts['removed']} boilerplate fragments removed, {counts['skipped']} documents skipped "
          f"-> {args.build}/paragraphs.parquet")
    return 0


if __name__ == "__main__":
    # The importable module's main, not __main__'s: Dask pickles what __main__ defines by value, so each
    # task would carry copies of this module's functions and state (helpers.parallel.importable).
    from helpers.corpus.corpus import main as _main

    raise SystemExit(run_cli(_main))
