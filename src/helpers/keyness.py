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

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.stats import chi2
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

from .frequencies import (
    ANNOTATED_HINT, BY_LEVELS, analysed_text, body_only, check_choice, check_number, group_key, require_columns, split_themes,
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
    if data.empty:
        return pd.DataFrame(columns=KEYNESS_COLUMNS)

    sizes_per_para: list[int] = []
    content = _ContentCache(stop_words)

    def analyzer(text: str) -> list[str]:
        toks = _tokens(text)
        sizes_per_para.append(len(toks))
        keep = [content(t) for t in toks]
        out: list[str] = []
        if ngrams in ("words", "both"):
            out.extend(t for t, k in zip(toks, keep) if k)
        if ngrams in ("phrases", "both"):
            out.extend(f"{toks[i]} {toks[i + 1]}" for i in range(len(toks) - 1) if keep[i] and keep[i + 1])
        return out

    vectorizer = CountVectorizer(analyzer=analyzer, dtype=np.int64)
    try:
        X = vectorizer.fit_transform(analysed_text(data).tolist()).tocsr()
    except ValueError:  # not a single term anywhere
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    groups, codes = np.unique(keys.to_numpy(dtype=str), return_inverse=True)
    codes = np.asarray(codes).ravel()
    G = sp.csr_matrix((np.ones(len(codes), dtype=np.int64), (codes, np.arange(len(codes)))),
                      shape=(len(groups), len(codes)))
    GX = (G @ X).tocoo()
    sizes = np.bincount(codes, weights=np.asarray(sizes_per_para, dtype=float), minlength=len(groups))
    total = np.asarray(X.sum(axis=0)).ravel().astype(float)
    all_words = float(sizes.sum())
    sel = GX.data >= min_freq
    g, t, a = GX.row[sel], GX.col[sel], GX.data[sel].astype(float)
    c = sizes[g]
    d = all_words - c
    ok = d > 0  # a single group: nothing to compare with
    g, t, a, c, d = g[ok], t[ok], a[ok], c[ok], d[ok]
    b = total[t] - a
    if not len(g):
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    ll = log_likelihood(a, b, c, d)
    ratio = np.log2((np.where(a > 0, a, 0.5) / c) / (np.where(b > 0, b, 0.5) / d))
    names = np.asarray(vectorizer.get_feature_names_out(), dtype=object)[t]
    out = pd.DataFrame({
        "by": by, "group": groups[g].astype(object), "term": names,
        "n": [1 + s.count(" ") for s in names],
        "freq_group": a.astype(int), "freq_rest": b.astype(int), "words_group": c.astype(int), "words_rest": d.astype(int),
        "per_10k_group": a / c * 10_000, "per_10k_rest": b / d * 10_000, "ll": ll, "p_value": chi2.sf(ll, 1),
        "log_ratio": ratio, "direction": np.where(a / c > b / d, "over", "under"),
    })
    if direction != "both":
        out = out[out["direction"] == direction]
    out = out.sort_values(["group", "ll", "term"], ascending=[True, False, True], kind="mergesort")
    out["rank"] = out.groupby("group", sort=False).cumcount() + 1
    if top is not None:
        out = out[out["rank"] <= top]
    if out.empty:
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    return out[KEYNESS_COLUMNS].reset_index(drop=True)


class _ContentCache:
    """:func:`_content` with a per-call cache (the same few thousand words recur millions of times)."""

    def __init__(self, stop_words: bool) -> None:
        self.stop_words = stop_words
        self.seen: dict[str, bool] = {}

    def __call__(self, tok: str) -> bool:
        k = self.seen.get(tok)
        if k is None:
            k = self.seen[tok] = _content(tok, self.stop_words)
        return k
