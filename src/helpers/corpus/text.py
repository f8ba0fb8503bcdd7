"""Text normalisation shared by every stage.

Two views of a paragraph's text are used:

- :func:`normalize`: NFC, every run of white space (including no-break spaces and
  newlines) collapsed to one space, stripped. For display, word counts and comparison.
- :func:`fold`: a same-length, character-for-character folding (curly quotes to straight,
  dashes and the OCR's line-break mark ``¬`` to ``-``, unusual spaces and line breaks to a
  space) used for matching. Because it never changes the length, a match's ``[start, end)`` in the folded text is also its
  span in the text as written.
"""

from __future__ import annotations

import functools
import importlib.util
import re
import runpy
import unicodedata
from pathlib import Path

_SPACE_RE = re.compile(r"\s+")
#: How the OCR of the older printed UN records renders a hyphen at a line end ("aggres¬sion", "non¬interference";
#: 1,796 in the complete General Debate corpus). Folded to ``-``, it joins the two parts of a word as a hyphen does;
#: rule matching also tries the word without it (:meth:`helpers.annotation.annotate.Matcher.match_arrays`).
LINE_BREAK_MARK = "\u00ac"
WORD_RE = re.compile(r"\w+(?:['’\-\u00ac]\w+)*")

_FOLD_CHARS = {
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "\u00b4": "'", "`": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
    "\u2010": "-", "\u2011": "-", LINE_BREAK_MARK: "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2009": " ", "\u200a": " ", "\u2002": " ", "\u2003": " ",
    "\t": " ", "\n": " ", "\r": " ", "\f": " ", "\v": " ", "\ufeff": " ",
}


_ASCII_FOLD = bytes.maketrans(b"`\t\n\r\f\v", b"'     ")
# str.translate with a table looks each character of a non-ASCII text up (a KeyError for most): ten
# times slower than finding the few characters that change.
_FOLD_RE = re.compile("[" + re.escape("".join(_FOLD_CHARS)) + "]")


def normalize(text: str) -> str:
    """Return ``text`` in NFC with white space collapsed to single spaces and stripped."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())


def fold(text: str) -> str:
    """Return ``text`` with quotes, dashes and spaces folded to ASCII, same length as ``text``."""
    if text.isascii():  # fast path: only the back-tick and control white space change
        return text.encode("ascii").translate(_ASCII_FOLD).decode("ascii")
    return _FOLD_RE.sub(lambda m: _FOLD_CHARS[m.group()], text)


def folded_words(text: str, case: str = "casefold") -> list[str]:
    """The :data:`WORD_RE` words of :func:`fold`-ed ``text``, each case-folded (``case="casefold"``) or lower-cased
    (``"lower"``): exactly ``[t.casefold() for t in WORD_RE.findall(fold(text))]``.

    The whole text is case-mapped once when that cannot differ from mapping each word: no character's
    mapping changed its length (``ß`` -> ``ss``, ``İ`` -> ``i̇``) and, for ``lower``, no capital sigma (whose
    lower case depends on the characters after it, across word boundaries). Twice as fast as a call per word.
    """
    folded = fold(text)
    if folded.isascii():  # casefold() is lower() on ASCII, and lower() has a fast path for it
        return WORD_RE.findall(folded.lower())
    mapped = folded.casefold() if case == "casefold" else folded.lower()
    if len(mapped) == len(folded) and (case == "casefold" or "\u03a3" not in folded):
        return WORD_RE.findall(mapped)
    return [t.casefold() if case == "casefold" else t.lower() for t in WORD_RE.findall(folded)]


def count_words(text: str) -> int:
    """Number of word tokens (letters/digits, with inner apostrophes or hyphens) in ``text``."""
    return len(WORD_RE.findall(text))


@functools.cache
def english_stop_words() -> frozenset[str]:
    """scikit-learn's English stop-word list (``sklearn.feature_extraction.text.ENGLISH_STOP_WORDS``).

    Read from its source file without importing scikit-learn, whose import (1.2 s, with
    SciPy's statistics) the briefing's kernel and the analysis's main process do not otherwise need.
    """
    spec = importlib.util.find_spec("sklearn")  # locates the package without running it
    if spec is None or spec.origin is None:  # pragma: no cover - scikit-learn is a pinned dependency
        raise ImportError("scikit-learn is not installed; run make env")
    source = Path(spec.origin).parent / "feature_extraction" / "_stop_words.py"
    return frozenset(runpy.run_path(str(source))["ENGLISH_STOP_WORDS"])
