"""Theme shares corrected for coding error, with 95 % intervals that include the validation sample's uncertainty.

A share counted from imperfect coding is biased: rules that miss a third of the mentions pull every
share down. :func:`corrected_shares` adds to each row of ``theme_frequencies.csv`` (a group and a
theme: ``paragraphs`` of ``body_paragraphs`` carry it, ``share``) a corrected share, chosen per row:

``dsl`` (design-based supervised learning; Egami, Hinck, Stewart & Wei, "Using imperfect surrogates
for downstream inference", NeurIPS 2023)
    when the group holds at least ``min_rows`` (default :data:`MIN_DSL_ROWS`) held-out paragraphs
    of a random coded sample with known inclusion probabilities. Each body paragraph i of the group
    gets the pseudo-outcome ``Ỹ_i = Ŷ_i + (R_i / π_i)(Y_i − Ŷ_i)`` (``Ŷ``: the annotation says the
    theme is present; ``Y``: the coder does; ``R``: the paragraph is a coded held-out paragraph;
    ``π``: its probability of being one: the sample's ``inclusion_probability`` times the share of
    coded rows that are held out, since the test split is drawn at random within the sample). The
    corrected share is the mean of ``Ỹ`` over the group's ``N`` paragraphs, and its plug-in
    (sandwich) variance is ``Σ (Ỹ_i − θ)² / N²``. Only held-out rows are used (or, when the sample has
    none, its ``dev`` rows: :func:`helpers.annotation.split_agreement.reference_sample`): the rules were
    tuned on the ``tune`` rows, so their errors there understate the errors elsewhere.
``rogan-gladen``
    otherwise, when the corpus has a coded held-out sample: ``θ = (p + Sp − 1) / (Se + Sp − 1)``
    with the theme's held-out sensitivity ``Se = tp / (tp + fn)`` and specificity
    ``Sp = tn / (tn + fp)`` (over all held-out paragraphs), clipped to [0, 1]. The variance (delta
    method) adds the binomial variance of the raw share and the sampling variance of ``Se`` and
    ``Sp``: ``[p(1−p)/N + θ² Se(1−Se)/n_pos + (1−θ)² Sp(1−Sp)/n_neg] / (Se + Sp − 1)²``.
``none: <reason>``
    no correction (the three columns empty): no coded sample of this corpus, no held-out or dev rows (the
    seed set is in-sample only), no held-out paragraph with the theme (sensitivity undefined), or
    ``Se + Sp <= 1``.

Intervals are ``θ ± 1.96 √V`` clipped to [0, 1]. Columns added: ``share_corrected``,
``share_corrected_low``, ``share_corrected_high`` (float, 0-1, NaN when not corrected) and
``correction`` (str: ``dsl``, ``rogan-gladen`` or ``none: ...``).

The coded sample reaches the analysis stage as ``REPORTS/validation_scored.csv`` (written by
:mod:`helpers.annotation.annotate`): ``para_id``, ``sample``, ``inclusion_probability``, ``gold`` and ``final``
themes of each coded paragraph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from helpers.analysis.frequencies import Z95, body_only, group_key, split_themes
from helpers.annotation.split_agreement import reference_sample
from helpers.io import read_text_csv

CORRECTION_COLUMNS = ["share_corrected", "share_corrected_low", "share_corrected_high", "correction"]
#: Fewest held-out coded paragraphs in a group for the DSL estimator; below, Rogan-Gladen.
MIN_DSL_ROWS = 10
NO_SAMPLE = "none: no coded validation sample of this corpus"
NO_HELD_OUT = "none: the validation sample has no held-out (test) or dev rows"
NO_POSITIVE = "none: no held-out paragraph carries the theme (sensitivity undefined)"
NOT_INFORMATIVE = "none: held-out sensitivity + specificity <= 1"


def read_scored(reports: str | Path) -> pd.DataFrame | None:
    """``REPORTS/validation_scored.csv`` (``inclusion_probability`` as float), or None when absent."""
    path = Path(reports) / "validation_scored.csv"
    if not path.is_file():
        return None
    df = read_text_csv(path)
    df["inclusion_probability"] = pd.to_numeric(df["inclusion_probability"].replace("", None), errors="coerce")
    return df


def _bounds(theta: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    half = Z95 * np.sqrt(np.maximum(var, 0.0))
    return np.clip(theta - half, 0.0, 1.0), np.clip(theta + half, 0.0, 1.0)


def rogan_gladen(p: np.ndarray, n: np.ndarray, tp: int, fp: int, fn: int, tn: int) -> tuple[np.ndarray, ...]:
    """Rogan-Gladen corrected shares of raw shares ``p`` over ``n`` paragraphs, with the theme's held-out counts.

    Returns ``(share, low, high)`` (see the module docstring); NaN when ``Se + Sp <= 1``.
    """
    se, sp = tp / (tp + fn), tn / (tn + fp)
    j = se + sp - 1
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    if j <= 0:
        nan = np.full(p.shape, np.nan)
        return nan, nan, nan
    theta = (p + sp - 1) / j
    with np.errstate(divide="ignore", invalid="ignore"):
        var_p = np.where(n > 0, p * (1 - p) / n, np.nan)
    var = (var_p + theta**2 * se * (1 - se) / (tp + fn) + (1 - theta) ** 2 * sp * (1 - sp) / (tn + fp)) / j**2
    theta_c = np.clip(theta, 0.0, 1.0)
    low, high = _bounds(theta, var)
    return theta_c, low, high


def corrected_shares(frequencies: pd.DataFrame, annotated: pd.DataFrame, scored: pd.DataFrame | None,
                     min_rows: int = MIN_DSL_ROWS) -> pd.DataFrame:
    """``frequencies`` (rows of :func:`helpers.analysis.frequencies.theme_frequencies`, any ``by``) with
    :data:`CORRECTION_COLUMNS` added (see the module docstring).

    ``annotated``: the annotated body paragraphs the frequencies were counted from (to place each
    coded paragraph in its group); ``scored``: :func:`read_scored` (None: no coded sample).
    """
    out = frequencies.copy()
    out["share_corrected"] = np.nan
    out["share_corrected_low"] = np.nan
    out["share_corrected_high"] = np.nan
    out["correction"] = NO_SAMPLE
    if scored is None or scored.empty:
        return out
    held = scored[scored["sample"] == reference_sample(scored["sample"])]
    if held.empty:
        out["correction"] = NO_HELD_OUT
        return out
    held = held.assign(pi=held["inclusion_probability"] * len(held) / len(scored))
    gold = [set(split_themes(x)) for x in held["gold"]]
    pred = [set(split_themes(x)) for x in held["final"]]
    annotated = body_only(annotated)
    themes = out["theme"].unique().tolist()
    counts = {}
    for t in themes:
        y = np.array([t in g for g in gold])
        yh = np.array([t in p for p in pred])
        counts[t] = (int((y & yh).sum()), int((~y & yh).sum()), int((y & ~yh).sum()), int((~y & ~yh).sum()))
    # Rogan-Gladen for every row first; DSL replaces it where the group has enough held-out rows
    for t, (tp, fp, fn, tn) in counts.items():
        rows = out["theme"] == t
        if tp + fn == 0:
            out.loc[rows, "correction"] = NO_POSITIVE
            continue
        theta, low, high = rogan_gladen(out.loc[rows, "share"].to_numpy(), out.loc[rows, "body_paragraphs"].to_numpy(),
                                        tp, fp, fn, tn)
        if np.isnan(theta).all():
            out.loc[rows, "correction"] = NOT_INFORMATIVE
            continue
        out.loc[rows, ["share_corrected", "share_corrected_low", "share_corrected_high"]] = np.c_[theta, low, high]
        out.loc[rows, "correction"] = "rogan-gladen"
    if held["pi"].isna().any():
        return out  # not a probability sample: no design-based estimate
    ids = annotated["para_id"].astype(str)
    for by in out["by"].unique():
        group_of = dict(zip(ids, group_key(annotated, by)))
        h_group = held["para_id"].map(group_of)
        n_in = h_group.value_counts()
        rows = (out["by"] == by) & out["group"].map(n_in).fillna(0).ge(min_rows).to_numpy()
        if not rows.any():
            continue
        long = []
        for t in themes:
            y = np.array([t in g for g in gold], dtype=float)
            yh = np.array([t in p for p in pred], dtype=float)
            d = (y - yh) / held["pi"].to_numpy()
            long.append(pd.DataFrame({"group": h_group.to_numpy(), "theme": t, "a": d, "b": (yh + d) ** 2, "c": yh}))
        sums = pd.concat(long).groupby(["group", "theme"])[["a", "b", "c"]].sum()
        sel = out.loc[rows]
        key = pd.MultiIndex.from_arrays([sel["group"], sel["theme"]])
        a, b, c = (sums[col].reindex(key).fillna(0.0).to_numpy() for col in ("a", "b", "c"))
        n = sel["body_paragraphs"].to_numpy(dtype=float)
        s = sel["paragraphs"].to_numpy(dtype=float)
        theta = (s + a) / n
        var = ((s - c) + b - n * theta**2) / n**2
        low, high = _bounds(theta, var)
        out.loc[rows, ["share_corrected", "share_corrected_low", "share_corrected_high"]] = np.c_[
            np.clip(theta, 0.0, 1.0), low, high]
        out.loc[rows, "correction"] = "dsl"
    return out
