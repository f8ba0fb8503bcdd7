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


def test_a_dev_split_is_scored_apart_and_stands_in_for_a_missing_held_out_one():
    from helpers.annotation.split_agreement import SPLIT_SAMPLE, reference_sample

    assert SPLIT_SAMPLE["dev"] == "dev" and SPLIT_SAMPLE["test"] == "held-out" and SPLIT_SAMPLE["tune"] == "in-sample"
    three = {**SAMPLES, "p6": "dev"}
    t = agreement_by_sample(GOLD, PRED, three, ["a", "b"])
    # rows in the order in-sample, dev, held-out; dev p6 (no theme either side), held-out p4 p5
    assert t["sample"].tolist() == ["in-sample"] * 4 + ["dev"] * 4 + ["held-out"] * 4
    rows = t.set_index(["sample", "theme"])
    assert rows.loc[("dev", "(overall)"), ["n", "tp", "fp", "fn", "tn"]].tolist() == [2, 0, 0, 0, 2]
    assert rows.loc[("held-out", "(overall)"), ["n", "tp", "fp", "fn", "tn"]].tolist() == [4, 1, 0, 1, 2]
    assert reference_sample(three.values()) == "held-out"
    assert reference_sample(["in-sample", "dev"]) == "dev"
    assert reference_sample(["in-sample"]) is None and reference_sample([]) is None


def test_only_samples_present_get_rows():
    t = agreement_by_sample(GOLD, PRED, {p: "in-sample" for p in GOLD}, ["a"])
    assert set(t["sample"]) == {"in-sample"} and len(t) == 3


def test_periods_hold_about_equal_numbers_of_paragraphs_and_never_cut_a_year():
    from helpers.annotation.split_agreement import periods_of

    # 237 paragraphs, three a year: cuts where 79 and 158 are first reached (1972: 81, 1998: 159)
    assert periods_of(list(range(1946, 2025)) * 3) == [(1946, 1972), (1973, 1998), (1999, 2024)]
    # 160 paragraphs: three periods would leave the last empty (1980 already holds 100); two of 100 and 60
    assert periods_of([1946] * 10 + [1960] * 40 + [1980] * 50 + [2000] * 60) == [(1946, 1980), (2000, 2000)]
    # a second period of 20 paragraphs is too small to score (< 30): one period
    assert periods_of([2015] * 50 + [2016] * 20) == [(2015, 2016)]
    assert periods_of([2015] * 100) == [(2015, 2015)]
    assert periods_of([]) == []


def test_agreement_by_period_scores_each_period_on_its_own_paragraphs():
    from helpers.annotation.split_agreement import PERIOD_COLUMNS, agreement_by_period
    from helpers.report.findings import period_finding

    gold = {f"p{i}": {"a"} for i in range(60)}
    # 1950: the rules find the theme in 15 of 30 paragraphs; 2020: in all 30, and add a wrong one to 3
    rules = {f"p{i}": ({"a"} if i >= 15 else set()) | ({"b"} if i >= 57 else set()) for i in range(60)}
    years = {f"p{i}": 1950 if i < 30 else 2020 for i in range(60)}
    table = agreement_by_period(gold, {"rules": rules, "final": rules}, years, ["a", "b"], n_bootstrap=200)
    assert table.columns.tolist() == PERIOD_COLUMNS
    final = table[table["annotation"] == "final"].set_index("period")
    assert final.index.tolist() == ["1950", "2020"]
    assert final.loc["1950", ["paragraphs", "tp", "fp", "fn"]].tolist() == [30, 15, 0, 15]
    assert final.loc["1950", "recall"] == 0.5 and final.loc["1950", "precision"] == 1.0
    assert abs(final.loc["1950", "f1"] - 2 / 3) < 1e-12
    assert final.loc["2020", ["tp", "fp", "fn"]].tolist() == [30, 3, 0]
    assert final.loc["2020", "recall"] == 1.0 and abs(final.loc["2020", "precision"] - 30 / 33) < 1e-12
    # the recall intervals do not overlap (the bootstrap of 2020 is all 1.0): the briefing warns
    assert final.loc["1950", "recall_high"] < 1.0 == final.loc["2020", "recall_low"]
    finding = period_finding(table)
    assert finding is not None and finding.section == "agreement"
    assert "on held-out paragraphs of 1950 it finds 50% of the themes the hand coders saw" in finding.text
    assert "against 100% for 2020 (100%\u2013100%)" in finding.text
    # the same paragraphs as a dev split: the table and the warning say so
    dev = agreement_by_period(gold, {"rules": rules, "final": rules}, years, ["a", "b"], n_bootstrap=200, sample="dev")
    assert set(dev["sample"]) == {"dev"} and set(table["sample"]) == {"held-out"}
    assert "on dev paragraphs of 1950 it finds 50%" in period_finding(dev).text
    # one period, or overlapping intervals: nothing to warn about
    assert period_finding(table[table["period"] == "1950"]) is None
    same = {f"p{i}": ({"a"} if i % 2 else set()) for i in range(60)}
    assert period_finding(agreement_by_period(gold, {"final": same}, years, ["a"], n_bootstrap=200)) is None
