"""The codebook's richer rule language, kept in data files: proximity, spelling variants and aliases.

Three additions to the ``terms`` syntax of :mod:`helpers.annotation.codebook`:

Proximity: ``sanctions NEAR/5 unilateral``
    both sides (each in the ``terms`` syntax: inflected, ``*`` prefix, ``=`` exact, phrases) in
    either order with at most ``k`` words between them (1 <= k <= :data:`MAX_NEAR`), in the
    same sentence (no ``.``, ``;``, ``!`` or ``?`` between them). Allowed under ``terms`` only.
    Compiled to two regular expressions (one per order) made only of word boundaries, classes
    and repeats, so they run on RE2 as on Python's ``re`` (no look-around). The evidence names the rule as written
    (``rule_kind`` = ``near``) and the matched span runs from the first side to the last.

Spelling variants: a codebook with ``spelling: spelling.yml`` (path relative to the codebook)
    makes every word of every term also match its variants from that file: explicit pairs
    (``defence: defense``, ``programme: program``) and word endings swapped both ways for words of
    at least ``min_length`` letters (``-isation/-ization``, ``-ise/-ize``, ``-our/-or``,
    ``-tre/-ter``, ``-yse/-yze``). :func:`load_spelling` reads and checks the file.

Aliases: a codebook with ``aliases: aliases.yml`` may write ``@NAME`` as a term or an exclusion;
    it stands for ``NAME`` and every full name and short form listed for it in that file
    (``CSTO: [Collective Security Treaty Organization, ...]``), each in the ``terms`` syntax.
    The evidence's rule is ``@NAME``, its term the words matched. :func:`load_aliases` reads and
    checks the file.

Errors are :class:`~helpers.errors.CodebookError` naming the file, the line and the problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from helpers.errors import CodebookError

#: Largest k of ``NEAR/k``.
MAX_NEAR = 20
NEAR_RE = re.compile(r"^(?P<left>.+?)\s+NEAR/(?P<k>\S*)\s+(?P<right>.+)$")
_NEAR_HINT = f"proximity is written 'term NEAR/k term' with k a whole number from 1 to {MAX_NEAR}"
#: Between the words of a phrase (the text is folded: every dash is '-'), as in the Aho-Corasick matching.
_PHRASE_GAP = r"[\s\-/']+"


@dataclass(frozen=True)
class Spelling:
    """Spelling variants: ``words`` maps a word to its variants (both directions); ``suffixes``
    lists (ending, other ending, minimum word length), both directions."""

    words: dict[str, tuple[str, ...]]
    suffixes: tuple[tuple[str, str, int], ...]

    def variants(self, word: str) -> list[str]:
        """``word`` and its spelling variants (lower case), ``word`` first.

        >>> Spelling({"defence": ("defense",)}, (("our", "or", 5),)).variants("labour")
        ['labour', 'labor']
        """
        out = [word]
        for v in self.words.get(word, ()):
            if v not in out:
                out.append(v)
        for a, b, min_len in self.suffixes:
            if len(word) >= min_len and word.endswith(a):
                v = word[: -len(a)] + b
                if v not in out:
                    out.append(v)
        return out


@dataclass(frozen=True)
class NearRule:
    """``left NEAR/k right`` of a theme: ``source`` as written; ``patterns`` the two regular expressions."""

    source: str
    k: int
    patterns: tuple[str, str]


def _yaml(path: Path, what: str) -> tuple[object, dict[int, int]]:
    if not path.is_file():
        raise CodebookError(f"{path}: {what} file not found (named in the codebook, relative to it).")
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"))
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = f", line {mark.line + 1}" if mark else ""
        raise CodebookError(f"{path}{line}: invalid YAML: {exc.problem}. Fix the syntax there.") from None
    lines: dict[int, int] = {}
    if isinstance(node, yaml.MappingNode):
        for i, (k, _) in enumerate(node.value):
            lines[i] = k.start_mark.line + 1
    return data, lines


def load_aliases(path: str | Path) -> dict[str, tuple[str, ...]]:
    """Read an alias file: a mapping ``NAME: [full name, short form, ...]``. Returns name -> forms
    (the name itself first). Raises :class:`CodebookError` naming the file and line."""
    p = Path(path)
    data, lines = _yaml(p, "aliases")
    if not isinstance(data, dict):
        raise CodebookError(f"{p}: an aliases file is a mapping NAME: [full name, short form, ...].")
    out: dict[str, tuple[str, ...]] = {}
    for i, (name, forms) in enumerate(data.items()):
        where = f"{p}, line {lines.get(i, 0)}"
        if not isinstance(name, str) or not re.fullmatch(r"[\w][\w\-]*", name):
            raise CodebookError(f"{where}: alias name {name!r} must be one word (letters, digits, '_', '-').")
        if not isinstance(forms, list) or not all(isinstance(f, str) and f.strip() for f in forms):
            raise CodebookError(f"{where}: alias '{name}' must list its full names and short forms as text. "
                                f"Got {forms!r} instead.")
        out[name] = tuple(dict.fromkeys([name.replace("_", " ")] + [f.strip() for f in forms]))
    return out


def load_spelling(path: str | Path) -> Spelling:
    """Read a spelling file: ``words`` (mapping word -> variant or list of variants) and ``suffixes``
    (list of ``[ending, other ending, minimum length]``). Raises :class:`CodebookError`."""
    p = Path(path)
    data, _ = _yaml(p, "spelling")
    if not isinstance(data, dict) or set(data) - {"words", "suffixes"}:
        raise CodebookError(f"{p}: a spelling file is a mapping with 'words' and 'suffixes'.")
    words: dict[str, list[str]] = {}
    for a, b in (data.get("words") or {}).items():
        vs = b if isinstance(b, list) else [b]
        if not isinstance(a, str) or not all(isinstance(v, str) and v.strip() for v in vs):
            raise CodebookError(f"{p}: words: {a!r}: {b!r} must map a word to a word or a list of words.")
        group = [a.lower()] + [v.lower() for v in vs]
        for w in group:
            words.setdefault(w, [])
            words[w] += [x for x in group if x != w and x not in words[w]]
    suffixes: list[tuple[str, str, int]] = []
    for item in data.get("suffixes") or []:
        if (not isinstance(item, list) or len(item) != 3 or not all(isinstance(x, str) for x in item[:2])
                or not isinstance(item[2], int)):
            raise CodebookError(f"{p}: suffixes: {item!r} must be [ending, other ending, minimum word length].")
        a, b, n = item[0].lower(), item[1].lower(), item[2]
        suffixes += [(a, b, n), (b, a, n)]
    return Spelling({w: tuple(v) for w, v in words.items()}, tuple(suffixes))


def word_variants(words: tuple[str, ...], prefix: bool, spelling: Spelling | None) -> list[tuple[str, ...]]:
    """Every combination of the spelling variants of ``words`` (the prefix word of a ``*`` term
    keeps its prefix), ``words`` itself first."""
    if spelling is None:
        return [words]
    combos: list[tuple[str, ...]] = [()]
    for i, w in enumerate(words):
        options = [w] if (prefix and i == len(words) - 1) else spelling.variants(w)
        combos = [c + (o,) for c in combos for o in options]
    return combos


def _side_regex(forms: list[tuple[str, ...]], prefix: bool) -> str:
    alts = []
    for words in forms:
        body = _PHRASE_GAP.join(re.escape(w) for w in words)
        alts.append(body + (r"\w*" if prefix else ""))
    return r"\b(?:" + "|".join(dict.fromkeys(alts)) + r")\b"


def parse_near(raw: str, parse_side) -> NearRule | None:
    """A ``left NEAR/k right`` rule, or None when ``raw`` has no ``NEAR/``. ``parse_side(text)``
    returns ``(forms, prefix)`` of one side (word sequences it matches) or raises ValueError.
    Raises ValueError with the problem when the rule is malformed."""
    if "NEAR/" not in raw:
        return None
    m = NEAR_RE.match(" ".join(raw.split()))
    if not m or not m.group("k").isdigit() or not 1 <= int(m.group("k")) <= MAX_NEAR:
        raise ValueError(_NEAR_HINT)
    k = int(m.group("k"))
    left, right = m.group("left"), m.group("right")
    if "NEAR/" in left or "NEAR/" in right:
        raise ValueError("a proximity rule joins two terms; write one NEAR/k per rule")
    sides = []
    for text in (left, right):
        try:
            forms, prefix = parse_side(text)
        except ValueError as exc:
            raise ValueError(f"'{text}': {exc}") from None
        sides.append(_side_regex(forms, prefix))
    gap = r"[^\w\x00.;!?]+(?:\w+[^\w\x00.;!?]+){0,%d}" % k  # within one sentence
    return NearRule(raw, k, (sides[0] + gap + sides[1], sides[1] + gap + sides[0]))
