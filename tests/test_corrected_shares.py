"""Tests for helpers.annotation.corrected_shares, worked by hand on tiny fixtures."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.annotation.corrected_shares import (CORRECTION_COLUMNS, NO_HELD_OUT, NO_POSITIVE, NO_SAMPLE, corrected_shares,
                                      rogan_gladen)
from helpers.analysis.frequencies import theme_frequencies


def _annotated(themes: list[str], doc: str = "d1") -> pd.DataFrame:
    n = len(themes)
    return pd.DataFrame({"para_id": [f"p{i + 1}" for i in range(n)], "doc_id": doc, "title": "t", "organization": "o",
                         "genre": "speech", "date": "2024-01-01", "text": "x", "n_words": 1, "themes": themes})


def _scored(rows: list[tuple[str, str, float, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["para_id", "sample", "inclusion_probability", "gold", "final"])


def test_dsl_on_a_census_of_held_out_paragraphs_is_the_gold_share_and_moves_beyond_the_raw_interval():
    # 40 paragraphs; the rules find theme a in p1-p4 (share 0.10, Wilson [0.0396, 0.2305]);
    # every paragraph is coded and held out (pi = 1); the coder finds a in p1-p20 -> DSL = 20/40 = 0.5.
    ann = _annotated(["a"] * 4 + [""] * 36)
    scored = _scored([(f"p{i}", "held-out", 1.0, "a" if i <= 20 else "", "a" if i <= 4 else "") for i in range(1, 41)])
    freq = theme_frequencies(ann, by="genre")
    out = corrected_shares(freq, ann, scored).iloc[0]
    assert out["share"] == 0.1 and out["ci_high"] == pytest.approx(0.2305, abs=1e-4)
    # Ỹ = Y (pi = 1): variance Σ(Y - 0.5)² / 40² = 10 / 1600 = 0.00625; half-width 1.95996 * 0.0790569 = 0.154949
    assert out["correction"] == "dsl"
    assert out["share_corrected"] == pytest.approx(0.5)
    assert out["share_corrected_low"] == pytest.approx(0.345051, abs=1e-6)
    assert out["share_corrected_high"] == pytest.approx(0.654949, abs=1e-6)
    assert out["share_corrected_low"] > out["ci_high"]  # the correction moves the share beyond its raw interval


def test_dsl_weights_held_out_rows_by_their_inclusion_probability():
    # 8 paragraphs, rules: a in p1 p2 (S = 2). All 8 coded (pi = 1); p1-p4 held out, p5-p8 tune, so a paragraph's
    # probability of being a coded held-out one is 1 * 4/8 = 0.5. Gold a: p1, p3, p4 (p2 is spurious).
    # Y - Ŷ over held-out: p1 0, p2 -1, p3 +1, p4 +1 -> Σ/0.5 = 2; θ = (2 + 2)/8 = 0.5
    # Ỹ: p1 1, p2 1 - 2 = -1, p3 2, p4 2, p5-p8 0; Σ Ỹ² = 10; V = (10 - 8 * 0.25) / 64 = 0.125
    ann = _annotated(["a", "a"] + [""] * 6)
    scored = _scored([("p1", "held-out", 1.0, "a", "a"), ("p2", "held-out", 1.0, "", "a"),
                      ("p3", "held-out", 1.0, "a", ""), ("p4", "held-out", 1.0, "a", "")]
                     + [(f"p{i}", "in-sample", 1.0, "", "") for i in range(5, 9)])
    out = corrected_shares(theme_frequencies(ann, by="genre"), ann, scored, min_rows=4).iloc[0]
    assert out["correction"] == "dsl" and out["share_corrected"] == pytest.approx(0.5)
    half = 1.959963984540054 * math.sqrt(0.125)
    assert out["share_corrected_low"] == 0.0 and out["share_corrected_high"] == 1.0  # 0.5 ± 0.693, clipped
    assert half == pytest.approx(0.69296, abs=1e-5)


def test_rogan_gladen_by_hand():
    # raw share 0.10 of 1,000; held out: tp 10, fn 10 (Se 0.5), fp 0, tn 80 (Sp 1): θ = (0.1 + 1 - 1) / 0.5 = 0.2
    # V = (0.1 * 0.9 / 1000 + 0.2² * 0.25 / 20 + 0) / 0.25 = 0.00236; half 1.95996 * 0.0485798 = 0.0952147
    theta, low, high = rogan_gladen(np.array([0.1]), np.array([1000]), tp=10, fp=0, fn=10, tn=80)
    assert theta[0] == pytest.approx(0.2)
    assert (low[0], high[0]) == pytest.approx((0.104785, 0.295215), abs=1e-6)
    # the raw Wilson interval of 100/1000 is [0.0829, 0.1203]: the correction moves the share beyond it
    theta, low, high = rogan_gladen(np.array([0.1]), np.array([10]), tp=1, fp=1, fn=1, tn=1)  # Se + Sp = 1
    assert math.isnan(theta[0])


def test_rows_of_small_groups_use_rogan_gladen_and_reasons_are_recorded():
    # two documents; the held-out sample has 2 rows, fewer than min_rows=10: Rogan-Gladen for every row
    ann = pd.concat([_annotated(["a", "", "", ""], "d1"), _annotated(["a", "a", "", ""], "d2")], ignore_index=True)
    ann["para_id"] = [f"p{i}" for i in range(1, 9)]
    scored = _scored([("p1", "held-out", 0.25, "a", "a"), ("p3", "held-out", 0.25, "a", ""),
                      ("p4", "held-out", 0.25, "", "")])
    freq = theme_frequencies(ann, by="document")
    out = corrected_shares(freq, ann, scored).set_index("group")
    # theme a: tp 1, fn 1 (Se 0.5), tn 1, fp 0 (Sp 1): d1 share 0.25 -> 0.5; d2 share 0.5 -> 1.0
    assert out["correction"].tolist() == ["rogan-gladen", "rogan-gladen"]
    assert out.loc["d1", "share_corrected"] == pytest.approx(0.5) and out.loc["d2", "share_corrected"] == 1.0
    assert list(out.columns[-4:]) == CORRECTION_COLUMNS
    assert (corrected_shares(freq, ann, None)["correction"] == NO_SAMPLE).all()
    in_sample = scored.assign(sample="in-sample")
    assert (corrected_shares(freq, ann, in_sample)["correction"] == NO_HELD_OUT).all()
    # a dev split stands in when there is no held-out one, with the same figures; beside a held-out split it is left out
    dev = corrected_shares(freq, ann, scored.assign(sample="dev")).set_index("group")
    assert dev["correction"].tolist() == ["rogan-gladen"] * 2 and dev.loc["d1", "share_corrected"] == pytest.approx(0.5)
    # held-out p1 alone (tp 1, Se 1, no negative: Sp undefined -> NaN) would differ; with p3 dev and p4 held-out:
    # tp 1 (p1), tn 1 (p4), Se 1, Sp 1 -> the raw shares stand: d1 0.25, d2 0.5
    mixed = scored.assign(sample=["held-out", "dev", "held-out"])
    got = corrected_shares(freq, ann, mixed).set_index("group")
    assert got.loc["d1", "share_corrected"] == pytest.approx(0.25) and got.loc["d2", "share_corrected"] == pytest.approx(0.5)
    no_pos = scored.assign(gold="")
    got = corrected_shares(freq, ann, no_pos)
    assert (got["correction"] == NO_POSITIVE).all() and got["share_corrected"].isna().all()
