"""Tests for helpers.corpus.groups: membership by date, group sets, members vs the rest."""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.errors import GroupsError
from helpers.corpus.groups import assign_groups, load_groups


@pytest.fixture(scope="module")
def groups():
    return load_groups()


def _docs(rows):
    return pd.DataFrame(rows, columns=["doc_id", "organization", "iso3", "date"])


def test_brics_enlargement_of_2024_counts_from_its_date(groups):
    docs = _docs([("EGY_78_2023", "Egypt", "EGY", "2023-09-19"), ("EGY_79_2024", "Egypt", "EGY", "2024-09-24"),
                  ("ZAF_79_2024", "South Africa", "ZAF", "2024-09-24"), ("SAU_79_2024", "Saudi Arabia", "SAU", "2024-09-24")])
    got = assign_groups(docs, "BRICS", groups)
    assert got.values.tolist() == [["EGY_78_2023", "rest"], ["EGY_79_2024", "BRICS"], ["ZAF_79_2024", "BRICS"],
                                   ["SAU_79_2024", "rest"]]


def test_a_state_counts_in_every_bloc_of_a_set(groups):
    docs = _docs([("RUS", "Russian Federation", "RUS", "2024-09-24"), ("BLR23", "Belarus", "BLR", "2023-09-19"),
                  ("BLR24", "Belarus", "BLR", "2024-09-24"), ("GBR19", "United Kingdom", "GBR", "2019-09-24"),
                  ("GBR20", "United Kingdom", "GBR", "2020-09-22"), ("BRA", "Brazil", "BRA", "2024-09-24"),
                  ("CHE", "Switzerland", "CHE", "2024-09-24"), ("sec", "CSTO", "", "2024-07-19")])
    got = assign_groups(docs, "blocs", groups).groupby("doc_id", sort=False)["group"].apply(list).to_dict()
    assert got == {"RUS": ["CSTO", "SCO", "BRICS"], "BLR23": ["CSTO"], "BLR24": ["CSTO", "SCO"],
                   "GBR19": ["NATO", "EU"], "GBR20": ["NATO"], "BRA": ["BRICS"], "CHE": ["none"], "sec": ["CSTO"]}


def test_group_by_organization_is_the_identity(groups):
    docs = _docs([("a", "CSTO", "", "2024-01-01"), ("b", "BRICS", "", "2024-01-01")])
    assert assign_groups(docs, "organization", groups).values.tolist() == [["a", "CSTO"], ["b", "BRICS"]]


def test_unknown_group_by(groups):
    docs = _docs([("a", "CSTO", "", "2024-01-01")])
    with pytest.raises(GroupsError, match=r"group_by must be one of \{'organization', 'CSTO', 'SCO', 'BRICS', 'NATO', 'EU', "
                                          r"'blocs', 'eurasian'\}\. Got 'G7' instead\."):
        assign_groups(docs, "G7", groups)


@pytest.mark.parametrize("text,message", [
    ("groups:\n  X:\n    members:\n      - {iso3: RU, joined: 2001-01-01}\n",
     r"group 'X', member 1: 'iso3' must be a three-letter ISO 3166-1 alpha-3 code, found 'RU'"),
    ("groups:\n  X:\n    members:\n      - {iso3: RUS, joined: 2001-02-30}\n",
     r"group 'X', member 1 \(RUS\), field 'joined': '2001-02-30' is not a date"),
    ("groups:\n  X:\n    members:\n      - {iso3: RUS, joined: 2001-01-01, left: 2000-01-01}\n",
     r"member 1 \(RUS\): 'left' 2000-01-01 is not after 'joined' 2001-01-01"),
    ("groups:\n  X:\n    name: x\n", r"group 'X': needs a 'members' list"),
    ("groups:\n  X:\n    organizations: [X]\ngroup_sets:\n  s: [X, Y]\n", r"group set 's' names unknown group\(s\) \['Y'\]"),
    ("groups: [\n", r"not valid YAML"),
])
def test_bad_groups_files(tmp_path, text, message):
    path = tmp_path / "groups.yml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GroupsError, match=message):
        load_groups(path)


def test_groups_file_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "groups.yml"
    path.write_text("- CSTO\n- SCO\n", encoding="utf-8")
    with pytest.raises(GroupsError, match=r"groups.yml: expected a mapping with keys groups, group_sets\."):
        load_groups(path)


def test_an_unchanged_groups_file_is_parsed_once_and_an_edited_one_again(tmp_path):
    path = tmp_path / "groups.yml"
    path.write_text("groups:\n  A:\n    members:\n      - {iso3: AAA, joined: 2000-01-01}\n", encoding="utf-8")
    first = load_groups(path)
    assert load_groups(path) is first  # same size and modification time: not parsed again
    path.write_text("groups:\n  B:\n    members:\n      - {iso3: BBB, joined: 2001-01-01}\n", encoding="utf-8")
    edited = load_groups(path)
    assert list(edited.groups) == ["B"] and edited.groups["B"].members[0].iso3 == "BBB"
    path.unlink()
    with pytest.raises(GroupsError, match="groups file not found"):
        load_groups(path)
