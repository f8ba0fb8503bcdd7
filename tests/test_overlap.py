"""Tests for helpers.analysis.overlap: thematic similarity, similar paragraphs and verbatim reuse.

Hand-worked values are given next to each test; the seed-corpus passages shared by the two
CSTO Secretary General speeches (data/002 lines 4-, data/004) were found and counted by
reading both texts side by side (see test_seed_corpus_reuse_between_the_two_speeches).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from helpers.arrays import positions_in_runs, run_starts
from helpers.corpus.corpus import load_paragraphs
from helpers.errors import ParameterError
from helpers.analysis.overlap import (
    REUSE_COLUMNS, cut_passage_texts, document_shingles, document_similarity, find_reuse, find_reuse_bruteforce, indexed_passages,
    reuse_by_document_pair, reuse_tokens,
    similar_paragraphs, stem_tokens, tfidf_matrix, unique_counts,
)
from helpers.corpus.text import WORD_RE, count_words, fold
from test_frequencies import make_annotated

DATA = Path(__file__).resolve().parents[1] / "data"


def paras(rows: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """(doc_id, organization, date, text) -> a paragraph table."""
    return make_annotated([(d, o, "speech", date, "", count_words(t), t) for d, o, date, t in rows])


@pytest.fixture(scope="module")
def seed_body() -> pd.DataFrame:
    p = load_paragraphs(DATA)
    return p[p["kind"] == "body"].reset_index(drop=True)


# --------------------------------------------------------------------------- thematic

def test_document_similarity_cosine_and_jaccard() -> None:
    # Shares (t1, t2, t3): d1 (.5, .5, .25), d2 (1, 0, .5), d3 (0, .5, .5); d2 is the earliest.
    # cos(d2, d1) = .625 / (1.118034 * .75) = .745356; cos(d2, d3) = .25 / (1.118034 * .707107) = .316228;
    # cos(d1, d3) = .375 / (.75 * .707107) = .707107. Jaccard 2/3, 1/3, 2/3.
    themes = ["t1;t2", "t1", "", "t2;t3", "t1", "t1;t3", "t3", "t2;t3", "t2", ""]
    docs = ["d1"] * 4 + ["d2"] * 2 + ["d3"] * 4
    dates = ["2024-01-10"] * 4 + ["2023-05-01"] * 2 + ["2024-06-01"] * 4
    a = make_annotated([(d, "A", "speech", dt, t, 10, "x") for d, dt, t in zip(docs, dates, themes)])
    s = document_similarity(a)
    assert s[["doc_a", "doc_b"]].values.tolist() == [["d2", "d1"], ["d2", "d3"], ["d1", "d3"]]
    assert s["cosine"].tolist() == pytest.approx([0.745356, 0.316228, 0.707107], abs=1e-6)
    assert s["jaccard"].tolist() == pytest.approx([2 / 3, 1 / 3, 2 / 3])
    assert s["shared_themes"].tolist() == ["t1;t3", "t3", "t2;t3"]
    assert s[["themes_a", "themes_b"]].values.tolist() == [[2, 3], [2, 2], [3, 2]]


def test_document_without_themes_has_undefined_cosine() -> None:
    a = make_annotated([("d1", "A", "speech", "2024-01-01", "t1", 10, "x"),
                        ("d2", "A", "speech", "2024-01-02", "", 10, "x")])
    s = document_similarity(a)
    assert pd.isna(s.iloc[0]["cosine"]) and s.iloc[0]["jaccard"] == 0.0


# --------------------------------------------------------------------------- similar paragraphs

def test_stems_drop_stop_words_and_fold_quotes() -> None:
    assert stem_tokens("The “cyber” threats to the States’ security") == ["cyber", "threat", "state", "secur"]


def test_compiled_stemmer_gives_the_pure_python_stems(seed_body: pd.DataFrame) -> None:
    # PyStemmer (C) is what snowballstemmer hands out when installed; the stems must be snowballstemmer's own.
    import Stemmer
    import snowballstemmer
    from snowballstemmer.english_stemmer import EnglishStemmer

    assert isinstance(snowballstemmer.stemmer("english"), Stemmer.Stemmer)
    words = sorted({w for t in seed_body["text"] for w in WORD_RE.findall(fold(t).lower())}) + ["generously", "skies", "dying"]
    assert len(words) > 1000
    compiled, pure = Stemmer.Stemmer("english"), EnglishStemmer()
    assert [compiled.stemWord(w) for w in words] == [pure.stemWord(w) for w in words]
    assert [compiled.stemWord(w) for w in ("generously", "skies", "dying")] == ["generous", "sky", "die"]


def test_similar_paragraphs_cosine_by_hand() -> None:
    # Stems: p1 {cyber, threat}, p2 {cyber, attack}, p3 {drug, traffick}; n = 3, smooth idf:
    # idf(cyber) = ln(4/3) + 1 = 1.287682, idf(threat) = idf(attack) = ln(4/2) + 1 = 1.693147.
    # cos(p1, p2) = 1.287682² / (1.287682² + 1.693147²) = 1.658125 / 4.524873 = 0.366447; other pairs 0.
    p = paras([("x", "X", "2024-01-01", "The cyber threats."), ("y", "Y", "2024-01-01", "Cyber attacks!"),
               ("z", "Z", "2024-01-01", "Drug trafficking.")])
    s = similar_paragraphs(p)
    assert len(s) == 1
    r = s.iloc[0]
    assert (r["doc_a"], r["para_a"], r["doc_b"], r["para_b"], r["rank"]) == ("x", "x-p001", "y", "y-p001", 1)
    assert r["similarity"] == pytest.approx(0.366447, abs=1e-6)
    assert r["shared_terms"] == "cyber"
    assert (r["text_a"], r["text_b"]) == ("The cyber threats.", "Cyber attacks!")


def test_similar_paragraphs_respects_pair_rule_and_top_n() -> None:
    rows = [("a", "CSTO", "2024-01-01", "Information security and cyber threats."),
            ("b", "CSTO", "2024-01-01", "Information security and cyber threats matter."),
            ("c", "BRICS", "2024-01-01", "Cyber threats and information security."),
            ("c", "BRICS", "2024-01-01", "Cyber threats to information systems."),
            ("c", "BRICS", "2024-01-01", "Information security.")]
    p = paras(rows)
    default = similar_paragraphs(p, min_similarity=0.0)
    # a and b: same organisation and date, not compared.
    assert set(map(tuple, default[["doc_a", "doc_b"]].values.tolist())) == {("a", "c"), ("b", "c")}
    assert default.groupby(["doc_a", "doc_b"])["rank"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]
    assert (default.groupby(["doc_a", "doc_b"])["similarity"].apply(lambda s: s.is_monotonic_decreasing)).all()
    assert default.iloc[0]["para_b"] == "c-p001"  # same words, other order: cosine 1
    assert default.iloc[0]["similarity"] == pytest.approx(1.0)
    top1 = similar_paragraphs(p, top_n=1, pairs="all")
    assert set(map(tuple, top1[["doc_a", "doc_b"]].values.tolist())) == {("a", "b"), ("a", "c"), ("b", "c")}
    assert similar_paragraphs(p, pairs="different_organization", min_similarity=0.0)["doc_b"].eq("c").all()


def test_blocked_candidates_equal_dense_all_pairs() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(3)
    vocab = ["treaty", "security", "cyber", "drug", "border", "peace", "nuclear", "space", "migration", "terror"]
    rows = [(f"d{i % 5}", f"O{i % 3}", f"2024-01-0{1 + i % 2}", " ".join(rng.choices(vocab, k=6))) for i in range(30)]
    p = paras(rows)
    got = similar_paragraphs(p, top_n=1000, min_similarity=0.0, block_size=7)
    # Dense reference: every eligible pair's cosine from the full TF-IDF matrix.
    X = TfidfVectorizer(analyzer=stem_tokens, sublinear_tf=True).fit_transform(p["text"]).toarray()
    S = X @ X.T
    expected = set()
    for i in range(len(p)):
        for j in range(i + 1, len(p)):
            a, b = p.iloc[i], p.iloc[j]
            eligible = a["doc_id"] != b["doc_id"] and (a["organization"] != b["organization"] or a["date"] != b["date"])
            if eligible and S[i, j] > 0:
                expected.add((*sorted([a["para_id"], b["para_id"]]), round(S[i, j], 6)))
    assert len(expected) > 50
    assert {(*sorted([r.para_a, r.para_b]), round(r.similarity, 6)) for r in got.itertuples()} == expected
    assert got.equals(similar_paragraphs(p, top_n=1000, min_similarity=0.0, block_size=1000))


def test_max_candidates_keeps_each_paragraphs_best_partners() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rng = random.Random(5)
    vocab = ["treaty", "security", "cyber", "drug", "border", "peace", "nuclear", "space", "migration", "terror",
             "ocean", "climate", "water", "trade"]
    rows = [(f"d{i}", f"O{i}", "2024-01-01", " ".join(rng.choices(vocab, k=5))) for i in range(25)]
    p = paras(rows)
    got = similar_paragraphs(p, top_n=1000, min_similarity=0.0, max_candidates=2, block_size=4)
    S = (lambda X: X @ X.T)(TfidfVectorizer(analyzer=stem_tokens, sublinear_tf=True).fit_transform(p["text"]).toarray())
    np.fill_diagonal(S, -1)
    expected = set()
    for i in range(len(p)):
        order = sorted((j for j in range(len(p)) if S[i, j] > 0), key=lambda j: -S[i, j])
        # Ties at the cut could go either way; this vocabulary gives none among the top two.
        assert len(order) < 3 or S[i, order[1]] > S[i, order[2]] + 1e-12
        expected |= {tuple(sorted((i, j))) for j in order[:2]}
    idx = {pid: k for k, pid in enumerate(p["para_id"])}
    assert {tuple(sorted((idx[r.para_a], idx[r.para_b]))) for r in got.itertuples()} == expected


def test_only_the_most_similar_document_pairs_are_kept() -> None:
    # Three documents; best paragraph pair per document pair: (a, b) 1.0, (a, c) and (b, c) lower.
    rows = [("a", "A", "2024-01-01", "Cyber threats and information security."),
            ("b", "B", "2024-01-02", "Information security and cyber threats."),
            ("c", "C", "2024-01-03", "Cyber attacks on critical infrastructure.")]
    p = paras(rows)
    every = similar_paragraphs(p, min_similarity=0.0, max_document_pairs=None)
    assert every[["doc_a", "doc_b"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    top1 = similar_paragraphs(p, min_similarity=0.0, max_document_pairs=1)
    assert top1[["doc_a", "doc_b", "similarity"]].values.tolist() == [["a", "b", 1.0]]
    pd.testing.assert_frame_equal(similar_paragraphs(p, min_similarity=0.0, max_document_pairs=3), every)
    with pytest.raises(ParameterError, match=r"^`max_document_pairs` must be an integer >= 1\. Got 0 instead\.$"):
        similar_paragraphs(p, max_document_pairs=0)


def test_numbering_label_is_not_compared() -> None:
    # "Paragraph 1." / "Paragraph 2." labels alone would make the two paragraphs similar (stem "paragraph").
    p = paras([("x", "X", "2024-01-01", "Paragraph 1. Cyber threats."), ("y", "Y", "2024-01-01", "Paragraph 2. Drug trafficking.")])
    assert similar_paragraphs(p, min_similarity=0.0)["shared_terms"].tolist() == ["paragraph"]
    assert similar_paragraphs(p.assign(label_chars=13), min_similarity=0.0).empty


def test_document_similarity_top_keeps_the_most_similar_pairs_in_document_order() -> None:
    themes = ["t1;t2", "t1", "", "t2;t3", "t1", "t1;t3", "t3", "t2;t3", "t2", ""]
    docs = ["d1"] * 4 + ["d2"] * 2 + ["d3"] * 4
    dates = ["2024-01-10"] * 4 + ["2023-05-01"] * 2 + ["2024-06-01"] * 4
    a = make_annotated([(d, "A", "speech", dt, t, 10, "x") for d, dt, t in zip(docs, dates, themes)])
    top = document_similarity(a, top=2)  # cosines .745356 (d2, d1) and .707107 (d1, d3); .316228 dropped
    assert top[["doc_a", "doc_b"]].values.tolist() == [["d2", "d1"], ["d1", "d3"]]
    pd.testing.assert_frame_equal(document_similarity(a, top=3), document_similarity(a))


def test_tfidf_matrix_equals_scikit_learn_bit_for_bit(seed_body: pd.DataFrame) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    stems = [" ".join(stem_tokens(t)) for t in seed_body["text"]] + ["", "peac peac secur", " doubl  space "]
    X, terms = tfidf_matrix(stems)
    vectorizer = TfidfVectorizer(analyzer=str.split, sublinear_tf=True, norm="l2", dtype=np.float64)
    Y = vectorizer.fit_transform(stems).tocsr()
    assert terms.tolist() == vectorizer.get_feature_names_out().tolist()
    assert X.shape == Y.shape and X.shape[0] == len(seed_body) + 3
    # Same entries in the same order, same bits: the row norms are summed in scikit-learn's order.
    assert np.array_equal(X.indptr, Y.indptr) and np.array_equal(X.indices, Y.indices) and np.array_equal(X.data, Y.data)
    # "peac" twice: tf = 1 + ln 2; the empty paragraph is an empty row.
    row = X.getrow(len(seed_body) + 1)
    assert X.getrow(len(seed_body)).nnz == 0 and row.nnz == 2 and np.isclose(np.linalg.norm(row.data), 1.0)
    empty, none = tfidf_matrix(["", ""])
    assert empty.shape == (2, 0) and len(none) == 0


def test_tfidf_matrix_by_blocks_of_rows_is_the_same_matrix(seed_body: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.analysis.overlap as overlap

    stems = ["", " doubl  space "] + [" ".join(stem_tokens(t)) for t in seed_body["text"]] + ["", "peac peac secur", ""]
    X, terms = tfidf_matrix(stems)
    for rows in (1, 7, 100):
        monkeypatch.setattr(overlap, "TFIDF_BLOCK_ROWS", rows)
        Y, terms_y = tfidf_matrix(stems)
        assert terms_y.tolist() == terms.tolist()
        assert np.array_equal(X.indptr, Y.indptr) and np.array_equal(X.indices, Y.indices) and np.array_equal(X.data, Y.data)


def test_similar_paragraphs_stemmed_in_parts_are_the_same_and_cache_the_same(
        seed_body: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import helpers.analysis.overlap as overlap

    whole = similar_paragraphs(seed_body, top_n=3, cache_dir=tmp_path / "whole")
    assert len(whole) == 54  # as before the parts (test_seed_corpus_kazan_54_pairs_with_csto_information_security)
    monkeypatch.setattr(overlap, "STEM_PART_ROWS", 7)
    pd.testing.assert_frame_equal(similar_paragraphs(seed_body, top_n=3, cache_dir=tmp_path / "parts"), whole)
    assert (tmp_path / "parts" / "stems.parquet").read_bytes() == (tmp_path / "whole" / "stems.parquet").read_bytes()
    pd.testing.assert_frame_equal(similar_paragraphs(seed_body, top_n=3, cache_dir=tmp_path / "parts"), whole)  # read back


def test_unique_counts_equals_numpy() -> None:
    values = np.random.default_rng(7).integers(0, 50, 1000)
    got, counts = unique_counts(values)
    want, want_counts = np.unique(values, return_counts=True)
    assert np.array_equal(got, want) and np.array_equal(counts, want_counts) and counts.sum() == 1000
    assert [len(a) for a in unique_counts(np.empty(0, dtype=np.int64))] == [0, 0]
    starts = run_starts(np.array([4, 4, 7, 9, 9, 9]))
    assert starts.tolist() == [0, 2, 3] and positions_in_runs(starts, 6).tolist() == [0, 1, 0, 0, 1, 2]
    assert len(run_starts(np.empty(0))) == 0 and len(positions_in_runs(run_starts(np.empty(0)), 0)) == 0


def test_seed_corpus_kazan_54_pairs_with_csto_information_security(seed_body: pd.DataFrame) -> None:
    s = similar_paragraphs(seed_body, top_n=3)
    kazan54 = seed_body[(seed_body["doc_id"] == "brics-kazan-2024") & (seed_body["source_para"] == 54)]
    assert len(kazan54) == 1
    pid = kazan54.iloc[0]["para_id"]
    pair = s[(s["doc_a"] == "csto-sg-unsc-2024") & (s["doc_b"] == "brics-kazan-2024")]
    top = pair.iloc[0]
    assert (top["para_b"], top["rank"], top["source_para_b"]) == (pid, 1, 54)
    assert "information space" in top["text_a"] and "Information and Communication Technologies" in top["text_a"]
    assert "ict" in top["shared_terms"].split(";")
    # The two CSTO speeches (same organisation, different dates) are compared; the three news items of
    # 2, 3 and 5 December (different dates) too.
    assert ((s["doc_a"] == "csto-sg-unsc-2024") & (s["doc_b"] == "csto-sg-minsk-2024")).any()


# --------------------------------------------------------------------------- verbatim reuse

OLD = "The member states reaffirm their commitment to the peaceful settlement of disputes by political and diplomatic means in the region."
NEW = "Today, THE member states reaffirm their “commitment” to the peaceful settlement of all disputes by political and diplomatic means in the region!"


def test_reuse_tokens_fold_quotes_case_and_punctuation() -> None:
    toks, starts, ends = reuse_tokens("Today, THE “commitment” of the UN’s")
    assert toks == ["today", "the", "commitment", "of", "the", "un's"]
    assert (starts[2], ends[2]) == (12, 22)


def test_reuse_with_quotes_case_and_an_inserted_word() -> None:
    # OLD: 20 words, NEW: 22; exact runs "the member states ... settlement of" (11 words) and
    # "disputes ... region" (9 words) separated by "all" in NEW only -> one passage, 20 / 21 words.
    p = paras([("new", "A", "2021-01-01", NEW), ("old", "A", "2020-01-01", OLD),
               ("old", "A", "2020-01-01", "Nothing else here.")])
    r = find_reuse(p)
    assert list(r.columns) == REUSE_COLUMNS
    assert len(r) == 1
    row = r.iloc[0]
    assert (row["doc_a"], row["para_a"], row["doc_b"], row["para_b"], row["words"]) == ("old", "old-p001", "new", "new-p001", 20)
    assert (row["start_a"], row["end_a"]) == (0, len(OLD) - 1)
    assert (row["start_b"], row["end_b"]) == (7, len(NEW) - 1)
    assert row["text_a"] == OLD[:-1] and row["text_b"] == NEW[7:-1]
    assert find_reuse(p, min_words=21).empty  # 20 < 21 on the shorter side
    pairs = reuse_by_document_pair(r, p)
    assert pairs.iloc[0][["doc_a", "doc_b", "passages", "words_reused_a", "words_a", "words_reused_b", "words_b"]].tolist() \
        == ["old", "new", 1, 20, 23, 21, 22]
    assert pairs.iloc[0]["share_a"] == pytest.approx(20 / 23) and pairs.iloc[0]["share_b"] == pytest.approx(21 / 22)


def test_stock_phrases_and_large_edits_are_not_reuse() -> None:
    a = "We support international peace and security and the rule of law in every region of the world today."
    b = "They value international peace and security and the rule of law, across all parts of the world, now."
    p = paras([("a", "A", "2020-01-01", a), ("b", "B", "2021-01-01", b)])
    # Shared run "international peace and security and the rule of law" = 9 words < 12.
    assert find_reuse(p).empty
    r = find_reuse(p, min_words=9)
    assert r["words"].tolist() == [9]
    assert r.iloc[0]["text_a"] == "international peace and security and the rule of law"


def test_gap_larger_than_max_gap_splits_passages() -> None:
    first = "one two three four five six seven eight nine ten eleven twelve"
    second = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu"
    a = f"{first} red green blue black {second}"
    b = f"{first} cyan magenta yellow white {second}"
    p = paras([("a", "A", "2020-01-01", a), ("b", "B", "2021-01-01", b)])
    assert find_reuse(p, max_gap=3)["words"].tolist() == [12, 12]
    assert find_reuse(p, max_gap=4)["words"].tolist() == [28]


def test_same_document_is_never_compared_with_itself() -> None:
    p = paras([("a", "A", "2020-01-01", OLD), ("a", "A", "2020-01-01", OLD)])
    assert find_reuse(p).empty


def random_corpus(seed: int, n_docs: int = 4, n_paras: int = 14, vocab_size: int = 7) -> pd.DataFrame:
    """Paragraphs over a tiny vocabulary (many coincidental and repeated shingles) plus planted, edited copies."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(vocab_size)]
    texts = [[rng.choice(vocab) for _ in range(rng.randint(3, 40))] for _ in range(n_paras)]
    for _ in range(4):  # plant: copy a stretch of one paragraph into another, with an edit
        src, dst = rng.sample(range(n_paras), 2)
        s = rng.randint(0, max(0, len(texts[src]) - 15))
        piece = texts[src][s:s + 15]
        if len(piece) > 8:
            piece[rng.randint(0, len(piece) - 1)] = "edited"
        at = rng.randint(0, len(texts[dst]))
        texts[dst][at:at] = piece
    rows = [(f"d{i % n_docs}", "O", f"2024-01-{1 + i % n_docs:02d}", ", ".join(t) + ".") for i, t in enumerate(texts)]
    return paras(rows)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("shingle,min_words,max_gap,max_df", [(3, 3, 0, 100), (4, 6, 2, 100), (5, 12, 3, 100),
                                                               (3, 5, 3, 4), (4, 4, 1, 2)])
def test_indexed_reuse_equals_brute_force(seed: int, shingle: int, min_words: int, max_gap: int, max_df: int) -> None:
    p = random_corpus(seed)
    kw = {"shingle": shingle, "min_words": min_words, "max_gap": max_gap, "max_shingle_df": max_df}
    indexed = find_reuse(p, **kw)
    brute = find_reuse_bruteforce(p, **kw)
    pd.testing.assert_frame_equal(indexed, brute)
    if shingle == 3 and max_df == 100:
        assert len(indexed) > 0  # the comparison is not vacuous
    for _, r in indexed.iterrows():
        text_a = p.set_index("para_id").loc[r["para_a"], "text"]
        text_b = p.set_index("para_id").loc[r["para_b"], "text"]
        assert text_a[r["start_a"]:r["end_a"]] == r["text_a"] and text_b[r["start_b"]:r["end_b"]] == r["text_b"]
        assert min(count_words(r["text_a"]), count_words(r["text_b"])) == r["words"] >= min_words


def test_boilerplate_shingles_above_max_df_seed_nothing() -> None:
    phrase = "in accordance with the purposes and principles of the charter of the united nations"
    p = paras([(f"d{i}", "O", f"2024-01-{i + 1:02d}", f"Point {i}: {phrase}.") for i in range(4)])
    assert len(find_reuse(p)) == 6  # 4 documents: 6 pairs, 14 words each
    assert find_reuse(p)["words"].eq(14).all()
    assert find_reuse(p, max_shingle_df=3).empty
    pd.testing.assert_frame_equal(find_reuse(p, max_shingle_df=3), find_reuse_bruteforce(p, max_shingle_df=3))


def test_shingles_depend_only_on_the_words() -> None:
    one = document_shingles(["The “Collective” Security Treaty Organization met today."], 5)
    two = document_shingles(["Yesterday, the collective security treaty organization met today"], 5)
    assert one[["p", "i"]].values.tolist() == [[0, 0], [0, 1], [0, 2]]  # 7 tokens: 3 shingles of 5
    assert two["i"].tolist() == [0, 1, 2, 3]
    # Quotes, case and punctuation are folded: the shingles of "the ... today" are the same words.
    assert one[["h", "g"]].values.tolist() == two[["h", "g"]].values.tolist()[1:]
    assert one["h"].nunique() == 3 and one["h"].dtype == np.uint64 and one["g"].dtype == np.uint64


def test_shingle_cache_gives_the_same_reuse(seed_body: pd.DataFrame, tmp_path: Path) -> None:
    plain = find_reuse(seed_body)
    pd.testing.assert_frame_equal(find_reuse(seed_body, cache_dir=tmp_path), plain)
    names = sorted(f.name for f in tmp_path.glob("*.arrow"))
    assert len(names) == seed_body["doc_id"].nunique()
    pd.testing.assert_frame_equal(find_reuse(seed_body, cache_dir=tmp_path), plain)  # read back
    assert sorted(f.name for f in tmp_path.glob("*.arrow")) == names


def test_a_damaged_or_older_shingle_cache_file_is_cut_again(seed_body: pd.DataFrame, tmp_path: Path) -> None:
    plain = find_reuse(seed_body)
    find_reuse(seed_body, cache_dir=tmp_path)
    first, *_ = sorted(tmp_path.glob("*.arrow"))
    first.write_bytes(first.read_bytes()[:40])  # a truncated file (a full disk, a killed copy)
    older = tmp_path / f"{first.name.split('@')[0]}@0123456789abcdef0123.parquet"  # an older version's format
    older.write_bytes(b"PAR1")
    pd.testing.assert_frame_equal(find_reuse(seed_body, cache_dir=tmp_path), plain)
    assert not older.exists()
    assert pa.ipc.open_file(pa.OSFile(str(first))).read_all().num_rows > 0  # written again, whole


def test_reuse_parameters_are_checked_first() -> None:
    p = paras([("a", "A", "2020-01-01", OLD)])
    with pytest.raises(ParameterError, match=r"^`min_words` must be >= `shingle` \(5\)\. Got 3 instead\.$"):
        find_reuse(p, min_words=3)
    with pytest.raises(ParameterError, match=r"^`shingle` must be an integer >= 2\. Got 1 instead\.$"):
        find_reuse(p, shingle=1)
    with pytest.raises(ParameterError, match=r"^`pairs` must be one of \{'different_organization_or_date', "
                                             r"'different_organization', 'all'\}\. Got 'any' instead\.$"):
        similar_paragraphs(p, pairs="any")
    with pytest.raises(ParameterError, match=r"The paragraphs table lacks column\(s\) text"):
        find_reuse(p.drop(columns=["text"]))


# Passages the Minsk speech (31.10.2024) repeats from the UN Security Council speech (19.07.2024),
# found by reading the two side by side. (words, start of the UNSC side, start of the Minsk side.)
# Words are counted on the shorter side; a passage stops where the texts differ by more than
# 3 words (max_gap) or where fewer than 5 (shingle) identical words follow.
SPEECH_PASSAGES = [
    (22, "between the world centers is causing great damage", "between the world centers is causing"),
    # UNSC "... statistics, more than 180" vs Minsk "... statistics, last year more than 180": 2 words inserted.
    (54, "In an environment of strategic instability", "In an environment of strategic instability"),
    # "has expanded considerably" / "significantly": one word changed inside a 114-word passage.
    (114, "countries cannot face growing challenges and threats alone", "countries cannot face growing challenges"),
    (16, "bloc thinking. We do not aim to become a counterweight", "bloc thinking. We do not aim to become a “counterweight”"),
    (20, "on the most important issues on the international agenda", "on the most important issues"),
    (16, "of the Astana Declaration of the Council of Heads of State", "of the Astana Declaration"),
    (34, "initiative to form a new continental architecture", "initiative to form a new continental architecture"),
    # "is acquiring new forms" / "is taking on new forms".
    (33, "is not only not decreasing, but is acquiring new forms", "is not only not decreasing, but is taking on new forms"),
    # "in this area of responsibility" / "in this area of its responsibility".
    (23, "to maintain control in this area of responsibility", "to maintain control in this area of its responsibility"),
    (17, "the independent participation of the national peacekeeping contingent", "the independent participation"),
    (16, "on the basis of the joint Declaration on Cooperation", "on the basis of the Joint Declaration on Cooperation"),
]


def test_seed_corpus_reuse_between_the_two_speeches(seed_body: pd.DataFrame) -> None:
    r = find_reuse(seed_body)
    speeches = r[(r["doc_a"] == "csto-sg-unsc-2024") & (r["doc_b"] == "csto-sg-minsk-2024")]
    assert len(speeches) == len(SPEECH_PASSAGES)
    for (words, start_a, start_b), (_, row) in zip(SPEECH_PASSAGES, speeches.iterrows()):
        assert row["text_a"].startswith(start_a), row["text_a"]
        assert row["text_b"].startswith(start_b), row["text_b"]
        assert row["words"] == words, row["text_a"]
    # Only other reuse in the corpus: the template sentence of the two CSTO Coordination Council news items.
    others = r[~r.index.isin(speeches.index)]
    assert others[["doc_a", "doc_b", "words"]].values.tolist() == [["csto-news-2024-12-02", "csto-news-2024-12-03", 27]]
    text = seed_body.set_index("para_id")["text"]
    for _, row in r.iterrows():
        assert text[row["para_a"]][row["start_a"]:row["end_a"]] == row["text_a"]
        assert text[row["para_b"]][row["start_b"]:row["end_b"]] == row["text_b"]
        assert min(count_words(row["text_a"]), count_words(row["text_b"])) >= 12


def test_non_body_paragraphs_are_never_compared(seed_body: pd.DataFrame) -> None:
    # The full corpus table (titles, salutations, closings such as "Thank you for your attention.")
    # gives the same result as its body paragraphs.
    everything = load_paragraphs(DATA)
    assert (everything["kind"] != "body").any()
    pd.testing.assert_frame_equal(find_reuse(everything), find_reuse(seed_body))
    pd.testing.assert_frame_equal(similar_paragraphs(everything), similar_paragraphs(seed_body))


def test_seed_corpus_minimum_length_is_respected(seed_body: pd.DataFrame) -> None:
    short = find_reuse(seed_body, min_words=5)
    assert (short["words"] < 12).any()  # shorter shared stretches exist ("The leitmotif of all our actions is")...
    assert short["text_a"].str.startswith("The leitmotif of all our actions is").any()
    long = find_reuse(seed_body, min_words=30)
    assert sorted(long["words"].tolist()) == [33, 34, 54, 114]  # ...and are reported only above the minimum
    pd.testing.assert_frame_equal(find_reuse(seed_body), find_reuse_bruteforce(seed_body))


def test_seed_corpus_share_of_words_reused(seed_body: pd.DataFrame) -> None:
    r = find_reuse(seed_body)
    pairs = reuse_by_document_pair(r, seed_body).set_index(["doc_a", "doc_b"])
    sp = pairs.loc[("csto-sg-unsc-2024", "csto-sg-minsk-2024")]
    assert sp["passages"] == 11
    words = seed_body.groupby("doc_id")["text"].apply(lambda s: sum(count_words(t) for t in s))
    assert (sp["words_a"], sp["words_b"]) == (words["csto-sg-unsc-2024"], words["csto-sg-minsk-2024"])
    # UNSC side: the 11 passages do not overlap, so the reused words are their lengths summed.
    unsc = r[r["doc_a"] == "csto-sg-unsc-2024"]
    assert sp["words_reused_a"] == sum(count_words(t) for t in unsc["text_a"]) == 365
    assert sp["share_a"] == pytest.approx(365 / words["csto-sg-unsc-2024"])
    assert np.isclose(sp["share_b"], sp["words_reused_b"] / sp["words_b"])


@pytest.mark.parametrize("seed", range(20))
def test_top_per_row_equals_sorting_each_row(seed: int) -> None:
    from helpers.analysis.overlap import top_per_row

    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 60, size=40)
    rows = np.repeat(np.arange(40), counts)
    cols = np.concatenate([rng.permutation(200)[:c] for c in counts])
    values = rng.integers(1, 6, size=len(rows)) / 7.0  # few distinct values: many ties at the k-th place
    k = int(rng.integers(1, 25))
    order = np.lexsort((cols, -values, rows))
    first = np.flatnonzero(np.r_[True, rows[order][1:] != rows[order][:-1]])
    pos = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    want = np.zeros(len(rows), dtype=bool)
    want[order[pos < k]] = True
    got = top_per_row(rows, cols, values, k)
    assert (got == want).all() and got.sum() == np.minimum(counts, k).sum()


# --------------------------------------------------------------------------- nearest documents

def test_document_neighbours_on_the_seed_corpus_equal_the_full_computation() -> None:
    from helpers.annotation.annotate import code_paragraphs
    a = code_paragraphs(load_paragraphs(DATA), DATA / "codebook.yml").paragraphs
    full = document_similarity(a)
    assert len(full) == 28  # 8 documents, every pair has a cosine
    for k in (7, 10):  # k >= n - 1: every pair, the same table
        pd.testing.assert_frame_equal(document_similarity(a, neighbours=k), full)
    pd.testing.assert_frame_equal(document_similarity(a, neighbours=10, block_size=3), full)


def _neighbour_pairs_from_full(full: pd.DataFrame, order: list[str], k: int) -> set[tuple[str, str]]:
    rank = {d: n for n, d in enumerate(order)}
    both = pd.concat([full.rename(columns={"doc_a": "d", "doc_b": "o"}), full.rename(columns={"doc_b": "d", "doc_a": "o"})])
    both = both[both["cosine"].notna()].assign(_o=lambda t: t["o"].map(rank))
    best = both.sort_values(["d", "cosine", "_o"], ascending=[True, False, True], kind="mergesort").groupby("d").head(k)
    return {tuple(sorted((d, o), key=rank.get)) for d, o in zip(best["d"], best["o"])}


@pytest.mark.parametrize("seed", range(5))
def test_document_neighbours_are_each_documents_k_best_of_the_full_table(seed: int) -> None:
    rng = random.Random(seed)
    themes = ["t1", "t2", "t3", "t4", "t5"]
    rows = []
    for d in range(40):
        for _ in range(rng.randint(1, 4)):
            rows.append((f"d{d:02d}", "A", "speech", f"20{10 + d % 7}-01-01", ";".join(rng.sample(themes, rng.randint(0, 3))), 10, "x"))
    a = make_annotated(rows)
    full = document_similarity(a)
    order = sorted(a["doc_id"].unique(), key=lambda d: (a.loc[a["doc_id"] == d, "date"].iloc[0], d))
    for k in (1, 3, 10):
        near = document_similarity(a, neighbours=k, block_size=7)
        assert set(zip(near["doc_a"], near["doc_b"])) == _neighbour_pairs_from_full(full, order, k)
        merged = near.merge(full, on=["doc_a", "doc_b"], suffixes=("", "_full"))
        assert np.allclose(merged["cosine"], merged["cosine_full"]) and (merged["shared_themes"] == merged["shared_themes_full"]).all()
        assert np.allclose(merged["jaccard"], merged["jaccard_full"], equal_nan=True)
        # ordered by doc_a then doc_b in document order, as the full table
        pos = {d: n for n, d in enumerate(order)}
        keys = list(zip(near["doc_a"].map(pos), near["doc_b"].map(pos)))
        assert keys == sorted(keys)
    with pytest.raises(ParameterError, match=r"`neighbours` must be"):
        document_similarity(a, neighbours=0)


# --------------------------------------------------------------------------- bounded memory

def test_texts_cut_after_the_join_are_the_texts_cut_during_it(seed_body: pd.DataFrame) -> None:
    """The analysis leaves the passages' texts empty through the join and cuts them for the rows it keeps."""
    full = indexed_passages(seed_body, 12, 5, 3, 100)
    bare = indexed_passages(seed_body, 12, 5, 3, 100, texts_cut=False)
    assert len(full) == 12 and (bare["text_a"] == "").all() and (bare["text_b"] == "").all()
    pd.testing.assert_frame_equal(cut_passage_texts(bare, seed_body), full)
    kept = bare.iloc[[3, 10]]
    assert cut_passage_texts(kept, seed_body)["text_b"].tolist() == full["text_b"].iloc[[3, 10]].tolist()


def test_reuse_spilled_in_buckets_and_partitions_equals_one_pass(seed_body: pd.DataFrame, monkeypatch, tmp_path: Path) -> None:
    """Shingles written by range of the hash space straight from each chunk of documents, each bucket joined on its own,
    its seeds spilled by partition: the same passages as one join in memory, and the same shingles handed on in
    hash order."""
    import helpers.analysis.overlap as overlap
    whole = find_reuse(seed_body)
    paras = seed_body.reset_index(drop=True)
    shingles = overlap.corpus_shingles(paras)
    in_memory: list[dict[str, np.ndarray]] = []
    assert overlap.join_buckets(paras, 5, overlap.Runner()) == 1
    pd.testing.assert_frame_equal(overlap.indexed_passages(paras, 12, 5, 3, 100, on_sorted=in_memory.extend), whole)
    corpora = [random_corpus(s, n_docs=6, n_paras=20) for s in range(3)]
    singles = [find_reuse(c, min_words=6, shingle=3) for c in corpora]
    monkeypatch.setattr(overlap, "SHINGLES_PER_BUCKET", 100)
    monkeypatch.setattr(overlap, "SHINGLE_CHUNK", 2)  # 4 chunks of the 8 documents
    assert overlap.estimated_shingles(paras, 5) == int(np.maximum(paras["n_words"] - 4, 0).sum()) == 5917
    assert overlap.join_buckets(paras, 5, overlap.Runner()) == 60  # 240 seed partitions
    assert len(shingles) == 5941  # the estimate counts words after each paragraph's label, the shingles every word
    spill = tmp_path / "spill"
    seen: list[str] = []
    real = overlap._join_bucket
    monkeypatch.setattr(overlap, "_join_bucket", lambda b, sp, *a: seen.extend(sorted(p.name for p in Path(sp).glob(f"s{b:05d}-*")))
                        or real(b, sp, *a))
    bucketed: list[dict[str, np.ndarray]] = []
    got = overlap.indexed_passages(paras, 12, 5, 3, 100, spill_dir=spill, on_sorted=bucketed.extend)
    pd.testing.assert_frame_equal(got, whole)
    assert len(seen) > 60 and {name[-13:] for name in seen} == {f"c{n:06d}.arrow" for n in range(4)}
    assert spill.is_dir() and not list(spill.iterdir())  # the join's folder is removed afterwards
    for c in ("para", "i", "h", "g"):
        one = np.concatenate([part[c] for part in in_memory])
        assert np.array_equal(np.concatenate([part[c] for part in bucketed]).astype(one.dtype), one)
    assert np.all(np.diff(np.concatenate([part["h"] for part in bucketed]).astype(np.float64)) >= 0)
    for c, single in zip(corpora, singles):
        pd.testing.assert_frame_equal(find_reuse(c, min_words=6, shingle=3), single)