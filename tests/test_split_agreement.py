"""Tests for helpers.annotation.split_agreement: agreement per sample (in-sample / held-out) with 95 % intervals,
on the six-paragraph fixture of test_agreement (hand-counted), and the annotate stage's use of it."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.annotation.split_agreement import INTERVAL_COLUMNS, SCORED_COLUMNS, agreement_by_sample, agreement_with_intervals

GOLD = {"p1": {"a"}, "p2": {"a", "b"}, "p3": set(), "p4": {"b"}, "p5": {"a"}, "p6": set()}
PRED = {"p1": {"a"}, "p2": {"a"}, "p3": {"a"}, "p4": {"b"}, "p5": set(), "p6": set()}
SAMPLES = {"p1": "in-sample", "p2": "in-sample", "p3": "in-sample", "p4": "held-out", "p5": "held-out", "p6": "held-out"}


def test_per_theme_precision_and_recall_have_wilson_intervals():
    t = agreement_with_intervals(GOLD, PRED, ["a", "b"]).set_index("theme")
    # theme a: precision 2/3 (n = 3). Wilson, z = 1.95996: centre (2/3 + z²/6) / (1 + z²/3) = 0.57308,
    # half z·sqrt(2/27 + z²/36) / (1 + z²/3) = 0.36542 -> [0.20766, 0.93851]
    assert t.loc["a", "precision_low"] == pytest.approx(0.20766, abs=1e-5)
    assert t.loc["a", "precision_high"] == pytest.approx(0.93851, abs=1e-5)
    # theme b: precision 1/1 -> [z²/(1+z²)... ] = [0.20655, 1]; recall 1/2 -> [0.09453, 0.90547]
    assert t.loc["b", "precision_low"] == pytest.approx(0.20655, abs=1e-5) and t.loc["b", "precision_high"] == 1.0
    assert (t.loc["b", "recall_low"], t.loc["b", "recall_high"]) == pytest.approx((0.09453, 0.90547), abs=1e-5)


def test_bootstrap_intervals_are_reproducible_and_hold_the_estimate():
    t1 = agreement_with_intervals(GOLD, PRED, ["a", "b"])
    t2 = agreement_with_intervals(GOLD, PRED, ["a", "b"])
    pd.testing.assert_frame_equal(t1, t2)
    assert list(t1.columns[-8:]) == INTERVAL_COLUMNS
    for _, r in t1.iterrows():
        for m in ("precision", "recall", "f1", "kappa"):
            assert r[f"{m}_low"] <= r[m] + 1e-12 and r[m] <= r[f"{m}_high"] + 1e-12
    o = t1.set_index("theme").loc["(overall)"]
    assert o["f1"] == pytest.approx(2 / 3) and 0 < o["f1_low"] < 2 / 3 < o["f1_high"] < 1


def test_undefined_figure_has_no_interval():
    t = agreement_with_intervals({"p": set(), "q": set()}, {}, ["a"]).set_index("theme")
    assert math.isnan(t.loc["a", "precision"]) and math.isnan(t.loc["a", "precision_low"])
    assert math.isnan(t.loc["a", "f1_high"])


def test_scores_by_sample():
    t = agreement_by_sample(GOLD, PRED, SAMPLES, ["a", "b"])
    assert list(t.columns) == SCORED_COLUMNS
    assert t["sample"].tolist() == ["in-sample"] * 4 + ["held-out"] * 4
    # in-sample p1-p3: a tp 2 (p1 p2) fp 1 (p3); b fn 1 (p2). held-out p4-p6: a fn 1 (p5); b tp 1 (p4)
    rows = t.set_index(["sample", "theme"])
    assert rows.loc[("in-sample", "a"), ["tp", "fp", "fn", "tn"]].tolist() == [2, 1, 0, 0]
    assert rows.loc[("held-out", "(overall)"), ["n", "tp", "fp", "fn", "tn"]].tolist() == [6, 1, 0, 1, 4]
    assert rows.loc[("held-out", "(overall)"), "f1"] == pytest.approx(2 / 3)
    assert rows.loc[("held-out", "(macro)"), "f1"] == pytest.approx(0.5)  # (0 + 1) / 2


def test_only_samples_present_get_rows():
    t = agreement_by_sample(GOLD, PRED, {p: "in-sample" for p in GOLD}, ["a"])
    assert set(t["sample"]) == {"in-sample"} and len(t) == 3
