"""Tests for helpers.analysis.frequencies on a ten-paragraph, three-document fixture counted by hand.

Fixture (themes per body paragraph, words per paragraph):

=====  ====  =====  ======  ==========  =================================
doc    org   genre  date    words       themes
=====  ====  =====  ======  ==========  =================================
d1     A     speech 2024    10,10,20,10 t1;t2 | t1 | - | t2;t3
d2     A     news   2023    25,25       t1 | t1;t3
d3     B     speech 2024    25 x 4      t3 | t2;t3 | t2 | -
=====  ====  =====  ======  ==========  =================================

Reference Wilson 95 % intervals (standard tables, z = 1.96): 2/4 -> [0.1500, 0.8500],
1/4 -> [0.0456, 0.6994], 0/4 -> [0, 0.4899], 2/2 -> [0.3424, 1], 20/20 -> [0.8389, 1],
1/20 -> [0.0089, 0.2361].
"""

from __future__ import annotations

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.analysis.frequencies import rank_themes, theme_frequencies, theme_share_matrix, wilson_interval


def make_annotated(rows: list[tuple[str, str, str, str, str, int, str]]) -> pd.DataFrame:
    out = []
    counters: dict[str, int] = {}
    for doc, org, genre, date, themes, words, text in rows:
        counters[doc] = counters.get(doc, 0) + 1
        out.append({"para_id": f"{doc}-p{counters[doc]:03d}", "doc_id": doc, "title": f"Title {doc}",
                    "organization": org, "genre": genre, "date": date, "source_para": None, "text": text,
                    "themes": themes, "position": counters[doc], "n_words": words})
    return pd.DataFrame(out)


@pytest.fixture()
def annotated() -> pd.DataFrame:
    return make_annotated([
        ("d1", "A", "speech", "2024-01-10", "t1;t2", 10, "x"),
        ("d1", "A", "speech", "2024-01-10", "t1", 10, "x"),
        ("d1", "A", "speech", "2024-01-10", "", 20, "x"),
        ("d1", "A", "speech", "2024-01-10", "t2;t3", 10, "x"),
        ("d2", "A", "news", "2023-05-01", "t1", 25, "x"),
        ("d2", "A", "news", "2023-05-01", "t1;t3", 25, "x"),
        ("d3", "B", "speech", "2024-06-01", "t3", 25, "x"),
        ("d3", "B", "speech", "2024-06-01", "t2;t3", 25, "x"),
        ("d3", "B", "speech", "2024-06-01", "t2", 25, "x"),
        ("d3", "B", "speech", "2024-06-01", "", 25, "x"),
    ])


def row(df: pd.DataFrame, group: str, theme: str) -> pd.Series:
    sel = df[(df["group"] == group) & (df["theme"] == theme)]
    assert len(sel) == 1
    return sel.iloc[0]


def test_wilson_interval_matches_reference_values() -> None:
    low, high = wilson_interval([2, 1, 0, 2, 20, 1], [4, 4, 4, 2, 20, 20])
    assert low == pytest.approx([0.1500, 0.0456, 0.0, 0.3424, 0.8389, 0.0089], abs=5e-5)
    assert high == pytest.approx([0.8500, 0.6994, 0.4899, 1.0, 1.0, 0.2361], abs=5e-5)


def test_wilson_interval_of_empty_group_is_nan() -> None:
    low, high = wilson_interval(0, 0)
    assert pd.isna(low) and pd.isna(high)


def test_frequencies_by_document(annotated: pd.DataFrame) -> None:
    f = theme_frequencies(annotated, by="document")
    assert list(f.columns) == ["by", "group", "doc_id", "theme", "paragraphs", "body_paragraphs", "share", "ci_low",
                               "ci_high", "occurrences", "words", "per_1000_words", "documents"]
    assert len(f) == 9  # 3 documents x 3 themes, zeros included
    r = row(f, "d1", "t1")
    assert (r["paragraphs"], r["body_paragraphs"], r["share"], r["words"], r["occurrences"]) == (2, 4, 0.5, 50, 2)
    assert (r["ci_low"], r["ci_high"]) == pytest.approx((0.1500, 0.8500), abs=5e-5)
    assert r["per_1000_words"] == pytest.approx(40.0)  # 2 paragraphs / 50 words * 1000
    assert r["doc_id"] == "d1"
    z = row(f, "d2", "t2")
    assert (z["paragraphs"], z["share"], z["ci_low"]) == (0, 0.0, 0.0)
    assert z["ci_high"] == pytest.approx(0.6576, abs=5e-5)  # Wilson 0/2
    assert row(f, "d2", "t1")["ci_low"] == pytest.approx(0.3424, abs=5e-5)


def test_frequencies_by_organization_genre_year(annotated: pd.DataFrame) -> None:
    org = theme_frequencies(annotated, by="organization")
    a = row(org, "A", "t1")
    assert (a["paragraphs"], a["body_paragraphs"], a["words"], a["documents"], a["doc_id"]) == (4, 6, 100, 2, "")
    assert a["share"] == pytest.approx(4 / 6)
    genre = theme_frequencies(annotated, by="genre")
    assert (row(genre, "speech", "t2")["paragraphs"], row(genre, "speech", "t2")["body_paragraphs"]) == (4, 8)
    year = theme_frequencies(annotated, by="year")
    assert sorted(year["group"].unique()) == ["2023", "2024"]
    assert row(year, "2024", "t3")["paragraphs"] == 3


def test_occurrences_count_evidence_matches(annotated: pd.DataFrame) -> None:
    evidence = pd.DataFrame({
        "para_id": ["d1-p001", "d1-p001", "d1-p001", "d1-p002", "d3-p003", "d1-p003"],
        "theme": ["t1", "t1", "t1", "t1", "t2", "t1"],  # the last: a paragraph that does not carry t1
    })
    f = theme_frequencies(annotated, by="document", evidence=evidence)
    r = row(f, "d1", "t1")
    assert r["occurrences"] == 4
    assert r["per_1000_words"] == pytest.approx(80.0)  # 4 / 50 * 1000
    assert r["paragraphs"] == 2
    # d3-p002 carries t2 without a rule match (a manual addition): counted once.
    assert row(f, "d3", "t2")["occurrences"] == 2


def test_extra_codebook_themes_appear_as_zero(annotated: pd.DataFrame) -> None:
    f = theme_frequencies(annotated, by="organization", themes=["t9"])
    r = row(f, "B", "t9")
    assert (r["paragraphs"], r["occurrences"], r["share"]) == (0, 0, 0.0)


def test_share_matrix(annotated: pd.DataFrame) -> None:
    m = theme_share_matrix(theme_frequencies(annotated, by="document"))
    assert list(m.columns) == ["group", "t1", "t2", "t3"]
    assert m.set_index("group").loc["d3"].tolist() == [0.0, 0.5, 0.5]
    assert m.set_index("group").loc["d1"].tolist() == [0.5, 0.5, 0.25]


def test_ranking_puts_overlapping_themes_in_one_tie_group(annotated: pd.DataFrame) -> None:
    r = rank_themes(theme_frequencies(annotated, by="document"), top=None)
    d1 = r[r["group"] == "d1"]
    assert d1["theme"].tolist() == ["t1", "t2", "t3"]  # 0.5, 0.5 (tie broken by id), 0.25
    assert d1["rank"].tolist() == [1, 2, 3]
    assert d1["tie_group"].tolist() == [1, 1, 1]  # all intervals overlap: no theme clearly leads
    assert d1["tied"].all() and not d1["clearly_ahead_of_next"].any()
    assert "t2" not in r[r["group"] == "d2"]["theme"].tolist()  # absent themes are not ranked


def test_ranking_separates_themes_when_intervals_do_not_overlap() -> None:
    rows = [("big", "A", "speech", "2024-01-01", "x;y" if i == 0 else "x", 10, "t") for i in range(20)]
    f = theme_frequencies(make_annotated(rows), by="document")
    r = rank_themes(f, top=None)
    assert r["theme"].tolist() == ["x", "y"]
    assert r["tie_group"].tolist() == [1, 2]
    assert r["clearly_ahead_of_next"].tolist() == [True, False]
    assert r["tied"].tolist() == [False, False]
    assert (r.iloc[0]["ci_low"], r.iloc[1]["ci_high"]) == pytest.approx((0.8389, 0.2361), abs=5e-5)
    assert len(rank_themes(f, top=1)) == 1


def test_tie_groups_follow_the_leader_not_a_chain() -> None:
    # 20 paragraphs: x in 20 [0.8389, 1], y in 10 [0.2993, 0.7007], z in 5 [0.1119, 0.4687], w in 1 [0.0089, 0.2361].
    # y is separated from x; z overlaps y (the leader of group 2); w overlaps z but not y: group 3.
    def themes(i: int) -> str:
        return ";".join(t for t, k in (("w", 1), ("x", 20), ("y", 10), ("z", 5)) if i < k)

    rows = [("big", "A", "speech", "2024-01-01", themes(i), 10, "t") for i in range(20)]
    r = rank_themes(theme_frequencies(make_annotated(rows), by="document"), top=None)
    assert r["theme"].tolist() == ["x", "y", "z", "w"]
    assert r["ci_low"].tolist() == pytest.approx([0.8389, 0.2993, 0.1119, 0.0089], abs=5e-5)
    assert r["ci_high"].tolist() == pytest.approx([1.0, 0.7007, 0.4687, 0.2361], abs=5e-5)
    assert r["tie_group"].tolist() == [1, 2, 2, 3]
    assert r["tied"].tolist() == [False, True, True, False]
    assert r["clearly_ahead_of_next"].tolist() == [True, False, False, False]


def test_bad_parameters_are_refused_with_the_allowed_values(annotated: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"^`by` must be one of \{'document', 'organization', 'genre', 'year'\}\. "
                                             r"Got 'country' instead\.$"):
        theme_frequencies(annotated, by="country")
    with pytest.raises(ParameterError, match=r"^`top` must be an integer >= 1\. Got 0 instead\.$"):
        rank_themes(theme_frequencies(annotated), top=0)
    with pytest.raises(ParameterError, match=r"`value` must be one of"):
        theme_share_matrix(theme_frequencies(annotated), value="lift")


def test_missing_columns_name_the_step_to_run() -> None:
    with pytest.raises(ParameterError, match=r"The annotated paragraphs table lacks column\(s\) themes; it has "
                                             r"para_id, doc_id\. .*run `make annotate` first"):
        theme_frequencies(pd.DataFrame({"para_id": ["a"], "doc_id": ["d"]}))


def test_a_paragraph_listed_twice_is_refused_with_its_id(annotated: pd.DataFrame) -> None:
    twice = pd.concat([annotated, annotated.iloc[[4]]], ignore_index=True)
    with pytest.raises(ParameterError, match=r"lists paragraph 'd2-p001' more than once: each para_id must appear once"):
        theme_frequencies(twice, by="organization")


def test_a_paragraph_without_a_group_is_counted_in_none(annotated: pd.DataFrame) -> None:
    # As pandas' groupby leaves out a missing key: d2's paragraphs (organisation A) lose their organisation.
    missing = annotated.assign(organization=annotated["organization"].where(annotated["doc_id"] != "d2"))
    org = theme_frequencies(missing, by="organization", evidence=pd.DataFrame({"para_id": ["d2-p001"], "theme": ["t1"]}))
    assert sorted(org["group"].unique()) == ["A", "B"]
    a = row(org, "A", "t1")  # d1 only: 2 of 4 paragraphs, 50 words
    assert (a["paragraphs"], a["body_paragraphs"], a["words"], a["documents"], a["occurrences"]) == (2, 4, 50, 1, 2)


def test_groups_and_themes_come_in_code_point_order(annotated: pd.DataFrame) -> None:
    # Upper case before lower case, accented letters after z: the order of Python's sorted() on str.
    named = annotated.assign(organization=annotated["doc_id"].map({"d1": "Éire", "d2": "zeta", "d3": "Alpha"}))
    org = theme_frequencies(named, by="organization", themes=["T0", "t9"])
    assert list(dict.fromkeys(org["group"])) == ["Alpha", "zeta", "Éire"]
    assert org["theme"].tolist()[:5] == ["T0", "t1", "t2", "t3", "t9"]
    assert row(org, "Éire", "t2")["paragraphs"] == 2 and row(org, "zeta", "t3")["paragraphs"] == 1


def test_a_table_made_by_concatenating_frames_counts_the_same(annotated: pd.DataFrame) -> None:
    evidence = pd.DataFrame({"para_id": ["d1-p001", "d3-p003"], "theme": ["t1", "t2"]})
    joined = pd.concat([annotated.iloc[:5], annotated.iloc[5:]], ignore_index=True)  # columns of several chunks
    pd.testing.assert_frame_equal(theme_frequencies(joined, by="genre", evidence=evidence),
                                  theme_frequencies(annotated, by="genre", evidence=evidence))


def test_a_paragraph_without_a_document_counts_in_no_document_total(annotated: pd.DataFrame) -> None:
    # As nunique leaves out a missing doc_id: B's documents are d3 only, and A's d1 and d2.
    missing = annotated.assign(doc_id=annotated["doc_id"].where(annotated["para_id"] != "d3-p004"))
    org = theme_frequencies(missing, by="organization")
    assert row(org, "B", "t2")["documents"] == 1 and row(org, "B", "t2")["body_paragraphs"] == 4
    assert row(org, "A", "t1")["documents"] == 2
