"""Agreement of an automatic annotation with a hand-coded reference, per theme and overall.

Every (paragraph, theme) pair of the validated paragraphs is one binary decision: the reference
(``gold``) says present or absent, the annotation (``predicted``) says present or absent.
Per theme, over the ``n`` validated paragraphs:

- precision = tp / (tp + fp), recall = tp / (tp + fn), F1 = 2 tp / (2 tp + fp + fn);
- Cohen's kappa = (p_o - p_e) / (1 - p_e), with observed agreement p_o = (tp + tn) / n and
  chance agreement p_e = (p_gold * p_pred) + (1 - p_gold) * (1 - p_pred) from the two coders'
  rates of "present".

A figure whose denominator is zero is NaN (precision when the annotation never says present,
recall when the reference never does, kappa when both coders give a single constant answer).
Two summary rows: ``(overall)`` pools every (paragraph, theme) decision (micro average), and
``(macro)`` is the unweighted mean of the per-theme figures that are defined.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd

AGREEMENT_COLUMNS = [
    "theme", "n", "gold_pos", "pred_pos", "tp", "fp", "fn", "tn", "precision", "recall", "f1", "kappa",
]
DISAGREEMENT_COLUMNS = ["para_id", "theme", "gold", "predicted", "kind"]


def _ratio(a: float, b: float) -> float:
    return a / b if b else math.nan


def binary_scores(tp: int, fp: int, fn: int, tn: int) -> dict[str, float]:
    """Precision, recall, F1 and Cohen's kappa of one 2x2 table (NaN where undefined).

    >>> binary_scores(tp=2, fp=1, fn=1, tn=4)["kappa"]
    0.4666666666666667
    """
    n = tp + fp + fn + tn
    p_o = _ratio(tp + tn, n)
    p_gold = _ratio(tp + fn, n)
    p_pred = _ratio(tp + fp, n)
    p_e = p_gold * p_pred + (1 - p_gold) * (1 - p_pred) if n else math.nan
    kappa = _ratio(p_o - p_e, 1 - p_e) if n and p_e != 1 else math.nan
    return {
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "kappa": kappa,
    }


def agreement_table(
    gold: Mapping[str, set[str]], predicted: Mapping[str, set[str]], themes: Sequence[str]
) -> pd.DataFrame:
    """Per-theme and overall agreement of ``predicted`` with ``gold`` on the paragraphs of ``gold``.

    Inputs: ``gold`` maps each validated para_id to its reference set of theme ids (empty set
    = no theme); ``predicted`` maps para_ids to the annotation's themes (a validated paragraph
    missing from it counts as having no theme); ``themes``: the theme ids to score, in order.
    Output: one row per theme, then ``(overall)`` and ``(macro)``. Columns: ``theme`` (str),
    ``n`` (int, validated paragraphs; for ``(overall)`` paragraph-theme decisions), ``gold_pos``,
    ``pred_pos`` (int, decisions "present" by reference and by annotation), ``tp``, ``fp``,
    ``fn``, ``tn`` (int), ``precision``, ``recall``, ``f1``, ``kappa`` (float, 0-1, kappa -1-1;
    NaN where undefined). Counts of ``(macro)`` are the sums over themes.
    """
    rows = []
    totals = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    ids = list(gold)
    for theme in themes:
        c = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
        for pid in ids:
            g = theme in gold[pid]
            p = theme in predicted.get(pid, set())
            c["tp" if g and p else "fp" if p else "fn" if g else "tn"] += 1
        for k in totals:
            totals[k] += c[k]
        rows.append({"theme": theme, "n": len(ids), "gold_pos": c["tp"] + c["fn"], "pred_pos": c["tp"] + c["fp"],
                     **c, **binary_scores(**c)})
    overall = {"theme": "(overall)", "n": len(ids) * len(themes), "gold_pos": totals["tp"] + totals["fn"],
               "pred_pos": totals["tp"] + totals["fp"], **totals, **binary_scores(**totals)}
    per = pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)
    macro = {"theme": "(macro)", "n": len(ids), "gold_pos": int(per["gold_pos"].sum()),
             "pred_pos": int(per["pred_pos"].sum()), **totals}
    for k in ("precision", "recall", "f1", "kappa"):
        vals = per[k].dropna()
        macro[k] = float(vals.mean()) if len(vals) else math.nan
    return pd.DataFrame(rows + [overall, macro], columns=AGREEMENT_COLUMNS)


def disagreement_table(
    gold: Mapping[str, set[str]], predicted: Mapping[str, set[str]], themes: Sequence[str]
) -> pd.DataFrame:
    """Every (paragraph, theme) on which ``predicted`` and ``gold`` disagree.

    Output columns: ``para_id`` (str), ``theme`` (str), ``gold`` (int 0/1, reference says
    present), ``predicted`` (int 0/1), ``kind`` (``missed``: in the reference only;
    ``spurious``: in the annotation only). Rows follow ``gold``'s order, then ``themes``' order.
    """
    rows = []
    for pid, g_set in gold.items():
        p_set = predicted.get(pid, set())
        for theme in themes:
            g, p = theme in g_set, theme in p_set
            if g != p:
                rows.append({"para_id": pid, "theme": theme, "gold": int(g), "predicted": int(p),
                             "kind": "missed" if g else "spurious"})
    return pd.DataFrame(rows, columns=DISAGREEMENT_COLUMNS).astype({"gold": "int64", "predicted": "int64"})
