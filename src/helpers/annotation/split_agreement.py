"""Agreement scored separately on the paragraphs the rules were written from and on held-out ones, with 95 % intervals.

A coded validation sample has up to three kinds of paragraph (column ``sample`` of every table here):

- ``in-sample``: paragraphs the rules were written or tuned from: the seed validation set
  (``data/annotations/validation.csv``, which has no ``split`` column) and the ``tune`` split of a
  sample drawn by :mod:`helpers.annotation.validation_sample`;
- ``dev``: the ``dev`` split, never read to write a rule but scored while choosing between rules
  (an analyst relabels a ``test`` split ``dev`` once its scores have decided anything). Its figures
  flatter the coding less than in-sample ones, but more than held-out ones;
- ``held-out``: the ``test`` split, never read to write a rule nor used to choose one. These are the
  figures to quote.

Where one sample stands for the coding's accuracy on new text (the corrected shares, the agreement per
period, the briefing's headline figure), it is :func:`reference_sample`: held-out when there is any, else dev.

:func:`agreement_with_intervals` adds a 95 % interval to every figure of
:func:`helpers.annotation.agreement.agreement_table`:

- per-theme precision and recall: Wilson score intervals (each is a binomial proportion over
  independent paragraphs: tp of tp + fp, tp of tp + fn);
- F1 and Cohen's kappa of every row, and precision and recall of ``(overall)`` and ``(macro)``:
  percentile intervals of a paragraph-level bootstrap (:data:`N_BOOTSTRAP` resamples of the
  paragraphs with replacement, seed :data:`BOOTSTRAP_SEED`, so a rerun gives the same numbers).
  Resampling whole paragraphs keeps the 21 decisions of a paragraph together (they are not
  independent). A figure that is the same in every resample (e.g. F1 = 1 with no error) gets a
  zero-width interval; a figure undefined in a resample is left out of that resample's quantiles.

Interval columns are named ``<measure>_low`` and ``<measure>_high`` for ``precision``, ``recall``,
``f1`` and ``kappa`` (NaN where the figure itself is undefined).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from helpers.annotation.agreement import AGREEMENT_COLUMNS, agreement_table
from helpers.analysis.frequencies import wilson_interval

#: Values of the ``sample`` column, in the order of agreement.csv's rows: paragraphs rules were written or tuned
#: from, paragraphs scored while choosing rules, and held-out ones.
SAMPLES = ("in-sample", "dev", "held-out")
#: The same, in the order readers get them (the figures to quote first).
READING_ORDER = ("held-out", "dev", "in-sample")
#: ``split`` of a validation row -> its ``sample`` ("" = a file without splits: the seed validation set).
SPLIT_SAMPLE = {"": "in-sample", "tune": "in-sample", "dev": "dev", "test": "held-out"}
#: Samples never read to write a rule, the better first: what :func:`reference_sample` chooses from.
UNREAD = ("held-out", "dev")


def reference_sample(samples: Iterable[str]) -> str | None:
    """The sample that stands for the coding's accuracy on new text: ``held-out`` when ``samples`` (the ``sample``
    values of a validation table) hold any, else ``dev``, else None (in-sample rows only, or none)."""
    present = set(samples)
    return next((s for s in UNREAD if s in present), None)


MEASURES = ("precision", "recall", "f1", "kappa")
INTERVAL_COLUMNS = [f"{m}_{side}" for m in MEASURES for side in ("low", "high")]
SCORED_COLUMNS = ["sample"] + AGREEMENT_COLUMNS + INTERVAL_COLUMNS
N_BOOTSTRAP = 2000
BOOTSTRAP_SEED = 20261205


def _scores(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, tn: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`helpers.annotation.agreement.binary_scores` on arrays of counts (NaN where undefined)."""
    tp, fp, fn, tn = (np.asarray(a, dtype=float) for a in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), np.nan)
        recall = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        f1 = np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), np.nan)
        p_o = (tp + tn) / n
        p_g, p_p = (tp + fn) / n, (tp + fp) / n
        p_e = p_g * p_p + (1 - p_g) * (1 - p_p)
        kappa = np.where((n > 0) & (p_e != 1), (p_o - p_e) / (1 - p_e), np.nan)
    return {"precision": precision, "recall": recall, "f1": f1, "kappa": kappa}


def _quantiles(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """2.5 % and 97.5 % quantiles over axis 0, ignoring NaN (NaN when every value is NaN)."""
    ok = ~np.isnan(values)
    low = np.full(values.shape[1:], np.nan)
    high = np.full(values.shape[1:], np.nan)
    for idx in np.ndindex(values.shape[1:]):
        col = values[(slice(None),) + idx]
        col = col[ok[(slice(None),) + idx]]
        if len(col):
            low[idx], high[idx] = np.quantile(col, [0.025, 0.975])
    return low, high


def agreement_with_intervals(
    gold: Mapping[str, set[str]], predicted: Mapping[str, set[str]], themes: Sequence[str],
    n_bootstrap: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """:func:`helpers.annotation.agreement.agreement_table` plus 95 % intervals (see the module docstring).

    Output: the columns of ``agreement_table`` followed by :data:`INTERVAL_COLUMNS`; one row
    per theme, then ``(overall)`` (micro) and ``(macro)``.
    """
    table = agreement_table(gold, predicted, themes)
    ids = list(gold)
    themes = list(themes)
    for c in INTERVAL_COLUMNS:
        table[c] = np.nan
    if not ids or not themes:
        return table
    g = np.array([[t in gold[p] for t in themes] for p in ids], dtype=bool)
    p = np.array([[t in predicted.get(pid, set()) for t in themes] for pid in ids], dtype=bool)
    n_t = len(themes)
    # per-theme precision and recall: Wilson
    tp = (g & p).sum(axis=0)
    fp = (~g & p).sum(axis=0)
    fn = (g & ~p).sum(axis=0)
    for measure, denom in (("precision", tp + fp), ("recall", tp + fn)):
        low, high = wilson_interval(tp, denom)
        table.loc[: n_t - 1, f"{measure}_low"] = low
        table.loc[: n_t - 1, f"{measure}_high"] = high
    # paragraph bootstrap: resample counts per paragraph (B x n), then counts per theme (B x T)
    rng = np.random.default_rng(seed)
    n = len(ids)
    weights = rng.multinomial(n, np.full(n, 1.0 / n), size=n_bootstrap).astype(np.int64)
    cells = {k: m.astype(np.int64) for k, m in (("tp", g & p), ("fp", ~g & p), ("fn", g & ~p), ("tn", ~g & ~p))}
    counts = {k: weights @ m for k, m in cells.items()}  # B x T
    per_theme = _scores(counts["tp"], counts["fp"], counts["fn"], counts["tn"])
    micro = _scores(*(counts[k].sum(axis=1) for k in ("tp", "fp", "fn", "tn")))
    for measure in MEASURES:
        if measure in ("f1", "kappa"):
            low, high = _quantiles(per_theme[measure])
            table.loc[: n_t - 1, f"{measure}_low"] = low
            table.loc[: n_t - 1, f"{measure}_high"] = high
        low, high = _quantiles(micro[measure][:, None])
        table.loc[n_t, [f"{measure}_low", f"{measure}_high"]] = [low[0], high[0]]
        with warnings.catch_warnings():  # a resample where no theme defines the figure: NaN, left out
            warnings.simplefilter("ignore", RuntimeWarning)
            macro = np.nanmean(per_theme[measure], axis=1)
        low, high = _quantiles(macro[:, None])
        table.loc[n_t + 1, [f"{measure}_low", f"{measure}_high"]] = [low[0], high[0]]
    for measure in MEASURES:  # no interval for an undefined figure
        undefined = table[measure].isna()
        table.loc[undefined, [f"{measure}_low", f"{measure}_high"]] = np.nan
    return table


def agreement_by_sample(
    gold: Mapping[str, set[str]], predicted: Mapping[str, set[str]], samples: Mapping[str, str],
    themes: Sequence[str], n_bootstrap: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED,
) -> pd.DataFrame:
    """:func:`agreement_with_intervals` for each ``sample`` (``in-sample``, ``dev``, ``held-out``) present.

    ``samples`` maps each para_id of ``gold`` to its sample. Output columns: :data:`SCORED_COLUMNS`
    (``sample`` first); rows of ``in-sample`` first, then ``dev``, then ``held-out``, each with its themes,
    ``(overall)`` and ``(macro)``.
    """
    tables = []
    for sample in SAMPLES:
        part = {pid: themes_ for pid, themes_ in gold.items() if samples.get(pid) == sample}
        if part:
            tables.append(agreement_with_intervals(part, predicted, themes, n_bootstrap, seed).assign(sample=sample))
    if not tables:
        return pd.DataFrame(columns=SCORED_COLUMNS)
    return pd.concat(tables, ignore_index=True)[SCORED_COLUMNS]


#: Columns of :func:`agreement_by_period` (``REPORTS/agreement_by_period.csv``).
PERIOD_COLUMNS = ["annotation", "period", "year_from", "year_to", "paragraphs", "gold_pos", "pred_pos", "tp", "fp", "fn",
                  "precision", "precision_low", "precision_high", "recall", "recall_low", "recall_high", "f1", "f1_low", "f1_high",
                  "sample"]
#: At most this many periods, and none with fewer held-out paragraphs than :data:`MIN_PERIOD_PARAGRAPHS`.
MAX_PERIODS = 3
MIN_PERIOD_PARAGRAPHS = 30


def periods_of(years: Sequence[int], max_periods: int = MAX_PERIODS, min_paragraphs: int = MIN_PERIOD_PARAGRAPHS) -> list[tuple[int, int]]:
    """Consecutive year spans ``(from, to)`` holding about equal numbers of the paragraphs dated ``years``: as many as
    ``max_periods`` with at least ``min_paragraphs`` each, a year never cut in two. One span when the paragraphs allow
    no more (fewer than two years, or too few paragraphs); none without paragraphs."""
    counts = pd.Series(list(years), dtype="int64").value_counts().sort_index()
    total = int(counts.sum())
    if not total:
        return []
    year_list, sizes = [int(y) for y in counts.index], [int(n) for n in counts]
    for k in range(min(max_periods, len(year_list)), 1, -1):
        spans, first, taken, size = [], 0, 0, 0
        for i, n in enumerate(sizes):
            taken += n
            size += n
            if len(spans) < k - 1 and taken >= total * (len(spans) + 1) / k:
                spans.append((year_list[first], year_list[i], size))
                first, size = i + 1, 0
        if first < len(year_list):
            spans.append((year_list[first], year_list[-1], size))
        if len(spans) == k and min(n for _, _, n in spans) >= min_paragraphs:
            return [(a, b) for a, b, _ in spans]
    return [(year_list[0], year_list[-1])]


def agreement_by_period(
    gold: Mapping[str, set[str]], predicted: Mapping[str, Mapping[str, set[str]]], years: Mapping[str, int],
    themes: Sequence[str], n_bootstrap: int = N_BOOTSTRAP, seed: int = BOOTSTRAP_SEED, sample: str = "held-out",
) -> pd.DataFrame:
    """Micro agreement of held-out paragraphs per period of their documents' dates (:func:`periods_of`), with 95 % intervals.

    Rules written from recent text may find less in older text (words and names change over decades), so a trend
    over time can be partly the coding's. ``gold``: each held-out para_id's hand-coded themes (or dev ones, when the
    sample has no held-out split: ``sample`` names which, :func:`reference_sample`); ``predicted``: for each
    ``annotation`` (``rules``, ``final``) the coding's themes by para_id; ``years``: the year of each para_id's document.
    Output: :data:`PERIOD_COLUMNS`, one row per annotation and period (``period`` = "1946-1975"), in date order, with
    ``sample``; empty when no paragraph has a year.
    """
    dated = [p for p in gold if p in years]
    rows = []
    for a, b in periods_of([years[p] for p in dated]):
        part = {p: gold[p] for p in dated if a <= years[p] <= b}
        for annotation, pred in predicted.items():
            overall = agreement_with_intervals(part, pred, themes, n_bootstrap, seed)
            overall = overall[overall["theme"] == "(overall)"].iloc[0]
            rows.append({"annotation": annotation, "period": f"{a}" if a == b else f"{a}-{b}", "year_from": a, "year_to": b,
                         "paragraphs": len(part), **{c: overall[c] for c in PERIOD_COLUMNS[5:-1]}, "sample": sample})
    return pd.DataFrame(rows, columns=PERIOD_COLUMNS)
