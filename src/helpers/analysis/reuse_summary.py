"""Verbatim reuse at scale: who repeats whose wording, and which passages travel furthest.

Input is the reuse table of :func:`helpers.analysis.overlap.find_reuse` (``REPORTS/text_reuse.csv``:
``doc_a, para_a, doc_b, para_b, words, text_a, text_b, start_a, end_a, start_b, end_b``;
``doc_a`` is the earlier document) and the documents' organisations (``doc_id,
organization``, optionally ``date``).

- :func:`classify_reuse` marks each reused passage ``cross`` (two different organisations:
  the later one repeats the earlier one's wording) or ``self`` (an organisation reusing its
  own earlier text), and :func:`reuse_cross_vs_self` counts them per pair of organisations.
- :func:`passage_families` counts the carriers of each passage family of
  ``reuse_clusters.csv`` / ``reuse_cluster_members.csv`` (every member, where ``text_reuse.csv``
  keeps at most 50 pairs a family) among the selected documents, and across groups (blocs). The
  families themselves (overlapping spans chained across documents, so a sentence five speeches
  share is one passage, not ten pairs) are found by :mod:`helpers.analysis.reuse_clusters`.

The counting functions also take the document-pair table ``reuse_by_document_pair.csv``
(``doc_a, doc_b, passages, words_reused_a, ...``) instead of reuse rows: it counts every passage,
so totals are complete where ``text_reuse.csv`` is capped.

All functions are pure and return new DataFrames in a fixed order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from helpers.errors import ParameterError
from helpers.analysis.frequencies import check_choice, require_columns

REUSE_COLUMNS = ["doc_a", "para_a", "doc_b", "para_b", "words", "text_a", "text_b", "start_a", "end_a", "start_b", "end_b"]
#: The columns of ``reuse_by_document_pair.csv`` the counting functions use instead of reuse rows.
PAIR_COLUMNS = ["doc_a", "doc_b", "passages", "words_reused_a"]
REUSE_HINT = "Pass REPORTS/text_reuse.csv (make analyse) or the output of helpers.analysis.overlap.find_reuse()."
DOCUMENTS_HINT = "Pass one row per document with doc_id and organization (build/<corpus>/documents.csv)."
KINDS = ("cross", "self")
CROSS_SELF_COLUMNS = ["kind", "organization_a", "organization_b", "passages", "document_pairs", "words"]
#: One passage family: ``passage`` (its ``cluster_id``), ``documents``, ``organizations`` (distinct carriers),
#: ``rows`` (member stretches), ``words`` and ``text`` (the passage), ``first_doc``, ``first_organization``,
#: ``first_date`` (its earliest carrier), ``doc_ids`` (``;``-joined in date order), ``organization_list`` (sorted).
PASSAGE_COLUMNS = [
    "passage", "documents", "organizations", "rows", "words", "text", "first_doc", "first_organization", "first_date",
    "doc_ids", "organization_list",
]
#: :func:`passage_families` adds the groups (blocs) carrying each family.
FAMILY_COLUMNS = [*PASSAGE_COLUMNS, "groups", "group_list"]
#: Groups that are no group: a speaker outside the chosen group(s) (:mod:`helpers.corpus.groups`).
NO_GROUP = ("rest", "none")


def _organisations(documents: pd.DataFrame) -> dict[str, str]:
    require_columns(documents, ["doc_id", "organization"], "The documents table", DOCUMENTS_HINT)
    return dict(zip(documents["doc_id"].astype(str), documents["organization"].astype(str)))


def classify_reuse(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Each reuse row with the two organisations and whether the reuse crosses organisations.

    Inputs: ``reuse`` (see the module docstring) and ``documents`` (``doc_id``,
    ``organization``). Output: the rows of ``reuse`` in the same order, all its columns, plus
    ``organization_a``, ``organization_b`` (str: the organisations of ``doc_a`` and
    ``doc_b``; ``""`` when a document is not in ``documents``) and ``kind`` (str: ``cross``
    when they differ, ``self`` when one organisation reuses its own text).
    """
    require_columns(reuse, REUSE_COLUMNS, "The reuse table", REUSE_HINT)
    return _with_kind(reuse.copy(), documents)


def _with_kind(out: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """``out`` (``doc_a``, ``doc_b``) given ``organization_a``, ``organization_b`` and ``kind``, in place."""
    orgs = _organisations(documents)
    out["organization_a"] = out["doc_a"].astype(str).map(orgs).fillna("")
    out["organization_b"] = out["doc_b"].astype(str).map(orgs).fillna("")
    out["kind"] = np.where(out["organization_a"] == out["organization_b"], "self", "cross")
    return out


def _passage_counts(reuse: pd.DataFrame, documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """``doc_a``, ``doc_b`` (str), ``n`` (passages) and ``words`` of each row of a reuse table (one passage a row,
    its ``words``) or of a document-pair table (:data:`PAIR_COLUMNS`: ``passages`` and ``words_reused_a`` a pair);
    with ``documents``, also ``organization_a``, ``organization_b`` and ``kind`` (as :func:`classify_reuse`)."""
    if set(PAIR_COLUMNS) <= set(reuse.columns) and "para_a" not in reuse.columns:
        out = pd.DataFrame({"doc_a": reuse["doc_a"].astype(str), "doc_b": reuse["doc_b"].astype(str),
                            "n": reuse["passages"].astype(int), "words": reuse["words_reused_a"].astype(int)})
    else:
        require_columns(reuse, REUSE_COLUMNS, "The reuse table", REUSE_HINT + " Or pass reuse_by_document_pair.csv.")
        out = pd.DataFrame({"doc_a": reuse["doc_a"].astype(str), "doc_b": reuse["doc_b"].astype(str),
                            "n": np.ones(len(reuse), dtype=int), "words": reuse["words"].astype(int)})
    out = out.reset_index(drop=True)
    return out if documents is None else _with_kind(out, documents)


def reuse_cross_vs_self(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Reused passages per (kind, earlier organisation, later organisation).

    Output columns: ``kind`` (str, ``cross`` or ``self``), ``organization_a`` (str: the
    organisation of the earlier document, whose wording is repeated), ``organization_b``
    (str: the organisation that repeats it; equal to ``organization_a`` for ``self``),
    ``passages`` (int: reuse rows, or the pairs' ``passages``), ``document_pairs`` (int: distinct (doc_a, doc_b)),
    ``words`` (int: words in the reused passages, counted on the earlier document's side; of a
    document-pair table, its ``words_reused_a``). Sorted by kind (cross first), ``words`` descending,
    then the organisations. ``reuse``: reuse rows or a document-pair table (see the module docstring).
    """
    c = _passage_counts(reuse, documents)
    if c.empty:
        return pd.DataFrame(columns=CROSS_SELF_COLUMNS).astype({"passages": int, "document_pairs": int, "words": int})
    c = c.assign(pair=c["doc_a"] + "\x1f" + c["doc_b"])
    out = c.groupby(["kind", "organization_a", "organization_b"], sort=True).agg(
        passages=("n", "sum"), document_pairs=("pair", "nunique"), words=("words", "sum")).reset_index()
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(KINDS)})
    out = out.sort_values(["_k", "words", "organization_a", "organization_b"], ascending=[True, False, True, True], kind="mergesort")
    return out[CROSS_SELF_COLUMNS].astype({"passages": int, "document_pairs": int, "words": int}).reset_index(drop=True)


def reuse_kind_totals(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """One row per kind (``cross``, ``self``, both always present): how much reuse of each kind.

    Output columns: ``kind`` (str), ``passages`` (int: reuse rows, or the pairs' ``passages``), ``document_pairs`` (int),
    ``organization_pairs`` (int: distinct (organization_a, organization_b)),
    ``organizations`` (int: distinct organisations on either side), ``words`` (int).
    ``reuse``: reuse rows or a document-pair table (see the module docstring).
    """
    c = _passage_counts(reuse, documents)
    rows = []
    for kind in KINDS:
        sub = c[c["kind"] == kind]
        rows.append({
            "kind": kind, "passages": int(sub["n"].sum()),
            "document_pairs": int(sub[["doc_a", "doc_b"]].drop_duplicates().shape[0]),
            "organization_pairs": int(sub[["organization_a", "organization_b"]].drop_duplicates().shape[0]),
            "organizations": len(set(sub["organization_a"]) | set(sub["organization_b"])),
            "words": int(sub["words"].sum()),
        })
    return pd.DataFrame(rows, columns=["kind", "passages", "document_pairs", "organization_pairs", "organizations", "words"])


def reuse_between_groups(reuse: pd.DataFrame, assignments: pd.DataFrame, kind: str = "all",
                         documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reused passages per (group of the earlier document, group of the later document).

    ``reuse``: reuse rows or a document-pair table (see the module docstring).
    ``assignments`` is :func:`helpers.corpus.groups.assign_groups` output (``doc_id, group``; a
    document in several groups counts in each, so one passage can count for several group
    pairs). ``kind``: ``all``, ``cross`` or ``self`` (then ``documents`` is needed to tell them
    apart). Output columns: ``group_a``, ``group_b`` (str), ``passages`` (int),
    ``document_pairs`` (int), ``words`` (int). Sorted by ``words`` descending, then groups.
    """
    check_choice("kind", kind, ("all", *KINDS))
    require_columns(assignments, ["doc_id", "group"], "The group assignment", "Use helpers.corpus.groups.assign_groups().")
    if kind != "all" and documents is None:
        raise ParameterError(f"reuse_between_groups: kind={kind!r} needs the documents table (doc_id, organization) to tell "
                             "cross from self reuse. Pass documents=.")
    r = _passage_counts(reuse, documents if kind != "all" else None)
    if kind != "all":
        r = r[r["kind"] == kind]
    columns = ["group_a", "group_b", "passages", "document_pairs", "words"]
    if r.empty:
        return pd.DataFrame(columns=columns)
    g = assignments[["doc_id", "group"]].astype(str).drop_duplicates()
    m = r[["doc_a", "doc_b", "n", "words"]]
    m = m.merge(g.rename(columns={"doc_id": "doc_a", "group": "group_a"}), on="doc_a")
    m = m.merge(g.rename(columns={"doc_id": "doc_b", "group": "group_b"}), on="doc_b")
    m["pair"] = m["doc_a"] + "\x1f" + m["doc_b"]
    out = m.groupby(["group_a", "group_b"], sort=True).agg(passages=("n", "sum"), document_pairs=("pair", "nunique"),
                                                            words=("words", "sum")).reset_index()
    out = out.sort_values(["words", "group_a", "group_b"], ascending=[False, True, True], kind="mergesort")
    return out[columns].reset_index(drop=True)


def passage_families(clusters: pd.DataFrame, members: pd.DataFrame, documents: pd.DataFrame,
                     assignments: pd.DataFrame | None = None) -> pd.DataFrame:
    """The reuse clusters (passage families) carried by at least two of ``documents``, counted from every member.

    Inputs: ``clusters`` and ``members`` as ``reuse_clusters.csv`` and ``reuse_cluster_members.csv``
    (:func:`helpers.analysis.reuse_clusters.reuse_clusters`), ``documents`` (``doc_id``,
    ``organization``, ``date``: the selected documents; members of other documents are left out)
    and optionally ``assignments`` (``doc_id, group``, :func:`helpers.corpus.groups.assign_groups`:
    the groups, e.g. blocs, a family is counted across; ``rest`` and ``none`` are not groups).
    Output: :data:`PASSAGE_COLUMNS` (``passage`` is the ``cluster_id``, ``rows`` the
    member stretches, ``text`` and ``words`` the cluster's ``passage``; ``first_*`` the earliest
    selected carrier) plus ``groups`` (int: distinct groups among the carriers) and ``group_list``
    (str, ``;``-joined, sorted). Most documents first, then in the clusters' own order (``cluster_id``),
    so for every document the order of ``reuse_clusters.csv``.
    """
    require_columns(clusters, ["cluster_id", "words", "passage"], "The reuse clusters table",
                    "Pass REPORTS/reuse_clusters.csv (make analyse).")
    require_columns(members, ["cluster_id", "doc_id", "para_id"], "The reuse cluster members table",
                    "Pass REPORTS/reuse_cluster_members.csv (make analyse).")
    orgs = _organisations(documents)
    docs = documents.drop_duplicates("doc_id")
    dates = dict(zip(docs["doc_id"].astype(str), docs["date"].astype(str))) if "date" in docs.columns else {}
    m = pd.DataFrame({"cluster": members["cluster_id"].astype(int), "doc": members["doc_id"].astype(str)})
    m = m[m["doc"].isin(set(orgs))]
    rows = m.groupby("cluster", sort=True).size()
    m = m.drop_duplicates()
    m["organization"], m["date"] = m["doc"].map(orgs), m["doc"].map(dates).fillna("")
    m = m.sort_values(["cluster", "date", "doc"], kind="mergesort")
    n_docs = m.groupby("cluster", sort=True).size()
    keep = n_docs.index[n_docs >= 2]
    m = m[m["cluster"].isin(keep)]
    if m.empty:
        return pd.DataFrame(columns=FAMILY_COLUMNS)
    by = m.groupby("cluster", sort=True)
    first = by.head(1).set_index("cluster")
    orgs_sorted = m.drop_duplicates(["cluster", "organization"]).sort_values(["cluster", "organization"], kind="mergesort")
    out = pd.DataFrame({"documents": n_docs[keep], "organizations": orgs_sorted.groupby("cluster", sort=True).size(),
                        "rows": rows[keep]})
    text = clusters.assign(cluster_id=clusters["cluster_id"].astype(int)).set_index("cluster_id")
    out["text"] = text["passage"].reindex(out.index).fillna("").astype(str)
    out["words"] = text["words"].reindex(out.index).fillna(0).astype(int)
    out["first_doc"], out["first_organization"], out["first_date"] = first["doc"], first["organization"], first["date"]
    out["doc_ids"] = by["doc"].agg(";".join)
    out["organization_list"] = orgs_sorted.groupby("cluster", sort=True)["organization"].agg(";".join)
    out["groups"], out["group_list"] = 0, ""
    if assignments is not None and len(assignments):
        g = assignments[["doc_id", "group"]].astype(str)
        g = g[~g["group"].isin(NO_GROUP)].drop_duplicates()
        mg = m[["cluster", "doc"]].merge(g.rename(columns={"doc_id": "doc"}), on="doc")
        mg = mg.drop_duplicates(["cluster", "group"]).sort_values(["cluster", "group"], kind="mergesort")
        per = mg.groupby("cluster", sort=True)["group"]
        out["groups"] = per.size().reindex(out.index).fillna(0).astype(int)
        out["group_list"] = per.agg(";".join).reindex(out.index).fillna("")
    out = out.rename_axis("passage").reset_index()
    out = out.sort_values(["documents", "passage"], ascending=[False, True], kind="mergesort").reset_index(drop=True)
    return out[FAMILY_COLUMNS].astype({"passage": int, "documents": int, "organizations": int, "rows": int, "words": int,
                                       "groups": int})
