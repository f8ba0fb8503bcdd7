"""Tests for helpers.annotation.agreement with hand-counted figures on a six-paragraph fixture."""

from __future__ import annotations

import math

import pytest

from helpers.annotation.agreement import AGREEMENT_COLUMNS, DISAGREEMENT_COLUMNS, agreement_table, binary_scores, disagreement_table

# Six paragraphs, two themes (a, b).
GOLD = {"p1": {"a"}, "p2": {"a", "b"}, "p3": set(), "p4": {"b"}, "p5": {"a"}, "p6": set()}
PRED = {"p1": {"a"}, "p2": {"a"}, "p3": {"a"}, "p4": {"b"}, "p5": set(), "p6": set(), "extra": {"a"}}
# theme a: gold p1 p2 p5, pred p1 p2 p3 -> tp 2 (p1 p2), fp 1 (p3), fn 1 (p5), tn 2 (p4 p6)
# theme b: gold p2 p4,    pred p4       -> tp 1, fp 0, fn 1 (p2), tn 4


def test_per_theme_counts_and_scores():
    t = agreement_table(GOLD, PRED, ["a", "b"]).set_index("theme")
    assert list(t.reset_index().columns) == AGREEMENT_COLUMNS
    assert t.loc["a", ["n", "gold_pos", "pred_pos", "tp", "fp", "fn", "tn"]].tolist() == [6, 3, 3, 2, 1, 1, 2]
    assert t.loc["a", "precision"] == pytest.approx(2 / 3)
    assert t.loc["a", "recall"] == pytest.approx(2 / 3)
    assert t.loc["a", "f1"] == pytest.approx(2 / 3)
    # p_o = 4/6, p_e = (3/6)(3/6) + (3/6)(3/6) = 1/2 -> kappa = (2/3 - 1/2) / (1/2) = 1/3
    assert t.loc["a", "kappa"] == pytest.approx(1 / 3)
    assert t.loc["b", ["tp", "fp", "fn", "tn"]].tolist() == [1, 0, 1, 4]
    assert t.loc["b", "precision"] == 1.0 and t.loc["b", "recall"] == 0.5
    assert t.loc["b", "f1"] == pytest.approx(2 / 3)
    # p_o = 5/6, p_e = (2/6)(1/6) + (4/6)(5/6) = 22/36 -> kappa = (30/36 - 22/36) / (14/36) = 4/7
    assert t.loc["b", "kappa"] == pytest.approx(4 / 7)


def test_overall_is_pooled_and_macro_is_mean():
    t = agreement_table(GOLD, PRED, ["a", "b"]).set_index("theme")
    o = t.loc["(overall)"]
    assert [o["n"], o["tp"], o["fp"], o["fn"], o["tn"]] == [12, 3, 1, 2, 6]
    assert o["precision"] == pytest.approx(3 / 4) and o["recall"] == pytest.approx(3 / 5)
    assert o["f1"] == pytest.approx(6 / 9)
    # p_o = 9/12, p_gold = 5/12, p_pred = 4/12, p_e = (20 + 56)/144 = 76/144 -> kappa = (108-76)/(144-76) = 32/68
    assert o["kappa"] == pytest.approx(32 / 68)
    m = t.loc["(macro)"]
    assert m["precision"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["kappa"] == pytest.approx((1 / 3 + 4 / 7) / 2)


def test_undefined_figures_are_nan():
    s = binary_scores(tp=0, fp=0, fn=0, tn=5)
    assert math.isnan(s["precision"]) and math.isnan(s["recall"]) and math.isnan(s["f1"]) and math.isnan(s["kappa"])
    s = binary_scores(tp=3, fp=0, fn=0, tn=3)
    assert s == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "kappa": 1.0}
    # macro skips undefined per-theme figures
    t = agreement_table({"p": set()}, {"p": set()}, ["a"]).set_index("theme")
    assert math.isnan(t.loc["(macro)", "precision"])


def test_disagreements():
    d = disagreement_table(GOLD, PRED, ["a", "b"])
    assert list(d.columns) == DISAGREEMENT_COLUMNS
    assert d.values.tolist() == [
        ["p2", "b", 1, 0, "missed"],
        ["p3", "a", 0, 1, "spurious"],
        ["p5", "a", 1, 0, "missed"],
    ]


def test_paragraph_missing_from_prediction_counts_as_no_theme():
    t = agreement_table({"p": {"a"}}, {}, ["a"]).set_index("theme")
    assert t.loc["a", ["tp", "fn"]].tolist() == [0, 1]
