"""Parameters of the briefing notebooks: defaults, parameter files and validation.

Every notebook in ``notebooks/`` has one cell tagged ``parameters`` that assigns exactly the
names in :data:`DEFAULTS`. papermill overrides them from a YAML file
(``make report PARAMS=file.yml``), and the notebook's first code cell passes them through
:func:`validate_params`, so a typo in a parameter file, an organisation or theme that is not
in the data, or a selection that leaves nothing to report stops the build with one clear
:class:`~helpers.errors.ParameterError` instead of an empty or misleading briefing.

Checks happen in two steps:

- :func:`check_names_and_types` needs no data: unknown names, wrong types, malformed dates,
  ``date_from`` after ``date_to``, non-positive counts.
- :func:`validate_params` adds the checks against the data: organisations and theme ids that
  exist, and a selection with at least one body paragraph.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from helpers.errors import ParameterError

#: Every parameter a notebook accepts, with its default. ``organizations`` and ``themes``
#: default to ``[]``, meaning "all"; ``date_from``/``date_to`` default to ``None`` (no bound).
#: ``group_by`` is ``organization`` or a group id / group set of the ``groups`` file
#: (``data/groups.yml``); ``build`` is the ingest folder (``build/<corpus>``, passed by make),
#: ``None`` to read the corpus in memory.
DEFAULTS: dict[str, Any] = {
    "corpus": "data",
    "codebook": "data/codebook.yml",
    "reports": "reports",
    "organizations": [],
    "date_from": None,
    "date_to": None,
    "themes": [],
    "min_reuse_words": 12,
    "top_n": 5,
    "title": "International security discourse",
    "subtitle": "What the organisations say, how often, and where their texts overlap",
    "group_by": "organization",
    "groups": "data/groups.yml",
    "build": None,
}

_PATH_NAMES = ("corpus", "codebook", "reports", "groups")
_TEXT_NAMES = ("title", "subtitle", "group_by")
_OPTIONAL_PATH_NAMES = ("build",)
_LIST_NAMES = ("organizations", "themes")
_DATE_NAMES = ("date_from", "date_to")
_INT_NAMES = {"min_reuse_words": 1, "top_n": 1}


@dataclass(frozen=True)
class Selection:
    """The validated parameters of one briefing run.

    ``organizations`` and ``themes`` are the resolved, sorted lists (all of them when the
    parameter was empty); ``all_organizations``/``all_themes`` say whether no filter was set.
    """

    corpus: str
    codebook: str
    reports: str
    organizations: tuple[str, ...]
    themes: tuple[str, ...]
    date_from: str | None
    date_to: str | None
    min_reuse_words: int
    top_n: int
    title: str
    subtitle: str
    all_organizations: bool
    all_themes: bool
    group_by: str = "organization"
    groups: str = "data/groups.yml"
    build: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The parameters as given to the notebook (lists, not tuples), for the provenance appendix."""
        return {
            "corpus": self.corpus,
            "codebook": self.codebook,
            "reports": self.reports,
            "organizations": [] if self.all_organizations else list(self.organizations),
            "date_from": self.date_from,
            "date_to": self.date_to,
            "themes": [] if self.all_themes else list(self.themes),
            "min_reuse_words": self.min_reuse_words,
            "top_n": self.top_n,
            "title": self.title,
            "subtitle": self.subtitle,
            "group_by": self.group_by,
            "groups": self.groups,
            "build": self.build,
        }


class _TextDatesLoader(yaml.SafeLoader):
    """YAML's safe loader with dates left as text: ``date_from: 2024-13-45`` is then checked (and
    reported, naming file and parameter) by :func:`check_names_and_types` instead of failing
    inside the YAML library with ``month must be in 1..12``."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_params_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a YAML parameter file (a mapping of parameter name to value) and check it.

    Input: ``path`` of a YAML file such as ``{organizations: [CSTO], top_n: 3}``.
    Output: the mapping, after :func:`check_names_and_types`. An empty file gives ``{}``.
    Raises :class:`ParameterError` naming the file when it is missing, is not YAML, is not a
    mapping, or holds an unknown name or a value of the wrong type.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path}: parameter file not found. Pass an existing YAML file, e.g. make report PARAMS=params/csto.yml.")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_TextDatesLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ParameterError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}). Fix the syntax; a parameter file is a mapping such as 'top_n: 3'.") from None
    except UnicodeDecodeError:
        from helpers.io import not_utf8

        raise ParameterError(not_utf8(path, path.read_bytes(), "the parameter file")) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a value YAML cannot build
        raise ParameterError(f"{path}: a value cannot be read ({exc}). Fix it or put it in quotes.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a mapping of parameter names to values, found a {type(data).__name__}. Write one 'name: value' per line.")
    return check_names_and_types(data, source=str(path))


def _is_date(value: str) -> bool:
    try:
        _dt.date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def _not_a_day(value: object) -> str:
    """Why a value written as YYYY-MM-DD is no date (``2024-02-30``: the month has no such day), else ''."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        year, month, day = (int(x) for x in value.split("-"))
        if not 1 <= month <= 12:
            return f": there is no month {month}"
        last = calendar.monthrange(year, month)[1] if year >= 1 else 31
        if not 1 <= day <= last:
            return f": {calendar.month_name[month]} {year} has no day {day} (it has {last} days)"
    return ""


def check_names_and_types(params: Mapping[str, Any], source: str = "parameters") -> dict[str, Any]:
    """Check parameter names and value types without looking at the data.

    Input: ``params``, a mapping of some of the names in :data:`DEFAULTS`; ``source`` names
    where they came from (a file path) for the message.
    Output: a new dict with the same keys; dates given as YAML dates become ``YYYY-MM-DD``
    strings and a single string for ``organizations``/``themes`` becomes a one-element list.
    Raises :class:`ParameterError` for an unknown name (listing the known ones), a value of
    the wrong type, a date that is not a real YYYY-MM-DD day, ``date_from`` after
    ``date_to``, or ``min_reuse_words``/``top_n`` below 1.
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        allowed = ", ".join(sorted(DEFAULTS))
        raise ParameterError(f"{source}: unknown parameter {names}. Known parameters: {allowed}.")
    out: dict[str, Any] = {}
    for name, value in params.items():
        if name in _PATH_NAMES or name in _TEXT_NAMES:
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if not isinstance(value, str) or (name not in ("title", "subtitle") and not value.strip()):
                raise ParameterError(f"{source}: parameter '{name}' must be a non-empty string. Got {value!r} instead.")
        elif name in _OPTIONAL_PATH_NAMES:
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            if value is not None and not (isinstance(value, str) and value.strip()):
                raise ParameterError(f"{source}: parameter '{name}' must be a folder path or null. Got {value!r} instead.")
        elif name in _LIST_NAMES:
            if value is None or value == "all":
                value = []
            elif isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
                raise ParameterError(f"{source}: parameter '{name}' must be a list of names (empty for all). Got {value!r} instead.")
            value = [v.strip() for v in value]
        elif name in _DATE_NAMES:
            if isinstance(value, _dt.datetime):
                value = value.date()
            if isinstance(value, _dt.date):
                value = value.isoformat()
            if value is not None and not (isinstance(value, str) and _is_date(value)):
                raise ParameterError(f"{source}: parameter '{name}' must be a date YYYY-MM-DD or null. Got {value!r} instead"
                                     f"{_not_a_day(value)}.")
        elif name in _INT_NAMES:
            if isinstance(value, bool) or not isinstance(value, int) or value < _INT_NAMES[name]:
                raise ParameterError(f"{source}: parameter '{name}' must be a whole number of at least {_INT_NAMES[name]}. Got {value!r} instead.")
        out[name] = value
    date_from, date_to = out.get("date_from"), out.get("date_to")
    if date_from and date_to and date_from > date_to:
        raise ParameterError(f"{source}: date_from {date_from} is after date_to {date_to}. Swap them or widen the range.")
    return out


def _resolve(name: str, wanted: Sequence[str], available: Iterable[str], hint: str) -> tuple[tuple[str, ...], bool]:
    available = sorted(set(available))
    if not wanted:
        return tuple(available), True
    missing = [w for w in wanted if w not in available]
    if missing:
        raise ParameterError(
            f"parameter '{name}': unknown {', '.join(repr(m) for m in missing)}. "
            f"Must be among {{{', '.join(available)}}}{hint}."
        )
    return tuple(sorted(set(wanted))), False


def validate_params(
    params: Mapping[str, Any],
    paragraphs: pd.DataFrame,
    theme_ids: Iterable[str],
) -> Selection:
    """Validate the notebook parameters against the data and return the :class:`Selection`.

    Inputs: ``params``, the parameter values (missing names take :data:`DEFAULTS`);
    ``paragraphs``, the annotated body paragraphs with at least ``organization`` (str) and
    ``date`` (str, YYYY-MM-DD); ``theme_ids``, the codebook's theme ids.
    Output: a :class:`Selection`. Raises :class:`ParameterError` for unknown parameter names,
    organisations or theme ids (listing the valid ones), or when the organisations and dates
    chosen select no body paragraph.
    """
    merged = {**DEFAULTS, **check_names_and_types(params)}
    orgs, all_orgs = _resolve("organizations", merged["organizations"], paragraphs["organization"].astype(str).unique(), " (organisations in the corpus manifest)")
    themes, all_themes = _resolve("themes", merged["themes"], theme_ids, " (theme ids in the codebook)")
    check_group_by(merged["group_by"], merged["groups"])
    selection = Selection(
        corpus=str(merged["corpus"]),
        codebook=str(merged["codebook"]),
        reports=str(merged["reports"]),
        organizations=orgs,
        themes=themes,
        date_from=merged["date_from"],
        date_to=merged["date_to"],
        min_reuse_words=int(merged["min_reuse_words"]),
        top_n=int(merged["top_n"]),
        title=str(merged["title"]),
        subtitle=str(merged["subtitle"]),
        all_organizations=all_orgs,
        all_themes=all_themes,
        group_by=str(merged["group_by"]),
        groups=str(merged["groups"]),
        build=None if merged["build"] is None else str(merged["build"]),
    )
    if select_paragraphs(paragraphs, selection).empty:
        span = f"{selection.date_from or 'the beginning'} to {selection.date_to or 'the end'}"
        raise ParameterError(
            f"the selection is empty: no body paragraph from {{{', '.join(orgs)}}} dated {span}. "
            "Widen the dates or choose other organisations."
        )
    return selection


def check_group_by(group_by: str, groups: str | os.PathLike[str]) -> None:
    """Check ``group_by`` against the choices of the groups file (:func:`helpers.corpus.groups.load_groups`).

    Valid values: ``organization``, a group id (e.g. ``CSTO``: its members against the rest)
    or a group set (e.g. ``blocs``). Raises :class:`ParameterError` listing them.
    """
    from helpers.corpus.groups import load_groups

    path = resolve_path(groups)
    choices = load_groups(path).choices()
    if group_by not in choices:
        raise ParameterError(
            f"parameter 'group_by' must be one of {{{', '.join(repr(c) for c in choices)}}} (organization, or a group or "
            f"group set of {groups}). Got {group_by!r} instead."
        )


def select_paragraphs(paragraphs: pd.DataFrame, selection: Selection) -> pd.DataFrame:
    """Rows of ``paragraphs`` whose organisation and date fall in ``selection``.

    Input: a paragraph table with ``organization`` and ``date`` (YYYY-MM-DD strings).
    Output: the matching rows, same columns, original order, index reset. Themes are not
    filtered here: the theme filter applies to what is counted, not to which paragraphs exist.
    """
    keep = paragraphs["organization"].astype(str).isin(selection.organizations)
    dates = paragraphs["date"].astype(str)
    if selection.date_from:
        keep &= dates >= selection.date_from
    if selection.date_to:
        keep &= dates <= selection.date_to
    return paragraphs.loc[keep].reset_index(drop=True)


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """Resolve a path parameter: as given when it exists from the working directory, else
    relative to the project root (JupyterLab runs notebooks from ``notebooks/``, make from
    the root, and ``corpus: data`` must mean the same folder in both)."""
    from helpers.provenance import PROJECT_ROOT

    p = Path(path)
    if p.is_absolute() or p.exists():
        return p
    candidate = PROJECT_ROOT / p
    return candidate if candidate.exists() else p
