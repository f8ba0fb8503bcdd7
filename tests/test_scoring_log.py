"""Tests for helpers.annotation.scoring_log: the held-out scoring log."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.annotation.scoring_log import LOG_COLUMNS, held_out_row, log_held_out, sample_period
from helpers.annotation.split_agreement import agreement_by_sample

GOLD = {"p1": {"a"}, "p2": {"a", "b"}, "p3": set(), "p4": {"b"}, "p5": {"a"}, "p6": set()}
PRED = {"p1": {"a"}, "p2": {"a"}, "p3": {"a"}, "p4": {"b"}, "p5": set(), "p6": set()}
SAMPLES = {p: ("in-sample" if p in ("p1", "p2", "p3") else "held-out") for p in GOLD}


def test_log_appends_the_held_out_micro_figures(tmp_path):
    table = agreement_by_sample(GOLD, PRED, SAMPLES, ["a", "b"]).assign(annotation="rules")
    table.to_csv(tmp_path / "agreement.csv", index=False)
    (tmp_path / "cb.yml").write_text("x", encoding="utf-8")
    for note in ("first", "second"):
        log_held_out(tmp_path / "agreement.csv", tmp_path / "cb.yml", tmp_path / "log.csv", note)
    rows = list(csv.DictReader((tmp_path / "log.csv").open(encoding="utf-8")))
    assert list(rows[0]) == LOG_COLUMNS and [r["note"] for r in rows] == ["first", "second"]
    # held-out p4-p6: tp 1, fp 0, fn 1 -> precision 1, recall 0.5, F1 2/3
    assert [rows[0][c] for c in ("paragraphs", "precision", "recall", "f1")] == ["3", "1.0000", "0.5000", "0.6667"]


def test_no_held_out_rows_is_refused():
    table = agreement_by_sample(GOLD, PRED, {p: "in-sample" for p in GOLD}, ["a"]).assign(annotation="rules")
    with pytest.raises(ParameterError, match="the agreement table has no held-out or dev rows"):
        held_out_row(table)
    with pytest.raises(ParameterError, match="has no `sample` column"):
        held_out_row(pd.DataFrame({"annotation": ["rules"]}))


def test_a_scoring_records_the_dates_of_the_paragraphs_it_scored(tmp_path):
    """The held-out paragraphs' documents give the period the figures hold for (p4-p6 here: d2 and d3)."""
    scored = tmp_path / "validation_scored.csv"
    pd.DataFrame({"para_id": list(GOLD), "doc_id": ["d1", "d1", "d9", "d2", "d3", "d3"],
                  "sample": [SAMPLES[p] for p in GOLD]}).to_csv(scored, index=False)
    documents = tmp_path / "documents.csv"
    pd.DataFrame({"doc_id": ["d1", "d2", "d3", "d9"], "date": ["1946-10-01", "2016-09-20", "2023-09-19", "2030-01-01"]}).to_csv(documents, index=False)
    assert sample_period(scored, documents) == ("2016-09-20", "2023-09-19")  # d1 (in-sample) and d9 (not scored) left out
    # a log written before the two date columns and `sample` existed gets them (blank; held-out), the new row its dates
    log = tmp_path / "log.csv"
    old = LOG_COLUMNS[:-3]
    log.write_text(",".join(old) + "\n" + ",".join(["2026-01-01T00:00:00Z", "abc", "x"] + ["1"] * (len(old) - 4) + ["old note"]) + "\n",
                   encoding="utf-8")
    table = agreement_by_sample(GOLD, PRED, SAMPLES, ["a", "b"]).assign(annotation="rules")
    table.to_csv(tmp_path / "agreement.csv", index=False)
    (tmp_path / "cb.yml").write_text("x", encoding="utf-8")
    log_held_out(tmp_path / "agreement.csv", tmp_path / "cb.yml", log, "new", period=sample_period(scored, documents))
    rows = list(csv.DictReader(log.open(encoding="utf-8")))
    assert list(rows[0]) == LOG_COLUMNS
    assert [(r["note"], r["sample_from"], r["sample_to"], r["sample"]) for r in rows] == [
        ("old note", "", "", "held-out"), ("new", "2016-09-20", "2023-09-19", "held-out")]


def test_a_sample_without_held_out_rows_logs_its_dev_split(tmp_path):
    """p4-p6 relabelled dev (scored while choosing rules): the log keeps their figures, marked dev, and their dates."""
    dev = {p: ("dev" if s == "held-out" else s) for p, s in SAMPLES.items()}
    table = agreement_by_sample(GOLD, PRED, dev, ["a", "b"]).assign(annotation="rules")
    row = held_out_row(table)
    assert [row[c] for c in ("sample", "paragraphs", "precision", "recall", "f1")] == ["dev", 3, "1.0000", "0.5000", "0.6667"]
    # with a held-out split beside it, the held-out split is logged: p6 alone (no theme either side)
    both = {**dev, "p6": "held-out"}
    row = held_out_row(agreement_by_sample(GOLD, PRED, both, ["a", "b"]).assign(annotation="rules"))
    assert (row["sample"], row["paragraphs"]) == ("held-out", 1)
    scored = tmp_path / "validation_scored.csv"
    pd.DataFrame({"para_id": list(GOLD), "doc_id": ["d1", "d1", "d9", "d2", "d3", "d3"],
                  "sample": [dev[p] for p in GOLD]}).to_csv(scored, index=False)
    documents = tmp_path / "documents.csv"
    pd.DataFrame({"doc_id": ["d1", "d2", "d3", "d9"], "date": ["1946-10-01", "2016-09-20", "2023-09-19", "2030-01-01"]}).to_csv(documents, index=False)
    assert sample_period(scored, documents) == ("2016-09-20", "2023-09-19")
