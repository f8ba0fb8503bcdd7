"""Keyness: words and two-word phrases distinctive of one organisation (or genre, year, document) against the rest.

For each group and term, the frequency in the group's paragraphs (``a``) is compared with
the frequency in all other paragraphs (``b``), given the groups' sizes in word tokens
(``c`` and ``d``), with Dunning's log-likelihood (G²), as in Rayson & Garside (2000)::

    E1 = c (a + b) / (c + d)        E2 = d (a + b) / (c + d)
    LL = 2 (a ln(a / E1) + b ln(b / E2))          (a term with a zero count contributes 0)

LL > 3.84 is significant at p < 0.05 (one degree of freedom), > 10.83 at p < 0.001.
``log_ratio`` (Hardie's effect size) is ``log2((a / c) / (b / d))`` with 0.5 in place of a
zero count. Words are lower-cased :data:`helpers.text.WORD_RE` tokens (quotes and dashes
folded); two-word phrases are adjacent token pairs within one paragraph;
with ``stop_words=True`` (default) words in scikit-learn's English stop list, tokens without
a letter, and phrases containing either, are not reported (they still count in ``c`` and ``d``).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd
from scipy.stats import chi2
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from .frequencies import (
    ANNOTATED_HINT, BY_LEVELS, body_only, check_choice, check_number, group_key, require_columns, split_themes,
)
from .text import WORD_RE, fold

KEYNESS_COLUMNS = [
    "by", "group", "term", "n", "freq_group", "freq_rest", "words_group", "words_rest", "per_10k_group",
    "per_10k_rest", "ll", "p_value", "log_ratio", "direction", "rank",
]
_HAS_LETTER = re.compile(r"[^\W\d_]")


def _tokens(text: str) -> list[str]:
    return [t.lower() for t in WORD_RE.findall(fold(text))]


def _content(tok: str, stop_words: bool) -> bool:
    return not stop_words or (tok not in ENGLISH_STOP_WORDS and bool(_HAS_LETTER.search(tok)) and len(tok) > 1)


def log_likelihood(a: np.ndarray, b: np.ndarray, c: np.ndarray | float, d: np.ndarray | float) -> np.ndarray:
    """Dunning's log-likelihood G² for counts ``a`` (group) and ``b`` (rest) out of ``c`` and ``d`` tokens."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    c, d = np.asarray(c, dtype=float), np.asarray(d, dtype=float)
    e1 = c * (a + b) / (c + d)
    e2 = d * (a + b) / (c + d)
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(a > 0, a * np.log(a / e1), 0.0)
        t2 = np.where(b > 0, b * np.log(b / e2), 0.0)
    return 2 * (t1 + t2)


def keyness(
    annotated: pd.DataFrame,
    by: str = "organization",
    min_freq: int = 3,
    ngrams: str = "both",
    direction: str = "over",
    theme: str | None = None,
    stop_words: bool = True,
    top: int | None = None,
) -> pd.DataFrame:
    """Log-likelihood keyness of each group's words and phrases against all other paragraphs.

    Parameters
    ----------
    annotated : body paragraphs with ``text`` and the ``by`` column (``themes`` if ``theme`` is given).
    by : ``"organization"`` (default), ``"document"``, ``"genre"`` or ``"year"``.
    min_freq : a term is reported for a group only if it occurs at least this often in the group.
    ngrams : ``"words"``, ``"phrases"`` (two-word) or ``"both"``.
    direction : ``"over"`` (distinctive: more frequent in the group), ``"under"`` or ``"both"``.
    theme : restrict both sides to paragraphs carrying this theme id, to compare how groups
        frame the same theme.
    stop_words : leave out stop words and phrases containing them.
    top : keep the ``top`` terms per group (by LL), all if ``None``.

    Returns
    -------
    Ordered by group, then ``ll`` descending, then term. Columns: ``by``, ``group`` (str),
    ``term`` (str), ``n`` (int: 1 word, 2 phrase), ``freq_group``, ``freq_rest`` (int: occurrences
    ``a``, ``b``), ``words_group``, ``words_rest`` (int: word tokens ``c``, ``d``),
    ``per_10k_group``, ``per_10k_rest`` (float: occurrences per 10,000 words), ``ll`` (float: G²),
    ``p_value`` (float: chi-squared, 1 df), ``log_ratio`` (float, log2 of the relative frequency
    ratio), ``direction`` (``"over"``/``"under"``), ``rank`` (int, 1-based within group).
    """
    check_choice("by", by, BY_LEVELS)
    check_choice("ngrams", ngrams, ["words", "phrases", "both"])
    check_choice("direction", direction, ["over", "under", "both"])
    check_number("min_freq", min_freq, 1)
    if top is not None:
        check_number("top", top, 1)
    require_columns(annotated, ["para_id", "doc_id", "text"], "The annotated paragraphs table", ANNOTATED_HINT)
    data = body_only(annotated)
    if theme is not None:
        require_columns(annotated, ["themes"], "The annotated paragraphs table", ANNOTATED_HINT)
        data = data[data["themes"].map(lambda c: theme in split_themes(c))]
    keys = group_key(data, by)

    counts: dict[str, Counter[tuple[str, int]]] = {}
    sizes: dict[str, int] = {}
    for group, text in zip(keys, data["text"].fillna("").astype(str)):
        toks = _tokens(text)
        cnt = counts.setdefault(group, Counter())
        sizes[group] = sizes.get(group, 0) + len(toks)
        keep = [_content(t, stop_words) for t in toks]
        if ngrams in ("words", "both"):
            cnt.update((t, 1) for t, k in zip(toks, keep) if k)
        if ngrams in ("phrases", "both"):
            cnt.update((f"{toks[i]} {toks[i + 1]}", 2) for i in range(len(toks) - 1) if keep[i] and keep[i + 1])
    total: Counter[tuple[str, int]] = Counter()
    for cnt in counts.values():
        total.update(cnt)
    all_words = sum(sizes.values())

    parts = []
    for group in sorted(counts):
        cnt = counts[group]
        terms = [k for k, v in cnt.items() if v >= min_freq]
        if not terms:
            continue
        a = np.array([cnt[k] for k in terms], dtype=float)
        b = np.array([total[k] for k in terms], dtype=float) - a
        c, d = float(sizes[group]), float(all_words - sizes[group])
        if d == 0:
            continue  # a single group: nothing to compare with
        ll = log_likelihood(a, b, c, d)
        ratio = np.log2((np.where(a > 0, a, 0.5) / c) / (np.where(b > 0, b, 0.5) / d))
        over = a / c > b / d
        df = pd.DataFrame({
            "by": by, "group": group, "term": [k[0] for k in terms], "n": [k[1] for k in terms],
            "freq_group": a.astype(int), "freq_rest": b.astype(int), "words_group": int(c), "words_rest": int(d),
            "per_10k_group": a / c * 10_000, "per_10k_rest": b / d * 10_000, "ll": ll, "p_value": chi2.sf(ll, 1),
            "log_ratio": ratio, "direction": np.where(over, "over", "under"),
        })
        if direction != "both":
            df = df[df["direction"] == direction]
        df = df.sort_values(["ll", "term"], ascending=[False, True], kind="mergesort")
        df["rank"] = np.arange(1, len(df) + 1)
        parts.append(df if top is None else df.head(top))
    if not parts:
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    return pd.concat(parts, ignore_index=True)[KEYNESS_COLUMNS]
