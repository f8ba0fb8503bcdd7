"""One canonical name per speaking organisation.

Corpora spell the same speaker in several ways ("Russia", "Russian Federation", "Republic
of Russia"). :func:`load_organizations` builds a resolver from ISO 3166 (the pycountry
package: every country's short, official and common name) and the project's alias file
``data/organizations.yml``; :func:`canonicalize_manifest` applies it to a manifest.
Organisations that are not countries (BRICS, CSTO, ISW) are kept as written.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from helpers.errors import CorpusError
from helpers.io import read_yaml_mapping

DEFAULT_ORGANIZATIONS = Path(__file__).resolve().parents[3] / "data" / "organizations.yml"


def _key(name: str) -> str:
    """Matching key: NFC, case-folded, straight apostrophes, single spaces."""
    name = unicodedata.normalize("NFC", name).replace("’", "'").replace("‘", "'")
    return " ".join(name.casefold().split())


@dataclass(frozen=True)
class OrganizationResolver:
    """Maps name variants to ``(canonical name, iso3)``; see :func:`load_organizations`."""

    by_key: dict[str, tuple[str, str]]

    def resolve(self, name: str) -> tuple[str, str]:
        """Return ``(canonical name, iso3)`` for ``name``; ``(name, "")`` when it is not a known country."""
        return self.by_key.get(_key(name), (name, ""))


def load_organizations(path: str | Path | None = None) -> OrganizationResolver:
    """Build the resolver from ISO 3166 names plus the ``names``/``aliases`` of ``path``.

    ``path`` (default ``data/organizations.yml``) has two optional mappings keyed by ISO
    3166-1 alpha-3 code: ``names`` (the canonical name to use instead of ISO's short name)
    and ``aliases`` (a list of further variants). Raises :class:`CorpusError` naming the
    file and key for bad YAML or an unknown code.
    """
    import pycountry

    path = Path(path) if path else DEFAULT_ORGANIZATIONS
    data = read_yaml_mapping(path, CorpusError, "organisation names file not found. Restore data/organizations.yml or pass another.",
                             "names, aliases")
    names = data.get("names") or {}
    aliases = data.get("aliases") or {}
    for section, mapping in (("names", names), ("aliases", aliases)):
        if not isinstance(mapping, dict):
            raise CorpusError(f"{path}: '{section}' must map ISO 3166 alpha-3 codes to {'a name' if section == 'names' else 'a list of names'}.")
        for code in mapping:
            if pycountry.countries.get(alpha_3=str(code)) is None:
                raise CorpusError(f"{path}: {section}: '{code}' is not an ISO 3166-1 alpha-3 country code (e.g. RUS, CHN, IND).")
    by_key: dict[str, tuple[str, str]] = {}
    for country in pycountry.countries:
        code = country.alpha_3
        canonical = str(names.get(code) or getattr(country, "common_name", None) or country.name)
        variants = [country.name, getattr(country, "official_name", None), getattr(country, "common_name", None), canonical]
        variants += list(aliases.get(code) or [])
        for v in variants:
            if v:
                by_key[_key(str(v))] = (canonical, code)
    return OrganizationResolver(by_key)


def canonicalize_manifest(manifest: pd.DataFrame, resolver: OrganizationResolver) -> pd.DataFrame:
    """Return a copy of ``manifest`` with canonical organisation names.

    Adds ``organization_as_written`` (str, the manifest's spelling) and ``iso3`` (str, the
    country's ISO 3166-1 alpha-3 code, "" when the organisation is not a country) and
    replaces ``organization`` by its canonical name.
    """
    out = manifest.copy()
    resolved = [resolver.resolve(str(name)) for name in out["organization"]]
    out["organization_as_written"] = out["organization"]
    out["organization"] = [r[0] for r in resolved]
    out["iso3"] = [r[1] for r in resolved]
    return out

