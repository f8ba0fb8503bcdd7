"""Reuse at scale: cross- versus self-reuse and the most reused passages, on a hand-made table.

Four documents: d1 (A, 2015), d2 (B, 2016), d3 (C, 2017), d4 (A, 2018). Reuse rows:

1. d1 p1 [0, 50)   <-> d2 p1 [10, 60)   10 words  A -> B  cross
2. d2 p1 [20, 70)  <-> d3 p1 [0, 50)     9 words  B -> C  cross
3. d1 p2 [0, 40)   <-> d4 p1 [5, 45)     8 words  A -> A  self
4. d2 p1 [70, 100) <-> d4 p2 [0, 40)     7 words  B -> A  cross

In d2 p1 the spans [10, 60) and [20, 70) overlap by 40 of 50 characters (at least half), so rows
1 and 2 are one passage carried by d1, d2 and d3 (three organisations); [70, 100) only touches
[20, 70), so row 4 stays apart.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.corpus.corpus import load_paragraphs
from helpers.errors import ParameterError
from helpers.analysis.overlap import find_reuse
from helpers.analysis.reuse_summary import (
    CROSS_SELF_COLUMNS, FAMILY_COLUMNS, PASSAGE_COLUMNS, classify_reuse, passage_families, reuse_between_groups,
    reuse_cross_vs_self, reuse_kind_totals,
)

ROOT = Path(__file__).resolve().parents[1]

DOCS = pd.DataFrame({"doc_id": ["d1", "d2", "d3", "d4"], "organization": ["A", "B", "C", "A"],
                     "date": ["2015-09-01", "2016-09-01", "2017-09-01", "2018-09-01"]})


def _row(doc_a, para_a, sa, ea, doc_b, para_b, sb, eb, words, text_a, text_b=None):
    return {"doc_a": doc_a, "para_a": para_a, "doc_b": doc_b, "para_b": para_b, "words": words, "text_a": text_a,
            "text_b": text_b or text_a, "start_a": sa, "end_a": ea, "start_b": sb, "end_b": eb}


REUSE = pd.DataFrame([
    _row("d1", "d1-p1", 0, 50, "d2", "d2-p1", 10, 60, 10, "we reaffirm our commitment to the charter of the united nations"),
    _row("d2", "d2-p1", 20, 70, "d3", "d3-p1", 0, 50, 9, "our commitment to the charter of the united nations today"),
    _row("d1", "d1-p2", 0, 40, "d4", "d4-p1", 5, 45, 8, "sustainable development goals for all people by 2030"),
    _row("d2", "d2-p1", 70, 100, "d4", "d4-p2", 0, 40, 7, "climate change is the defining issue now"),
])


def test_classify_marks_cross_and_self():
    c = classify_reuse(REUSE, DOCS)
    assert c["kind"].tolist() == ["cross", "cross", "self", "cross"]
    assert c["organization_a"].tolist() == ["A", "B", "A", "B"]
    assert c["organization_b"].tolist() == ["B", "C", "A", "A"]
    assert list(c.columns[:11]) == list(REUSE.columns)


def test_cross_vs_self_per_organisation_pair():
    t = reuse_cross_vs_self(REUSE, DOCS)
    assert list(t.columns) == CROSS_SELF_COLUMNS
    assert t.values.tolist() == [
        ["cross", "A", "B", 1, 1, 10],
        ["cross", "B", "C", 1, 1, 9],
        ["cross", "B", "A", 1, 1, 7],
        ["self", "A", "A", 1, 1, 8],
    ]


def test_kind_totals():
    t = reuse_kind_totals(REUSE, DOCS).set_index("kind")
    assert t.loc["cross"].tolist() == [3, 3, 3, 3, 26]
    assert t.loc["self"].tolist() == [1, 1, 1, 1, 8]
    empty = reuse_kind_totals(REUSE.iloc[:0], DOCS)
    assert empty["passages"].tolist() == [0, 0]


def test_reuse_between_groups_counts_a_document_in_each_of_its_groups():
    assignments = pd.DataFrame({"doc_id": ["d1", "d2", "d2", "d3", "d4"], "group": ["G1", "G1", "G2", "G2", "G1"]})
    t = reuse_between_groups(REUSE, assignments)
    assert t.values.tolist() == [["G1", "G1", 3, 3, 25], ["G1", "G2", 2, 2, 19], ["G2", "G2", 1, 1, 9], ["G2", "G1", 1, 1, 7]]
    cross = reuse_between_groups(REUSE, assignments, kind="cross", documents=DOCS)
    assert cross.values.tolist() == [["G1", "G2", 2, 2, 19], ["G1", "G1", 2, 2, 17], ["G2", "G2", 1, 1, 9], ["G2", "G1", 1, 1, 7]]
    with pytest.raises(ParameterError, match=r"kind='cross' needs the documents table"):
        reuse_between_groups(REUSE, assignments, kind="cross")


def test_missing_columns_are_named():
    with pytest.raises(ParameterError, match=r"The reuse table lacks column\(s\) words"):
        classify_reuse(REUSE.drop(columns=["words"]), DOCS)
    with pytest.raises(ParameterError, match=r"The documents table lacks column\(s\) organization"):
        classify_reuse(REUSE, DOCS.drop(columns=["organization"]))


def test_seed_corpus_reuse_is_all_the_cstos_own():
    """The seed corpus: 12 reused passages, all the CSTO repeating itself (the SG's two speeches, two news items)."""
    paragraphs = load_paragraphs(ROOT / "data")
    reuse = find_reuse(paragraphs[paragraphs["kind"] == "body"], min_words=12)
    docs = paragraphs[["doc_id", "organization", "date"]].drop_duplicates("doc_id")
    totals = reuse_kind_totals(reuse, docs).set_index("kind")
    assert totals.loc["cross"].tolist() == [0, 0, 0, 0, 0]
    assert totals.loc["self", ["passages", "document_pairs", "organizations"]].tolist() == [12, 2, 1]
    assert sorted({(a, b) for a, b in zip(reuse["doc_a"], reuse["doc_b"])}) == [
        ("csto-news-2024-12-02", "csto-news-2024-12-03"), ("csto-sg-unsc-2024", "csto-sg-minsk-2024")]


# ------------------------------------------------------------------ document pairs and passage families

#: reuse_by_document_pair.csv rows: every passage counted, where text_reuse.csv keeps a sample of a family's pairs.
PAIRS = pd.DataFrame({"doc_a": ["d1", "d1", "d2"], "doc_b": ["d2", "d4", "d3"], "passages": [3, 2, 1],
                      "words_reused_a": [30, 15, 9], "words_a": [100, 100, 80], "share_a": [0.3, 0.15, 0.1125]})
GROUPS = pd.DataFrame({"doc_id": ["d1", "d2", "d2", "d3", "d4"], "group": ["NATO", "EU", "NATO", "rest", "none"]})


def test_counts_from_the_document_pair_table_take_every_passage():
    totals = reuse_kind_totals(PAIRS, DOCS).set_index("kind")
    assert totals.loc["cross"].tolist() == [4, 2, 2, 3, 39]  # d1->d2 (A->B) 3 passages + d2->d3 (B->C) 1
    assert totals.loc["self"].tolist() == [2, 1, 1, 1, 15]   # d1->d4, A reusing its own text
    cs = reuse_cross_vs_self(PAIRS, DOCS)
    assert cs[["kind", "organization_a", "organization_b", "passages", "document_pairs", "words"]].values.tolist() == [
        ["cross", "A", "B", 3, 1, 30], ["cross", "B", "C", 1, 1, 9], ["self", "A", "A", 2, 1, 15]]
    between = reuse_between_groups(PAIRS, GROUPS)
    assert between.values.tolist() == [["NATO", "EU", 3, 1, 30], ["NATO", "NATO", 3, 1, 30], ["NATO", "none", 2, 1, 15],
                                       ["EU", "rest", 1, 1, 9], ["NATO", "rest", 1, 1, 9]]


def test_passage_families_count_every_selected_member_and_the_groups_carrying_them():
    clusters = pd.DataFrame({"cluster_id": [1, 2, 3], "n_documents": [3, 2, 2], "n_organizations": [3, 1, 2],
                             "first_doc_id": ["d1", "d1", "d4"], "first_date": ["2015-09-01", "2015-09-01", "2018-09-01"],
                             "words": [10, 8, 5], "passage": ["the first family", "the second", "the third"]})
    members = pd.DataFrame({"cluster_id": [1, 1, 1, 1, 2, 2, 3, 3],
                            "doc_id": ["d2", "d1", "d3", "d2", "d4", "d1", "d4", "elsewhere"],
                            "para_id": ["d2-p1", "d1-p1", "d3-p1", "d2-p1", "d4-p2", "d1-p2", "d4-p3", "x-p1"],
                            "char_start": [10, 0, 0, 70, 0, 0, 0, 0], "char_end": [60, 50, 50, 100, 40, 40, 30, 30]})
    f = passage_families(clusters, members, DOCS, GROUPS)
    assert list(f.columns) == FAMILY_COLUMNS
    assert f.values.tolist() == [
        [1, 3, 3, 4, 10, "the first family", "d1", "A", "2015-09-01", "d1;d2;d3", "A;B;C", 2, "EU;NATO"],
        [2, 2, 1, 2, 8, "the second", "d1", "A", "2015-09-01", "d1;d4", "A", 1, "NATO"]]  # family 3: one selected carrier
    only = passage_families(clusters, members, DOCS[DOCS["doc_id"] != "d1"])  # a selection without d1, no groups
    assert only[["passage", "documents", "doc_ids", "groups", "group_list"]].values.tolist() == [[1, 2, "d2;d3", 0, ""]]
    assert passage_families(clusters, members.iloc[:0], DOCS).empty
