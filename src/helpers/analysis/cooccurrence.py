"""Theme co-occurrence: which themes travel together in the same paragraph, beyond chance.

Raw joint counts favour common themes: two themes that each appear in half the paragraphs
meet in a quarter of them by chance alone. :func:`theme_cooccurrence` therefore reports,
for each pair of themes, the joint count next to what independence predicts and two
frequency-corrected measures:

- ``lift = n_ab * n / (n_a * n_b)``: 1 means "as often as chance", 2 "twice as often";
- ``pmi = log2(lift)`` and ``npmi = pmi / -log2(n_ab / n)`` (normalised to [-1, 1]).

Pairs met in fewer than ``min_support`` paragraphs are left out: a lift computed from one
or two paragraphs is noise, however large.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from helpers.analysis.frequencies import (
    ANNOTATED_HINT, BY_LEVELS, body_only, check_choice, check_number, group_key, require_columns, split_themes,
)

COOCCURRENCE_COLUMNS = [
    "by", "group", "theme_a", "theme_b", "paragraphs", "paragraphs_a", "paragraphs_b", "body_paragraphs",
    "support", "expected", "lift", "pmi", "npmi",
]


def theme_cooccurrence(annotated: pd.DataFrame, min_support: int = 2, by: str = "corpus") -> pd.DataFrame:
    """Theme x theme counts of paragraphs carrying both, with lift, PMI and normalised PMI.

    Parameters
    ----------
    annotated : annotated body paragraphs (``para_id, doc_id, themes``; plus the ``by`` column).
    min_support : minimum number of paragraphs carrying both themes for a pair to be reported (>= 1).
    by : ``"corpus"`` (all paragraphs together) or ``"document"``, ``"organization"``,
        ``"genre"``, ``"year"``: counts and expectations computed within each group.

    Returns
    -------
    One row per unordered theme pair (``theme_a < theme_b``) and group, ordered by group,
    then lift (descending), then the theme ids. Columns:

    - ``by`` (str), ``group`` (str; ``"all"`` for the corpus)
    - ``theme_a``, ``theme_b`` (str): theme ids
    - ``paragraphs`` (int): paragraphs carrying both (``n_ab``)
    - ``paragraphs_a``, ``paragraphs_b`` (int): paragraphs carrying each (``n_a``, ``n_b``)
    - ``body_paragraphs`` (int): body paragraphs in the group (``n``)
    - ``support`` (float, 0-1): ``n_ab / n``
    - ``expected`` (float): paragraphs expected to carry both under independence, ``n_a * n_b / n``
    - ``lift`` (float): ``n_ab / expected``
    - ``pmi`` (float, bits): ``log2(lift)``
    - ``npmi`` (float, -1..1): ``pmi / -log2(support)`` (1.0 when ``support`` is 1)
    """
    check_choice("by", by, ["corpus", *BY_LEVELS])
    check_number("min_support", min_support, 1)
    require_columns(annotated, ["para_id", "doc_id", "themes"], "The annotated paragraphs table", ANNOTATED_HINT)
    annotated = body_only(annotated)
    keys = pd.Series("all", index=annotated.index) if by == "corpus" else group_key(annotated, by)

    rows = []
    for group, idx in keys.groupby(keys, sort=True).groups.items():
        cells = [sorted(set(split_themes(c))) for c in annotated.loc[idx, "themes"]]
        n = len(cells)
        single: dict[str, int] = {}
        joint: dict[tuple[str, str], int] = {}
        for themes in cells:
            for t in themes:
                single[t] = single.get(t, 0) + 1
            for pair in combinations(themes, 2):
                joint[pair] = joint.get(pair, 0) + 1
        for (a, b), n_ab in joint.items():
            if n_ab >= min_support:
                rows.append((by, str(group), a, b, n_ab, single[a], single[b], n))
    out = pd.DataFrame(rows, columns=COOCCURRENCE_COLUMNS[:8])
    for col in ("paragraphs", "paragraphs_a", "paragraphs_b", "body_paragraphs"):
        out[col] = out[col].astype(int)
    n = out["body_paragraphs"].to_numpy(dtype=float)
    out["support"] = out["paragraphs"] / n
    out["expected"] = out["paragraphs_a"] * out["paragraphs_b"] / n
    out["lift"] = out["paragraphs"] / out["expected"]
    out["pmi"] = np.log2(out["lift"].to_numpy(dtype=float))
    with np.errstate(divide="ignore", invalid="ignore"):
        denom = -np.log2(out["support"].to_numpy(dtype=float))
        out["npmi"] = np.where(denom > 0, out["pmi"] / np.where(denom > 0, denom, 1), 1.0)
    out = out.sort_values(["group", "lift", "theme_a", "theme_b"], ascending=[True, False, True, True], kind="mergesort")
    return out[COOCCURRENCE_COLUMNS].reset_index(drop=True)
