"""Keyness: words and two-word phrases distinctive of one organisation (or genre, year, document) against the rest.

For each group and term, the frequency in the group's paragraphs (``a``) is compared with
the frequency in all other paragraphs (``b``), given the groups' sizes in word tokens
(``c`` and ``d``), with Dunning's log-likelihood (G²), as in Rayson & Garside (2000)::

    E1 = c (a + b) / (c + d)        E2 = d (a + b) / (c + d)
    LL = 2 (a ln(a / E1) + b ln(b / E2))          (a term with a zero count contributes 0)

LL > 3.84 is significant at p < 0.05 (one degree of freedom), > 10.83 at p < 0.001.
``log_ratio`` (Hardie's effect size) is ``log2((a / c) / (b / d))`` with 0.5 in place of a
zero count. Words are lower-cased :data:`helpers.corpus.text.WORD_RE` tokens (quotes and dashes
folded); two-word phrases are adjacent token pairs within one paragraph;
with ``stop_words=True`` (default) words in scikit-learn's English stop list, tokens without
a letter, and phrases containing either, are not reported (they still count in ``c`` and ``d``).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.special import chdtrc  # chi2.sf without importing scipy.stats (0.7 s)

from helpers.analysis.frequencies import (
    ANNOTATED_HINT, BY_LEVELS, analysed_text, body_only, check_choice, check_number, group_key, require_columns, theme_sets,
)
import helpers.corpus.text as _text_module
from helpers.arrays import run_starts, unique_counts
from helpers.corpus.paragraph_cache import cached_arrow_strings, source_version
from helpers.corpus.text import english_stop_words, folded_words

KEYNESS_COLUMNS = [
    "by", "group", "term", "n", "freq_group", "freq_rest", "words_group", "words_rest", "per_10k_group",
    "per_10k_rest", "ll", "p_value", "log_ratio", "direction", "rank",
]
_HAS_LETTER = re.compile(r"[^\W\d_]")


#: Tokens encoded and counted at a time (:func:`keyness`'s ``block_tokens``): a block's int64 term keys and their
#: sort, about 50 bytes a token, instead of the whole corpus's (32 million tokens in the complete UN General
#: Debate Corpus).
BLOCK_TOKENS = 4_000_000
#: Names the tokenisation in the token cache: this module's and the text folding's source.
TOKENS_VERSION = source_version(__file__, _text_module.__file__)


def _tokens(text: str) -> list[str]:
    return folded_words(text, "lower")


def _content(tok: str, stop_words: bool) -> bool:
    return not stop_words or (tok not in english_stop_words() and bool(_HAS_LETTER.search(tok)) and len(tok) > 1)


def _group_blocks(gcode: np.ndarray, lengths: np.ndarray, n_groups: int, block_tokens: int) -> list[np.ndarray]:
    """Paragraph indexes in blocks of whole groups, groups in increasing code, paragraphs in their order within
    a group; a block holds up to ``block_tokens`` tokens (``lengths``) or one group that has more."""
    order = np.argsort(gcode, kind="stable")
    per_group = np.bincount(gcode, weights=lengths, minlength=n_groups)
    group_starts = np.searchsorted(gcode[order], np.arange(n_groups + 1))
    blocks, first, tokens = [], 0, 0.0
    for grp in range(n_groups):
        if tokens and tokens + per_group[grp] > block_tokens:
            blocks.append(order[group_starts[first]:group_starts[grp]])
            first, tokens = grp, 0.0
        tokens += per_group[grp]
    blocks.append(order[group_starts[first]:group_starts[n_groups]])
    return blocks


def _encode_blocks(joined: pa.Array, blocks: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """Token codes (int32) of each block's paragraphs, in order, and the vocabulary (object array: code -> token),
    codes given in order of first occurrence over the blocks. ``joined``: each paragraph's tokens joined by single
    spaces. Each block is split and dictionary-encoded by Arrow without a Python object per token; only its
    distinct tokens are looked up in the vocabulary."""
    index: dict[str, int] = {}
    out = []
    for paras in blocks:
        arr = joined.take(pa.array(paras))
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, arr.type), arr)  # no token: no list entry at all
        encoded = pc.dictionary_encode(pc.list_flatten(pc.split_pattern(arr, " ")))
        del arr
        local = np.fromiter((index.setdefault(w, len(index)) for w in encoded.dictionary.to_pylist()), dtype=np.int32,
                            count=len(encoded.dictionary))
        out.append(local[encoded.indices.to_numpy(zero_copy_only=False)])
        del encoded, local
    return np.asarray(list(index), dtype=object), out


def _count_terms(codes: np.ndarray, lengths: np.ndarray, gcode: np.ndarray, content: np.ndarray, ngrams: str,
                 V: np.int64, span: np.int64) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct term keys (``group * span + term``: a word its code, a phrase ``V + first * V + second``)
    of the tokens ``codes`` of paragraphs with ``lengths`` tokens and groups ``gcode``, and their counts; only
    content words (``content[code]``) and phrases of two adjacent content words of one paragraph."""
    group_of = np.repeat(gcode.astype(np.int32), lengths)
    found_parts, count_parts = [], []
    if ngrams in ("words", "both"):
        keep = content[codes]
        f, c = unique_counts(group_of[keep].astype(np.int64) * span + codes[keep].astype(np.int64))
        found_parts.append(f)
        count_parts.append(c)
        del keep, f, c
    if ngrams in ("phrases", "both"):
        nxt = np.ones(len(codes), dtype=bool)  # token i and i + 1 are in one paragraph: i is not a paragraph's last
        ends = np.cumsum(lengths)
        nxt[ends[ends > 0] - 1] = False
        is_content = content[codes]
        keep = nxt & is_content & np.r_[is_content[1:], False]
        del nxt, is_content
        first = codes[keep].astype(np.int64)
        second = codes[1:][keep[:-1]].astype(np.int64)
        f, c = unique_counts(group_of[keep].astype(np.int64) * span + V + first * V + second)
        found_parts.append(f)
        count_parts.append(c)
        del keep, first, second, f, c
    del group_of
    # Word and phrase keys never coincide (t < V for a word): sorting the two sets of distinct keys together is
    # the sort of all keys.
    found, counts = np.concatenate(found_parts), np.concatenate(count_parts)
    order = np.argsort(found, kind="stable")
    return found[order], counts[order]


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
    cache_dir: str | Path | None = None,
    update_cache: bool = True,
    block_tokens: int | None = None,
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
    cache_dir : folder keeping each paragraph's tokens (``keyness_tokens.parquet``, see
        :func:`helpers.corpus.paragraph_cache.cached_strings`); ``None`` (default) caches nothing.
        ``update_cache=False`` only reads it (for a selection of a corpus whose cache the analysis keeps).
    block_tokens : encode and count the tokens of about this many at a time (whole groups; default
        :data:`BLOCK_TOKENS`): the table is the same for any value, the memory bounded by a block, not the corpus.

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
    block_tokens = BLOCK_TOKENS if block_tokens is None else block_tokens
    check_number("block_tokens", block_tokens, 1)
    require_columns(annotated, ["para_id", "doc_id", "text"], "The annotated paragraphs table", ANNOTATED_HINT)
    data = body_only(annotated)
    if theme is not None:
        require_columns(annotated, ["themes"], "The annotated paragraphs table", ANNOTATED_HINT)
        keep = np.fromiter((theme in s for s in theme_sets(data["themes"])), dtype=bool, count=len(data))
        # Only the columns read below are copied for the theme's paragraphs (the whole table's rows cost 3x as much).
        read = ["para_id", "doc_id", "text", "label_chars", "date" if by == "year" else BY_LEVELS[by]]
        data = data.loc[keep, list(dict.fromkeys(c for c in read if c in data.columns))]
    keys = group_key(data, by)
    if data.empty:
        return pd.DataFrame(columns=KEYNESS_COLUMNS)

    # Tokens of every paragraph (space-joined, cached), as integer codes: split and dictionary-encoded by Arrow,
    # a block of whole groups at a time (:func:`_encode_blocks`), then counted block by block.
    joined = cached_arrow_strings(data, analysed_text(data).tolist(), "keyness_tokens", lambda t: " ".join(_tokens(t)),
                                  TOKENS_VERSION, cache_dir, update=update_cache)
    # Groups in sorted order (code point order, as np.unique sorts), each paragraph's group's code; factorised,
    # not a fixed-width unicode array of a million names.
    gcode, groups = pd.factorize(np.asarray(keys.tolist(), dtype=object), sort=True)
    groups = np.asarray(groups, dtype=object)
    gcode = np.asarray(gcode, dtype=np.int64).ravel()
    # Tokens per paragraph: the cached strings are tokens joined by single spaces ("" for none).
    spaces = pc.count_substring(joined, " ").to_numpy(zero_copy_only=False).astype(np.int64)
    lengths = np.where(pc.equal(joined, "").to_numpy(zero_copy_only=False), 0, spaces + 1)
    del spaces
    sizes = np.bincount(gcode, weights=lengths, minlength=len(groups)).astype(float)
    all_words = float(sizes.sum())
    if not lengths.sum():
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    blocks = _group_blocks(gcode, lengths, len(groups), block_tokens)
    vocab, block_codes = _encode_blocks(joined, blocks)
    del joined
    V = np.int64(len(vocab))
    span = V + V * V  # term keys: a word is its code, a phrase V + first * V + second
    content = np.array([_content(w, stop_words) for w in vocab], dtype=bool)
    found_parts, count_parts = [], []
    for paras, codes in zip(blocks, block_codes):
        # Blocks hold whole groups in increasing order: their keys (group first) never overlap and come sorted.
        f, c = _count_terms(codes, lengths[paras], gcode[paras], content, ngrams, V, span)
        found_parts.append(f)
        count_parts.append(c)
    del block_codes
    found, counts = np.concatenate(found_parts), np.concatenate(count_parts)
    del found_parts, count_parts
    g_all, t_all = found // span, found % span
    sel = counts >= min_freq
    by_term = np.argsort(t_all, kind="stable")  # occurrences of each term over all groups: b = total - a
    sorted_terms = t_all[by_term]
    starts = run_starts(sorted_terms)
    term_ids, term_counts = sorted_terms[starts], np.add.reduceat(counts[by_term], starts)
    g, t, a = g_all[sel], t_all[sel], counts[sel].astype(float)
    b = term_counts[np.searchsorted(term_ids, t)].astype(float) - a
    c = sizes[g]
    d = all_words - c
    ok = d > 0  # a single group: nothing to compare with
    g, t, a, b, c, d = g[ok], t[ok], a[ok], b[ok], c[ok], d[ok]
    if not len(g):
        return pd.DataFrame(columns=KEYNESS_COLUMNS)
    ll = log_likelihood(a, b, c, d)
    ratio = np.log2((np.where(a > 0, a, 0.5) / c) / (np.where(b > 0, b, 0.5) / d))
    is_word = t < V
    pair = np.where(is_word, 0, t - V)
    names = np.where(is_word, vocab[np.where(is_word, t, 0)],
                     vocab[pair // V] + " " + vocab[pair % V])
    out = pd.DataFrame({
        "by": by, "group": groups[g].astype(object), "term": names, "n": np.where(is_word, 1, 2),
        "freq_group": a.astype(int), "freq_rest": b.astype(int), "words_group": c.astype(int), "words_rest": d.astype(int),
        "per_10k_group": a / c * 10_000, "per_10k_rest": b / d * 10_000, "ll": ll, "p_value": chdtrc(1, ll),
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
