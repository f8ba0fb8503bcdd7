"""The YAML codebook: themes, their groups and the rules that detect them.

A codebook file looks like this (``data/codebook.yml`` is the project's own)::

    name: International security themes
    version: "1"
    groups:                      # the closed list of groups: id -> label
      transnational_threats: Transnational threats
    themes:
      - id: terrorism
        label: Terrorism and violent extremism
        definition: One sentence saying what the theme covers.
        group: transnational_threats
        terms: [terror*, extremis*, radical ideology]
        regex: ['\\bCTWG\\b']
        exclude: [Great Patriotic War]

Rule syntax (every match is case-insensitive, on whole words, with curly and straight
quotes and all dashes treated alike; a word broken by the OCR's line-break mark ``¬`` matches
both joined and hyphenated):

- ``terms``: words or phrases. The last word of a plain term also matches its regular
  plural (``conflict`` -> ``conflicts``; ``policy`` -> ``policies``; ``-es`` plurals) and the
  other spelling of ``-ization``/``-isation`` and a final ``-ize``/``-ise``. Words of a phrase
  match across white space, hyphens, dashes or slashes (``counter terrorism`` finds
  ``counter-terrorism``), never across other punctuation. A final ``*`` is a prefix wildcard
  on the last word (``terror*`` -> terrorism, terrorist, terrorists; at least three
  characters before the ``*``). A leading ``=`` switches inflection off (``=trainings``).
  Terms may contain letters, digits, spaces, hyphens, slashes and apostrophes only; use
  ``regex`` for anything else.
- ``regex``: Python regular expressions, matched case-insensitively on the text with quotes
  and dashes folded to ASCII (``'``, ``"``, ``-``); write ``(?-i:WHO)`` for a case-sensitive
  part. A match that starts or ends inside a word is ignored.
  A ``regex`` item may also be a mapping ``{pattern: '...', speakers: organizations}``
  (or ``states``): the rule then counts only in documents whose speaker is an
  organisation (the manifest's ``organization`` is not a country) or a state (it is one,
  see :mod:`helpers.corpus.organizations`). "The Organization" means the CSTO in the CSTO's own
  texts but the United Nations in a state's General Assembly speech. Documents whose
  speaker is unknown match neither. Write scoped patterns that do not overlap the theme's
  other rules: an out-of-scope match is dropped after overlapping matches were resolved.
- ``exclude``: phrases in the ``terms`` syntax; a match of this theme that lies inside an
  occurrence of an excluded phrase does not count (``war`` inside ``Great Patriotic War``).
- ``from`` (a theme field, YYYY-MM-DD or a year): the theme's rules code only documents dated on or
  after that day. A theme about events that began then (``russia_ukraine_war``: 2014-02-20) then finds
  nothing in the speeches of the decades before, where its names ("Ukraine", "Crimea", "Russian
  troops") meant something else.
- The rule language of :mod:`helpers.annotation.rule_language`, kept in data files: ``a NEAR/k b`` under
  ``terms`` (proximity, either order, at most k words between); ``@NAME`` in ``terms`` or
  ``exclude`` (every full name and short form of NAME in the file named by the codebook's
  top-level ``aliases:``); every word of every term also matches its spelling variants from the
  file named by ``spelling:`` (both paths relative to the codebook).

:func:`load_codebook` validates the whole file against :data:`THEME_FIELDS` before anything
runs and raises :class:`~helpers.errors.CodebookError` naming the file, the line, the theme
and the problem. :func:`codebook_to_qdc` exports the codebook as a REFI-QDA codebook.

Command line: ``python -m helpers.annotation.codebook --codebook data/codebook.yml [--qdc out.qdc]``
checks a codebook, prints a summary, and optionally writes the ``.qdc`` export.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from helpers.errors import CodebookError, run_cli
from helpers.io import not_utf8, write_text
from helpers.annotation.rule_language import NearRule, Spelling, load_aliases, load_spelling, parse_near, word_variants
from helpers.safe_regex import PatternError, boundary_problems, compile_pattern

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Speaker scopes a regex rule may have: value -> what it means.
SPEAKER_SCOPES = {"organizations": "the speaker is an organisation, not a state",
                  "states": "the speaker is a state (its organization is a country)"}
TERM_RE = re.compile(r"^=?[\w][\w '/\-]*\*?$")

#: Fields of a theme: name -> (required, expected type, description).
THEME_FIELDS: dict[str, tuple[bool, type | tuple[type, ...], str]] = {
    "id": (True, str, "lower-case identifier: letters, digits and '_', starting with a letter"),
    "label": (True, str, "short human-readable name"),
    "definition": (True, str, "one sentence saying what the theme covers"),
    "group": (True, str, "one of the ids declared under 'groups'"),
    "terms": (False, list, "list of words or phrases (see the rule syntax)"),
    "regex": (False, list, "list of Python regular expressions (each may be {pattern: ..., speakers: organizations|states})"),
    "exclude": (False, list, "list of phrases whose occurrences do not count"),
    "from": (False, (str, int, dt.date), "first date (YYYY-MM-DD, or a year) of the documents the theme's rules may code"),
}
TOP_FIELDS: dict[str, tuple[bool, type | tuple[type, ...], str]] = {
    "name": (False, str, "name of the codebook"),
    "version": (False, (str, int, float), "version label"),
    "description": (False, str, "free text"),
    "groups": (True, dict, "mapping of group id -> label"),
    "themes": (True, list, "list of themes"),
    "aliases": (False, str, "alias file (relative to the codebook): NAME: [full name, short form, ...], used as @NAME"),
    "spelling": (False, str, "spelling-variant file (relative to the codebook): words and word endings matched both ways"),
}
QDC_NAMESPACE = "urn:QDA-XML:codebook:1.0"
_GUID_NAMESPACE = uuid.UUID("6f1c2b4e-8d1a-4f0e-9a51-3c1b8e7d2a90")


@dataclass(frozen=True)
class Term:
    """One word or phrase rule as written in the codebook, parsed.

    ``words``: the lower-cased words of the phrase (hyphens, slashes and apostrophes split
    words); ``prefix``: the last word is a prefix wildcard; ``inflect``: regular plurals and
    spelling variants of the last word also match.
    """

    source: str
    words: tuple[str, ...]
    prefix: bool
    inflect: bool
    #: other spellings of ``words`` (``spelling:`` file of the codebook, :mod:`helpers.annotation.rule_language`)
    variants: tuple[tuple[str, ...], ...] = ()

    def forms(self) -> list[tuple[str, ...]]:
        """All word sequences this term matches exactly (the prefix word left as the prefix)."""
        bases = [self.words] + [v for v in self.variants if v != self.words]
        if self.prefix or not self.inflect:
            return bases
        out: list[tuple[str, ...]] = []
        for words in bases:
            for w in inflections(words[-1]):
                if words[:-1] + (w,) not in out:
                    out.append(words[:-1] + (w,))
        return out


@dataclass(frozen=True)
class Theme:
    """One theme of the codebook with its parsed rules."""

    id: str
    label: str
    definition: str
    group: str
    terms: tuple[Term, ...]
    regex: tuple[str, ...]
    exclude: tuple[Term, ...]
    line: int = 0
    #: per ``regex`` item: "" (any speaker), "organizations" or "states" (see the rule syntax)
    regex_speakers: tuple[str, ...] = ()
    #: proximity rules (``a NEAR/k b`` under ``terms``; :mod:`helpers.annotation.rule_language`)
    near: tuple[NearRule, ...] = ()
    #: ``from``: the rules code only documents dated on or after this day (YYYY-MM-DD; "" = any date)
    from_date: str = ""

    def speakers_of(self, k: int) -> str:
        """Speaker scope of the theme's ``k``-th regex: "", "organizations" or "states"."""
        return self.regex_speakers[k] if k < len(self.regex_speakers) else ""


@dataclass(frozen=True)
class Codebook:
    """A validated codebook: its groups (id -> label) and themes in file order."""

    path: str
    name: str
    version: str
    groups: dict[str, str]
    themes: tuple[Theme, ...]
    _by_id: dict[str, Theme] = field(default_factory=dict, repr=False, compare=False)
    #: problems that do not stop the build (a rule that may never match), each naming theme, rule and line
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        self._by_id.update({t.id: t for t in self.themes})

    @property
    def theme_ids(self) -> list[str]:
        """Theme ids in codebook order."""
        return [t.id for t in self.themes]

    def theme(self, theme_id: str) -> Theme:
        """The theme with id ``theme_id``; :class:`CodebookError` if there is none."""
        try:
            return self._by_id[theme_id]
        except KeyError:
            raise CodebookError(
                f"{self.path}: unknown theme '{theme_id}'. Known themes: {', '.join(self.theme_ids)}."
            ) from None

    def __contains__(self, theme_id: object) -> bool:
        return theme_id in self._by_id

    def to_frame(self) -> pd.DataFrame:
        """The themes as a table.

        Columns: ``theme`` (str, id), ``label`` (str), ``group`` (str, group id),
        ``group_label`` (str), ``definition`` (str), ``n_terms``, ``n_regex``, ``n_exclude``
        (int, number of rules of each kind).
        """
        return pd.DataFrame(
            [
                {
                    "theme": t.id,
                    "label": t.label,
                    "group": t.group,
                    "group_label": self.groups[t.group],
                    "definition": t.definition,
                    "n_terms": len(t.terms),
                    "n_regex": len(t.regex),
                    "n_exclude": len(t.exclude),
                }
                for t in self.themes
            ],
            columns=["theme", "label", "group", "group_label", "definition", "n_terms", "n_regex", "n_exclude"],
        )


def inflections(word: str) -> list[str]:
    """Regular forms of ``word``: itself, plurals, and -ization/-isation, -ize/-ise spellings.

    >>> inflections("policy")
    ['policy', 'policies', 'policys']
    """
    bases = [word]
    for a, b in (("ization", "isation"), ("isation", "ization")):
        if a in word:
            bases.append(word.replace(a, b))
    for a, b in (("ize", "ise"), ("ise", "ize")):
        if word.endswith(a) and len(word) > 5:
            bases.append(word[: -len(a)] + b)
    out: list[str] = []
    for base in bases:
        forms = [base]
        if base[-1:].isalpha():
            if base.endswith("y") and len(base) > 2 and base[-2] not in "aeiou":
                forms.append(base[:-1] + "ies")
            if base.endswith(("s", "x", "z", "ch", "sh")):
                forms.append(base + "es")
            forms.append(base + "s")
        for f in forms:
            if f not in out:
                out.append(f)
    return out


def parse_term(raw: str) -> Term:
    """Parse one rule string (``terror*``, ``=trainings``, ``foreign terrorist fighter``).

    Raises ValueError with the problem if the string does not follow the term syntax.
    """
    text = " ".join(raw.split())
    if not TERM_RE.match(text):
        raise ValueError(
            "terms may contain letters, digits, spaces, hyphens, slashes and apostrophes, "
            "an optional leading '=' and an optional final '*'; use 'regex' for anything else"
        )
    inflect = not text.startswith("=")
    prefix = text.endswith("*")
    body = text.lstrip("=").rstrip("*").lower()
    words = tuple(w for w in re.split(r"[\s'/\-]+", body) if w)
    if not words:
        raise ValueError("the term has no word")
    if prefix and (len(words[-1]) < 3 or body.endswith((" ", "-", "/", "'"))):
        raise ValueError("a prefix wildcard needs at least three characters of a word before '*'")
    return Term(source=raw, words=words, prefix=prefix, inflect=inflect)


class _LineLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser: 10x faster on a 2,000-line codebook
    """Safe YAML loader that records each mapping's line and refuses duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in seen:
            raise CodebookError(
                f"{loader.name}, line {line}: key '{key}' appears twice in the same mapping "
                f"(first at line {seen[key]}). Remove or rename one of them."
            )
        seen[key] = line
    mapping = loader.construct_mapping(node, deep=deep)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


class _Lines(list):
    """A YAML sequence that remembers the line of each of its items (``lines``)."""

    lines: list[int]


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode, deep: bool = False) -> _Lines:
    items = _Lines(loader.construct_sequence(node, deep=True))
    items.lines = [item.start_mark.line + 1 for item in node.value]
    return items


def _construct_timestamp(loader: _LineLoader, node: yaml.ScalarNode) -> object:
    """An unquoted date (a theme's ``from: 2014-02-20``); one that is no real day is refused with its line."""
    try:
        return loader.construct_yaml_timestamp(node)
    except ValueError as exc:
        raise yaml.constructor.ConstructorError(None, None, f"'{node.value}' is not a real date ({exc}): write a real day as YYYY-MM-DD",
                                                node.start_mark) from None


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)
_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


def _type_name(t: type | tuple[type, ...]) -> str:
    names = {str: "text", list: "a list", dict: "a mapping", int: "a number", float: "a number", dt.date: "a date"}
    if isinstance(t, tuple):
        return " or ".join(dict.fromkeys(names[x] for x in t))
    return names[t]


def _check_fields(obj: dict, spec: dict, where: str) -> None:
    for name, (required, typ, desc) in spec.items():
        if name not in obj:
            if required:
                raise CodebookError(f"{where}: field '{name}' is missing. Expected {desc}.")
            continue
        value = obj[name]
        if not isinstance(value, typ) or (typ is str and not value.strip()):
            raise CodebookError(
                f"{where}: field '{name}' must be {_type_name(typ)} ({desc}). Got {value!r} instead."
            )
    unknown = sorted(k for k in obj if k not in spec and k != "__line__")
    if unknown:
        raise CodebookError(
            f"{where}: unknown field(s) {', '.join(repr(k) for k in unknown)}. "
            f"Allowed fields: {', '.join(spec)}."
        )


@dataclass(frozen=True)
class _RuleData:
    """The codebook's rule-language data: aliases (name -> forms) and spelling variants, each with its file."""

    aliases: dict[str, tuple[str, ...]] | None = None
    aliases_path: str = ""
    spelling: Spelling | None = None


def _with_variants(term: Term, data: _RuleData) -> Term:
    variants = tuple(v for v in word_variants(term.words, term.prefix, data.spelling) if v != term.words)
    return Term(term.source, term.words, term.prefix, term.inflect, variants) if variants else term


def _rule_terms(item: str, kind: str, data: _RuleData, at: str, where: str) -> list[Term]:
    """The terms of one ``terms``/``exclude`` item: one, or all forms of an ``@NAME`` alias."""
    if not item.startswith("@"):
        return [_with_variants(parse_term(item), data)]
    name = item[1:].strip()
    if data.aliases is None:
        raise CodebookError(f"{where}: {kind} item {item!r}{at} names an alias, but the codebook declares no "
                            "aliases file. Add 'aliases: aliases.yml' (relative to the codebook) at its top.")
    if name not in data.aliases:
        raise CodebookError(f"{where}: {kind} item {item!r}{at} names an unknown alias '{name}'. "
                            f"Aliases in {data.aliases_path}: {', '.join(data.aliases)}.")
    out = []
    for form in data.aliases[name]:
        try:
            t = parse_term(form)
        except ValueError as exc:
            raise CodebookError(f"{where}: {kind} item {item!r}{at}: alias form {form!r} in {data.aliases_path} "
                                f"is not valid: {exc}.") from None
        out.append(_with_variants(Term(item, t.words, t.prefix, t.inflect), data))
    return out


def _near_side(text: str, data: _RuleData) -> tuple[list[tuple[str, ...]], bool]:
    """Forms and prefix flag of one side of a proximity rule (an alias side is all its forms)."""
    terms = _rule_terms(text, "terms", data, "", "") if text.startswith("@") else [_with_variants(parse_term(text), data)]
    forms = [f for t in terms for f in t.forms()]
    prefixes = {t.prefix for t in terms}
    if len(prefixes) > 1:
        raise ValueError("an alias used in a proximity rule cannot mix prefix and whole-word forms")
    return forms, prefixes.pop()


def _parse_theme(raw: dict, path: str, groups: dict[str, str], data: _RuleData | None = None,
                 warnings: list[str] | None = None) -> Theme:
    line = raw.get("__line__", 0)
    tid = raw.get("id")
    where = f"{path}, line {line}, theme '{tid}'" if isinstance(tid, str) else f"{path}, line {line}, theme #?"
    _check_fields(raw, THEME_FIELDS, where)
    if not ID_RE.match(tid):
        raise CodebookError(f"{where}: id must be lower-case letters, digits and '_', starting with a letter.")
    if raw["group"] not in groups:
        raise CodebookError(
            f"{where}: unknown group '{raw['group']}'. Declared groups: {', '.join(groups)}. "
            "Use one of them or declare the group under 'groups'."
        )
    data = data or _RuleData()
    parsed: dict[str, list] = {"terms": [], "regex": [], "exclude": []}
    near: list[NearRule] = []
    speakers: list[str] = []
    for kind in ("terms", "regex", "exclude"):
        items = raw.get(kind) or []
        lines = getattr(items, "lines", [])  # each item's own line, when read from a file
        for i, item in enumerate(items, start=1):
            scope, at = "", f" (line {lines[i - 1]})" if i <= len(lines) else ""
            if kind == "regex" and isinstance(item, dict):
                item, scope = _scoped_regex(item, f"{where}: regex item {i}{at}")
            if not isinstance(item, str) or not item.strip():
                raise CodebookError(f"{where}: {kind} item {i}{at} must be non-empty text. Got {item!r} instead.")
            if kind == "regex":
                try:
                    compiled = re.compile(item, re.IGNORECASE)
                    re.compile(f"(?:{item})|x", re.IGNORECASE)  # must also work inside the combined pattern
                except re.error as exc:
                    raise CodebookError(f"{where}: regex '{item}'{at} does not compile: {exc}.") from None
                if compiled.groups:
                    raise CodebookError(
                        f"{where}: regex '{item}'{at} has a capturing group; write (?:...) instead of (...)."
                    )
                if compiled.match(""):
                    raise CodebookError(f"{where}: regex '{item}'{at} matches the empty text; it must match a word.")
                _check_linear(item, where, at, warnings)
                parsed[kind].append(item)
                speakers.append(scope)
            else:
                try:
                    rule = parse_near(item, lambda text: _near_side(text, data))
                except ValueError as exc:
                    raise CodebookError(f"{where}: {kind} item {item!r}{at} is not valid: {exc}.") from None
                if rule is not None:
                    if kind != "terms":
                        raise CodebookError(f"{where}: {kind} item {item!r}{at}: proximity (NEAR/k) rules are "
                                            "allowed under 'terms' only.")
                    near.append(rule)
                    continue
                try:
                    parsed[kind].extend(_rule_terms(item.strip(), kind, data, at, where))
                except ValueError as exc:
                    raise CodebookError(f"{where}: {kind} item {item!r}{at} is not valid: {exc}.") from None
    if not parsed["terms"] and not parsed["regex"] and not near:
        raise CodebookError(f"{where}: the theme has no rule. Give it at least one entry under 'terms' or 'regex'.")
    return Theme(
        id=tid,
        label=raw["label"].strip(),
        definition=" ".join(raw["definition"].split()),
        group=raw["group"],
        terms=tuple(parsed["terms"]),
        regex=tuple(parsed["regex"]),
        exclude=tuple(parsed["exclude"]),
        line=line,
        regex_speakers=tuple(speakers) if any(speakers) else (),
        near=tuple(near),
        from_date=_from_date(raw.get("from"), where),
    )


def _from_date(value: object, where: str) -> str:
    """A theme's ``from`` (a date, YYYY-MM-DD text or a year) as YYYY-MM-DD; "" when absent."""
    if value is None:
        return ""
    if isinstance(value, dt.date):  # YAML reads an unquoted 2014-02-20 as a date
        return (value.date() if isinstance(value, dt.datetime) else value).isoformat()
    text = str(value).strip()
    if re.fullmatch(r"\d{4}", text):
        return f"{text}-01-01"
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise CodebookError(f"{where}: field 'from' must be a day (YYYY-MM-DD, e.g. 2014-02-20) or a year (e.g. 2014). "
                        f"Got {value!r} instead.")


def _check_linear(pattern: str, where: str, at: str, warnings: list[str] | None) -> None:
    """Refuse a regex RE2 cannot run in linear time (:mod:`helpers.safe_regex`), or whose ``\\b``
    RE2 cannot check; note one that may never match in ``warnings``."""
    try:
        compile_pattern(pattern, ignorecase=True)
    except PatternError as exc:
        raise CodebookError(f"{where}: regex '{pattern}'{at} {exc}.") from None
    errors, notes = boundary_problems(pattern, re.IGNORECASE)
    if errors:
        raise CodebookError(f"{where}: regex '{pattern}'{at}: {errors[0]}.")
    if warnings is not None:
        warnings.extend(f"{where}: regex '{pattern}'{at}: {note}." for note in dict.fromkeys(notes))


def _scoped_regex(item: dict, at: str) -> tuple[object, str]:
    """A regex item written as a mapping ``{pattern: ..., speakers: ...}`` -> (pattern, scope);
    ``at`` names the item in error messages."""
    fields = {k: v for k, v in item.items() if k != "__line__"}
    unknown = sorted(set(fields) - {"pattern", "speakers"})
    if unknown or "pattern" not in fields or "speakers" not in fields:
        raise CodebookError(f"{at} must be a pattern, or a mapping with exactly 'pattern' and 'speakers'. "
                            f"Got keys {', '.join(map(repr, fields)) or 'none'} instead.")
    scope = fields["speakers"]
    if scope not in SPEAKER_SCOPES:
        raise CodebookError(f"{at}: speakers must be one of {', '.join(SPEAKER_SCOPES)}. Got {scope!r} instead.")
    return fields["pattern"], scope


def parse_codebook(data: object, path: str = "<codebook>") -> Codebook:
    """Validate already-loaded YAML data (as produced by :func:`load_codebook`'s loader).

    Input: the mapping read from the YAML file; ``path`` is used in error messages.
    Output: a :class:`Codebook`. Raises :class:`CodebookError` on the first problem.
    """
    if not isinstance(data, dict):
        got = "list" if isinstance(data, list) else type(data).__name__  # a YAML sequence is a list subclass (_Lines)
        raise CodebookError(f"{path}: a codebook must be a mapping with 'groups' and 'themes'. Got {got} instead.")
    _check_fields(data, TOP_FIELDS, path)
    groups_raw = {k: v for k, v in data["groups"].items() if k != "__line__"}
    if not groups_raw:
        raise CodebookError(f"{path}: 'groups' is empty. Declare at least one group id -> label.")
    for gid, glabel in groups_raw.items():
        if not isinstance(gid, str) or not ID_RE.match(gid) or not isinstance(glabel, str) or not glabel.strip():
            raise CodebookError(
                f"{path}, groups: entry {gid!r}: {glabel!r} must be a lower-case id mapped to a non-empty label."
            )
    base = Path(path).parent
    rule_data = _RuleData(
        aliases=load_aliases(base / data["aliases"]) if "aliases" in data else None,
        aliases_path=str(base / data["aliases"]) if "aliases" in data else "",
        spelling=load_spelling(base / data["spelling"]) if "spelling" in data else None,
    )
    themes: list[Theme] = []
    warnings: list[str] = []
    first_line: dict[str, int] = {}
    for i, raw in enumerate(data["themes"], start=1):
        if not isinstance(raw, dict):
            raise CodebookError(f"{path}, themes item {i}: each theme must be a mapping. Got {raw!r} instead.")
        theme = _parse_theme(raw, path, groups_raw, rule_data, warnings)
        if theme.id in first_line:
            raise CodebookError(
                f"{path}, line {theme.line}, theme '{theme.id}': duplicate id (first defined at line "
                f"{first_line[theme.id]}). Theme ids must be unique."
            )
        first_line[theme.id] = theme.line
        themes.append(theme)
    if not themes:
        raise CodebookError(f"{path}: 'themes' is empty. Define at least one theme.")
    return Codebook(
        path=path,
        name=str(data.get("name", Path(path).stem)),
        version=str(data.get("version", "")),
        groups=groups_raw,
        themes=tuple(themes),
        warnings=tuple(dict.fromkeys(warnings)),
    )


def load_codebook(path: str | Path) -> Codebook:
    """Read and validate the YAML codebook at ``path``.

    Output: a :class:`Codebook`. Raises :class:`CodebookError` naming the file, the line,
    the theme and the problem (YAML syntax, missing or mistyped field, duplicate id or key,
    unknown group, a regex that does not compile, a term that breaks the syntax, a theme
    with no rule).
    """
    p = Path(path)
    if not p.is_file():
        raise CodebookError(f"{p}: codebook file not found. Pass an existing YAML file (e.g. data/codebook.yml).")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CodebookError(not_utf8(p, p.read_bytes(), "the codebook")) from None
    loader = _LineLoader(text)
    loader.name = str(p)
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CodebookError(f"{p}{line}: invalid YAML: {exc.problem or exc.context}. Fix the syntax there.") from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{p}: invalid YAML: {exc}.") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:  # a date that is not a day, ...
        raise CodebookError(f"{p}: a value cannot be read ({exc}). Fix it or put it in quotes.") from None
    finally:
        loader.dispose()
    return parse_codebook(data, str(p))


def _guid(*parts: str) -> str:
    return str(uuid.uuid5(_GUID_NAMESPACE, "/".join(parts))).upper()


def codebook_to_qdc(codebook: Codebook) -> str:
    """The codebook as REFI-QDA codebook XML (``.qdc``, namespace ``urn:QDA-XML:codebook:1.0``).

    Each group becomes a non-codable parent code and each theme a codable child code whose
    description holds the theme id and definition. GUIDs are derived from the ids, so the
    same codebook always gives the same file.
    """
    ET.register_namespace("", QDC_NAMESPACE)
    ns = "{" + QDC_NAMESPACE + "}"
    root = ET.Element(ns + "CodeBook", {"origin": "helpers.annotation.codebook"})
    codes = ET.SubElement(root, ns + "Codes")
    for gid, glabel in codebook.groups.items():
        members = [t for t in codebook.themes if t.group == gid]
        if not members:
            continue
        gnode = ET.SubElement(codes, ns + "Code", {"guid": _guid("group", gid), "name": glabel, "isCodable": "false"})
        ET.SubElement(gnode, ns + "Description").text = f"Group '{gid}' of codebook {codebook.name}."
        for t in members:
            tnode = ET.SubElement(gnode, ns + "Code", {"guid": _guid("theme", t.id), "name": t.label, "isCodable": "true"})
            ET.SubElement(tnode, ns + "Description").text = f"[{t.id}] {t.definition}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_qdc(codebook: Codebook, target: str | Path) -> Path:
    """Write :func:`codebook_to_qdc` to ``target`` atomically; return the path."""
    return write_text(codebook_to_qdc(codebook), target)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.annotation.codebook", description="Check a codebook; export it as REFI-QDA.")
    parser.add_argument("--codebook", required=True, help="YAML codebook to check")
    parser.add_argument("--qdc", help="write the REFI-QDA codebook (.qdc) here")
    args = parser.parse_args(argv)
    cb = load_codebook(args.codebook)
    n_rules = sum(len(t.terms) + len(t.regex) for t in cb.themes)
    print(f"{cb.path}: {len(cb.themes)} themes in {len(cb.groups)} groups, {n_rules} rules: OK")
    if args.qdc:
        print(f"wrote {write_qdc(cb, args.qdc)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(run_cli(main))
