"""Reuse clusters: the pairwise aligned passages of :func:`helpers.analysis.overlap.find_reuse` grouped into passage families.

A formulaic passage carried by hundreds of speeches (the Charter's preamble, congratulations to
the President of the Assembly) is tens of thousands of pairwise rows in ``text_reuse.csv`` but
one family of text. As passim does with reprints, each side of each aligned passage is a span
(paragraph, ``[start, end)``); two spans are linked when they are the two sides of one passage,
or when they lie in the same paragraph and overlap by at least ``min_overlap`` of the shorter
one (so one paragraph quoting two different formulas, whose spans touch at the edges, does not
join their families); a cluster is a connected component of that graph.

:func:`reuse_clusters` returns the clusters and their members; :func:`cap_reuse_pairs` cuts
the pairwise table to at most ``max_pairs`` rows per cluster, pairs across organisations first,
so ``text_reuse.csv`` stays complete for cross-organisation reuse whenever a cluster holds no
more than ``max_pairs`` such pairs, and a formula shared by 300 speeches costs 50 rows, not 45,000;
pairs within one organisation are kept up to ``max_same_organization`` (3) per cluster.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from helpers.analysis.frequencies import body_only, check_number, require_columns
from helpers.analysis.overlap import PARAGRAPHS_HINT, REUSE_COLUMNS, _document_order
from helpers.corpus.text import WORD_RE, fold

CLUSTER_COLUMNS = ["cluster_id", "n_documents", "n_organizations", "first_doc_id", "first_date", "words", "passage"]
MEMBER_COLUMNS = ["cluster_id", "doc_id", "para_id", "char_start", "char_end"]
#: Rows of ``text_reuse.csv`` kept per cluster (pairs across organisations first), and of those at most
#: this many between two documents of one organisation (a state repeating itself year after year makes
#: a family of n speeches and n(n-1)/2 pairs; the members table lists them all).
MAX_PAIRS_PER_CLUSTER, MAX_SAME_ORGANIZATION_PAIRS = 50, 3
REUSE_HINT = "Pass the output of helpers.analysis.overlap.find_reuse() (REPORTS/text_reuse.csv before capping)."


def _passage_spans(reuse: pd.DataFrame, row_of: dict[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Paragraph row, start and end of every span: the ``a`` sides of the passages, then the ``b`` sides."""
    para = np.concatenate([reuse["para_a"].astype(str).map(row_of).to_numpy(dtype=np.int64),
                           reuse["para_b"].astype(str).map(row_of).to_numpy(dtype=np.int64)])
    start = np.concatenate([reuse["start_a"].to_numpy(dtype=np.int64), reuse["start_b"].to_numpy(dtype=np.int64)])
    end = np.concatenate([reuse["end_a"].to_numpy(dtype=np.int64), reuse["end_b"].to_numpy(dtype=np.int64)])
    return para, start, end


def passage_clusters(reuse: pd.DataFrame, row_of: dict[str, int], min_overlap: float = 0.5
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Component of each passage, and the distinct spans ``(para row, start, end)`` with their component.

    Returns ``(passage_component, span_para, span_start, span_end, span_component)``;
    components are numbered arbitrarily (see :func:`reuse_clusters` for the published ids).
    """
    n = len(reuse)
    para, start, end = _passage_spans(reuse, row_of)
    if (para < 0).any():
        raise ValueError("every passage's paragraphs must be in the paragraphs table")
    order = np.lexsort((-end, start, para))
    p, s, e = para[order], start[order], end[order]
    new = np.r_[True, (p[1:] != p[:-1]) | (s[1:] != s[:-1]) | (e[1:] != e[:-1])]
    node_sorted = np.cumsum(new) - 1
    node = np.empty(2 * n, dtype=np.int64)
    node[order] = node_sorted
    P, S, E = p[new], s[new], e[new]
    m = len(P)
    src, dst = [node[:n]], [node[n:]]
    # Spans of one paragraph, sorted by start: compare each with the next ones while they can overlap.
    length = E - S
    shift = 1
    while shift < m:
        a, b = np.arange(m - shift), np.arange(shift, m)
        same = (P[a] == P[b]) & (S[b] < E[a])
        if not same.any():
            break
        a, b = a[same], b[same]
        overlap = np.minimum(E[a], E[b]) - S[b]
        linked = overlap >= min_overlap * np.minimum(length[a], length[b])
        src.append(a[linked])
        dst.append(b[linked])
        shift += 1
    u, v = np.concatenate(src), np.concatenate(dst)
    graph = sp.coo_matrix((np.ones(len(u), dtype=np.int8), (u, v)), shape=(m, m))
    _, comp = connected_components(graph, directed=False)
    return comp[node[:n]], P, S, E, comp


def reuse_clusters(reuse: pd.DataFrame, paragraphs: pd.DataFrame, min_overlap: float = 0.5
                   ) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
    """Passage families of the reuse table: ``(clusters, members, cluster_of_passage)``.

    ``reuse`` is :func:`helpers.analysis.overlap.find_reuse` output, ``paragraphs`` the table it was
    computed from (``organization`` and ``date`` used when present). ``min_overlap`` (0-1]:
    share of the shorter of two spans in one paragraph (in characters) that must overlap for them to join.

    ``clusters``, one row per family, largest first (most documents, then most words, then the
    earliest first member): ``cluster_id`` (int, 1 = first row), ``n_documents``,
    ``n_organizations`` (int: distinct documents and organisations among the members),
    ``first_doc_id``, ``first_date`` (str: the earliest member's document, by ``date`` then
    ``doc_id``, and its date), ``words`` (int: words of ``passage``), ``passage`` (str: the
    earliest member's text as written; the first member of that document's paragraphs).

    ``members``, one row per stretch of a paragraph in a family (overlapping spans of one
    paragraph merged), ordered by ``cluster_id``, then document order, paragraph, ``char_start``:
    ``cluster_id``, ``doc_id``, ``para_id``, ``char_start``, ``char_end`` (int: ``[start, end)``
    offsets into the paragraph's ``text``).

    ``cluster_of_passage``: the ``cluster_id`` of each row of ``reuse`` (int array).
    """
    require_columns(reuse, REUSE_COLUMNS, "The reuse table", REUSE_HINT)
    require_columns(paragraphs, ["para_id", "doc_id", "text"], "The paragraphs table", PARAGRAPHS_HINT)
    check_number("min_overlap", min_overlap, 0.0, integer=False)
    paras = body_only(paragraphs).reset_index(drop=True)
    if reuse.empty:
        return (pd.DataFrame(columns=CLUSTER_COLUMNS), pd.DataFrame(columns=MEMBER_COLUMNS),
                np.empty(0, dtype=np.int64))
    pids = paras["para_id"].astype(str).to_numpy()
    row_of = {p: k for k, p in enumerate(pids)}
    passage_comp, P, S, E, comp = passage_clusters(reuse, row_of, min_overlap)
    dids = paras["doc_id"].astype(str).to_numpy()
    rank = {d: k for k, d in enumerate(_document_order(paras))}
    doc_rank = np.array([rank[d] for d in dids], dtype=np.int64)
    orgs = paras["organization"].astype(str).to_numpy() if "organization" in paras.columns else np.full(len(paras), "")
    dates = paras["date"].astype(str).to_numpy() if "date" in paras.columns else np.full(len(paras), "")
    texts = paras["text"].fillna("").astype(str).to_numpy()

    # Members: spans of one component in one paragraph merged where they overlap or touch.
    order = np.lexsort((S, P, doc_rank[P], comp))
    c, p, s, e = comp[order], P[order], S[order], E[order]
    new_group = np.r_[True, (c[1:] != c[:-1]) | (p[1:] != p[:-1])]
    reach = pd.Series(e).groupby(np.cumsum(new_group)).cummax().to_numpy()
    new_member = new_group | np.r_[True, s[1:] > reach[:-1]]
    mid = np.cumsum(new_member) - 1
    first = np.flatnonzero(new_member)
    mc, mp, ms = c[first], p[first], s[first]
    me = np.maximum.reduceat(e, first)

    # Per component: documents, organisations, first member (members are in document order within a component).
    frame = pd.DataFrame({"c": mc, "doc": dids[mp], "org": orgs[mp]})
    n_docs = frame.groupby("c", sort=True)["doc"].nunique()
    n_orgs = frame.groupby("c", sort=True)["org"].nunique()
    head = np.flatnonzero(np.r_[True, mc[1:] != mc[:-1]])
    comps = mc[head]
    passage = [texts[q][a:b] for q, a, b in zip(mp[head], ms[head], me[head])]
    words = np.array([len(WORD_RE.findall(fold(t))) for t in passage], dtype=np.int64)
    nd = n_docs.reindex(comps).to_numpy(dtype=np.int64)
    no = n_orgs.reindex(comps).to_numpy(dtype=np.int64)
    # Published order: most documents, most words, earliest first member.
    pub = np.lexsort((ms[head], mp[head], doc_rank[mp[head]], -words, -nd))
    cluster_id = np.empty(comp.max() + 1, dtype=np.int64)
    cluster_id[comps[pub]] = np.arange(1, len(pub) + 1)
    clusters = pd.DataFrame({
        "cluster_id": np.arange(1, len(pub) + 1), "n_documents": nd[pub], "n_organizations": no[pub],
        "first_doc_id": dids[mp[head]][pub], "first_date": dates[mp[head]][pub], "words": words[pub],
        "passage": np.asarray(passage, dtype=object)[pub],
    })[CLUSTER_COLUMNS]
    del mid
    mem_order = np.lexsort((ms, mp, doc_rank[mp], cluster_id[mc]))
    members = pd.DataFrame({
        "cluster_id": cluster_id[mc][mem_order], "doc_id": dids[mp][mem_order], "para_id": pids[mp][mem_order],
        "char_start": ms[mem_order], "char_end": me[mem_order],
    })[MEMBER_COLUMNS]
    return clusters, members, cluster_id[passage_comp]


def cap_reuse_pairs(reuse: pd.DataFrame, cluster_of_passage: np.ndarray, paragraphs: pd.DataFrame,
                    max_pairs: int | None = MAX_PAIRS_PER_CLUSTER,
                    max_same_organization: int | None = MAX_SAME_ORGANIZATION_PAIRS) -> pd.DataFrame:
    """``reuse`` with at most ``max_pairs`` rows per cluster, in its own order.

    Within a cluster, passages between documents of different organisations come first, then
    longer passages, then the table's order; ``None`` keeps every row. A cluster holding no more
    than ``max_pairs`` cross-organisation pairs therefore keeps all of them. Of the pairs within
    one organisation, at most ``max_same_organization`` per cluster are kept (``None``: no
    such limit beyond ``max_pairs``).
    """
    if max_pairs is None or reuse.empty:
        return reuse
    check_number("max_pairs", max_pairs, 1)
    paras = body_only(paragraphs)
    org = dict(zip(paras["doc_id"].astype(str), paras["organization"].astype(str))) if "organization" in paras.columns else {}
    same = (reuse["doc_a"].astype(str).map(org).fillna("") == reuse["doc_b"].astype(str).map(org).fillna("")).to_numpy()
    if org == {}:
        same = np.zeros(len(reuse), dtype=bool)
    pos = np.arange(len(reuse))
    order = np.lexsort((pos, -reuse["words"].to_numpy(dtype=np.int64), same, cluster_of_passage))
    c = cluster_of_passage[order]
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    within = np.arange(len(c)) - np.repeat(starts, np.diff(np.r_[starts, len(c)]))
    ok = within < max_pairs
    if max_same_organization is not None:
        check_number("max_same_organization", max_same_organization, 0)
        first_same = pd.Series(np.where(same[order], within, len(c))).groupby(c).transform("min").to_numpy()
        ok &= ~same[order] | (within - first_same < max_same_organization)
    keep = np.sort(order[ok])
    return reuse.iloc[keep].reset_index(drop=True)


__all__ = ["reuse_clusters", "cap_reuse_pairs", "passage_clusters", "CLUSTER_COLUMNS", "MEMBER_COLUMNS",
           "MAX_PAIRS_PER_CLUSTER", "MAX_SAME_ORGANIZATION_PAIRS"]
