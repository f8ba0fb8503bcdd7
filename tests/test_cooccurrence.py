"""Tests for helpers.analysis.cooccurrence, values worked out by hand.

Fixture: ten body paragraphs (see test_frequencies.py, with d3's second paragraph carrying
t2;t3): n = 10, n(t1) = 4, n(t2) = 4, n(t3) = 4; joint t1&t2 = 1, t1&t3 = 1, t2&t3 = 2.

- t2 & t3: expected 4*4/10 = 1.6, lift 2/1.6 = 1.25, pmi log2 1.25 = 0.321928,
  npmi 0.321928 / -log2(0.2) = 0.321928 / 2.321928 = 0.138647.
- t1 & t2 (and t1 & t3): lift 1/1.6 = 0.625, pmi -0.678072, npmi -0.678072 / 3.321928 = -0.204120.
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.analysis.cooccurrence import theme_cooccurrence
from helpers.errors import ParameterError
from test_frequencies import make_annotated


@pytest.fixture()
def annotated() -> pd.DataFrame:
    themes = ["t1;t2", "t1", "", "t2;t3", "t1", "t1;t3", "t3", "t2;t3", "t2", ""]
    docs = ["d1"] * 4 + ["d2"] * 2 + ["d3"] * 4
    orgs = ["A"] * 6 + ["B"] * 4
    return make_annotated([(d, o, "speech", "2024-01-01", t, 10, "x") for d, o, t in zip(docs, orgs, themes)])


def test_lift_pmi_and_npmi(annotated: pd.DataFrame) -> None:
    c = theme_cooccurrence(annotated, min_support=1)
    assert list(c.columns) == ["by", "group", "theme_a", "theme_b", "paragraphs", "paragraphs_a", "paragraphs_b",
                               "body_paragraphs", "support", "expected", "lift", "pmi", "npmi"]
    assert c[["theme_a", "theme_b"]].values.tolist() == [["t2", "t3"], ["t1", "t2"], ["t1", "t3"]]  # by lift
    top = c.iloc[0]
    assert (top["paragraphs"], top["paragraphs_a"], top["paragraphs_b"], top["body_paragraphs"]) == (2, 4, 4, 10)
    assert (top["support"], top["expected"], top["lift"]) == pytest.approx((0.2, 1.6, 1.25))
    assert (top["pmi"], top["npmi"]) == pytest.approx((0.321928, 0.138647), abs=1e-6)
    low = c.iloc[1]
    assert (low["lift"], low["pmi"], low["npmi"]) == pytest.approx((0.625, -0.678072, -0.204120), abs=1e-6)
    assert (top["by"], top["group"]) == ("corpus", "all")


def test_min_support_drops_rare_pairs(annotated: pd.DataFrame) -> None:
    c = theme_cooccurrence(annotated, min_support=2)
    assert c[["theme_a", "theme_b", "paragraphs"]].values.tolist() == [["t2", "t3", 2]]
    assert theme_cooccurrence(annotated, min_support=3).empty


def test_two_common_themes_meeting_by_chance_have_lift_one() -> None:
    # terrorism and drug_trafficking each in half of 8 paragraphs, together in 2 = 8 * 1/2 * 1/2.
    themes = ["drug_trafficking;terrorism"] * 2 + ["terrorism"] * 2 + ["drug_trafficking"] * 2 + ["", ""]
    a = make_annotated([("d", "A", "speech", "2024-01-01", t, 10, "x") for t in themes])
    c = theme_cooccurrence(a, min_support=1)
    assert c.iloc[0]["paragraphs"] == 2
    assert c.iloc[0]["lift"] == pytest.approx(1.0)
    assert c.iloc[0]["pmi"] == pytest.approx(0.0)


def test_by_group_counts_within_each_group(annotated: pd.DataFrame) -> None:
    c = theme_cooccurrence(annotated, min_support=1, by="organization")
    b = c[c["group"] == "B"].iloc[0]
    # d3: t3 | t2;t3 | t2 | - : n = 4, n(t2) = 2, n(t3) = 2, joint 1 -> lift 1*4/(2*2) = 1.
    assert (b["theme_a"], b["theme_b"], b["paragraphs"], b["body_paragraphs"], b["lift"]) == ("t2", "t3", 1, 4, 1.0)


def test_npmi_is_one_when_the_pair_is_in_every_paragraph() -> None:
    a = make_annotated([("d", "A", "speech", "2024-01-01", "x;y", 10, "t")] * 3)
    c = theme_cooccurrence(a, min_support=1)
    assert (c.iloc[0]["lift"], c.iloc[0]["npmi"]) == (1.0, 1.0)


def test_bad_parameters(annotated: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"^`min_support` must be an integer >= 1\. Got 0 instead\.$"):
        theme_cooccurrence(annotated, min_support=0)
    with pytest.raises(ParameterError, match=r"^`by` must be one of \{'corpus', 'document', 'organization', 'genre', "
                                             r"'year'\}\. Got 'theme' instead\.$"):
        theme_cooccurrence(annotated, by="theme")
