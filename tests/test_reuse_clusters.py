"""Tests for helpers.analysis.reuse_clusters: passage families of the pairwise reuse table, and the per-cluster cap.

Hand-built corpus: passage X (16 words) is said by d1 (A), d2 (B) and d3 (A); passage Y (18
words) by d2, in the same paragraph right after X, and by d4 (C). So two families: X in three
documents of two organisations (pairs d1-d2, d1-d3, d2-d3), Y in two documents of two (d2-d4),
and d2's paragraph belongs to both, as two separate stretches.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from helpers.corpus.corpus import load_paragraphs
from helpers.errors import ParameterError
from helpers.analysis.overlap import find_reuse
from helpers.analysis.reuse_clusters import CLUSTER_COLUMNS, MEMBER_COLUMNS, cap_reuse_pairs, reuse_clusters
from test_overlap import paras

DATA = Path(__file__).resolve().parents[1] / "data"
X = "The member states reaffirm their commitment to the peaceful settlement of disputes through dialogue and consultation"
Y = "We call for an immediate ceasefire and the unconditional release of all hostages held in the region today"
D2 = f"Today, {X}. Moreover, {Y}."


@pytest.fixture()
def corpus() -> pd.DataFrame:
    return paras([
        ("d1", "A", "2020-09-01", f"{X}."),
        ("d2", "B", "2021-09-01", D2),
        ("d3", "A", "2022-09-01", f"Once more: {X}!"),
        ("d4", "C", "2023-09-01", f"{Y}."),
    ])


def test_two_families_by_hand(corpus: pd.DataFrame) -> None:
    reuse = find_reuse(corpus)
    assert reuse[["doc_a", "doc_b", "words"]].values.tolist() == [
        ["d1", "d2", 16], ["d1", "d3", 16], ["d2", "d3", 16], ["d2", "d4", 18]]
    clusters, members, of_passage = reuse_clusters(reuse, corpus)
    assert list(clusters.columns) == CLUSTER_COLUMNS and list(members.columns) == MEMBER_COLUMNS
    assert clusters[["cluster_id", "n_documents", "n_organizations", "first_doc_id", "first_date", "words"]].values.tolist() == [
        [1, 3, 2, "d1", "2020-09-01", 16], [2, 2, 2, "d2", "2021-09-01", 18]]
    assert clusters["passage"].tolist() == [X, Y]
    assert of_passage.tolist() == [1, 1, 1, 2]
    x2, y2, x3 = D2.index(X), D2.index(Y), len("Once more: ")
    assert members.values.tolist() == [
        [1, "d1", "d1-p001", 0, len(X)], [1, "d2", "d2-p001", x2, x2 + len(X)], [1, "d3", "d3-p001", x3, x3 + len(X)],
        [2, "d2", "d2-p001", y2, y2 + len(Y)], [2, "d4", "d4-p001", 0, len(Y)]]


def test_overlapping_spans_of_one_paragraph_join_their_families_only_above_min_overlap() -> None:
    # d3 says X's last 9 words followed by Z (15 words); d2 says X and Z's first 5 words; d1 says Z.
    # In d3 the span shared with d2 (14 words) and the span shared with d1 (15 words) overlap by
    # 5 words (25 of the shorter span's 94 characters), less than the default half, so two families; with
    # min_overlap=0.25 they join into one family of three documents, d3's stretches merged.
    half = " ".join(X.split()[7:])
    z = "and we shall never accept unilateral coercive measures imposed without the authority of the council"
    z5 = " ".join(z.split()[:5])
    corpus = paras([("d1", "A", "2020-01-01", z), ("d2", "B", "2021-01-01", f"{X} {z5}"),
                    ("d3", "C", "2022-01-01", f"{half} {z}")])
    reuse = find_reuse(corpus, min_words=9, shingle=5)
    assert sorted(reuse["words"].tolist()) == [14, 15]
    clusters, members, _ = reuse_clusters(reuse, corpus)
    assert clusters[["n_documents", "words"]].values.tolist() == [[2, 15], [2, 14]]
    assert (members["doc_id"] == "d3").sum() == 2
    clusters, members, _ = reuse_clusters(reuse, corpus, min_overlap=0.25)
    assert clusters[["n_documents", "n_organizations", "first_doc_id"]].values.tolist() == [[3, 3, "d1"]]
    d3 = members[members["doc_id"] == "d3"]
    assert d3[["char_start", "char_end"]].values.tolist() == [[0, len(half) + 1 + len(z)]]


def test_cap_keeps_pairs_across_organisations_first(corpus: pd.DataFrame) -> None:
    reuse = find_reuse(corpus)
    _, _, of_passage = reuse_clusters(reuse, corpus)
    one = cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=1)
    assert one[["doc_a", "doc_b"]].values.tolist() == [["d1", "d2"], ["d2", "d4"]]
    two = cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=2)  # d1-d3 (both A) is the one left out
    assert two[["doc_a", "doc_b"]].values.tolist() == [["d1", "d2"], ["d2", "d3"], ["d2", "d4"]]
    pd.testing.assert_frame_equal(cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=None), reuse)
    pd.testing.assert_frame_equal(cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=3), reuse)
    # Pairs within one organisation: d1-d3 (both A) is dropped with max_same_organization=0.
    cross = cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=50, max_same_organization=0)
    assert cross[["doc_a", "doc_b"]].values.tolist() == [["d1", "d2"], ["d2", "d3"], ["d2", "d4"]]
    with pytest.raises(ParameterError, match=r"`max_pairs` must be"):
        cap_reuse_pairs(reuse, of_passage, corpus, max_pairs=0)


def test_no_reuse_no_clusters(corpus: pd.DataFrame) -> None:
    clusters, members, of_passage = reuse_clusters(find_reuse(corpus.iloc[:1]), corpus.iloc[:1])
    assert clusters.empty and members.empty and len(of_passage) == 0
    assert list(clusters.columns) == CLUSTER_COLUMNS


def test_seed_corpus_speeches_share_eleven_families() -> None:
    p = load_paragraphs(DATA)
    body = p[p["kind"] == "body"].reset_index(drop=True)
    reuse = find_reuse(body)
    clusters, members, of_passage = reuse_clusters(reuse, body)
    # The 11 passages of the two CSTO Secretary General speeches are 11 families of two documents,
    # and the Coordination Council news template the twelfth; nothing chains them together.
    assert len(clusters) == 12 and (clusters["n_documents"] == 2).all() and (clusters["n_organizations"] == 1).all()
    speeches = members[members["doc_id"].isin(["csto-sg-unsc-2024", "csto-sg-minsk-2024"])]
    assert speeches["cluster_id"].nunique() == 11 and len(speeches) == 22
    assert clusters.iloc[0]["first_doc_id"] == "csto-sg-unsc-2024" and clusters.iloc[0]["words"] == 114
    assert sorted(of_passage.tolist()) == list(range(1, 13))
    news = clusters[clusters["first_doc_id"] == "csto-news-2024-12-02"]
    assert news["words"].tolist() == [27]
    text = body.set_index("para_id")["text"]
    for _, m in members.iterrows():
        assert 0 <= m["char_start"] < m["char_end"] <= len(text[m["para_id"]])
    # Deterministic: the same tables from a shuffled reuse table.
    again = reuse_clusters(reuse.sample(frac=1, random_state=3).reset_index(drop=True), body)
    pd.testing.assert_frame_equal(again[0], clusters)
    pd.testing.assert_frame_equal(again[1], members)


def test_a_state_repeating_itself_keeps_three_pairs_per_family() -> None:
    # Five speeches of one state repeat X: one family, 10 pairs, all within one organisation.
    corpus = paras([(f"d{k}", "A", f"20{10 + k}-09-01", f"{X}.") for k in range(5)])
    reuse = find_reuse(corpus)
    clusters, members, of_passage = reuse_clusters(reuse, corpus)
    assert len(reuse) == 10 and clusters[["n_documents", "n_organizations"]].values.tolist() == [[5, 1]]
    assert len(members) == 5
    capped = cap_reuse_pairs(reuse, of_passage, corpus)
    assert capped[["doc_a", "doc_b"]].values.tolist() == [["d0", "d1"], ["d0", "d2"], ["d0", "d3"]]
