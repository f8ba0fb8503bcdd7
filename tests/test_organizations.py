"""Tests for helpers.corpus.organizations: one canonical name per speaker."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.corpus.corpus import load_paragraphs
from helpers.errors import CorpusError
from helpers.corpus.organizations import canonicalize_manifest, load_organizations

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture(scope="module")
def resolver():
    return load_organizations()


@pytest.mark.parametrize("name,expected", [
    ("Russia", ("Russian Federation", "RUS")),
    ("Republic of Russia", ("Russian Federation", "RUS")),
    ("Russian Federation", ("Russian Federation", "RUS")),
    ("People’s Republic of China", ("China", "CHN")),
    ("Iran, Islamic Republic of", ("Iran", "IRN")),
    ("Islamic Republic of Iran", ("Iran", "IRN")),
    ("Turkey", ("Türkiye", "TUR")),
    ("Swaziland", ("Eswatini", "SWZ")),
    ("united   states of america", ("United States", "USA")),
    ("USA", ("United States", "USA")),
    ("CSTO", ("CSTO", "")),
    ("BRICS", ("BRICS", "")),
    ("CAN", ("CAN", "")),  # a three-letter organisation is not taken for a country code
])
def test_resolve(resolver, name, expected):
    assert resolver.resolve(name) == expected


def test_canonicalize_manifest_keeps_the_spelling_as_written(resolver):
    manifest = pd.DataFrame({"doc_id": ["a", "b"], "organization": ["Russia", "CSTO"]})
    out = canonicalize_manifest(manifest, resolver)
    assert out["organization"].tolist() == ["Russian Federation", "CSTO"]
    assert out["organization_as_written"].tolist() == ["Russia", "CSTO"]
    assert out["iso3"].tolist() == ["RUS", ""]


def test_default_corpus_organizations_are_unchanged():
    p = load_paragraphs(DATA)
    assert sorted(p["organization"].unique()) == ["BRICS", "CSTO", "ISW"]
    assert (p["iso3"] == "").all()


def test_unknown_code_in_the_names_file(tmp_path):
    bad = tmp_path / "orgs.yml"
    bad.write_text("aliases:\n  RUX: [Russland]\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"orgs.yml: aliases: 'RUX' is not an ISO 3166-1 alpha-3 country code"):
        load_organizations(bad)


def test_names_file_that_is_not_a_mapping_or_not_utf8(tmp_path):
    bad = tmp_path / "orgs.yml"
    bad.write_text("- Russia\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"orgs.yml: expected a mapping with keys names, aliases\."):
        load_organizations(bad)
    bad.write_bytes(b"aliases:\n  RUS: [Russie \xe9]\n")
    with pytest.raises(CorpusError, match=r"orgs.yml, line 2, column 16: not valid UTF-8 \(byte 0xe9; the file looks saved as "
                                          r"Latin-1 or Windows-1252\)\. Re-save the file as UTF-8\.$"):
        load_organizations(bad)
