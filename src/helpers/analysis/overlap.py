"""Cross-document overlap, three ways: shared themes, similar paragraphs, verbatim reuse.

1. :func:`document_similarity`: documents compared by their theme profiles (cosine of
   the theme-share vectors) and theme sets (Jaccard).
2. :func:`similar_paragraphs`: for each pair of documents from different organisations or
   dates, the paragraph pairs that say the most similar things in any words: TF-IDF over
   Snowball-stemmed words with English stop words removed (numbering labels such as
   "Paragraph 47." left out), cosine similarity. To scale to ~100k paragraphs the
   all-pairs product is never formed: candidate pairs are the pairs sharing at least one
   stem that occurs in at most ``candidate_max_df`` paragraphs (a sparse product, block by
   block); each paragraph's ``max_candidates`` best candidates get an exact cosine, the
   ``top_n`` best pairs of each document pair are kept, and only the ``max_document_pairs``
   document pairs whose best pair is most similar are reported. On corpora smaller than
   both candidate limits this is exact.
3. :func:`find_reuse`: passages one document shares with another almost word for word.
   Paragraphs are tokenised (quotes, dashes and case folded, punctuation ignored), every
   run of ``shingle`` consecutive tokens is hashed (:func:`document_shingles`: two stable
   64-bit hashes, cached per document as Parquet when a cache folder is given), and an
   inverted index (a sort of all shingle hashes; above two million shingles, or on Dask
   workers, bucket by bucket of the hash space, the seeds spilled to disk in partitions by
   paragraph and chained partition by partition, so memory is bounded by a bucket, not the
   corpus) yields the paragraph pairs and positions sharing a shingle, with no all-pairs
   comparison. Seeds on one diagonal become exact runs; runs of the same
   paragraph pair separated by at most ``max_gap`` words in both texts (a changed,
   inserted or dropped word) are merged into maximal aligned passages; passages shorter
   than ``min_words`` (default 12) are dropped, which keeps stock phrases such as
   "international peace and security" out. Shingles found in more than ``max_shingle_df``
   paragraphs are boilerplate and seed nothing. :func:`find_reuse_bruteforce` is the
   all-pairs reference (same rules, no index) used to test the index.
   :func:`reuse_by_document_pair` gives each document pair's share of words reused.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp
import snowballstemmer

from helpers.errors import ParameterError
from helpers.io import atomic_path, read_arrow, write_arrow
import helpers.corpus.text as _text_module
from helpers.corpus.paragraph_cache import StringCache, source_version
from helpers.arrays import positions_in_runs, release_memory, run_starts, unique_counts
from helpers.parallel import Runner, chunked
from helpers.analysis.frequencies import analysed_text, body_only, check_choice, check_number, require_columns, theme_frequencies
from helpers.corpus.text import WORD_RE, english_stop_words, fold, folded_words

PARAGRAPHS_HINT = "Pass a paragraph table (helpers.corpus.corpus.load_paragraphs, body paragraphs) or the annotated paragraphs."

# --------------------------------------------------------------------------- 1. thematic

DOCUMENT_SIMILARITY_COLUMNS = [
    "doc_a", "doc_b", "organization_a", "organization_b", "date_a", "date_b", "cosine", "jaccard",
    "shared_themes", "themes_a", "themes_b",
]


def _document_order(paragraphs: pd.DataFrame) -> list[str]:
    """Document ids ordered by date (if present) then doc_id: the 'a' side of a pair is the earlier one."""
    docs = paragraphs.drop_duplicates("doc_id")[["doc_id"] + (["date"] if "date" in paragraphs.columns else [])]
    docs = docs.astype(str)
    keys = ["date", "doc_id"] if "date" in docs.columns else ["doc_id"]
    return docs.sort_values(keys, kind="mergesort")["doc_id"].tolist()


def _doc_meta(paragraphs: pd.DataFrame, column: str) -> dict[str, str]:
    if column not in paragraphs.columns:
        return {}
    first = paragraphs.drop_duplicates("doc_id")
    return dict(zip(first["doc_id"].astype(str), first[column].astype(str)))


def document_similarity(annotated: pd.DataFrame, top: int | None = None, neighbours: int | None = None,
                        block_size: int = 512) -> pd.DataFrame:
    """Thematic similarity of every pair of documents, or of each document with its nearest neighbours.

    ``cosine`` compares the documents' theme-share vectors (share of body paragraphs
    carrying each theme, as in :func:`helpers.analysis.frequencies.theme_frequencies`); ``jaccard``
    compares the sets of themes each document raises at all. ``top`` keeps only that many
    pairs, those with the highest cosine (ties by the pair's order below; pairs without a
    cosine last); ``None`` (default) keeps every pair. Computed as matrix products, so 1,938
    documents (1.9 million pairs) take seconds.

    ``neighbours`` = k keeps only the pairs in which one document is among the other's ``k``
    most similar (highest cosine, ties by document order; documents without a theme have no
    neighbours): at most n × k pairs, computed ``block_size`` documents at a time, so memory
    grows with ``block_size × n``, never with n² (10,952 UNGDC speeches: 120 million pairs
    otherwise). With ``k >= n - 1`` every pair with a cosine is kept, the same rows as the full
    computation. ``top`` then applies to those pairs.

    Returns one row per unordered document pair, ``doc_a`` the earlier (by ``date``, then
    ``doc_id``), ordered by ``doc_a`` then ``doc_b`` in that document order. Columns:
    ``doc_a``, ``doc_b`` (str), ``organization_a``, ``organization_b``, ``date_a``, ``date_b``
    (str, empty if absent), ``cosine`` (float 0-1, NaN when a document carries no theme),
    ``jaccard`` (float 0-1, NaN when neither carries a theme), ``shared_themes`` (str:
    ``;``-joined ids both raise), ``themes_a``, ``themes_b`` (int: number of themes each raises).
    """
    if top is not None:
        check_number("top", top, 1)
    if neighbours is not None:
        check_number("neighbours", neighbours, 1)
    check_number("block_size", block_size, 1)
    freq = theme_frequencies(annotated, by="document")
    order = _document_order(annotated)
    themes = sorted(freq["theme"].unique())
    mat = freq.pivot_table(index="group", columns="theme", values="share", aggfunc="first")
    mat = mat.reindex(index=order, columns=themes).fillna(0.0)
    values = mat.to_numpy(dtype=float)
    n = len(order)
    if n < 2:
        return pd.DataFrame(columns=DOCUMENT_SIMILARITY_COLUMNS)
    norms = np.linalg.norm(values, axis=1)
    present = values > 0
    counts = present.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        if neighbours is None:
            I, J = np.triu_indices(n, 1)
            # n x n products (30 MB for 1,938 documents), not one row per pair: gathering the pairs' rows
            # first would copy 1.9 million x themes values twice.
            dots = (values @ values.T)[I, J] if len(themes) else np.zeros(len(I))
            # Rounded to 12 decimals: profiles equal in exact arithmetic tie whatever the summation order.
            cos = np.round(np.where((norms[I] > 0) & (norms[J] > 0), dots / (norms[I] * norms[J]), np.nan), 12)
            flags = present.astype(np.float64)
            inter = np.rint((flags @ flags.T)[I, J]).astype(np.int64) if len(themes) else np.zeros(len(I), dtype=np.int64)
        else:
            I, J, cos = _nearest_pairs(values, norms, neighbours, block_size)
            inter = (present[I] & present[J]).sum(axis=1).astype(np.int64)
        union = counts[I] + counts[J] - inter
        jac = np.where(union > 0, inter / np.where(union > 0, union, 1), np.nan)
    if top is not None and top < len(I):
        rank = np.lexsort((np.arange(len(I)), -np.nan_to_num(cos, nan=-1.0)))
        keep = np.sort(rank[:top])
        I, J, cos, jac, inter = I[keep], J[keep], cos[keep], jac[keep], inter[keep]
    # Shared theme sets: pack each pair's intersection into bytes, name each distinct set once.
    if len(themes):
        packed = np.packbits(present, axis=1)
        both = packed[I] & packed[J]
        uniq, inverse = np.unique(both, axis=0, return_inverse=True)
        names = np.asarray(themes, dtype=object)
        labels = np.array([";".join(names[np.unpackbits(u)[:len(themes)].astype(bool)]) for u in uniq], dtype=object)
        shared = labels[np.asarray(inverse).ravel()]
    else:
        shared = np.full(len(I), "", dtype=object)
    docs = np.asarray(order, dtype=object)
    org, date = _doc_meta(annotated, "organization"), _doc_meta(annotated, "date")
    org_v = np.array([org.get(d, "") for d in order], dtype=object)
    date_v = np.array([date.get(d, "") for d in order], dtype=object)
    return pd.DataFrame({
        "doc_a": docs[I], "doc_b": docs[J], "organization_a": org_v[I], "organization_b": org_v[J],
        "date_a": date_v[I], "date_b": date_v[J], "cosine": cos.astype(float), "jaccard": jac.astype(float),
        "shared_themes": shared, "themes_a": counts[I].astype(int), "themes_b": counts[J].astype(int),
    })[DOCUMENT_SIMILARITY_COLUMNS]


def _nearest_pairs(values: np.ndarray, norms: np.ndarray, k: int, block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j, in document order) where one is among the other's ``k`` highest cosines, and their cosines.

    Rows of the cosine matrix are computed ``block_size`` at a time; each row's ``k`` best are
    kept by :func:`top_per_row` (ties: the earlier document), pairs without a cosine never.
    """
    n = len(values)
    found_i, found_j, found_c = [], [], []
    for s0 in range(0, n, block_size):
        s1 = min(s0 + block_size, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            dots = values[s0:s1] @ values.T if values.shape[1] else np.zeros((s1 - s0, n))
            cos = np.round(dots / (norms[s0:s1, None] * norms[None, :]), 12)
        ok = (norms[s0:s1, None] > 0) & (norms[None, :] > 0)
        ok[np.arange(s1 - s0), np.arange(s0, s1)] = False  # not with itself
        rows, cols = np.nonzero(ok)
        vals = cos[rows, cols]
        keep = top_per_row(rows, cols, vals, k)
        i, j = rows[keep] + s0, cols[keep]
        found_i.append(np.minimum(i, j))
        found_j.append(np.maximum(i, j))
        found_c.append(vals[keep])
    I = np.concatenate(found_i).astype(np.int64) if found_i else np.empty(0, dtype=np.int64)
    J = np.concatenate(found_j).astype(np.int64) if found_j else np.empty(0, dtype=np.int64)
    C = np.concatenate(found_c) if found_c else np.empty(0)
    key = I * np.int64(n) + J
    key, first = np.unique(key, return_index=True)  # sorted by (i, j); a pair seen from both ends once
    return key // n, key % n, C[first]


# --------------------------------------------------------------------------- 2. similar paragraphs

PAIR_RULES = ("different_organization_or_date", "different_organization", "all")
SIMILAR_COLUMNS = [
    "doc_a", "para_a", "doc_b", "para_b", "rank", "similarity", "shared_terms", "organization_a", "organization_b",
    "date_a", "date_b", "source_para_a", "source_para_b", "text_a", "text_b",
]

_STEMMER = snowballstemmer.stemmer("english")
_STOP = english_stop_words()
_HAS_LETTER = re.compile(r"[^\W\d_]")


class _StemAnalyzer:
    """Lower-cased WORD_RE tokens, stop words and tokens without letters removed, Snowball-stemmed (cached)."""

    def __init__(self) -> None:
        self.cache: dict[str, str] = {}

    def __call__(self, text: str) -> list[str]:
        out = []
        cache = self.cache
        for tok in WORD_RE.findall(fold(text).lower()):
            stem = cache.get(tok)
            if stem is None:
                if tok in _STOP or len(tok) < 2 or not _HAS_LETTER.search(tok):
                    stem = ""
                else:
                    stem = _STEMMER.stemWord(tok.replace("'", ""))
                cache[tok] = stem
            if stem:
                out.append(stem)
        return out


#: Names the stemming in the stem cache: this module's and the text folding's source, and the stemmer's version.
STEM_VERSION = source_version(__file__, _text_module.__file__, extra=f"snowballstemmer {importlib.metadata.version('snowballstemmer')}")


def stem_tokens(text: str) -> list[str]:
    """The stems :func:`similar_paragraphs` compares: lower-cased words, stop words out, Snowball-stemmed."""
    return _StemAnalyzer()(text)


#: Rows whose term counts :func:`tfidf_matrix` computes at once (memory only: the matrix is the same).
TFIDF_BLOCK_ROWS = 50_000
#: Paragraphs stemmed at a time by :func:`similar_paragraphs` (memory only: the stems are the same).
STEM_PART_ROWS = 50_000


def tfidf_matrix(texts: Sequence[str]) -> tuple[sp.csr_matrix, np.ndarray]:
    """TF-IDF vectors of space-separated token strings, as scikit-learn's
    ``TfidfVectorizer(analyzer=str.split, sublinear_tf=True, norm="l2")`` computes them.

    Input: one string per row, tokens separated by single spaces ("" for none). Output: the
    rows × terms CSR matrix (float64; tf = 1 + ln count, idf = ln((1 + n) / (1 + df)) + 1,
    each row scaled to unit length) and the terms (str, sorted, one per column). The same
    numbers as scikit-learn, bit for bit (a test checks it), in Arrow and NumPy: importing
    scikit-learn alone takes over a second, and its Python vocabulary loop another.
    """
    n = len(texts)
    tokens = pc.split_pattern(pa.array(texts, pa.large_string()), " ")
    del texts
    token_offsets = tokens.offsets.to_numpy().astype(np.int64)
    encoded = pc.dictionary_encode(pc.list_flatten(tokens))
    del tokens
    # Dictionary order is order of first appearance in the corpus, scikit-learn's order while counting; columns
    # are the sorted terms, but within a row entries stay in first-appearance order, as scikit-learn leaves them,
    # so the row norms are summed in the same order.
    seen_all = encoded.indices.to_numpy()  # int32, one per token
    words = encoded.dictionary.to_numpy(zero_copy_only=False)
    del encoded
    blank = np.flatnonzero(words == "")  # what splitting "" (or a double space) gives; str.split drops it
    if len(blank):
        words = np.delete(words, blank[0])
    if not len(words):
        return sp.csr_matrix((n, 0)), np.empty(0, dtype=object)
    alphabetical = np.argsort(words, kind="stable")
    column = np.empty(len(words), dtype=np.int64)
    column[alphabetical] = np.arange(len(words))
    # Each row's distinct terms and their counts, a block of rows at a time (the int64 keys of every token of a
    # million paragraphs at once took gigabytes); rows are contiguous, so the blocks' sorted pairs in turn are the
    # sorted pairs of the whole table.
    # Each block keeps its rows' entry counts, columns and tf = 1 + ln count (float64, what the matrix holds):
    # never an int64 array of every entry (the complete UNGDC corpus has 24 million entries, 190 MB each).
    length_parts, col_parts, tf_parts = [], [], []
    block = TFIDF_BLOCK_ROWS
    for r0 in range(0, n, block):
        r1 = min(r0 + block, n)
        t0, t1 = int(token_offsets[r0]), int(token_offsets[r1])
        rows = np.repeat(np.arange(r0, r1, dtype=np.int64), np.diff(token_offsets[r0:r1 + 1]))
        seen = seen_all[t0:t1].astype(np.int64)
        if len(blank):
            keep = seen != blank[0]
            rows, seen = rows[keep], seen[keep]
            seen -= seen > blank[0]
        pair, count = unique_counts(rows * len(words) + seen)
        del rows, seen
        length_parts.append(np.bincount(pair // len(words) - r0, minlength=r1 - r0))
        col_parts.append(column[pair % len(words)].astype(np.int32))
        tf = count.astype(np.float64)
        del pair, count
        np.log(tf, out=tf)
        tf += 1.0
        tf_parts.append(tf)
    del seen_all
    indptr = np.r_[0, np.cumsum(np.concatenate(length_parts))] if length_parts else np.zeros(1, dtype=np.int64)
    indices = np.concatenate(col_parts) if col_parts else np.empty(0, dtype=np.int32)
    del length_parts, col_parts
    data = np.concatenate(tf_parts) if tf_parts else np.empty(0, dtype=np.float64)
    del tf_parts
    df = np.bincount(indices, minlength=len(words)).astype(np.float64) + 1.0
    idf = np.full_like(df, n + 1, dtype=np.float64)
    idf /= df
    np.log(idf, out=idf)
    idf += 1.0
    # Times idf, then each row over its norm: in place, a block of rows at a time (temporaries of a block's size;
    # each row's squares are summed on their own, so the norms are those of the whole matrix).
    for r0 in range(0, n, block):
        r1 = min(r0 + block, n)
        e0, e1 = int(indptr[r0]), int(indptr[r1])
        part = data[e0:e1]
        part *= idf[indices[e0:e1]]
        norms = np.sqrt(_sequential_row_sums(part, indptr[r0:r1 + 1] - e0, squared=True))
        norms[norms == 0.0] = 1.0
        part /= np.repeat(norms, np.diff(indptr[r0:r1 + 1]))
    X = sp.csr_matrix((data, indices, indptr), shape=(n, len(words)))
    return X, words[alphabetical].astype(object)


def _sequential_row_sums(values: np.ndarray, indptr: np.ndarray, squared: bool = False) -> np.ndarray:
    """Sum of each CSR row's values (their squares with ``squared``) added left to right (as scikit-learn's row
    normalisation does; NumPy's own sums are pairwise and may differ in the last bit)."""
    counts = np.diff(indptr)
    sums = np.zeros(len(counts))
    if not len(values):
        return sums
    longest_first = np.argsort(-counts, kind="stable")
    descending = counts[longest_first]
    starts = indptr[:-1][longest_first]
    ordered = np.zeros(len(counts))
    for k in range(int(descending[0])):  # entry k of every row that has one, at once: one pass per entry of the longest row
        live = int(np.searchsorted(-descending, -k, side="left"))
        entry = values[starts[:live] + k]
        ordered[:live] += entry * entry if squared else entry
    sums[longest_first] = ordered
    return sums


def _pair_keys(paras: pd.DataFrame, doc: np.ndarray, rule: str) -> np.ndarray:
    """One integer per paragraph such that two paragraphs may be compared iff their keys differ.

    A document has one organisation and one date, so "different document and (different
    organisation or different date)" is "different (organisation, date)" and so on; a single
    comparison per candidate pair keeps the filter cheap on millions of pairs.
    """
    def column(name: str) -> pd.Series:
        return paras[name].astype(str) if name in paras.columns else pd.Series("", index=paras.index)

    if rule == "all":
        return doc.astype(np.int64)
    if rule == "different_organization":
        return pd.factorize(column("organization"))[0].astype(np.int64)
    return pd.factorize(column("organization") + "\x00" + column("date"))[0].astype(np.int64)


def _top_shared_terms(X: sp.csr_matrix, a: np.ndarray, b: np.ndarray, terms: np.ndarray, k: int = 5,
                      chunk: int = 100_000) -> list[str]:
    """For each pair (a[r], b[r]): the k stems with the largest products x_a * x_b, ``;``-joined."""
    out: list[str] = []
    for s0 in range(0, len(a), chunk):
        P = X[a[s0:s0 + chunk]].multiply(X[b[s0:s0 + chunk]]).tocsr()
        P.eliminate_zeros()
        rows = np.repeat(np.arange(P.shape[0]), np.diff(P.indptr))
        order = np.lexsort((terms[P.indices], -P.data, rows))
        rows, cols = rows[order], P.indices[order]
        keep = positions_in_runs(run_starts(rows), len(rows)) < k
        joined = pd.Series(terms[cols[keep]]).groupby(rows[keep], sort=True).agg(";".join)
        out.extend(joined.reindex(range(P.shape[0]), fill_value="").tolist())
    return out


def top_per_row(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the ``k`` largest ``values`` of each row (ties: smaller ``cols`` first).

    ``rows`` must be sorted (each row's entries contiguous). The same entries as ordering
    by ``(row, -value, col)`` and keeping each row's first ``k``, without sorting: the k-th
    largest value of every long row comes from ``np.partition`` on rows of similar length,
    so the cost is linear in the number of entries.
    """
    n = len(rows)
    keep = np.ones(n, dtype=bool)
    if n == 0:
        return keep
    starts = run_starts(rows)
    counts = np.diff(np.r_[starts, n])
    long_rows = np.flatnonzero(counts > k)
    if not len(long_rows):
        return keep
    kth = np.empty(len(long_rows))
    lengths = counts[long_rows]
    size_class = np.ceil(np.log2(lengths)).astype(np.int64)  # rows padded at most to twice their length
    for c in np.unique(size_class):
        sel = np.flatnonzero(size_class == c)
        width = int(lengths[sel].max())
        offsets = np.arange(width)
        valid = offsets[None, :] < lengths[sel][:, None]
        dense = np.full((len(sel), width), -np.inf)
        dense[valid] = values[(starts[long_rows[sel]][:, None] + offsets[None, :])[valid]]
        kth[sel] = -np.partition(-dense, k - 1, axis=1)[:, k - 1]
    threshold = np.full(len(starts), -np.inf)
    threshold[long_rows] = kth
    is_long = np.zeros(len(starts), dtype=bool)
    is_long[long_rows] = True
    entry_row = np.repeat(np.arange(len(starts)), counts)
    entry_thr = threshold[entry_row]
    entry_long = is_long[entry_row]
    above = values > entry_thr
    keep[entry_long] = above[entry_long]
    # Ties at the k-th value: the smallest columns fill the places left in the row.
    tied = np.flatnonzero(entry_long & (values == entry_thr))
    if len(tied):
        room = k - np.bincount(entry_row[above & entry_long], minlength=len(starts))
        tied = tied[np.lexsort((cols[tied], entry_row[tied]))]
        t_row = entry_row[tied]
        rank = positions_in_runs(run_starts(t_row), len(tied))
        keep[tied[rank < room[t_row]]] = True
    return keep


def similar_paragraphs(
    paragraphs: pd.DataFrame,
    top_n: int = 3,
    min_similarity: float = 0.1,
    pairs: str = "different_organization_or_date",
    candidate_max_df: int = 200,
    max_candidates: int = 20,
    block_size: int = 1000,
    max_document_pairs: int | None = 1000,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """The most similar paragraph pairs (TF-IDF cosine over stemmed words) for each pair of documents.

    Parameters
    ----------
    paragraphs : body paragraphs with ``para_id, doc_id, text`` (``organization``, ``date``,
        ``source_para`` used when present; with ``label_chars`` the numbering label at the start
        of ``text`` is not compared, see :func:`helpers.analysis.frequencies.analysed_text`).
    top_n : paragraph pairs kept per document pair (>= 1).
    min_similarity : cosine below which a pair is never reported (0-1). The default 0.1 suits
        a briefing corpus; on tens of thousands of paragraphs ask for clearly similar pairs
        (0.3 or more) to keep the table readable.
    pairs : which document pairs are compared: ``"different_organization_or_date"`` (default:
        two documents of one organisation on the same date are not compared),
        ``"different_organization"`` or ``"all"`` (any two documents).
    candidate_max_df : stems found in more paragraphs than this do not by themselves make
        two paragraphs candidates (they still count in the cosine).
    max_candidates : per paragraph, only the partners with the highest cosine over the
        candidate stems (at most this many) get an exact cosine.
    block_size : rows per sparse block product (memory/speed trade-off only).
    max_document_pairs : report only this many document pairs, those whose best paragraph
        pair is most similar (ties by ``doc_a``, ``doc_b``); ``None`` reports every document pair.
        1,938 speeches make 1.9 million document pairs: nobody reads them all.
    cache_dir : folder keeping each paragraph's stems (``stems.parquet``, see
        :func:`helpers.corpus.paragraph_cache.cached_strings`), so only changed documents are
        stemmed again; ``None`` (default) caches nothing. Same result either way.

    With fewer paragraphs than ``candidate_max_df`` and ``max_candidates`` the result is
    exact (every eligible pair with a positive cosine is scored); above that, a pair is
    found if it shares rare stems, which is where similar statements differ from chance.
    Candidate products are computed block by block, so memory grows with
    ``block_size × candidate_max_df``, not with the square of the corpus.

    Returns
    -------
    One row per reported paragraph pair, ordered by ``doc_a``, ``doc_b``, ``rank``. Columns:
    ``doc_a``, ``para_a``, ``doc_b``, ``para_b`` (str; ``doc_a`` is the earlier document, by
    ``date`` then ``doc_id``), ``rank`` (int, 1 = most similar within the document pair),
    ``similarity`` (float, cosine 0-1), ``shared_terms`` (str: up to five stems contributing most,
    ``;``-joined), ``organization_a/b``, ``date_a/b`` (str), ``source_para_a/b`` (Int64, the
    source's own paragraph numbers), ``text_a``, ``text_b`` (str: ``text`` as written).
    """
    check_choice("pairs", pairs, PAIR_RULES)
    check_number("top_n", top_n, 1)
    check_number("candidate_max_df", candidate_max_df, 1)
    check_number("max_candidates", max_candidates, 1)
    check_number("block_size", block_size, 1)
    check_number("min_similarity", min_similarity, 0.0, integer=False)
    if max_document_pairs is not None:
        check_number("max_document_pairs", max_document_pairs, 1)
    require_columns(paragraphs, ["para_id", "doc_id", "text"], "The paragraphs table", PARAGRAPHS_HINT)

    paras = body_only(paragraphs).reset_index(drop=True)
    n = len(paras)
    empty = pd.DataFrame(columns=SIMILAR_COLUMNS)
    if n < 2:
        return empty
    order = {d: k for k, d in enumerate(_document_order(paras))}
    doc = paras["doc_id"].astype(str).map(order).to_numpy()
    key = _pair_keys(paras, doc, pairs)

    analyzer = _StemAnalyzer()
    # Stemmed a part at a time: only a part's texts become Python strings at once, never the whole corpus's.
    cache = StringCache("stems", STEM_VERSION, cache_dir)
    text = analysed_text(paras)
    stems: list[str] = []
    for r0 in range(0, n, STEM_PART_ROWS):
        r1 = min(r0 + STEM_PART_ROWS, n)
        stems.extend(cache.strings(paras.iloc[r0:r1], text.iloc[r0:r1].tolist(), lambda t: " ".join(analyzer(t))))
    cache.save()
    del cache, text
    X, terms = tfidf_matrix(stems)
    del stems
    release_memory()  # the stemming's strings and the counting's arrays, before the block products
    if not len(terms):  # no paragraph has a single content word
        return empty
    df = np.bincount(X.indices, minlength=X.shape[1])
    rare = df <= candidate_max_df
    Xr = (X @ sp.diags(rare.astype(float))).tocsr()  # the rare stems' part of each vector
    Xr.eliminate_zeros()
    XrT = Xr.T.tocsr()

    # Each block's candidate pairs (paragraph indexes, int32: under 2**31 paragraphs); their partial scores only choose them.
    cand_i, cand_j = [], []
    for start in range(0, n, block_size):
        stop = min(start + block_size, n)
        S = (Xr[start:stop] @ XrT).tocsr()  # partial cosine over rare stems: who is a candidate
        i = np.repeat(np.arange(start, stop, dtype=np.int64), np.diff(S.indptr))
        j = S.indices.astype(np.int64)
        part = S.data
        del S
        mask = (key[i] != key[j]) & (doc[i] != doc[j]) & (part > 0)
        i, j, part = i[mask], j[mask], part[mask]
        # Keep each paragraph's max_candidates best partial scores (ties by partner index).
        keep = top_per_row(i, j, part, max_candidates)
        i, j, part = i[keep], j[keep], part[keep]
        # Each pair once (it may be seen from both ends, in two blocks): smaller index first.
        cand_i.append(np.minimum(i, j).astype(np.int32))
        cand_j.append(np.maximum(i, j).astype(np.int32))
        del i, j, part
    del Xr, XrT  # the rare stems' vectors: the exact cosines below read X
    I = np.concatenate(cand_i) if cand_i else np.empty(0, dtype=np.int32)
    J = np.concatenate(cand_j) if cand_j else np.empty(0, dtype=np.int32)
    del cand_i, cand_j
    uniq, _ = unique_counts(I.astype(np.int64) * np.int64(n) + J)
    del I, J
    I, J = uniq // n, uniq % n
    # Exact cosine = rare part + common part (row-wise products, chunk by chunk).
    sims = np.empty(len(I))
    for s0 in range(0, len(I), 100_000):
        sl = slice(s0, s0 + 100_000)
        sims[sl] = np.asarray(X[I[sl]].multiply(X[J[sl]]).sum(axis=1)).ravel()
    ok = sims >= min_similarity
    I, J, sims = I[ok], J[ok], sims[ok]
    # Orient: a = earlier document.
    swap = doc[I] > doc[J]
    A = np.where(swap, J, I)
    Bi = np.where(swap, I, J)
    pids = paras["para_id"].astype(str).to_numpy()
    # Order by document pair, similarity (descending), then para_id a and b, as integer keys: each
    # paragraph's rank in para_id order stands for its id (a sort of a million string pairs took 0.5 s).
    pid_rank = np.empty(n, dtype=np.int64)
    pid_rank[np.argsort(pids, kind="stable")] = np.arange(n)
    sims = sims.round(12)
    order = np.lexsort((pid_rank[Bi], pid_rank[A], -sims, doc[Bi], doc[A]))
    A, Bi, sims = A[order], Bi[order], sims[order]
    pair = doc[A] * np.int64(n) + doc[Bi]  # one integer per document pair
    rank = positions_in_runs(run_starts(pair), len(pair)) + 1
    keep = rank <= top_n
    A, Bi, sims, pair, rank = A[keep], Bi[keep], sims[keep], pair[keep], rank[keep]
    if not len(A):
        return empty
    if max_document_pairs is not None:
        best = np.flatnonzero(rank == 1)  # each document pair's best paragraph pair; keep the most similar pairs
        best = best[np.lexsort((doc[Bi][best], doc[A][best], -sims[best]))][:max_document_pairs]
        chosen = np.isin(pair, pair[best])
        A, Bi, sims, rank = A[chosen], Bi[chosen], sims[chosen], rank[chosen]
    cand = pd.DataFrame({"a": A, "b": Bi, "similarity": sims, "rank": rank, "pa": pids[A], "pb": pids[Bi]})

    shared = _top_shared_terms(X, cand["a"].to_numpy(), cand["b"].to_numpy(), terms)

    def col(name: str, idx: np.ndarray, default: object = "") -> np.ndarray:
        return paras[name].to_numpy()[idx] if name in paras.columns else np.full(len(idx), default, dtype=object)

    a_idx, b_idx = cand["a"].to_numpy(), cand["b"].to_numpy()
    out = pd.DataFrame({
        "doc_a": col("doc_id", a_idx).astype(str), "para_a": cand["pa"], "doc_b": col("doc_id", b_idx).astype(str),
        "para_b": cand["pb"], "rank": cand["rank"].astype(int), "similarity": cand["similarity"].round(6),
        "shared_terms": shared,
        "organization_a": col("organization", a_idx), "organization_b": col("organization", b_idx),
        "date_a": col("date", a_idx), "date_b": col("date", b_idx),
        "source_para_a": pd.array(col("source_para", a_idx, None), dtype="Int64"),
        "source_para_b": pd.array(col("source_para", b_idx, None), dtype="Int64"),
        "text_a": col("text", a_idx), "text_b": col("text", b_idx),
    })
    return out[SIMILAR_COLUMNS]


# --------------------------------------------------------------------------- 3. verbatim reuse

REUSE_COLUMNS = ["doc_a", "para_a", "doc_b", "para_b", "words", "text_a", "text_b", "start_a", "end_a", "start_b", "end_b"]
REUSE_PAIR_COLUMNS = [
    "doc_a", "doc_b", "passages", "words_reused_a", "words_a", "share_a", "words_reused_b", "words_b", "share_b",
]


def reuse_tokens(text: str) -> tuple[list[str], list[int], list[int]]:
    """Tokens compared for reuse, with their ``[start, end)`` character offsets in ``text``.

    Tokens are :data:`helpers.corpus.text.WORD_RE` words of :func:`helpers.corpus.text.fold`-ed text (curly
    and straight quotes, dashes and spaces alike; punctuation ignored), case-folded.
    """
    toks, starts, ends = [], [], []
    for m in WORD_RE.finditer(fold(text)):
        toks.append(m.group().casefold())
        starts.append(m.start())
        ends.append(m.end())
    return toks, starts, ends


def _check_reuse_params(paragraphs: pd.DataFrame, min_words: int, shingle: int, max_gap: int, max_shingle_df: int) -> None:
    check_number("shingle", shingle, 2)
    check_number("min_words", min_words, 1)
    if min_words < shingle:
        raise ParameterError(f"`min_words` must be >= `shingle` ({shingle}). Got {min_words!r} instead.")
    check_number("max_gap", max_gap, 0)
    check_number("max_shingle_df", max_shingle_df, 2)
    require_columns(paragraphs, ["para_id", "doc_id", "text"], "The paragraphs table", PARAGRAPHS_HINT)


def _prepare(paragraphs: pd.DataFrame) -> tuple[pd.DataFrame, list[list[str]], np.ndarray]:
    paras = body_only(paragraphs).reset_index(drop=True)
    order = {d: k for k, d in enumerate(_document_order(paras))}
    doc_rank = paras["doc_id"].astype(str).map(order).to_numpy(dtype=np.int64)
    tokens = [folded_words(x) for x in paras["text"].fillna("").astype(str)]
    return paras, tokens, doc_rank


# Shingles: each run of k tokens is hashed twice (two independent 64-bit mixes of stable
# per-token BLAKE2 hashes), so the 128-bit (h, g) pair identifies the run's words in every
# process and every run; a document's shingles are cached by its paragraphs' content and by the source of
# this module and of the text folding (WORD_RE, fold): a constant version kept shingles cut by the old tokeniser
# after the OCR line-break mark became part of words (51f7ad0), and the reuse tables of an incremental build
# differed from a cold one's (28,762 reuse clusters against 28,763 on the complete corpus).
SHINGLE_VERSION = source_version(__file__, _text_module.__file__, extra="1")
SHINGLE_COLUMNS = ["p", "i", "h", "g"]
_M1, _M2 = np.uint64(0x100000001B3), np.uint64(0xC2B2AE3D27D4EB4F)
_C1, _C2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0x165667B19E3779F9)


def _token_hash(tokens: list[str], cache: dict[str, int]) -> np.ndarray:
    """Stable 64-bit BLAKE2 hash of each token (each distinct token hashed once)."""
    if not tokens:
        return np.empty(0, dtype=np.uint64)
    codes, uniq = pd.factorize(pd.Series(tokens, dtype=object), sort=False)
    values = np.empty(len(uniq), dtype=np.uint64)
    for n, tok in enumerate(uniq.tolist()):
        v = cache.get(tok)
        if v is None:
            v = cache[tok] = int.from_bytes(hashlib.blake2b(tok.encode("utf-8"), digest_size=8).digest(), "little")
        values[n] = v
    return values[codes]


def _shingle_arrays(texts: Sequence[str], shingle: int, cache: dict[str, int]) -> dict[str, np.ndarray]:
    toks = [folded_words(x) for x in texts]
    lengths = np.fromiter((len(t) for t in toks), dtype=np.int64, count=len(toks))
    n_sh = np.maximum(lengths - shingle + 1, 0)
    total = int(n_sh.sum())
    if total == 0:
        return {"p": np.empty(0, np.int32), "i": np.empty(0, np.int32), "h": np.empty(0, np.uint64),
                "g": np.empty(0, np.uint64)}
    th = _token_hash([w for t in toks for w in t], cache)
    offsets = np.r_[0, np.cumsum(lengths)]
    para = np.repeat(np.arange(len(toks), dtype=np.int64), n_sh)
    local = np.arange(total, dtype=np.int64) - np.repeat(np.r_[0, np.cumsum(n_sh)[:-1]], n_sh)
    glob = offsets[para] + local
    h = np.zeros(total, dtype=np.uint64)
    g = np.full(total, np.uint64(0x84222325CBF29CE4), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for t in range(shingle):
            w = th[glob + t]
            h = (h ^ (w + _C1)) * _M1
            h ^= h >> np.uint64(29)
            g = (g ^ (w * _C2 + np.uint64(t + 1))) * _M2
            g ^= g >> np.uint64(31)
    return {"p": para.astype(np.int32), "i": local.astype(np.int32), "h": h, "g": g}


def document_shingles(texts: Sequence[str], shingle: int = 5) -> pd.DataFrame:
    """Every run of ``shingle`` reuse tokens (:func:`reuse_tokens`) of one document's paragraphs, hashed.

    ``texts`` are the document's body paragraphs in order. Returns one row per shingle,
    ordered by paragraph then position: ``p`` (int32: index of the paragraph in ``texts``),
    ``i`` (int32: position of the shingle's first token, in tokens), ``h``, ``g`` (uint64:
    two independent hashes of the shingle's tokens; equal pairs mean equal words, collision
    odds 2⁻¹²⁸). The hashes depend only on the words, never on the rest of the corpus.
    """
    return pd.DataFrame(_shingle_arrays(texts, shingle, {}))


_SHINGLE_SCHEMA = pa.schema([("p", pa.int32()), ("i", pa.int32()), ("h", pa.uint64()), ("g", pa.uint64())])


def _shingle_key(para_ids: Sequence[str], texts: Sequence[str], shingle: int) -> str:
    blob = json.dumps([SHINGLE_VERSION, shingle, list(para_ids), list(texts)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]


#: Per-document shingle files are Arrow IPC files: a Parquet file's fixed cost made writing 2,000 of them 2.3 s.
SHINGLE_SUFFIX = ".arrow"


def _cache_listing(cache_dir: str | Path | None) -> dict[str, list[str]]:
    """``{doc_id: its cache files}`` of a shingle cache folder (one listing for the whole corpus)."""
    present: dict[str, list[str]] = {}
    if cache_dir and Path(cache_dir).is_dir():
        for name in os.listdir(cache_dir):
            if name.endswith((SHINGLE_SUFFIX, ".parquet")) and "@" in name and not name.startswith("."):  # .parquet: older versions
                present.setdefault(name.split("@", 1)[0], []).append(name)
    return present


def _shingle_chunk(docs: list[tuple], shingle: int, cache_dir: str | None) -> list[dict[str, np.ndarray]]:
    """Shingles of consecutive documents ``(doc_id, para_ids, texts, cache files, ...)``; read from / written to ``cache_dir``.

    The cache file is ``<cache_dir>/<doc_id>@<key>.arrow``, key = hash of the document's
    paragraph ids and texts and the shingle length: an edited document gets a new key (its
    old files, as listed by the caller, are removed), an unchanged one is read back.
    """
    out = []
    token_cache: dict[str, int] = {}
    for doc_id, pids, texts, files, *_ in docs:
        path = Path(cache_dir) / f"{doc_id}@{_shingle_key(pids, texts, shingle)}{SHINGLE_SUFFIX}" if cache_dir else None
        table = read_arrow(path) if path is not None and path.name in files else None
        if table is not None and table.schema == _SHINGLE_SCHEMA:
            out.append({c: table.column(c).to_numpy() for c in SHINGLE_COLUMNS})
            continue
        arrays = _shingle_arrays(texts, shingle, token_cache)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            for stale in files:
                if stale != path.name:
                    (path.parent / stale).unlink(missing_ok=True)
            write_arrow(pa.Table.from_arrays([arrays[c] for c in SHINGLE_COLUMNS], schema=_SHINGLE_SCHEMA), path)
        out.append(arrays)
    return out


def _absolute(folder: str | Path | None) -> str | None:
    """``folder`` as an absolute path (workers run in other working directories), or ``None``."""
    return str(Path(folder).resolve()) if folder else None


def _document_items(paras: pd.DataFrame, cache_dir: str | Path | None) -> tuple[list[list[int]], Iterator[tuple]]:
    """Each document's rows of ``paras`` (documents in order of first appearance, rows in table order), and, made
    as they are consumed (never a second copy of every text), its ``(doc_id, para_ids, texts, cache files, rows)``."""
    codes, uniq = pd.factorize(paras["doc_id"].astype(str).to_numpy())
    rows_of = pd.Series(np.arange(len(paras))).groupby(codes, sort=True).agg(list).tolist()
    pids = paras["para_id"].astype(str).to_numpy()
    texts = paras["text"].fillna("").astype(str).to_numpy()
    listing = _cache_listing(_absolute(cache_dir))
    items = ((str(uniq[c]), pids[r].tolist(), texts[r].tolist(), listing.get(str(uniq[c]), []), r)
             for c, r in enumerate(rows_of))
    return rows_of, items


def corpus_shingles(paras: pd.DataFrame, shingle: int = 5, cache_dir: str | Path | None = None,
                    run: Runner | None = None, chunk_size: int = 50) -> pd.DataFrame:
    """Shingles of every paragraph of ``paras`` (body paragraphs, in table order), document by document.

    ``cache_dir`` keeps one Parquet file per document (see :func:`_shingle_chunk`), so a
    rebuild after one speech changed re-shingles that speech only; ``run`` (a
    :class:`helpers.parallel.Runner`) spreads the documents over Dask workers. Returns
    ``para`` (int64: row of ``paras``), ``i`` (int64: shingle position), ``h``, ``g``
    (uint64, see :func:`document_shingles`), ordered by document (first appearance), paragraph, position.
    """
    run = run or Runner()
    rows_of, items = _document_items(paras, cache_dir)
    results = run.map(_shingle_chunk, chunked(items, chunk_size), shingle, _absolute(cache_dir))
    # Each document's shingles are kept as they come (int32 positions), then each output column is filled in
    # turn and its pieces dropped: about 1.2 times the output at the peak, where concatenating lists of int64
    # copies and then building the DataFrame (which consolidated same-typed columns, another copy) took three
    # (2.7 GB more on the complete UNGDC corpus).
    pieces: dict[str, list[np.ndarray]] = {"p": [], "i": [], "h": [], "g": []}
    for arrays in (t for chunk in results for t in chunk):
        for c in pieces:
            pieces[c].append(arrays[c])
    sizes = np.fromiter((len(x) for x in pieces["h"]), dtype=np.int64, count=len(pieces["h"]))
    total = int(sizes.sum())
    flat_rows = np.fromiter((r for rows in rows_of for r in rows), dtype=np.int64, count=len(paras))
    first_row = np.r_[0, np.cumsum([len(rows) for rows in rows_of])].astype(np.int64)
    del rows_of
    para = np.repeat(first_row[:len(sizes)], sizes)  # each shingle's document's first entry in flat_rows ...
    if total:
        para += np.concatenate(pieces.pop("p"))  # ... plus its paragraph's place in the document
    pieces.pop("p", None)
    columns = {"para": flat_rows[para]}
    del para
    for c, dtype in (("i", np.int64), ("h", np.uint64), ("g", np.uint64)):
        out = np.empty(total, dtype=dtype)
        if total:
            np.concatenate(pieces.pop(c), out=out, casting="same_kind" if dtype == np.int64 else "no")
        else:
            pieces.pop(c)
        columns[c] = out
    # copy=False: one block per column, no consolidation copy.
    return pd.DataFrame(columns, copy=False)


_EMPTY_SEEDS = {c: np.empty(0, dtype=np.int64) for c in ("pa", "i", "pb", "j")}


def _bucket_seeds(para: np.ndarray, local: np.ndarray, h: np.ndarray, g: np.ndarray, dr: np.ndarray,
                  max_df: int) -> pd.DataFrame:
    """Seed matches (pa, i, pb, j) among shingles that all hash to one bucket (every copy of a shingle
    lands in the same bucket, so paragraph frequencies are complete there)."""
    if not len(h):
        return pd.DataFrame(_EMPTY_SEEDS)
    # Sorted by (h, g, para, local). Shingles arrive in paragraph and position order (from
    # corpus_shingles), so a stable sort on h alone gives that order unless two shingles share h but
    # not g (odds 2^-64 a pair), checked; otherwise, or for other input, the sort on all four keys.
    in_order = bool(np.all((np.diff(para) > 0) | ((np.diff(para) == 0) & (np.diff(local) > 0)))) if len(para) > 1 else True
    order = np.argsort(h, kind="stable") if in_order else None
    if order is not None:
        hs, gs = h[order], g[order]
        if np.any((hs[1:] == hs[:-1]) & (gs[1:] != gs[:-1])):
            order = None
        del hs, gs
    if order is None:
        order = np.lexsort((local, para, g, h))
    h, g, para, local, dr = h[order], g[order], para[order], local[order], dr[order]
    new_sh = np.r_[True, (h[1:] != h[:-1]) | (g[1:] != g[:-1])]
    new_sp = new_sh | np.r_[True, para[1:] != para[:-1]]
    gid = np.cumsum(new_sh) - 1
    df = np.bincount(gid, weights=new_sp.astype(np.float64)).astype(np.int64)
    starts = np.flatnonzero(new_sh)
    sizes = np.diff(np.r_[starts, len(h)])
    good = (df >= 2) & (df <= max_df)
    # Only groups spanning more than one document can seed anything.
    good &= np.minimum.reduceat(dr, starts) != np.maximum.reduceat(dr, starts)
    pa_l, pb_l = [], []
    for s in np.unique(sizes[good]):
        sel = starts[good & (sizes == s)]
        members = sel[:, None] + np.arange(s)[None, :]
        u, v = np.triu_indices(int(s), 1)
        pa_l.append(members[:, u].ravel())
        pb_l.append(members[:, v].ravel())
    if not pa_l:
        return pd.DataFrame(_EMPTY_SEEDS)
    x = np.concatenate(pa_l)
    y = np.concatenate(pb_l)
    keep = dr[x] != dr[y]
    x, y = x[keep], y[keep]
    swap = dr[x] > dr[y]
    x, y = np.where(swap, y, x), np.where(swap, x, y)
    return pd.DataFrame({"pa": para[x], "i": local[x], "pb": para[y], "j": local[y]})


#: Shingles per bucket of the hash space (estimated before shingling, :func:`estimated_shingles`) above which the reuse
#: join is cut into buckets: each document's shingles are written straight into the bucket files of their hashes,
#: each bucket is joined on its own and its seeds spilled to disk in partitions (by paragraph a), so no process,
#: the one that started the join included, holds every shingle or every seed.
SHINGLES_PER_BUCKET = 2_000_000
#: Seed partitions per bucket: the chaining of one partition holds about 1/(4 × buckets) of the seeds.
PARTITIONS_PER_BUCKET = 4
#: Documents shingled per task of the bucketed join.
SHINGLE_CHUNK = 50
#: Shingles per slice of a sorted shingle table handed on (:func:`sorted_shingle_slices`; memory only).
SORTED_SLICE_ROWS = 4_000_000
_SPILL_SCHEMA = pa.schema([("para", pa.int32()), ("i", pa.int32()), ("h", pa.uint64()), ("g", pa.uint64())])


def estimated_shingles(paras: pd.DataFrame, k: int) -> int:
    """About how many shingles of ``k`` words the body paragraphs ``paras`` have, from their ``n_words`` (else six
    characters a word): what sizes the join's buckets before any shingle exists."""
    if "n_words" in paras.columns:
        words = pd.to_numeric(paras["n_words"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
    else:
        words = paras["text"].fillna("").astype(str).str.len().to_numpy(dtype=np.int64) // 6
    return int(np.maximum(words - k + 1, 0).sum())


def join_buckets(paras: pd.DataFrame, k: int, run: Runner) -> int:
    """Buckets of the reuse join of ``paras``: one per :data:`SHINGLES_PER_BUCKET` estimated shingles, 16 at least on a
    Dask cluster (so the workers share the join)."""
    return max(-(-estimated_shingles(paras, k) // SHINGLES_PER_BUCKET), 16 if run.distributed else 1)


def _range_bucket(h: np.ndarray, buckets: int) -> np.ndarray:
    """Each hash's bucket among ``buckets`` equal ranges of the 64-bit hash space (int64): buckets in order hold the
    hashes in order, so sorting each bucket sorts them all."""
    return ((h >> np.uint64(32)) * np.uint64(buckets) >> np.uint64(32)).astype(np.int64)


def sorted_shingle_slices(shingles: pd.DataFrame, rows: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """The rows of a shingle table (:func:`corpus_shingles`) ordered by ``h`` (stable: ties keep the table's order),
    ``rows`` (default :data:`SORTED_SLICE_ROWS`) at a time, as columns ``para``, ``i``, ``h``, ``g``."""
    para, pos = shingles["para"].to_numpy(dtype=np.int64), shingles["i"].to_numpy()
    h, g = shingles["h"].to_numpy(), shingles["g"].to_numpy()
    order = np.argsort(h, kind="stable")
    rows = rows or SORTED_SLICE_ROWS
    for s0 in range(0, len(order), rows):
        ix = order[s0:s0 + rows]
        yield {"para": para[ix], "i": pos[ix], "h": h[ix], "g": g[ix]}


def _joined_chains(paras: pd.DataFrame, doc_rank: np.ndarray, k: int, max_gap: int, min_words: int, max_df: int,
                   cache_dir: str | Path | None = None, run: Runner | None = None, spill_dir: str | Path | None = None,
                   on_sorted: Callable[[Iterator[dict[str, np.ndarray]]], None] | None = None) -> np.ndarray:
    """Chained passages ``(pa, pb, a0, a1, b0, b1)`` (int64, one row each) of ``paras`` from the shingle index, in
    bounded memory.

    With one bucket (:func:`join_buckets`) the corpus's shingles (:func:`corpus_shingles`) are joined at once.
    With more, ``spill_dir`` (a fresh folder under it, removed afterwards; default the system's temporary
    folder; on a cluster of several machines a folder every worker sees at the same absolute path) receives,
    from the task that shingles each chunk of documents, one file of its shingles per range of the hash space
    (:func:`_range_bucket`; every copy of a shingle lands in one bucket, so its paragraph frequency is complete
    there); each bucket is then joined by a task of its own, which writes its seeds as ``.npy`` files, one per
    partition of paragraph a (``pa mod partitions``); and each partition's seeds are read back and chained. Seeds
    of one paragraph pair all fall in one partition, so the passages are the same however the work was cut, and
    each step can run on a worker.
    ``on_sorted``, if given, is called once with every shingle in ``h`` order (:func:`sorted_shingle_slices`'s
    slices; ``para`` is the row of ``paras``), while they still exist: the reuse index is written from it.
    """
    run = run or Runner()
    buckets = join_buckets(paras, k, run)
    if buckets == 1:
        shingles = corpus_shingles(paras, k, cache_dir=cache_dir, run=run)
        release_memory()  # the per-document pieces, freed but kept by the allocator, while the join runs
        p32 = shingles["para"].to_numpy().astype(np.int32)
        dr = doc_rank.astype(np.int32)[p32] if len(p32) else np.empty(0, dtype=np.int32)
        seeds = _bucket_seeds(p32, shingles["i"].to_numpy().astype(np.int32), shingles["h"].to_numpy(),
                              shingles["g"].to_numpy(), dr, max_df)
        del p32, dr
        chains = _chain_array(_chain(seeds, k, max_gap, min_words))
        if on_sorted is not None:
            on_sorted(sorted_shingle_slices(shingles))
        return chains
    parts = PARTITIONS_PER_BUCKET * buckets
    if spill_dir is not None:
        Path(spill_dir).mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix="reuse-join-", dir=spill_dir)).resolve()
    try:
        np.save(spill / "rank.npy", doc_rank.astype(np.int32))
        _, items = _document_items(paras, cache_dir)
        for _ in run.map(_shingle_into_buckets, enumerate(chunked(items, SHINGLE_CHUNK)), k, _absolute(cache_dir), buckets,
                         str(spill)):
            pass
        del items
        for _ in run.map(_join_bucket, range(buckets), str(spill), max_df, parts, on_sorted is not None):
            pass
        chains = list(run.map(_chain_partition, range(parts), str(spill), k, max_gap, min_words))
        if on_sorted is not None:
            on_sorted(_sorted_buckets(spill, buckets))
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return np.concatenate(chains) if chains else np.empty((0, 6), dtype=np.int64)


def _shingle_into_buckets(item: tuple[int, list[tuple]], k: int, cache_dir: str | None, buckets: int, spill: str) -> int:
    """Shingles of chunk ``n``'s documents (``item`` = ``(n, documents)``, see :func:`_document_items`), written as
    ``spill/s<bucket>-c<n>.arrow`` (``para``: row of the paragraphs table, ``i``, ``h``, ``g``), one file per bucket
    they fall in, in document, paragraph and position order; returns their number."""
    n, docs = item
    arrays = _shingle_chunk(docs, k, cache_dir)
    para = np.concatenate([np.asarray(d[4], dtype=np.int32)[a["p"]] for d, a in zip(docs, arrays)])
    local, h, g = (np.concatenate([a[c] for a in arrays]) for c in ("i", "h", "g"))
    del arrays
    bucket = _range_bucket(h, buckets)
    order = np.argsort(bucket, kind="stable")
    bounds = np.searchsorted(bucket[order], np.arange(buckets + 1))
    for b in np.flatnonzero(np.diff(bounds)).tolist():
        ix = order[bounds[b]:bounds[b + 1]]
        write_arrow(pa.Table.from_arrays([para[ix], local[ix].astype(np.int32), h[ix], g[ix]], schema=_SPILL_SCHEMA),
                    Path(spill) / f"s{b:05d}-c{n:06d}.arrow")
    return len(h)


def _read_spilled(path: Path) -> pa.Table:
    table = read_arrow(path)
    if table is None:  # written by this join a moment ago: gone or unreadable means the folder was disturbed
        raise RuntimeError(f"{path}: a file of the reuse join could not be read back; was its folder removed? Run again.")
    return table


def _join_bucket(b: int, spill: str, max_df: int, parts: int, keep_sorted: bool) -> int:
    """Join bucket ``b``: its shingle files (every chunk's, in chunk order) -> its seeds, written by partition
    (:func:`_spill_seeds`); with ``keep_sorted`` its shingles ordered by ``h`` too (``sorted-<b>.arrow``).
    The shingle files are removed; returns the number of seeds."""
    files = sorted(Path(spill).glob(f"s{b:05d}-c*.arrow"))
    if not files:
        return 0
    tables = [_read_spilled(f) for f in files]
    para, local, h, g = (np.concatenate([t.column(c).to_numpy() for t in tables]) for c in ("para", "i", "h", "g"))
    del tables
    rank = np.load(Path(spill) / "rank.npy", mmap_mode="r")
    n = _spill_seeds(b, _bucket_seeds(para, local, h, g, np.asarray(rank[para]), max_df), parts, spill)
    if keep_sorted:
        order = np.argsort(h, kind="stable")
        write_arrow(pa.Table.from_arrays([para[order], local[order], h[order], g[order]], schema=_SPILL_SCHEMA),
                    Path(spill) / f"sorted-{b:05d}.arrow")
    for f in files:
        f.unlink(missing_ok=True)
    return n


def _sorted_buckets(spill: Path, buckets: int) -> Iterator[dict[str, np.ndarray]]:
    """Every shingle of a bucketed join in ``h`` order: the buckets' sorted files, one after the other."""
    for b in range(buckets):
        path = spill / f"sorted-{b:05d}.arrow"
        if path.is_file():
            table = _read_spilled(path)
            yield {"para": table.column("para").to_numpy().astype(np.int64), "i": table.column("i").to_numpy(),
                   "h": table.column("h").to_numpy(), "g": table.column("g").to_numpy()}


def _chain_array(chains: list[tuple[int, int, int, int, int, int]]) -> np.ndarray:
    return np.asarray(chains, dtype=np.int64).reshape(-1, 6)


def _spill_seeds(b: int, seeds: pd.DataFrame, parts: int, spill: str) -> int:
    """Seeds of bucket ``b`` written to ``spill/p<partition>-b<bucket>.npy`` (int32 rows pa, i, pb, j); returns their number."""
    if seeds.empty:
        return 0
    arr = np.vstack([seeds[c].to_numpy() for c in ("pa", "i", "pb", "j")]).astype(np.int32)
    del seeds
    part = arr[0] % parts
    order = np.argsort(part, kind="stable")
    bounds = np.searchsorted(part[order], np.arange(parts + 1))
    for p in np.flatnonzero(np.diff(bounds)):
        with atomic_path(Path(spill) / f"p{p:05d}-b{b:05d}.npy") as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, arr[:, order[bounds[p]:bounds[p + 1]]])
    return arr.shape[1]


def _chain_partition(p: int, spill: str, k: int, max_gap: int, min_words: int) -> np.ndarray:
    """The chained passages of one partition's seeds (all buckets' files for it)."""
    files = sorted(Path(spill).glob(f"p{p:05d}-b*.npy"))
    if not files:
        return np.empty((0, 6), dtype=np.int64)
    arr = np.concatenate([np.load(f) for f in files], axis=1).astype(np.int64)
    seeds = pd.DataFrame({"pa": arr[0], "i": arr[1], "pb": arr[2], "j": arr[3]})
    del arr
    return _chain_array(_chain(seeds, k, max_gap, min_words))


def _seeds_bruteforce(tokens: list[list[str]], doc_rank: np.ndarray, k: int, max_df: int) -> pd.DataFrame:
    """Seed matches by comparing every pair of paragraphs from different documents (reference, O(n²))."""
    shingles = [[tuple(t[i:i + k]) for i in range(len(t) - k + 1)] for t in tokens]
    para_df: dict[tuple[str, ...], int] = {}
    for sh in shingles:
        for s in set(sh):
            para_df[s] = para_df.get(s, 0) + 1
    positions = []
    for sh in shingles:
        pos: dict[tuple[str, ...], list[int]] = {}
        for j, s in enumerate(sh):
            pos.setdefault(s, []).append(j)
        positions.append(pos)
    rows = []
    n = len(tokens)
    for p in range(n):
        for q in range(p + 1, n):
            if doc_rank[p] == doc_rank[q]:
                continue
            a, b = (p, q) if doc_rank[p] < doc_rank[q] else (q, p)
            pos_b = positions[b]
            for i, s in enumerate(shingles[a]):
                js = pos_b.get(s)
                if js and para_df[s] <= max_df:
                    rows.extend((a, i, b, j) for j in js)
    return pd.DataFrame(rows, columns=["pa", "i", "pb", "j"], dtype=np.int64)


def _dense_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Each non-negative integer's rank among the distinct values (order kept), and how many there are; no sort."""
    seen = np.zeros(int(values.max()) + 1 if len(values) else 1, dtype=bool)
    seen[values] = True
    rank = np.cumsum(seen) - 1
    return rank[values], int(seen.sum())


def _chain(seeds: pd.DataFrame, k: int, max_gap: int, min_words: int = 0) -> list[tuple[int, int, int, int, int, int]]:
    """Seeds -> exact runs on one diagonal -> maximal passages (runs merged across gaps <= max_gap).

    Paragraph pairs whose runs span fewer than ``min_words`` words in either text cannot
    yield a passage that long and are dropped before chaining (most pairs share one stray
    shingle); pairs with a single run are that run. Only the rest go through the loop.
    """
    if seeds.empty:
        return []
    # Sorted by (pa, pb, d, i) with two int64 keys and np.lexsort: a seed is unique on those four, so this is
    # the order of a sort on the four columns (pandas's multi-column sort took 80% of the chaining).
    pa, pb, i, j = (seeds[c].to_numpy().astype(np.int64) for c in ("pa", "pb", "i", "j"))
    d = i - j
    pa_code, n_a = _dense_codes(pa)
    pb_code, n_b = _dense_codes(pb)
    pair_key = pa_code * n_b + pb_code
    del pa_code, pb_code
    diag_span = (int(d.max()) - int(d.min()) + 1) * (int(i.max()) + 1)
    diag_key = (d - int(d.min())) * (int(i.max()) + 1) + i
    if n_a * n_b * diag_span < 2 ** 62:  # one int64 key: a single argsort, twice as fast as lexsort on two
        order = np.argsort(pair_key * diag_span + diag_key, kind="stable")
    else:
        order = np.lexsort((diag_key, pair_key))
    del pair_key, diag_key
    pa, pb, d, i, j = pa[order], pb[order], d[order], i[order], j[order]
    del order
    brk = np.r_[True, (pa[1:] != pa[:-1]) | (pb[1:] != pb[:-1]) | (d[1:] != d[:-1]) | (i[1:] != i[:-1] + 1)]
    first = np.flatnonzero(brk)
    last = np.r_[first[1:] - 1, len(i) - 1]
    # Runs are unique on (pa, pb, a0, b0) (one diagonal, one start), so this order is that of all six columns.
    r_pa, r_pb, r_a0, r_b0 = pa[first], pb[first], i[first], j[first]
    r_order = np.lexsort((r_a0 * (int(r_b0.max()) + 1) + r_b0, r_pa * (int(r_pb.max()) + 1) + r_pb))
    runs = pd.DataFrame({"pa": r_pa, "pb": r_pb, "a0": r_a0, "a1": i[last] + k, "b0": r_b0, "b1": j[last] + k}).iloc[r_order]
    runs = runs.reset_index(drop=True)
    del pa, pb, d, i, j
    rp, rq = runs["pa"].to_numpy(), runs["pb"].to_numpy()
    new_pair = np.r_[True, (rp[1:] != rp[:-1]) | (rq[1:] != rq[:-1])]
    starts = np.flatnonzero(new_pair)
    size = np.diff(np.r_[starts, len(runs)])
    span_a = np.maximum.reduceat(runs["a1"].to_numpy(), starts) - np.minimum.reduceat(runs["a0"].to_numpy(), starts)
    span_b = np.maximum.reduceat(runs["b1"].to_numpy(), starts) - np.minimum.reduceat(runs["b0"].to_numpy(), starts)
    pair_ok = (span_a >= min_words) & (span_b >= min_words)
    gid = np.cumsum(new_pair) - 1
    single = (pair_ok & (size == 1))[gid]
    multi = (pair_ok & (size > 1))[gid]
    out: list[tuple[int, int, int, int, int, int]] = []
    one = runs[single]
    out.extend(zip(*(one[c].astype(int).tolist() for c in ("pa", "pb", "a0", "a1", "b0", "b1"))))
    runs = runs[multi]
    RP, RQ, A0, A1, B0, B1 = (runs[c].astype(int).tolist() for c in ("pa", "pb", "a0", "a1", "b0", "b1"))
    cuts = np.flatnonzero(np.r_[True, (np.diff(runs["pa"].to_numpy()) != 0) | (np.diff(runs["pb"].to_numpy()) != 0)])
    cuts = cuts[:0] if not RP else cuts
    for lo, hi in zip(cuts.tolist(), np.r_[cuts[1:], len(RP)].tolist()):
        p, q = RP[lo], RQ[lo]
        chains: list[list[int]] = []  # [a0, a1, b0, b1]
        for a0, a1, b0, b1 in zip(A0[lo:hi], A1[lo:hi], B0[lo:hi], B1[lo:hi]):
            best = None
            best_key = None
            for c in chains:
                if a0 >= c[0] and b0 >= c[2] and a1 <= c[1] and b1 <= c[3]:
                    best = c
                    best_key = None
                    break  # contained: nothing to add
                ga, gb = a0 - c[1], b0 - c[3]
                if a0 >= c[0] and b0 >= c[2] and a1 > c[1] and b1 > c[3] and ga <= max_gap and gb <= max_gap \
                        and ga > -k and gb > -k:
                    key = (abs(ga - gb), -c[1])
                    if best_key is None or key < best_key:
                        best, best_key = c, key
            if best is None:
                chains.append([a0, a1, b0, b1])
            elif best_key is not None:
                best[1], best[3] = max(best[1], a1), max(best[3], b1)
        out.extend((p, q, *c) for c in chains)
    return out


def _passages(paras: pd.DataFrame, chains: list[tuple[int, int, int, int, int, int]] | np.ndarray, min_words: int,
              texts_cut: bool = True) -> pd.DataFrame:
    """The reuse table of ``chains`` over ``paras``; with ``texts_cut=False``, ``text_a``/``text_b`` are left
    empty (:func:`cut_passage_texts` fills them later, for the rows kept)."""
    texts = paras["text"].fillna("").astype(str).to_numpy()
    pids = paras["para_id"].astype(str).to_numpy()
    dids = paras["doc_id"].astype(str).to_numpy()
    arr = _chain_array(chains) if not isinstance(chains, np.ndarray) else chains
    arr = arr[(np.minimum(arr[:, 3] - arr[:, 2], arr[:, 5] - arr[:, 4]) >= min_words)]
    # One order whatever produced the chains (one process, buckets, workers): by pair, then offsets.
    arr = arr[np.lexsort((arr[:, 5], arr[:, 3], arr[:, 4], arr[:, 2], arr[:, 1], arr[:, 0]))]
    p, q, a0, a1, b0, b1 = (arr[:, c] for c in range(6))
    # Character offsets of every token of the paragraphs involved, in flat int32 arrays (not one
    # Python list of strings and ints per paragraph: gigabytes on a million paragraphs).
    base = np.zeros(len(texts), dtype=np.int64)
    starts, ends, at = [], [], 0
    for x in np.unique(np.r_[p, q]).tolist():
        spans = np.array([m.span() for m in WORD_RE.finditer(fold(texts[x]))], dtype=np.int32).reshape(-1, 2)
        base[x] = at
        at += len(spans)
        starts.append(spans[:, 0])
        ends.append(spans[:, 1])
    starts_all = np.concatenate(starts) if starts else np.empty(0, dtype=np.int32)
    ends_all = np.concatenate(ends) if ends else np.empty(0, dtype=np.int32)
    del starts, ends
    start_a, end_a = starts_all[base[p] + a0].astype(np.int64), ends_all[base[p] + a1 - 1].astype(np.int64)
    start_b, end_b = starts_all[base[q] + b0].astype(np.int64), ends_all[base[q] + b1 - 1].astype(np.int64)
    out = pd.DataFrame({
        "doc_a": dids[p], "para_a": pids[p], "doc_b": dids[q], "para_b": pids[q],
        "words": np.minimum(a1 - a0, b1 - b0).astype(np.int64),
        "text_a": "", "text_b": "", "start_a": start_a, "end_a": end_a, "start_b": start_b, "end_b": end_b,
    }, columns=REUSE_COLUMNS)
    if out.empty:
        return out.astype({c: "int64" for c in ("words", "start_a", "end_a", "start_b", "end_b")})
    out = _sort_passages(out, pids)
    return cut_passage_texts(out, paras) if texts_cut else out


def cut_passage_texts(reuse: pd.DataFrame, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """``reuse`` (rows of :func:`find_reuse`, texts possibly left empty) with ``text_a``/``text_b`` cut again
    from ``paragraphs`` (``para_id``, ``text``) at each row's character offsets. Same rows, same order."""
    text_of = dict(zip(paragraphs["para_id"].astype(str), paragraphs["text"].fillna("").astype(str)))
    # One string per distinct span: a span many passages share (a formula, or a whole paragraph that copies
    # repeat) is cut once, not once per row (the 10x corpus's 2.8 million passages: 11.4 GB at the peak, 8.7 GB so).
    cut: dict[tuple[str, int, int], str] = {}

    def span(key: tuple[str, int, int]) -> str:
        found = cut.get(key)
        if found is None:
            found = cut[key] = text_of[key[0]][key[1]:key[2]]
        return found

    return reuse.assign(**{f"text_{side}": [span(key) for key in zip(
        reuse[f"para_{side}"].astype(str).tolist(), reuse[f"start_{side}"].tolist(), reuse[f"end_{side}"].tolist())]
        for side in ("a", "b")})


def _sort_passages(out: pd.DataFrame, pids: np.ndarray) -> pd.DataFrame:
    """Passages ordered by paragraph a, paragraph b (positions in the table whose ids are ``pids``), then offsets."""
    pos = {p: k for k, p in enumerate(pids)}
    out = out.assign(_a=out["para_a"].map(pos), _b=out["para_b"].map(pos))
    out = out.sort_values(["_a", "_b", "start_a", "start_b"], kind="mergesort").drop(columns=["_a", "_b"])
    return out.reset_index(drop=True)


def find_reuse(
    paragraphs: pd.DataFrame,
    min_words: int = 12,
    shingle: int = 5,
    max_gap: int = 3,
    max_shingle_df: int = 100,
    cache_dir: str | Path | None = None,
    run: Runner | None = None,
) -> pd.DataFrame:
    """Passages shared almost word for word by paragraphs of different documents (inverted shingle index).

    Parameters
    ----------
    paragraphs : body paragraphs with ``para_id, doc_id, text`` (``date`` orders each pair).
    min_words : shortest passage reported, in words (both sides must reach it); default 12.
    shingle : words per shingle (seed length, >= 2, <= ``min_words``).
    max_gap : words that may differ (changed, inserted or dropped) between two exact runs
        merged into one passage, in each text.
    max_shingle_df : a shingle found in more paragraphs than this is boilerplate and seeds nothing.
    cache_dir : folder keeping each document's shingles as an Arrow IPC file (``<doc_id>@<key>.arrow``,
        see :func:`corpus_shingles`); ``None`` (default) caches nothing. Same result either way.
    run : a :class:`helpers.parallel.Runner` (``with helpers.parallel.runner(workers) as run``):
        on a Dask cluster the shingling (per document) and the seed join (per bucket of the
        hash space) run on the workers. Same result as one process.

    Returns
    -------
    One row per aligned passage, ordered by paragraph a, paragraph b (table order), then
    offsets. Columns (exactly): ``doc_a``, ``para_a`` (str; the earlier document, by ``date``
    then ``doc_id``), ``doc_b``, ``para_b`` (str), ``words`` (int: passage length in words, the
    shorter of the two sides), ``text_a``, ``text_b`` (str: the passages as written),
    ``start_a``, ``end_a``, ``start_b``, ``end_b`` (int: ``[start, end)`` character offsets into
    each paragraph's ``text``, so ``text[start:end]`` is the passage).
    """
    _check_reuse_params(paragraphs, min_words, shingle, max_gap, max_shingle_df)
    paras = body_only(paragraphs).reset_index(drop=True)
    return indexed_passages(paras, min_words, shingle, max_gap, max_shingle_df, cache_dir, run)


def indexed_passages(paras: pd.DataFrame, min_words: int, shingle: int, max_gap: int, max_shingle_df: int,
                     cache_dir: str | Path | None = None, run: Runner | None = None,
                     spill_dir: str | Path | None = None, texts_cut: bool = True,
                     on_sorted: Callable[[Iterator[dict[str, np.ndarray]]], None] | None = None) -> pd.DataFrame:
    """:func:`find_reuse` on body paragraphs ``paras`` (checked, index 0..n-1).
    ``spill_dir``: where a large join cuts its work (see :func:`_joined_chains`); ``on_sorted`` receives every
    shingle in hash order (how :mod:`helpers.analysis.reuse_index` keeps the index).
    ``texts_cut=False`` leaves ``text_a``/``text_b`` empty (see :func:`cut_passage_texts`)."""
    order = {d: k for k, d in enumerate(_document_order(paras))}
    doc_rank = paras["doc_id"].astype(str).map(order).to_numpy(dtype=np.int64)
    chains = _joined_chains(paras, doc_rank, shingle, max_gap, min_words, max_shingle_df, cache_dir, run, spill_dir, on_sorted)
    release_memory()
    return _passages(paras, chains, min_words, texts_cut)


def find_reuse_bruteforce(
    paragraphs: pd.DataFrame,
    min_words: int = 12,
    shingle: int = 5,
    max_gap: int = 3,
    max_shingle_df: int = 100,
) -> pd.DataFrame:
    """Reference implementation of :func:`find_reuse` comparing every pair of paragraphs (O(n²)); same output.

    Only for tests and the benchmark's ratio: it proves the index finds exactly what an
    exhaustive comparison finds.
    """
    _check_reuse_params(paragraphs, min_words, shingle, max_gap, max_shingle_df)
    paras, tokens, doc_rank = _prepare(paragraphs)
    seeds = _seeds_bruteforce(tokens, doc_rank, shingle, max_shingle_df)
    return _passages(paras, _chain(seeds, shingle, max_gap, min_words), min_words)


def reuse_by_document_pair(reuse: pd.DataFrame, paragraphs: pd.DataFrame) -> pd.DataFrame:
    """Share of each document's words that lies in a passage reused by the other document of the pair.

    ``reuse`` is :func:`find_reuse` output; ``paragraphs`` the table it was computed from.
    A word counts once even if several passages cover it.

    Returns one row per document pair with at least one passage, ordered by ``doc_a``,
    ``doc_b``. Columns: ``doc_a``, ``doc_b`` (str), ``passages`` (int), ``words_reused_a`` (int:
    words of ``doc_a`` inside passages shared with ``doc_b``), ``words_a`` (int: all words of
    ``doc_a``'s paragraphs), ``share_a`` (float 0-1), and the same three for ``doc_b``.
    """
    require_columns(reuse, REUSE_COLUMNS, "The reuse table", "Pass the output of find_reuse().")
    require_columns(paragraphs, ["para_id", "doc_id", "text"], "The paragraphs table", PARAGRAPHS_HINT)
    paragraphs = body_only(paragraphs)
    if reuse.empty:
        return pd.DataFrame(columns=REUSE_PAIR_COLUMNS)
    pids = paragraphs["para_id"].astype(str).to_numpy()
    texts = paragraphs["text"].fillna("").astype(str).to_numpy()
    doc_words = pd.Series([len(WORD_RE.findall(fold(t))) for t in texts]).groupby(
        paragraphs["doc_id"].astype(str).to_numpy()).sum().to_dict()
    row_of = {p: k for k, p in enumerate(pids)}
    pair = pd.factorize(pd.Series(list(zip(reuse["doc_a"].astype(str), reuse["doc_b"].astype(str)))), sort=False)[0]
    counts = []
    for side in ("a", "b"):
        # Each passage as the token range [t0, t1) it covers in its paragraph ...
        para = reuse[f"para_{side}"].astype(str).to_numpy()
        start = reuse[f"start_{side}"].to_numpy(dtype=np.int64)
        end = reuse[f"end_{side}"].to_numpy(dtype=np.int64)
        t0 = np.empty(len(reuse), dtype=np.int64)
        t1 = np.empty(len(reuse), dtype=np.int64)
        spans: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for r, (pid, s, e) in enumerate(zip(para, start, end)):
            if pid not in spans:
                _, st, en = reuse_tokens(texts[row_of[pid]])
                spans[pid] = (np.asarray(st, dtype=np.int64), np.asarray(en, dtype=np.int64))
            st, en = spans[pid]
            t0[r] = np.searchsorted(st, s, side="left")  # first token starting at or after s
            t1[r] = np.searchsorted(en, e, side="right")  # tokens ending at or before e
        # ... and the length of the union of the ranges per (document pair, paragraph).
        iv = pd.DataFrame({"pair": pair, "para": pd.factorize(para)[0], "t0": t0, "t1": np.maximum(t0, t1)})
        iv = iv.sort_values(["pair", "para", "t0", "t1"], kind="mergesort")
        reach = iv.groupby(["pair", "para"], sort=False)["t1"].cummax()
        before = reach.groupby([iv["pair"], iv["para"]], sort=False).shift(1).fillna(-1).astype(np.int64)
        covered = np.maximum(0, iv["t1"].to_numpy() - np.maximum(iv["t0"].to_numpy(), before.to_numpy()))
        counts.append(np.bincount(iv["pair"].to_numpy(), weights=covered, minlength=pair.max() + 1).astype(np.int64))
    first = pd.Series(np.arange(len(reuse))).groupby(pair, sort=True).first().to_numpy()
    da = reuse["doc_a"].astype(str).to_numpy()[first]
    db = reuse["doc_b"].astype(str).to_numpy()[first]
    wa = np.array([doc_words.get(d, 0) for d in da], dtype=np.int64)
    wb = np.array([doc_words.get(d, 0) for d in db], dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = pd.DataFrame({
            "doc_a": da, "doc_b": db, "passages": np.bincount(pair).astype(np.int64),
            "words_reused_a": counts[0], "words_a": wa, "share_a": np.where(wa > 0, counts[0] / wa, np.nan),
            "words_reused_b": counts[1], "words_b": wb, "share_b": np.where(wb > 0, counts[1] / wb, np.nan),
        })
    return out.sort_values(["doc_a", "doc_b"], kind="mergesort").reset_index(drop=True)


__all__ = [
    "document_similarity", "similar_paragraphs", "stem_tokens", "reuse_tokens", "document_shingles",
    "corpus_shingles", "find_reuse", "find_reuse_bruteforce", "reuse_by_document_pair",
]
