"""Regular expressions from users, run in guaranteed linear time (Google's RE2).

Codebook ``regex`` rules and the cleaning rules of ``data/cleaning.yml`` come from colleagues and
shared drives. Python's ``re`` backtracks: ``(?:a+)+$`` against a long run of ``a`` never returns.
RE2 (the ``google-re2`` package) runs every pattern in time linear in the text, and refuses at
compile time the few constructs it cannot run that way (look-ahead and look-behind, back-references,
possessive and atomic groups, ``(?x)`` verbose mode); :func:`compile_pattern` turns that refusal
into one message naming the pattern.

Patterns keep Python's syntax and meaning (:func:`to_re2` translates): ``\\w``, ``\\d``, ``\\s``
and their negations are Unicode classes as in Python (RE2's are ASCII-only), ``\\Z`` is the end of
the text, ``\\uXXXX`` a code point. One difference is left, and checked: RE2's ``\\b`` knows ASCII
word characters only, so a ``\\b`` written next to a non-ASCII letter (``\\bмир``) is refused
(:func:`boundary_problems`); everywhere else it behaves as Python's on the texts the rules see.

:class:`SafePattern` offers the part of ``re.Pattern``'s interface the pipeline uses (``search``,
``match``, ``pattern``) and pickles by its source, so it can be sent to Dask workers. :class:`PatternSet`
tells in one pass whether any of several patterns matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import re2

#: Python's Unicode classes, written for RE2 (``\\w``: str.isalnum() or "_"; ``\\s``: str.isspace()).
_WORD = r"\p{L}\p{N}_"
_SPACE = r"\t\n\x{0B}\f\r\x{1C}-\x{1F} \x{85}\p{Z}"
_DIGIT = r"\p{Nd}"
_CLASSES = {"w": _WORD, "s": _SPACE, "d": _DIGIT}
#: The ASCII members of the same classes: what they are in a text known to hold ASCII only.
_ASCII_CLASSES = {"w": "0-9A-Za-z_", "s": r"\t\n\x0B\f\r\x1C-\x1F ", "d": "0-9"}


class PatternError(ValueError):
    """A pattern RE2 cannot run, with the reason (the caller adds file, line and rule)."""


def to_re2(pattern: str, ascii_only: bool = False) -> str:
    """``pattern`` (Python ``re`` syntax) rewritten for RE2 with Python's Unicode meaning of
    ``\\w \\W \\d \\D \\s \\S``, ``\\Z`` and ``\\uXXXX``/``\\UXXXXXXXX``; raises :class:`PatternError` for a
    negated class (``\\W``, ``\\D``, ``\\S``) inside ``[...]``, which RE2 cannot combine. ``ascii_only``:
    the six classes hold only their ASCII members, which matches the same in a text of ASCII only."""
    classes = _ASCII_CLASSES if ascii_only else _CLASSES
    out: list[str] = []
    in_class = False
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            e = pattern[i + 1]
            i += 2
            if e.lower() in classes:
                body = classes[e.lower()]
                if e.islower():
                    out.append(body if in_class else f"[{body}]")
                elif in_class:
                    raise PatternError(f"'\\{e}' inside [...] cannot be run by RE2; write the class without it "
                                       f"(e.g. [^\\w] for \\W)")
                else:
                    out.append(f"[^{body}]")
            elif e == "Z":
                out.append(r"\z")
            elif e in "uU":
                width = 4 if e == "u" else 8
                digits = pattern[i:i + width]
                if len(digits) != width or not all(ch in "0123456789abcdefABCDEF" for ch in digits):
                    raise PatternError(f"'\\{e}' must be followed by {width} hexadecimal digits")
                out.append(f"\\x{{{digits}}}")
                i += width
            else:
                out.append(c + e)
            continue
        if in_class:
            if c == "]" and not (out and out[-1] in ("[", "[^")):
                in_class = False
            out.append(c)
        elif c == "[":
            in_class = True
            if pattern.startswith("[^", i):
                out.append("[^")
                i += 2
                if pattern.startswith("]", i):  # a literal ] first in the class
                    out.append("\\]")
                    i += 1
                continue
            out.append("[")
            if pattern.startswith("]", i + 1):
                out.append("\\]")
                i += 1
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _options(ignorecase: bool) -> re2.Options:
    options = re2.Options()
    options.case_sensitive = not ignorecase
    options.log_errors = False  # RE2 would print its own complaint to stderr before ours
    return options


class EncodedText:
    """A text encoded to UTF-8 once, with the maps between its character and byte offsets, so that
    :meth:`SafePattern.spans` can search many windows of it without encoding each."""

    __slots__ = ("text", "data", "_to_byte", "_to_char")

    def __init__(self, text: str) -> None:
        self.text = text
        self.data = text.encode("utf-8")
        if len(self.data) == len(text):  # ASCII: offsets are the same
            self._to_byte = self._to_char = None
        else:
            import numpy as np

            lead = (np.frombuffer(self.data, dtype=np.uint8) & 0xC0) != 0x80  # the first byte of each character
            self._to_byte = np.append(np.flatnonzero(lead), len(self.data))  # character offset -> byte offset
            self._to_char = np.concatenate(([0], np.cumsum(lead)))  # byte offset -> characters before it

    def byte(self, char: int) -> int:
        """Byte offset of character offset ``char`` (0 to ``len(text)``)."""
        return char if self._to_byte is None else int(self._to_byte[char])

    def char(self, byte: int) -> int:
        """Character offset of byte offset ``byte`` (at a character's first byte, or the end)."""
        return byte if self._to_char is None else int(self._to_char[byte])


@dataclass(frozen=True, eq=False)
class SafePattern:
    """A pattern compiled by RE2 from Python syntax; ``search``/``match`` as ``re.Pattern``'s.
    ``capture=False`` compiles every group as non-capturing (``groups`` is 0), so finding where a match
    starts and ends (all :meth:`spans` asks) needs no tracking of groups."""

    pattern: str
    ignorecase: bool = False
    capture: bool = True

    def __post_init__(self) -> None:
        try:
            compiled = self._compile(to_re2(self.pattern))
        except re2.error as exc:
            raise PatternError(_reason(self.pattern, exc)) from None
        object.__setattr__(self, "_re2", compiled)

    def _compile(self, rewritten: str):
        options = _options(self.ignorecase)
        options.never_capture = not self.capture
        return re2.compile(rewritten, options)

    def __reduce__(self):
        return (SafePattern, (self.pattern, self.ignorecase, self.capture))

    @property
    def groups(self) -> int:
        return self._re2.groups  # type: ignore[attr-defined]

    def search(self, text: str, pos: int = 0, endpos: int | None = None):
        return self._re2.search(text, pos, len(text) if endpos is None else endpos)  # type: ignore[attr-defined]

    def match(self, text: str, pos: int = 0, endpos: int | None = None):
        return self._re2.match(text, pos, len(text) if endpos is None else endpos)  # type: ignore[attr-defined]

    def prepare(self) -> None:
        """Compile now what :meth:`spans` would compile on its first ASCII window."""
        self._ascii_regexp()

    def _ascii_regexp(self):
        """The pattern compiled with :func:`to_re2`'s ASCII-only classes, once: in ASCII text it matches exactly as
        the pattern, and costs RE2 a fraction of the work (its Unicode classes, compiled forwards and, on the first
        match, backwards to find where matches start, are most of a pattern's cost on a corpus)."""
        twin = getattr(self, "_ascii", None)
        if twin is None:
            try:
                twin = self._compile(to_re2(self.pattern, ascii_only=True))._regexp
            except re2.error:  # cannot be: a subset of what compiled; the pattern itself then
                twin = self._re2._regexp  # type: ignore[attr-defined]
            object.__setattr__(self, "_ascii", twin)
        return twin

    def spans(self, text: str | EncodedText, lo: int, hi: int) -> list[tuple[int, int]]:
        """Every match found by searching ``text[lo:hi]`` from each position after the start of the
        last one found (overlapping, like ``search(text, s + 1, hi)`` in a loop), as (start, end)
        offsets into ``text``. The character before ``lo`` is seen by ``\\b``; ``hi`` is the end of
        the text, as ``endpos`` is for ``re``. Pass an :class:`EncodedText` to search many windows of
        one text: each window then costs time linear in its own length plus the matches."""
        enc = text if isinstance(text, EncodedText) else EncodedText(text)
        first = max(lo - 1, 0)
        base, stop = enc.byte(first), enc.byte(hi)
        window = memoryview(enc.data)[base:stop]  # RE2 sees this window only: its end is the text's end
        # as many bytes as characters: ASCII only, where the ASCII twin finds the same matches
        regexp = self._ascii_regexp() if stop - base == hi - first else self._re2._regexp  # type: ignore[attr-defined]
        anchor = re2._Anchor.UNANCHORED
        out = []
        bpos = enc.byte(lo) - base
        end = len(window)
        while bpos <= end:
            bs, be = regexp.Match(anchor, window, bpos, end)[0]
            if bs < 0:
                break
            s = enc.char(base + bs)
            out.append((s, enc.char(base + be)))
            if s + 1 > hi:
                break
            bpos = enc.byte(s + 1) - base
        return out


class PatternSet:
    """Several :class:`SafePattern` asked together whether any of them finds a match: one RE2 pass over
    the alternation of them all instead of one call per pattern.

    The alternation answers exactly what ``any(p.search(text) for p in patterns)`` (or ``p.match``)
    would; when RE2 cannot compile it (too large together) or the patterns differ in ``ignorecase``,
    each pattern is tried alone. Pickles by its patterns, like :class:`SafePattern`.
    """

    def __init__(self, patterns: Sequence[SafePattern]) -> None:
        self.patterns = tuple(patterns)
        self._any = None
        if self.patterns and len({p.ignorecase for p in self.patterns}) == 1:
            options = _options(self.patterns[0].ignorecase)
            options.never_capture = True  # only whether there is a match is asked: no groups to track
            try:
                self._any = re2.compile("|".join(f"(?:{to_re2(p.pattern)})" for p in self.patterns), options)._regexp
            except re2.error:
                pass

    def __reduce__(self):
        return (PatternSet, (self.patterns,))

    def any_search(self, text: str) -> bool:
        """Whether one of the patterns' ``search`` finds a match in ``text``."""
        return self._any_at(text, re2._Anchor.UNANCHORED, "search")

    def any_match(self, text: str) -> bool:
        """Whether one of the patterns' ``match`` matches at the start of ``text``."""
        return self._any_at(text, re2._Anchor.ANCHOR_START, "match")

    def _any_at(self, text: str, anchor, method: str) -> bool:
        if self._any is None:
            return any(getattr(p, method)(text) for p in self.patterns)
        data = text.encode("utf-8")
        return self._any.Match(anchor, data, 0, len(data))[0][0] >= 0


def _reason(pattern: str, exc: Exception) -> str:
    text = exc.args[0] if exc.args else str(exc)
    text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    try:
        re.compile(pattern)
    except re.error as py_exc:
        return f"does not compile: {py_exc}"
    if re.search(r"\(\?<?[=!]", pattern):
        return "uses a look-ahead or look-behind ((?=...), (?!...), (?<=...), (?<!...)), which cannot run in linear time; " \
               "rewrite it without, or use an 'exclude' phrase for what must not follow"
    if re.search(r"\\[1-9]|\(\?P=", pattern):
        return "uses a back-reference (\\1, (?P=name)), which cannot run in linear time; rewrite it without"
    return f"cannot be run in linear time by RE2 ({text}); rewrite it with plain alternatives and repetitions"


def compile_pattern(pattern: str, ignorecase: bool = False, capture: bool = True) -> SafePattern:
    """``pattern`` compiled for linear-time matching; raises :class:`PatternError` with the reason."""
    return SafePattern(pattern, ignorecase, capture)


def boundary_problems(pattern: str, flags: int = 0) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` about the ``\\b`` and ``\\B`` of ``pattern`` (Python syntax, parsed by ``re``).

    Error: a ``\\b``/``\\B`` next to a non-ASCII letter or digit, which RE2 cannot see as a word
    character. Warning: a ``\\b`` next to a non-word character that is itself next to another
    non-word character or the pattern's edge on the other side (``\\b-\\b``, ``C\\+\\+\\b``), or a
    ``\\b`` between two literal word characters: such a rule can match rarely or never.
    """
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    errors: list[str] = []
    warnings: list[str] = []

    def lit(item) -> str | None:
        op, av = item
        return chr(av) if op is C.LITERAL else None

    def walk(items) -> None:
        items = list(items)
        for k, (op, av) in enumerate(items):
            if op is C.SUBPATTERN:
                walk(av[-1])
            elif op in (C.MAX_REPEAT, C.MIN_REPEAT):
                walk(av[2])
            elif op is C.BRANCH:
                for branch in av[1]:
                    walk(branch)
            elif op is C.AT and av in (C.AT_BOUNDARY, C.AT_NON_BOUNDARY):
                name = "\\b" if av is C.AT_BOUNDARY else "\\B"
                before = lit(items[k - 1]) if k else None
                after = lit(items[k + 1]) if k + 1 < len(items) else None
                for ch in (before, after):
                    if ch is not None and not ch.isascii() and (ch.isalnum() or ch == "_"):
                        errors.append(f"'{name}' next to '{ch}' cannot be checked by RE2, whose word boundary knows "
                                      "ASCII letters only; drop it (a match must start and end at a word boundary anyway)")
                        return
                if av is C.AT_BOUNDARY:
                    if before is not None and after is not None and _isword(before) == _isword(after):
                        warnings.append(f"'\\b' between '{before}' and '{after}' can never hold, so the rule can never match")
                    elif (before is not None and not _isword(before) and after is None and k + 1 == len(items)) or (
                            after is not None and not _isword(after) and before is None and k == 0):
                        ch = before if before is not None else after
                        warnings.append(f"'\\b' next to '{ch}', which is not a letter or digit, holds only where a letter "
                                        "or digit is on its other side, so the rule may never match; drop the '\\b' "
                                        "or move it next to a letter or digit")

    walk(_parser.parse(pattern, flags))
    return errors, warnings


def _isword(ch: str) -> bool:
    return ch.isalnum() or ch == "_"
