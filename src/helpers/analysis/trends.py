"""Theme shares per group and year, their change, and members-versus-the-rest comparisons.

Input is the annotated body paragraphs (``para_id, doc_id, date, themes``; see
``helpers.annotation.annotate``) and a group assignment from :func:`helpers.corpus.groups.assign_groups`
(``doc_id, group``; a document may be in several groups, e.g. Russia in the CSTO, SCO and
BRICS). Shares are of body paragraphs, with 95 % Wilson intervals.

Statistics
    Change over time is tested with the Cochran-Armitage test for trend in proportions
    across all years (scores = the years), not only by the difference between the first and
    last year; the difference between those years comes with a Newcombe (hybrid score) 95 %
    interval. Members-versus-rest differences use the same interval and a two-proportion
    z-test. p-values are adjusted across themes within each group with the Benjamini-Hochberg
    procedure (``q``). Paragraphs of one speech are not independent, so these tests treat a
    speech's paragraphs as if they were; read small q-values as "worth a look", and prefer
    ``unit="document"`` (share of speeches that raise the theme at least once) when speeches
    differ much in length.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import ndtr  # the normal cdf: norm.sf(x) is ndtr(-x), without importing scipy.stats (0.7 s)

from helpers.arrays import run_starts
from helpers.analysis.frequencies import check_choice, require_columns, theme_sets, wilson_interval

UNITS = ("paragraph", "document")
TREND_COLUMNS = ["group", "year", "theme", "carrying", "total", "share", "ci_low", "ci_high", "documents"]
CHANGE_COLUMNS = [
    "group", "theme", "first_year", "last_year", "share_first", "share_last", "change", "change_low", "change_high",
    "trend_z", "p_value", "q_value", "years", "total",
]
VERSUS_COLUMNS = [
    "group", "theme", "members_carrying", "members_total", "members_share", "rest_carrying", "rest_total", "rest_share",
    "difference", "diff_low", "diff_high", "z", "p_value", "q_value",
]


def _base(annotated: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One row per unit (paragraph or document): ``doc_id``, ``year``, ``themes`` (frozenset)."""
    check_choice("unit", unit, UNITS)
    require_columns(annotated, ["para_id", "doc_id", "date", "themes"], "The annotated paragraphs table",
                    "Pass REPORTS/annotated_paragraphs.csv (make annotate).")
    base = pd.DataFrame({
        "doc_id": annotated["doc_id"].astype(str).to_numpy(),
        "year": annotated["date"].astype(str).str.slice(0, 4).to_numpy(),
        "themes": theme_sets(annotated["themes"]),
    })
    if unit == "document":
        base = base.groupby(["doc_id", "year"], sort=False)["themes"].agg(lambda s: frozenset().union(*s)).reset_index()
    return base


def _units(annotated: pd.DataFrame, assignments: pd.DataFrame, unit: str) -> pd.DataFrame:
    """One row per (unit, group): a unit appears once for each group of its document."""
    require_columns(assignments, ["doc_id", "group"], "The group assignment", "Use helpers.corpus.groups.assign_groups().")
    return _base(annotated, unit).merge(assignments[["doc_id", "group"]].astype(str), on="doc_id", how="inner")


def _long(units: pd.DataFrame, themes: Sequence[str] | None) -> tuple[pd.DataFrame, list[str]]:
    theme_ids = sorted(set().union(*units["themes"]) | set(themes or [])) if len(units) else sorted(themes or [])
    exploded = units.assign(theme=[sorted(t) for t in units["themes"]]).explode("theme").dropna(subset=["theme"])
    return exploded, theme_ids


def theme_trends(annotated: pd.DataFrame, assignments: pd.DataFrame, unit: str = "paragraph",
                 themes: Sequence[str] | None = None) -> pd.DataFrame:
    """Share of units carrying each theme, per group and year, with 95 % Wilson intervals.

    ``unit``: ``"paragraph"`` (share of body paragraphs) or ``"document"`` (share of
    documents raising the theme at least once). Returns one row per (group, year, theme),
    zeros included, sorted by group, year, theme. Columns: ``group`` (str), ``year`` (str),
    ``theme`` (str), ``carrying`` (int, units carrying the theme), ``total`` (int, units in
    the group and year), ``share`` (float 0-1), ``ci_low``, ``ci_high`` (float 0-1, Wilson),
    ``documents`` (int, documents in the group and year).
    """
    units = _units(annotated, assignments, unit)
    exploded, theme_ids = _long(units, themes)
    totals = units.groupby(["group", "year"]).agg(total=("doc_id", "size"), documents=("doc_id", "nunique"))
    carrying = exploded.groupby(["group", "year", "theme"]).size().rename("carrying")
    grid = pd.MultiIndex.from_tuples([(g, y, t) for (g, y) in totals.index for t in theme_ids], names=["group", "year", "theme"])
    out = pd.DataFrame(index=grid).join(carrying).fillna(0).astype(int).reset_index()
    out = out.merge(totals.reset_index(), on=["group", "year"], how="left")
    out["share"] = out["carrying"] / out["total"]
    out["ci_low"], out["ci_high"] = wilson_interval(out["carrying"].to_numpy(), out["total"].to_numpy())
    return out[TREND_COLUMNS].sort_values(["group", "year", "theme"], kind="mergesort").reset_index(drop=True)


def newcombe_interval(k1: np.ndarray, n1: np.ndarray, k2: np.ndarray, n2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95 % Newcombe hybrid-score interval for ``k1/n1 - k2/n2`` (``(low, high)``)."""
    k1, n1, k2, n2 = (np.asarray(a, dtype=float) for a in (k1, n1, k2, n2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
    l1, u1 = wilson_interval(k1, n1)
    l2, u2 = wilson_interval(k2, n2)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of ``p``; NaN stays NaN."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = ~np.isnan(p)
    if not ok.any():
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="mergesort")
    ranked = pv[order] * len(pv) / np.arange(1, len(pv) + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty_like(pv)
    adj[order] = np.minimum(ranked, 1.0)
    q[ok] = adj
    return q


def cochran_armitage(carrying: np.ndarray, total: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Cochran-Armitage test for a linear trend in proportions; ``(z, two-sided p)``.

    ``z = sum(t_i (x_i - n_i p)) / sqrt(p (1 - p) (sum(n_i t_i^2) - (sum(n_i t_i))^2 / N))``
    with ``p`` the pooled proportion. Returns ``(nan, nan)`` when there is no variation.
    """
    x, n, t = (np.asarray(a, dtype=float) for a in (carrying, total, scores))
    big_n = n.sum()
    if big_n == 0:
        return float("nan"), float("nan")
    p = x.sum() / big_n
    var = p * (1 - p) * ((n * t * t).sum() - (n * t).sum() ** 2 / big_n)
    if var <= 0:
        return float("nan"), float("nan")
    z = float((t * (x - n * p)).sum() / np.sqrt(var))
    return z, float(2 * ndtr(-abs(z)))


def cochran_armitage_rows(carrying: np.ndarray, total: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`cochran_armitage` on every row of the 2-D arrays at once; ``(z, two-sided p)``, one value per row.

    Each row is one series (e.g. one theme in one group, one column per year). The
    arithmetic is :func:`cochran_armitage`'s in the same order (numpy sums along a row as it
    sums a 1-D array), so each value equals the scalar function's to the last bit. NaN where
    a row has no units or no variation.
    """
    x, n, t = (np.asarray(a, dtype=float) for a in (carrying, total, scores))
    with np.errstate(divide="ignore", invalid="ignore"):
        big_n = n.sum(axis=1)
        p = x.sum(axis=1) / big_n
        var = p * (1 - p) * ((n * t * t).sum(axis=1) - (n * t).sum(axis=1) ** 2 / big_n)
        z = (t * (x - n * p[:, None])).sum(axis=1) / np.sqrt(var)
    z = np.where((big_n != 0) & (var > 0), z, np.nan)
    return z, np.where(np.isnan(z), np.nan, 2 * ndtr(-np.abs(z)))


def _q_values_by_group(groups: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of ``p`` within each run of equal ``groups`` (rows sorted by group)."""
    q = np.full(len(p), np.nan)
    if not len(p):
        return q
    starts = run_starts(groups)
    for lo, hi in zip(starts, np.r_[starts[1:], len(p)]):
        q[lo:hi] = benjamini_hochberg(p[lo:hi])
    return q


def theme_changes(trends: pd.DataFrame) -> pd.DataFrame:
    """How each theme's share moved within each group, with a test of the trend.

    ``trends`` is :func:`theme_trends` output. Returns one row per (group, theme) whose
    group has at least two years, sorted by group then ``|change|`` descending. Columns:
    ``group``, ``theme``, ``first_year``, ``last_year`` (str), ``share_first``,
    ``share_last`` (float 0-1), ``change`` (float, share_last - share_first, in share points
    0-1), ``change_low``, ``change_high`` (Newcombe 95 % interval of ``change``),
    ``trend_z``, ``p_value`` (Cochran-Armitage across all years), ``q_value``
    (Benjamini-Hochberg within the group), ``years`` (int), ``total`` (int, units).

    All (group, theme) series are tested at once: series with the same number of years
    form one 2-D array (:func:`cochran_armitage_rows`).
    """
    require_columns(trends, TREND_COLUMNS, "The trends table", "Pass the output of theme_trends().")
    rows = trends[["group", "theme", "year", "carrying", "total", "share"]].sort_values(["group", "theme", "year"], kind="mergesort")
    group = rows["group"].to_numpy(dtype=object)
    theme = rows["theme"].to_numpy(dtype=object)
    new = np.r_[True, (group[1:] != group[:-1]) | (theme[1:] != theme[:-1])] if len(rows) else np.zeros(0, dtype=bool)
    starts = np.flatnonzero(new)
    lengths = np.diff(np.r_[starts, len(rows)])
    keep = lengths >= 2
    starts, lengths = starts[keep], lengths[keep]
    if not len(starts):
        out = pd.DataFrame(columns=[c for c in CHANGE_COLUMNS if c != "q_value"])
        out["q_value"] = np.nan
        return out[CHANGE_COLUMNS]
    last = starts + lengths - 1
    year = rows["year"].to_numpy(dtype=object)
    carrying, total = rows["carrying"].to_numpy(), rows["total"].to_numpy()
    share = rows["share"].to_numpy(dtype=float)
    scores = rows["year"].astype(int).to_numpy()
    z, p = np.empty(len(starts)), np.empty(len(starts))
    for length in np.unique(lengths):  # series of equal length: one (series x year) array each
        which = np.flatnonzero(lengths == length)
        cells = starts[which][:, None] + np.arange(length)
        z[which], p[which] = cochran_armitage_rows(carrying[cells], total[cells], scores[cells])
    low, high = newcombe_interval(carrying[last], total[last], carrying[starts], total[starts])
    out = pd.DataFrame({
        "group": group[starts], "theme": theme[starts], "first_year": year[starts], "last_year": year[last],
        "share_first": share[starts], "share_last": share[last], "change": share[last] - share[starts],
        "change_low": low, "change_high": high, "trend_z": z, "p_value": p,
        "years": lengths.astype(np.int64), "total": np.add.reduceat(total.astype(np.int64), np.flatnonzero(new))[keep],
    })
    out["q_value"] = _q_values_by_group(out["group"].to_numpy(), out["p_value"].to_numpy())
    out = out.assign(_abs=out["change"].abs()).sort_values(["group", "_abs", "theme"], ascending=[True, False, True], kind="mergesort")
    return out[CHANGE_COLUMNS].reset_index(drop=True)


def members_vs_rest(annotated: pd.DataFrame, assignments: pd.DataFrame, unit: str = "paragraph",
                    themes: Sequence[str] | None = None) -> pd.DataFrame:
    """Each group's theme shares against everyone outside it, with a 95 % interval and a test.

    For every group in ``assignments`` other than ``rest``/``none``, members are the units
    of its documents and the rest are the units of all other documents. Columns: ``group``,
    ``theme``, ``members_carrying``, ``members_total``, ``members_share``, ``rest_carrying``,
    ``rest_total``, ``rest_share``, ``difference`` (members - rest, share points 0-1),
    ``diff_low``, ``diff_high`` (Newcombe 95 %), ``z``, ``p_value`` (two-proportion z-test,
    pooled), ``q_value`` (Benjamini-Hochberg within the group). Sorted by group, then
    ``|difference|`` descending.
    """
    units = _units(annotated, assignments, unit)
    everyone = _base(annotated, unit)
    everyone = everyone[everyone["doc_id"].isin(set(assignments["doc_id"].astype(str)))]
    exploded_all, theme_ids = _long(everyone, themes)
    total_all = len(everyone)
    carry_all = exploded_all.groupby("theme").size()
    rows = []
    for group in sorted(set(units["group"]) - {"rest", "none"}):
        members = units[units["group"] == group]
        exploded, _ = _long(members, theme_ids)
        carry_m = exploded.groupby("theme").size()
        n1 = len(members)
        n2 = total_all - n1
        for theme in theme_ids:
            k1 = int(carry_m.get(theme, 0))
            k2 = int(carry_all.get(theme, 0)) - k1
            rows.append((group, theme, k1, n1, k2, n2))
    df = pd.DataFrame(rows, columns=["group", "theme", "members_carrying", "members_total", "rest_carrying", "rest_total"])
    k1, n1, k2, n2 = (df[c].to_numpy(dtype=float) for c in ["members_carrying", "members_total", "rest_carrying", "rest_total"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (p1 - p2) / se, np.nan)
    df["members_share"], df["rest_share"], df["difference"] = p1, p2, p1 - p2
    df["diff_low"], df["diff_high"] = newcombe_interval(k1, n1, k2, n2)
    df["z"] = z
    df["p_value"] = np.where(np.isnan(z), np.nan, 2 * ndtr(-np.abs(z)))
    df["q_value"] = _q_values_by_group(df["group"].to_numpy(dtype=object), df["p_value"].to_numpy(dtype=float))  # rows are in group order
    df = df.assign(_abs=df["difference"].abs()).sort_values(["group", "_abs", "theme"], ascending=[True, False, True], kind="mergesort")
    return df[VERSUS_COLUMNS].reset_index(drop=True)
