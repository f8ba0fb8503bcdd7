"""Groups of speakers (CSTO, SCO, BRICS, NATO, EU members) for per-group measures.

``data/groups.yml`` lists each group's member states (ISO 3166-1 alpha-3 codes) with the
dates they joined and left, plus non-state speakers that count as the group itself, and
named sets of groups to compare at once. :func:`assign_groups` turns a ``group_by`` choice
into one row per (document, group), using each document's date, so that every frequency,
trend and overlap measure can be computed per group.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from helpers.errors import GroupsError
from helpers.io import file_stamp, read_yaml_mapping

DEFAULT_GROUPS = Path(__file__).resolve().parents[3] / "data" / "groups.yml"
REST = "rest"


class _Loader(yaml.SafeLoader):
    """SafeLoader that leaves dates as strings, so a bad date is reported with its field."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
NONE = "none"


@dataclass(frozen=True)
class Membership:
    iso3: str
    joined: dt.date
    left: dt.date | None


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    organizations: tuple[str, ...]
    members: tuple[Membership, ...]

    def contains(self, iso3: str, organization: str, day: dt.date) -> bool:
        """True if a speaker (country code or organisation name) belongs to the group on ``day``."""
        if organization in self.organizations:
            return True
        return any(m.iso3 == iso3 and m.joined <= day and (m.left is None or day < m.left) for m in self.members)


@dataclass(frozen=True)
class Groups:
    groups: dict[str, Group]
    sets: dict[str, tuple[str, ...]]
    path: str = ""

    def choices(self) -> list[str]:
        """Valid ``group_by`` values: ``organization``, every group id and every set name."""
        return ["organization", *self.groups, *self.sets]


def _date(value: object, where: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise GroupsError(f"{where}: '{value}' is not a date in YYYY-MM-DD form.") from None


def load_groups(path: str | Path | None = None) -> Groups:
    """Read and validate a groups YAML file (default ``data/groups.yml``).

    Raises :class:`GroupsError` naming the file, group and field for bad YAML, a group with
    no members, a member without a three-letter ``iso3`` or with a bad date, a member that
    left before it joined, or a set naming an unknown group. A file read before and unchanged
    since (same size and modification time) is not parsed again: a briefing section asks for it
    several times.
    """
    path = Path(path) if path else DEFAULT_GROUPS
    stamp = file_stamp(path)
    if stamp == (-1, -1):
        return _load_groups(path)  # raises the message naming the missing file
    return _load_groups_once(str(path), stamp)


@functools.lru_cache(maxsize=8)
def _load_groups_once(path: str, stamp: tuple[int, int]) -> Groups:
    return _load_groups(Path(path))


def _load_groups(path: Path) -> Groups:
    data = read_yaml_mapping(path, GroupsError, "groups file not found. Restore data/groups.yml or pass GROUPS=<file>.",
                             "groups, group_sets", loader=_Loader)
    groups: dict[str, Group] = {}
    for gid, spec in (data.get("groups") or {}).items():
        where = f"{path}: group '{gid}'"
        if not isinstance(spec, dict) or not (spec.get("members") or spec.get("organizations")):
            raise GroupsError(f"{where}: needs a 'members' list (iso3, joined[, left]) or 'organizations'.")
        members = []
        for i, m in enumerate(spec.get("members") or []):
            mw = f"{where}, member {i + 1}"
            iso3 = str((m or {}).get("iso3", ""))
            if len(iso3) != 3 or not iso3.isalpha() or not iso3.isupper():
                raise GroupsError(f"{mw}: 'iso3' must be a three-letter ISO 3166-1 alpha-3 code, found '{iso3}'.")
            joined = _date(m.get("joined"), f"{mw} ({iso3}), field 'joined'")
            left = _date(m["left"], f"{mw} ({iso3}), field 'left'") if m.get("left") else None
            if left and left <= joined:
                raise GroupsError(f"{mw} ({iso3}): 'left' {left} is not after 'joined' {joined}.")
            members.append(Membership(iso3, joined, left))
        groups[str(gid)] = Group(str(gid), str(spec.get("name", gid)), tuple(map(str, spec.get("organizations") or [])), tuple(members))
    sets: dict[str, tuple[str, ...]] = {}
    for name, ids in (data.get("group_sets") or {}).items():
        unknown = [g for g in ids or [] if g not in groups]
        if unknown or not ids:
            raise GroupsError(f"{path}: group set '{name}' names unknown group(s) {unknown or '(none given)'}; groups are {', '.join(groups)}.")
        if name in groups or name == "organization":
            raise GroupsError(f"{path}: group set '{name}' has the same name as a group; rename it.")
        sets[str(name)] = tuple(map(str, ids))
    return Groups(groups, sets, str(path))


def assign_groups(documents: pd.DataFrame, group_by: str, groups: Groups | None = None) -> pd.DataFrame:
    """One row per (document, group) for the ``group_by`` choice.

    ``documents`` needs ``doc_id``, ``organization``, ``date`` (YYYY-MM-DD) and, for state
    groups, ``iso3``. ``group_by``: ``organization`` (group = the organisation); a group id
    (e.g. ``CSTO``: members on the document's date vs ``rest``); or a set name (e.g.
    ``blocs``: every group of the set the speaker belongs to on that date, or ``none``).
    Returns columns ``doc_id`` (str) and ``group`` (str), sorted by document order then group.
    """
    groups = groups or load_groups()
    if group_by not in groups.choices():
        raise GroupsError(f"group_by must be one of {{{', '.join(repr(c) for c in groups.choices())}}}. Got {group_by!r} instead.")
    docs = documents.drop_duplicates("doc_id")
    if group_by == "organization":
        return pd.DataFrame({"doc_id": docs["doc_id"].astype(str).values, "group": docs["organization"].astype(str).values})
    ids = (group_by,) if group_by in groups.groups else groups.sets[group_by]
    iso = docs["iso3"].fillna("").astype(str) if "iso3" in docs else pd.Series([""] * len(docs), index=docs.index)
    rows = []
    for doc_id, org, code, date in zip(docs["doc_id"], docs["organization"], iso, docs["date"]):
        day = dt.date.fromisoformat(str(date))
        hits = [g for g in ids if groups.groups[g].contains(code, str(org), day)]
        if not hits:
            hits = [REST if group_by in groups.groups else NONE]
        rows.extend({"doc_id": str(doc_id), "group": g} for g in hits)
    return pd.DataFrame(rows, columns=["doc_id", "group"])
