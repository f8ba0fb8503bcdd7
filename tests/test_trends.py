"""Tests for helpers.analysis.trends on a four-document fixture worked out by hand.

Documents A (2020) and B (2021) are in group G; C (2020) and D (2021) are the rest.
Paragraph themes: A: t1, t1, -, t2 | B: t1;t2, t2 | C: -, t1 | D: t2, -.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.analysis.trends import (
    benjamini_hochberg, cochran_armitage, cochran_armitage_rows, members_vs_rest, newcombe_interval, theme_changes, theme_trends,
)

ROWS = [("A", "2020-09-20", "t1"), ("A", "2020-09-20", "t1"), ("A", "2020-09-20", ""), ("A", "2020-09-20", "t2"),
        ("B", "2021-09-21", "t1;t2"), ("B", "2021-09-21", "t2"),
        ("C", "2020-09-20", ""), ("C", "2020-09-20", "t1"),
        ("D", "2021-09-21", "t2"), ("D", "2021-09-21", "")]


@pytest.fixture
def annotated():
    return pd.DataFrame([{"para_id": f"{d}-p{i}", "doc_id": d, "date": date, "themes": t}
                         for i, (d, date, t) in enumerate(ROWS)])


@pytest.fixture
def assignments():
    return pd.DataFrame({"doc_id": ["A", "B", "C", "D"], "group": ["G", "G", "rest", "rest"]})


def test_theme_trends_shares_and_wilson_intervals(annotated, assignments):
    t = theme_trends(annotated, assignments)
    g = t[(t["group"] == "G")].set_index(["year", "theme"])
    assert g.loc[("2020", "t1"), ["carrying", "total"]].tolist() == [2, 4]
    assert g.loc[("2020", "t2"), "share"] == 0.25
    assert g.loc[("2021", "t2"), "share"] == 1.0
    # Wilson 95 % for 2/4 is (0.1500, 0.8500)
    assert g.loc[("2020", "t1"), "ci_low"] == pytest.approx(0.15003, abs=1e-4)
    assert g.loc[("2020", "t1"), "ci_high"] == pytest.approx(0.84997, abs=1e-4)
    assert len(t) == 2 * 2 * 2  # groups x years x themes, zeros included


def test_theme_trends_by_document(annotated, assignments):
    t = theme_trends(annotated, assignments, unit="document").set_index(["group", "year", "theme"])
    assert t.loc[("G", "2020", "t2"), ["carrying", "total"]].tolist() == [1, 1]
    assert t.loc[("rest", "2021", "t1"), ["carrying", "total"]].tolist() == [0, 1]


def test_cochran_armitage_by_hand():
    # x = [1, 2], n = [4, 2], years 2020-2021: p = 0.5, T = 1, Var = 0.25 * 4/3, z = sqrt(3)
    z, p = cochran_armitage(np.array([1, 2]), np.array([4, 2]), np.array([2020, 2021]))
    assert z == pytest.approx(math.sqrt(3))
    assert p == pytest.approx(0.083265, abs=1e-6)
    assert all(math.isnan(v) for v in cochran_armitage(np.array([0, 0]), np.array([3, 3]), np.array([1, 2])))


def test_cochran_armitage_rows_equal_the_scalar_test_bit_for_bit():
    # Row 1 is the hand-worked case above (z = sqrt(3)); row 2 has no variation (NaN); row 3 has no units (NaN);
    # the random rows (10 years, as the UN General Debate 2015-2024) must equal the scalar function exactly.
    z, p = cochran_armitage_rows(np.array([[1, 2], [0, 0], [0, 0]]), np.array([[4, 2], [3, 3], [0, 0]]),
                                 np.array([[2020, 2021]] * 3))
    assert z[0] == pytest.approx(math.sqrt(3)) and p[0] == pytest.approx(0.083265, abs=1e-6)
    assert np.isnan(z[1:]).all() and np.isnan(p[1:]).all()
    rng = np.random.default_rng(7)
    total = rng.integers(1, 3000, size=(200, 10))
    carrying = rng.integers(0, total + 1)
    years = np.tile(np.arange(2015, 2025), (200, 1))
    z, p = cochran_armitage_rows(carrying, total, years)
    scalar = [cochran_armitage(carrying[i], total[i], years[i]) for i in range(200)]
    assert z.tolist() == [s[0] for s in scalar] and p.tolist() == [s[1] for s in scalar]


def test_theme_changes_skips_single_year_groups_and_adjusts_within_each_group():
    # Group H has one year only (no change to test); G has three themes over three years.
    trends = pd.DataFrame([
        {"group": g, "year": y, "theme": t, "carrying": k, "total": n}
        for g, y, t, k, n in [("G", "2019", "a", 1, 10), ("G", "2020", "a", 5, 10), ("G", "2021", "a", 9, 10),
                              ("G", "2019", "b", 2, 10), ("G", "2020", "b", 2, 10), ("G", "2021", "b", 3, 10),
                              ("G", "2019", "c", 0, 10), ("G", "2020", "c", 0, 10), ("G", "2021", "c", 0, 10),
                              ("H", "2020", "a", 1, 4)]])
    trends["share"] = trends["carrying"] / trends["total"]
    trends["ci_low"] = trends["ci_high"] = 0.0
    trends["documents"] = 1
    c = theme_changes(trends)
    assert c["group"].tolist() == ["G", "G", "G"] and c["theme"].tolist() == ["a", "b", "c"]
    assert c["years"].tolist() == [3, 3, 3] and c["total"].tolist() == [30, 30, 30]
    z_a, p_a = cochran_armitage(np.array([1, 5, 9]), np.array([10, 10, 10]), np.array([2019, 2020, 2021]))
    z_b, p_b = cochran_armitage(np.array([2, 2, 3]), np.array([10, 10, 10]), np.array([2019, 2020, 2021]))
    assert c["trend_z"].tolist()[:2] == [z_a, z_b] and np.isnan(c["trend_z"].iloc[2])
    assert c["q_value"].tolist()[:2] == benjamini_hochberg(np.array([p_a, p_b])).tolist()
    assert np.isnan(c["q_value"].iloc[2])
    assert theme_changes(trends[trends["group"] == "H"]).empty


def test_theme_changes(annotated, assignments):
    c = theme_changes(theme_trends(annotated, assignments))
    row = c[(c["group"] == "G") & (c["theme"] == "t2")].iloc[0]
    assert (row["first_year"], row["last_year"]) == ("2020", "2021")
    assert row["change"] == 0.75
    assert row["trend_z"] == pytest.approx(math.sqrt(3))
    assert row["change_low"] < 0.75 < row["change_high"]
    # sorted by |change| within group: t2 (0.75) before t1 (0.0)
    assert c[c["group"] == "G"]["theme"].tolist() == ["t2", "t1"]


def test_newcombe_interval_matches_published_example():
    # Newcombe (1998), example (a): 56/70 vs 48/80 -> difference 0.2, 95 % CI 0.0524 to 0.3339
    low, high = newcombe_interval(56, 70, 48, 80)
    assert float(low) == pytest.approx(0.0524, abs=1e-4)
    assert float(high) == pytest.approx(0.3339, abs=1e-4)


def test_benjamini_hochberg():
    # m = 4 p-values; sorted 0.01, 0.03, 0.04, 0.5 -> p*m/rank 0.04, 0.06, 0.0533, 0.5 -> running minimum from the top
    q = benjamini_hochberg(np.array([0.01, 0.04, 0.03, np.nan, 0.5]))
    assert q[:3].tolist() == pytest.approx([0.04, 0.16 / 3, 0.16 / 3])
    assert math.isnan(q[3]) and q[4] == 0.5


def test_members_vs_rest(annotated, assignments):
    v = members_vs_rest(annotated, assignments).set_index(["group", "theme"])
    row = v.loc[("G", "t1")]
    assert row[["members_carrying", "members_total", "rest_carrying", "rest_total"]].tolist() == [3, 6, 1, 4]
    assert row["difference"] == 0.25
    assert row["z"] == pytest.approx(0.790569, abs=1e-6)
    assert row["p_value"] == pytest.approx(0.429195, abs=1e-6)
    assert list(v.index.get_level_values("group").unique()) == ["G"]


def test_members_vs_rest_by_document_counts_each_document_once(annotated, assignments):
    both = pd.concat([assignments, pd.DataFrame({"doc_id": ["A"], "group": ["H"]})], ignore_index=True)
    v = members_vs_rest(annotated, both, unit="document").set_index(["group", "theme"])
    assert v.loc[("G", "t1"), ["members_carrying", "members_total", "rest_carrying", "rest_total"]].tolist() == [2, 2, 1, 2]
    assert v.loc[("H", "t1"), ["members_carrying", "members_total", "rest_carrying", "rest_total"]].tolist() == [1, 1, 2, 3]


def test_unit_must_be_paragraph_or_document(annotated, assignments):
    with pytest.raises(ParameterError, match=r"`unit` must be one of \{'paragraph', 'document'\}\. Got 'speech' instead\."):
        theme_trends(annotated, assignments, unit="speech")
