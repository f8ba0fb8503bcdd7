"""Notebook parameters: names, types, data checks and the exact messages users read."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.params import DEFAULTS, check_names_and_types, load_params_file, resolve_path, select_paragraphs, validate_params
from helpers.provenance import PROJECT_ROOT

THEMES = ["terrorism", "cyber_ict", "un_system"]


@pytest.fixture()
def paragraphs() -> pd.DataFrame:
    return pd.DataFrame({
        "para_id": ["a-p1", "a-p2", "b-p1", "c-p1", "c-p2"],
        "doc_id": ["a", "a", "b", "c", "c"],
        "organization": ["CSTO", "CSTO", "BRICS", "CSTO", "CSTO"],
        "date": ["2020-12-02", "2020-12-02", "2024-10-23", "2024-07-19", "2024-07-19"],
        "themes": ["terrorism", "", "cyber_ict;terrorism", "un_system", "terrorism"],
    })


def test_defaults_select_everything(paragraphs):
    s = validate_params({}, paragraphs, THEMES)
    assert s.organizations == ("BRICS", "CSTO")
    assert s.themes == ("cyber_ict", "terrorism", "un_system")
    assert s.all_organizations and s.all_themes
    assert len(select_paragraphs(paragraphs, s)) == 5
    assert s.as_dict() == DEFAULTS


def test_organisation_and_date_filter(paragraphs):
    s = validate_params({"organizations": ["CSTO"], "date_from": "2024-01-01"}, paragraphs, THEMES)
    chosen = select_paragraphs(paragraphs, s)
    assert chosen["para_id"].tolist() == ["c-p1", "c-p2"]
    assert not s.all_organizations
    assert s.as_dict()["organizations"] == ["CSTO"]


def test_date_to_is_inclusive(paragraphs):
    s = validate_params({"date_to": "2020-12-02"}, paragraphs, THEMES)
    assert select_paragraphs(paragraphs, s)["para_id"].tolist() == ["a-p1", "a-p2"]


def test_single_string_becomes_list(paragraphs):
    assert check_names_and_types({"organizations": "CSTO", "themes": None}) == {"organizations": ["CSTO"], "themes": []}


def test_unknown_parameter_name():
    with pytest.raises(ParameterError, match=r"^params.yml: unknown parameter 'organisations'\. Known parameters: build, codebook, corpus, date_from, date_to, group_by, groups, min_reuse_words, organizations, reports, subtitle, themes, title, top_n\.$"):
        check_names_and_types({"organisations": ["CSTO"]}, source="params.yml")


def test_unknown_organisation_lists_the_known_ones(paragraphs):
    with pytest.raises(ParameterError, match=r"^parameter 'organizations': unknown 'NATO'\. Must be among \{BRICS, CSTO\} \(organisations in the corpus manifest\)\.$"):
        validate_params({"organizations": ["CSTO", "NATO"]}, paragraphs, THEMES)


def test_unknown_theme(paragraphs):
    with pytest.raises(ParameterError, match=r"^parameter 'themes': unknown 'terror'\. Must be among \{cyber_ict, terrorism, un_system\} \(theme ids in the codebook\)\.$"):
        validate_params({"themes": ["terror"]}, paragraphs, THEMES)


def test_group_by_takes_organization_a_group_or_a_group_set(paragraphs):
    assert validate_params({}, paragraphs, THEMES).group_by == "organization"
    for choice in ("CSTO", "blocs", "eurasian"):
        s = validate_params({"group_by": choice}, paragraphs, THEMES)
        assert s.group_by == choice and s.as_dict()["group_by"] == choice


def test_unknown_group_by_lists_the_choices(paragraphs):
    with pytest.raises(ParameterError, match=(
            r"^parameter 'group_by' must be one of \{'organization', 'CSTO', 'SCO', 'BRICS', 'NATO', 'EU', 'blocs', 'eurasian'\} "
            r"\(organization, or a group or group set of data/groups\.yml\)\. Got 'bloc' instead\.$")):
        validate_params({"group_by": "bloc"}, paragraphs, THEMES)


def test_empty_selection(paragraphs):
    with pytest.raises(ParameterError, match=r"^the selection is empty: no body paragraph from \{BRICS\} dated 2025-01-01 to the end\. Widen the dates or choose other organisations\.$"):
        validate_params({"organizations": ["BRICS"], "date_from": "2025-01-01"}, paragraphs, THEMES)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"date_from": "2024-02-30"}, r"parameter 'date_from' must be a date YYYY-MM-DD or null\. Got '2024-02-30' instead: "
                                      r"February 2024 has no day 30 \(it has 29 days\)\."),
        ({"date_to": "2023-02-29"}, r"Got '2023-02-29' instead: February 2023 has no day 29 \(it has 28 days\)\."),
        ({"date_to": "24-10-23"}, r"parameter 'date_to' must be a date YYYY-MM-DD or null\. Got '24-10-23' instead\."),
        ({"top_n": 0}, r"parameter 'top_n' must be a whole number of at least 1\. Got 0 instead\."),
        ({"min_reuse_words": "12"}, r"parameter 'min_reuse_words' must be a whole number of at least 1\. Got '12' instead\."),
        ({"top_n": True}, r"parameter 'top_n' must be a whole number of at least 1\. Got True instead\."),
        ({"organizations": [1]}, r"parameter 'organizations' must be a list of names \(empty for all\)\. Got \[1\] instead\."),
        ({"corpus": ""}, r"parameter 'corpus' must be a non-empty string\. Got '' instead\."),
        ({"group_by": ""}, r"parameter 'group_by' must be a non-empty string\. Got '' instead\."),
        ({"build": 3}, r"parameter 'build' must be a folder path or null\. Got 3 instead\."),
        ({"date_from": "2024-12-01", "date_to": "2024-01-01"}, r"date_from 2024-12-01 is after date_to 2024-01-01\. Swap them or widen the range\."),
    ],
)
def test_bad_values(params, message):
    with pytest.raises(ParameterError, match=message):
        check_names_and_types(params)


def test_load_params_file(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("organizations: [CSTO]\ndate_from: 2024-01-01\ntop_n: 3\n", encoding="utf-8")
    assert load_params_file(path) == {"organizations": ["CSTO"], "date_from": "2024-01-01", "top_n": 3}
    empty = tmp_path / "empty.yml"
    empty.write_text("", encoding="utf-8")
    assert load_params_file(empty) == {}


def test_load_params_file_errors(tmp_path):
    with pytest.raises(ParameterError, match=r"missing\.yml: parameter file not found\."):
        load_params_file(tmp_path / "missing.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("top_n: [3\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"bad\.yml line \d+: not valid YAML"):
        load_params_file(bad)
    seq = tmp_path / "seq.yml"
    seq.write_text("- top_n\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"seq\.yml: expected a mapping of parameter names to values, found a list\."):
        load_params_file(seq)
    typo = tmp_path / "typo.yml"
    typo.write_text("topn: 3\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=r"typo\.yml: unknown parameter 'topn'\."):
        load_params_file(typo)


@pytest.mark.parametrize("value,shown", [("2024-13-45", "'2024-13-45' instead: there is no month 13"),
                                         ("2024-02-30", "'2024-02-30' instead: February 2024 has no day 30 \\(it has 29 days\\)"),
                                         ("2024-04-00", "'2024-04-00' instead: April 2024 has no day 0 \\(it has 30 days\\)"),
                                         ("2024-1-5", "'2024-1-5' instead")])
def test_an_impossible_date_in_a_parameter_file_names_the_file_and_parameter(tmp_path, value, shown):
    path = tmp_path / "p.yml"
    path.write_text(f"date_from: {value}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match=rf"^{re.escape(str(path))}: parameter 'date_from' must be a date YYYY-MM-DD or null\. "
                                             rf"Got {shown}\.$"):
        load_params_file(path)


def test_a_date_written_in_quotes_or_not_is_the_same(tmp_path):
    path = tmp_path / "p.yml"
    path.write_text("date_from: 2024-01-01\ndate_to: '2024-12-31'\n", encoding="utf-8")
    assert load_params_file(path) == {"date_from": "2024-01-01", "date_to": "2024-12-31"}


def test_resolve_path_falls_back_to_project_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_path("data") == PROJECT_ROOT / "data"
    (tmp_path / "data").mkdir()
    assert resolve_path("data").resolve() == (tmp_path / "data").resolve()
    assert resolve_path("no/such/thing").as_posix() == "no/such/thing"


def test_example_parameter_file_is_valid():
    params = load_params_file(PROJECT_ROOT / "notebooks" / "params" / "csto-2024.yml")
    assert params["organizations"] == ["CSTO"] and params["date_from"] == "2024-01-01"
