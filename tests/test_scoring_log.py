"""Tests for helpers.annotation.scoring_log: the held-out scoring log."""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.annotation.scoring_log import LOG_COLUMNS, held_out_row, log_held_out
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
    with pytest.raises(ParameterError, match="the agreement table has no held-out rows"):
        held_out_row(table)
    with pytest.raises(ParameterError, match="has no `sample` column"):
        held_out_row(pd.DataFrame({"annotation": ["rules"]}))
