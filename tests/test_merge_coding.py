"""Tests for helpers.annotation.merge_coding: coders' returned files merged into a drawn sample, judgements unchanged."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from helpers.annotation.codebook import parse_codebook
from helpers.errors import AnnotationError
from helpers.io import read_text_csv
from helpers.annotation.merge_coding import main, merge_coding, read_coding
from helpers.annotation.validation_sample import SAMPLE_COLUMNS

CB = parse_codebook({"groups": {"g": "G"}, "themes": [
    {"id": t, "label": t, "definition": t, "group": "g", "terms": [t]} for t in ("a", "b")]})
ROWS = [["p1", "d", "all", "0.5", "tune", "x", "", ""], ["p2", "d", "all", "0.5", "test", "y", "", ""],
        ["p3", "d", "all", "0.5", "test", "z", "", ""]]


def _sample(tmp_path):
    path = tmp_path / "s.csv"
    pd.DataFrame(ROWS, columns=SAMPLE_COLUMNS).to_csv(path, index=False)
    return path


def test_batches_fill_themes_and_coder_sorted_but_unchanged(tmp_path):
    (tmp_path / "b1.csv").write_text("para_id,themes\np1,b;a\np2,\n", encoding="utf-8")
    coding = read_coding(tmp_path / "b1.csv", CB, {"p1", "p2", "p3"})
    assert coding.values.tolist() == [["p1", "a;b"], ["p2", ""]]
    merged = merge_coding(pd.DataFrame(ROWS, columns=SAMPLE_COLUMNS), [("coder-a1", coding)])
    assert merged[["para_id", "themes", "coder"]].values.tolist() == [["p1", "a;b", "coder-a1"], ["p2", "", "coder-a1"],
                                                                     ["p3", "", ""]]
    with pytest.raises(AnnotationError, match="paragraph 'p1' is coded by both coder-a1 and coder-a2"):
        merge_coding(pd.DataFrame(ROWS, columns=SAMPLE_COLUMNS), [("coder-a1", coding), ("coder-a2", coding)])


def test_bad_returns_name_file_and_line(tmp_path):
    (tmp_path / "bad.csv").write_text("para_id,themes\np1,a\np9,b\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=re.escape("bad.csv, line 3: paragraph 'p9' is not in the sample.")):
        read_coding(tmp_path / "bad.csv", CB, {"p1"})
    (tmp_path / "bad.csv").write_text("para_id,themes\np1,c\n", encoding="utf-8")
    with pytest.raises(AnnotationError, match=re.escape("bad.csv, line 2: unknown theme 'c' for paragraph p1. Known themes: a, b.")):
        read_coding(tmp_path / "bad.csv", CB, {"p1"})


def test_cli_writes_the_sample_and_the_second_coder_file(tmp_path):
    sample = _sample(tmp_path)
    cb = tmp_path / "cb.yml"
    cb.write_text("groups: {g: G}\nthemes:\n" + "".join(
        f"  - {{id: {t}, label: {t}, definition: {t}, group: g, terms: [{t}]}}\n" for t in ("a", "b")), encoding="utf-8")
    (tmp_path / "b1.csv").write_text("para_id,themes\np1,a\n", encoding="utf-8")
    (tmp_path / "b2.csv").write_text("para_id,themes\np2,b\np3,\n", encoding="utf-8")
    (tmp_path / "given2.csv").write_text("para_id,text\np2,y\np3,z\n", encoding="utf-8")
    (tmp_path / "second.csv").write_text("para_id,themes\np2,a;b\n", encoding="utf-8")
    args = ["--sample", str(sample), "--codebook", str(cb), "--batch", f"coder-a1={tmp_path / 'b1.csv'}",
            "--batch", f"coder-a2={tmp_path / 'b2.csv'}", "--second", f"coder-b={tmp_path / 'second.csv'}"]
    assert main(args) == 0
    merged = read_text_csv(sample)
    assert merged[["themes", "coder"]].values.tolist() == [["a", "coder-a1"], ["b", "coder-a2"], ["", "coder-a2"]]
    second = read_text_csv(tmp_path / "s.second-coder.csv")
    assert list(second.columns) == SAMPLE_COLUMNS
    assert second[["para_id", "split", "themes", "coder"]].values.tolist() == [["p2", "test", "a;b", "coder-b"]]
    (tmp_path / "b2.csv").write_text("para_id,themes\np2,b\n", encoding="utf-8")  # p3 was given but not returned
    with pytest.raises(AnnotationError, match=r"b2\.csv: incomplete: 1 of the 2 paragraphs given in .*given2\.csv are not "
                                              r"coded \(first: p3\)\."):
        main(args[:6] + ["--batch", f"coder-a2={tmp_path / 'b2.csv'}", "--given", str(tmp_path / "b1.csv"),
                         "--given", str(tmp_path / "given2.csv")])


def _coded_sample():
    return pd.DataFrame([r[:6] + [t, "coder-a1"] for r, t in zip(ROWS, ["a", "a;b", ""])], columns=SAMPLE_COLUMNS)


def test_adjudication_settles_each_disagreement_and_marks_the_row():
    from helpers.annotation.merge_coding import settle
    second = pd.DataFrame({"para_id": ["p2", "p3"], "themes": ["a", "b"]})      # disputes: p2 b, p3 b
    decisions = pd.DataFrame({"para_id": ["p2", "p3"], "theme": ["b", "b"], "decision": ["absent", "present"]})
    out = settle(_coded_sample(), second, decisions, "adj.csv")
    assert out["themes"].tolist() == ["a", "a", "b"]
    assert out["coder"].tolist() == ["coder-a1", "coder-a1+adjudicated", "coder-a1+adjudicated"]


@pytest.mark.parametrize("decisions, message", [
    ({"para_id": ["p2"], "theme": ["a"], "decision": ["present"]},
     "adj.csv, line 2: the coders agree on 'a' for paragraph 'p2'; only disagreements are adjudicated."),
    ({"para_id": ["p2"], "theme": ["b"], "decision": ["maybe"]},
     "adj.csv, line 2: decision must be one of {present, absent}. Got 'maybe' instead."),
    ({"para_id": ["p2"], "theme": ["b"], "decision": ["present"]},
     "adj.csv: 1 disagreement(s) between the coders are not settled (first: 'b' for paragraph 'p3'). Add a decision for each."),
])
def test_adjudication_errors_name_the_line(decisions, message):
    from helpers.annotation.merge_coding import settle
    second = pd.DataFrame({"para_id": ["p2", "p3"], "themes": ["a", "b"]})
    with pytest.raises(AnnotationError) as err:
        settle(_coded_sample(), second, pd.DataFrame(decisions), "adj.csv")
    assert str(err.value) == message
