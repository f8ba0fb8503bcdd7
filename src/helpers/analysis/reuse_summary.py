"""Verbatim reuse at scale: who repeats whose wording, and which passages travel furthest.

Input is the reuse table of :func:`helpers.analysis.overlap.find_reuse` (``REPORTS/text_reuse.csv``:
``doc_a, para_a, doc_b, para_b, words, text_a, text_b, start_a, end_a, start_b, end_b``;
``doc_a`` is the earlier document) and the documents' organisations (``doc_id,
organization``, optionally ``date``).

- :func:`classify_reuse` marks each reused passage ``cross`` (two different organisations:
  the later one repeats the earlier one's wording) or ``self`` (an organisation reusing its
  own earlier text), and :func:`reuse_cross_vs_self` counts them per pair of organisations.
- :func:`reused_passages` groups the reuse rows into passages: two rows belong to the same
  passage when their spans overlap by at least half in a paragraph (connected components of
  overlapping character spans, so a sentence that five speeches share is one passage, not ten pairs),
  and counts the distinct documents and organisations that carry each passage.

All functions are pure and return new DataFrames in a fixed order.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from helpers.errors import ParameterError
from helpers.analysis.frequencies import check_choice, require_columns
from helpers.corpus.text import count_words

REUSE_COLUMNS = ["doc_a", "para_a", "doc_b", "para_b", "words", "text_a", "text_b", "start_a", "end_a", "start_b", "end_b"]
REUSE_HINT = "Pass REPORTS/text_reuse.csv (make analyse) or the output of helpers.analysis.overlap.find_reuse()."
DOCUMENTS_HINT = "Pass one row per document with doc_id and organization (build/<corpus>/documents.csv)."
KINDS = ("cross", "self")
CROSS_SELF_COLUMNS = ["kind", "organization_a", "organization_b", "passages", "document_pairs", "words"]
PASSAGE_COLUMNS = [
    "passage", "documents", "organizations", "rows", "words", "text", "first_doc", "first_organization", "first_date",
    "doc_ids", "organization_list",
]


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
    orgs = _organisations(documents)
    out = reuse.copy()
    out["organization_a"] = out["doc_a"].astype(str).map(orgs).fillna("")
    out["organization_b"] = out["doc_b"].astype(str).map(orgs).fillna("")
    out["kind"] = np.where(out["organization_a"] == out["organization_b"], "self", "cross")
    return out


def reuse_cross_vs_self(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """Reused passages per (kind, earlier organisation, later organisation).

    Output columns: ``kind`` (str, ``cross`` or ``self``), ``organization_a`` (str: the
    organisation of the earlier document, whose wording is repeated), ``organization_b``
    (str: the organisation that repeats it; equal to ``organization_a`` for ``self``),
    ``passages`` (int: reuse rows), ``document_pairs`` (int: distinct (doc_a, doc_b)),
    ``words`` (int: words in the reused passages, counted on the earlier document's side).
    Sorted by kind (cross first), ``words`` descending, then the organisations.
    """
    c = classify_reuse(reuse, documents)
    if c.empty:
        return pd.DataFrame(columns=CROSS_SELF_COLUMNS).astype({"passages": int, "document_pairs": int, "words": int})
    c = c.assign(pair=c["doc_a"].astype(str) + "\x1f" + c["doc_b"].astype(str))
    out = c.groupby(["kind", "organization_a", "organization_b"], sort=True).agg(
        passages=("words", "size"), document_pairs=("pair", "nunique"), words=("words", "sum")).reset_index()
    out["_k"] = out["kind"].map({k: i for i, k in enumerate(KINDS)})
    out = out.sort_values(["_k", "words", "organization_a", "organization_b"], ascending=[True, False, True, True], kind="mergesort")
    return out[CROSS_SELF_COLUMNS].astype({"passages": int, "document_pairs": int, "words": int}).reset_index(drop=True)


def reuse_kind_totals(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """One row per kind (``cross``, ``self``, both always present): how much reuse of each kind.

    Output columns: ``kind`` (str), ``passages`` (int: reuse rows), ``document_pairs`` (int),
    ``organization_pairs`` (int: distinct (organization_a, organization_b)),
    ``organizations`` (int: distinct organisations on either side), ``words`` (int).
    """
    c = classify_reuse(reuse, documents)
    rows = []
    for kind in KINDS:
        sub = c[c["kind"] == kind]
        rows.append({
            "kind": kind, "passages": len(sub),
            "document_pairs": int(sub[["doc_a", "doc_b"]].drop_duplicates().shape[0]),
            "organization_pairs": int(sub[["organization_a", "organization_b"]].drop_duplicates().shape[0]),
            "organizations": len(set(sub["organization_a"]) | set(sub["organization_b"])),
            "words": int(sub["words"].sum()),
        })
    return pd.DataFrame(rows, columns=["kind", "passages", "document_pairs", "organization_pairs", "organizations", "words"])


#: Share of a span that must overlap a segment for the span to join it (see :func:`_segments`).
MIN_OVERLAP = 0.5


def _segments(spans: pd.DataFrame, min_overlap: float = MIN_OVERLAP) -> pd.DataFrame:
    """Merge overlapping spans per paragraph: ``spans`` (``para``, ``start``, ``end``, ``span``) gets a ``segment`` id.

    Spans are taken in order of their start; a span joins the current segment of its paragraph
    when at least ``min_overlap`` of its characters fall inside the segment, so spans that only
    graze each other (touching, or a few shared words of a formula) are not chained into one
    passage.
    """
    s = spans.sort_values(["para", "start", "end", "span"], kind="mergesort")
    seg = np.empty(len(s), dtype=np.int64)
    current, last_para, reach = -1, None, -1
    for i, (para, start, end) in enumerate(zip(s["para"], s["start"], s["end"])):
        inside = max(0, min(end, reach) - start)
        if para != last_para or inside < min_overlap * max(end - start, 1):
            current += 1
            last_para, reach = para, end
        else:
            reach = max(reach, end)
        seg[i] = current
    out = s.assign(segment=seg)
    return out.sort_values("span", kind="mergesort")


def reused_passages(reuse: pd.DataFrame, documents: pd.DataFrame) -> pd.DataFrame:
    """The reused passages, each with how many speeches and organisations carry it.

    Every reuse row links a span of ``para_a`` (``start_a``-``end_a``) to a span of
    ``para_b``. Spans within one paragraph that overlap by at least :data:`MIN_OVERLAP` of their
    length are merged into one segment, and segments linked by a reuse row form one passage
    (connected components), so identical or overlapping wording shared by many documents is
    counted once with all its documents.

    Inputs: ``reuse`` (see the module docstring), ``documents`` (``doc_id``,
    ``organization``; ``date`` YYYY-MM-DD orders them, else ``doc_id``).
    Output, one row per passage, sorted by ``documents`` descending, then ``organizations``
    descending, ``words`` descending, ``first_doc``: ``passage`` (int, 1-based in that
    order), ``documents`` (int: distinct documents carrying it), ``organizations`` (int:
    distinct organisations), ``rows`` (int: reuse rows merged into it), ``words`` (int: words
    of ``text``), ``text`` (str: the passage as written in its earliest document, the longest
    segment there), ``first_doc``, ``first_organization``, ``first_date`` (str: that
    earliest document), ``doc_ids`` (str: the documents, ``;``-joined in date order),
    ``organization_list`` (str: the organisations, ``;``-joined, sorted).
    """
    require_columns(reuse, REUSE_COLUMNS, "The reuse table", REUSE_HINT)
    orgs = _organisations(documents)
    if reuse.empty:
        return pd.DataFrame(columns=PASSAGE_COLUMNS)
    dates = dict(zip(documents["doc_id"].astype(str), documents["date"].astype(str))) if "date" in documents.columns else {}
    n = len(reuse)
    side = lambda s: pd.DataFrame({  # noqa: E731
        "doc": reuse[f"doc_{s}"].astype(str).to_numpy(), "para": reuse[f"para_{s}"].astype(str).to_numpy(),
        "start": reuse[f"start_{s}"].astype(int).to_numpy(), "end": reuse[f"end_{s}"].astype(int).to_numpy(),
        "text": reuse[f"text_{s}"].astype(str).to_numpy(), "row": np.arange(n)})
    spans = pd.concat([side("a"), side("b")], ignore_index=True)
    spans["span"] = np.arange(len(spans))
    spans = _segments(spans)
    seg = spans["segment"].to_numpy()
    n_seg = int(seg.max()) + 1
    graph = coo_matrix((np.ones(n), (seg[:n], seg[n:])), shape=(n_seg, n_seg))
    _, labels = connected_components(graph, directed=False)
    spans["component"] = labels[seg]
    spans["date"] = spans["doc"].map(dates).fillna("")
    spans["organization"] = spans["doc"].map(orgs).fillna("")
    spans["length"] = spans["end"] - spans["start"]
    first = spans.sort_values(["component", "date", "doc", "length", "start"], ascending=[True, True, True, False, True],
                              kind="mergesort").drop_duplicates("component").set_index("component")
    docs = spans.drop_duplicates(["component", "doc"]).sort_values(["component", "date", "doc"], kind="mergesort")
    doc_ids = docs.groupby("component", sort=True)["doc"].agg(";".join)
    org_sets = spans.drop_duplicates(["component", "organization"]).sort_values(["component", "organization"], kind="mergesort")
    org_list = org_sets.groupby("component", sort=True)["organization"].agg(";".join)
    out = pd.DataFrame({
        "documents": docs.groupby("component", sort=True).size(),
        "organizations": org_sets.groupby("component", sort=True).size(),
        "rows": spans.groupby("component", sort=True)["row"].nunique(),
    })
    out["text"] = first["text"]
    out["words"] = [count_words(t) for t in out["text"]]
    out["first_doc"], out["first_organization"], out["first_date"] = first["doc"], first["organization"], first["date"]
    out["doc_ids"], out["organization_list"] = doc_ids, org_list
    out = out.reset_index(drop=True)
    out = out.sort_values(["documents", "organizations", "words", "first_doc", "text"], ascending=[False, False, False, True, True],
                          kind="mergesort").reset_index(drop=True)
    out.insert(0, "passage", np.arange(1, len(out) + 1))
    return out[PASSAGE_COLUMNS]


def reuse_between_groups(reuse: pd.DataFrame, assignments: pd.DataFrame, kind: str = "all",
                         documents: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reused passages per (group of the earlier document, group of the later document).

    ``assignments`` is :func:`helpers.corpus.groups.assign_groups` output (``doc_id, group``; a
    document in several groups counts in each, so one passage can count for several group
    pairs). ``kind``: ``all``, ``cross`` or ``self`` (then ``documents`` is needed to tell them
    apart). Output columns: ``group_a``, ``group_b`` (str), ``passages`` (int),
    ``document_pairs`` (int), ``words`` (int). Sorted by ``words`` descending, then groups.
    """
    check_choice("kind", kind, ("all", *KINDS))
    require_columns(reuse, REUSE_COLUMNS, "The reuse table", REUSE_HINT)
    require_columns(assignments, ["doc_id", "group"], "The group assignment", "Use helpers.corpus.groups.assign_groups().")
    r = reuse
    if kind != "all":
        if documents is None:
            raise ParameterError(f"reuse_between_groups: kind={kind!r} needs the documents table (doc_id, organization) to tell "
                                 "cross from self reuse. Pass documents=.")
        r = classify_reuse(reuse, documents)
        r = r[r["kind"] == kind]
    columns = ["group_a", "group_b", "passages", "document_pairs", "words"]
    if r.empty:
        return pd.DataFrame(columns=columns)
    g = assignments[["doc_id", "group"]].astype(str)
    m = r[["doc_a", "doc_b", "words"]].astype({"doc_a": str, "doc_b": str}).reset_index(drop=True).reset_index()
    m = m.merge(g.rename(columns={"doc_id": "doc_a", "group": "group_a"}), on="doc_a")
    m = m.merge(g.rename(columns={"doc_id": "doc_b", "group": "group_b"}), on="doc_b")
    m["pair"] = m["doc_a"] + "\x1f" + m["doc_b"]
    out = m.groupby(["group_a", "group_b"], sort=True).agg(passages=("index", "nunique"), document_pairs=("pair", "nunique"),
                                                            words=("words", "sum")).reset_index()
    out = out.sort_values(["words", "group_a", "group_b"], ascending=[False, True, True], kind="mergesort")
    return out[columns].reset_index(drop=True)

