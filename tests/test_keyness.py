"""Tests for helpers.analysis.keyness, log-likelihood values worked out by hand.

Fixture (no stop words, so every token counts): organisation A has 10 words,
"drugs drugs border drugs drugs police" + "border police mafia cartel"; organisation B has
10 words, "drugs cyber cyber cyber hackers" + "cyber hackers malware border police".

LL = 2 (a ln(a/E1) + b ln(b/E2)), E1 = c (a+b)/(c+d), E2 = d (a+b)/(c+d), c = d = 10:

- A "drugs drugs" a=2, b=0: E1 = 1 -> 2 * 2 ln 2 = 2.772589
- A "drugs" a=4, b=1: E1 = E2 = 2.5 -> 2 (4 ln 1.6 + ln 0.4) = 1.927448
- A "border", "police" a=2, b=1: E = 1.5 -> 2 (2 ln(4/3) + ln(2/3)) = 0.339798
- B "cyber" a=4, b=0: E1 = 2 -> 2 * 4 ln 2 = 5.545177
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from helpers.errors import ParameterError
from helpers.analysis.keyness import keyness, log_likelihood
from test_frequencies import make_annotated
from test_overlap import seed_body  # noqa: F401 -- the seed corpus fixture


@pytest.fixture()
def annotated() -> pd.DataFrame:
    return make_annotated([
        ("a1", "A", "speech", "2024-01-01", "drugs", 6, "Drugs drugs border, drugs drugs police."),
        ("a2", "A", "speech", "2024-01-01", "drugs", 4, "Border police mafia cartel."),
        ("b1", "B", "speech", "2024-01-01", "cyber", 5, "Drugs cyber cyber cyber hackers."),
        ("b2", "B", "speech", "2024-01-01", "cyber;drugs", 5, "Cyber hackers malware border police."),
    ])


def test_log_likelihood_formula() -> None:
    assert log_likelihood([4], [1], 10, 10)[0] == pytest.approx(1.927448, abs=1e-6)
    assert log_likelihood([4], [0], 10, 10)[0] == pytest.approx(8 * math.log(2))
    assert log_likelihood([0], [3], 10, 10)[0] == pytest.approx(6 * math.log(2))  # zero count contributes 0


def test_keyness_by_organization(annotated: pd.DataFrame) -> None:
    k = keyness(annotated, min_freq=2)
    assert list(k.columns) == ["by", "group", "term", "n", "freq_group", "freq_rest", "words_group", "words_rest",
                               "per_10k_group", "per_10k_rest", "ll", "p_value", "log_ratio", "direction", "rank"]
    a = k[k["group"] == "A"]
    assert a["term"].tolist() == ["drugs drugs", "drugs", "border", "police"]
    assert a["ll"].tolist() == pytest.approx([2.772589, 1.927448, 0.339798, 0.339798], abs=1e-6)
    assert a["n"].tolist() == [2, 1, 1, 1]
    assert a["rank"].tolist() == [1, 2, 3, 4]
    drugs = a.iloc[1]
    assert (drugs["freq_group"], drugs["freq_rest"], drugs["words_group"], drugs["words_rest"]) == (4, 1, 10, 10)
    assert (drugs["per_10k_group"], drugs["per_10k_rest"]) == (4000.0, 1000.0)
    assert drugs["log_ratio"] == pytest.approx(2.0)  # log2(0.4 / 0.1)
    # chi-squared (1 df) survival function: erfc(sqrt(LL / 2)) = erfc(0.981694) = 0.165038
    assert drugs["p_value"] == pytest.approx(math.erfc(math.sqrt(1.927448 / 2)), abs=1e-6)
    b = k[k["group"] == "B"]
    assert b["term"].tolist() == ["cyber", "cyber cyber", "cyber hackers", "hackers"]
    assert b.iloc[0]["ll"] == pytest.approx(5.545177, abs=1e-6)
    # log ratio with a zero in the rest: 0.5 in its place -> log2((4/10) / (0.5/10)) = 3.
    assert b.iloc[0]["log_ratio"] == pytest.approx(3.0)
    assert (k["direction"] == "over").all()


def test_min_freq_and_direction(annotated: pd.DataFrame) -> None:
    k = keyness(annotated, min_freq=3)
    assert k[["group", "term"]].values.tolist() == [["A", "drugs"], ["B", "cyber"]]
    under = keyness(annotated, min_freq=1, direction="under", ngrams="words")
    # In B, "drugs" (1 of 10 words against 4 of 10) is under-represented.
    row = under[(under["group"] == "B") & (under["term"] == "drugs")].iloc[0]
    assert (row["direction"], row["ll"]) == ("under", pytest.approx(1.927448, abs=1e-6))
    phrases = keyness(annotated, min_freq=2, ngrams="phrases")
    assert set(phrases["n"]) == {2}


def test_theme_restriction_compares_only_paragraphs_with_the_theme(annotated: pd.DataFrame) -> None:
    k = keyness(annotated, min_freq=1, theme="drugs", ngrams="words", top=1)
    # Paragraphs with "drugs": a1, a2 (A, 10 words) and b2 (B, 5 words).
    top_a = k[k["group"] == "A"].iloc[0]
    assert (top_a["term"], top_a["words_group"], top_a["words_rest"]) == ("drugs", 10, 5)
    assert len(k) == 2


def test_stop_words_are_not_reported_but_count_in_totals() -> None:
    a = make_annotated([("a", "A", "speech", "2024-01-01", "", 6, "The treaty of the union."),
                        ("b", "B", "speech", "2024-01-01", "", 4, "The pact is signed.")])
    k = keyness(a, min_freq=1)
    assert set(k["term"]) == {"treaty", "union", "pact", "signed"}
    assert k[k["group"] == "A"].iloc[0]["words_group"] == 5
    with_stop = keyness(a, min_freq=2, stop_words=False)
    assert with_stop["term"].tolist() == ["the"] and with_stop["group"].tolist() == ["A"]


def test_paragraphs_of_stop_words_only_have_no_distinctive_terms() -> None:
    a = make_annotated([("a", "A", "speech", "2024-01-01", "", 3, "The and of."),
                        ("b", "B", "speech", "2024-01-01", "", 3, "It is the.")])
    k = keyness(a, min_freq=1)
    assert k.empty and list(k.columns)[:3] == ["by", "group", "term"]
    # With stop words kept, each paragraph's own words and phrases are distinctive (equal G², so by term);
    # "the", in both, is not.
    kept = keyness(a, min_freq=1, stop_words=False)
    assert kept[kept["group"] == "A"]["term"].tolist() == ["and", "and of", "of", "the and"]
    assert kept[kept["group"] == "B"]["term"].tolist() == ["is", "is the", "it", "it is"]


def test_numbering_labels_are_neither_terms_nor_words() -> None:
    # "Paragraph 1. " (13 characters) opens each of A's paragraphs: without label_chars it is A's key word.
    a = make_annotated([("a", "A", "speech", "2024-01-01", "", 3, "Paragraph 1. Treaty union."),
                        ("a", "A", "speech", "2024-01-01", "", 3, "Paragraph 2. Treaty pact."),
                        ("b", "B", "speech", "2024-01-01", "", 2, "Union pact.")])
    assert "paragraph" in set(keyness(a, min_freq=2)["term"])
    k = keyness(a.assign(label_chars=[13, 13, 0]), min_freq=1, direction="both")
    assert "paragraph" not in set(k["term"])
    assert k[k["group"] == "A"].iloc[0]["words_group"] == 4  # labels are not counted in c either


def test_bad_parameters(annotated: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"^`ngrams` must be one of \{'words', 'phrases', 'both'\}\. "
                                             r"Got 'trigrams' instead\.$"):
        keyness(annotated, ngrams="trigrams")
    with pytest.raises(ParameterError, match=r"^`min_freq` must be an integer >= 1\. Got 0 instead\.$"):
        keyness(annotated, min_freq=0)
    with pytest.raises(ParameterError, match=r"^`by` must be one of"):
        keyness(annotated, by="speaker")


@pytest.mark.parametrize("block_tokens", [1, 7, 1_000])
def test_counting_in_blocks_of_groups_gives_the_table_of_one_block(annotated: pd.DataFrame, block_tokens: int) -> None:
    """Tokens are encoded and counted a block of whole groups at a time; any block size gives the same table
    (the hand-worked values above with one group per block, or both in one)."""
    k = keyness(annotated, min_freq=2, block_tokens=block_tokens)
    pd.testing.assert_frame_equal(k, keyness(annotated, min_freq=2))
    assert k.loc[k["group"] == "A", "ll"].tolist() == pytest.approx([2.772589, 1.927448, 0.339798, 0.339798], abs=1e-6)


def test_the_seed_corpus_by_document_in_blocks_and_from_the_token_cache(seed_body: pd.DataFrame, tmp_path) -> None:
    whole = keyness(seed_body, by="document", min_freq=2)
    assert len(whole) == len(keyness(seed_body, by="document", min_freq=2, block_tokens=10**9)) > 0
    pd.testing.assert_frame_equal(keyness(seed_body, by="document", min_freq=2, block_tokens=500), whole)
    pd.testing.assert_frame_equal(keyness(seed_body, by="document", min_freq=2, cache_dir=tmp_path), whole)
    cache = tmp_path / "keyness_tokens.parquet"
    before = cache.stat().st_mtime_ns
    # read back as stored (no tokenising, the file left as it is), in blocks too
    pd.testing.assert_frame_equal(keyness(seed_body, by="document", min_freq=2, cache_dir=tmp_path, block_tokens=300), whole)
    assert cache.stat().st_mtime_ns == before


def test_bad_block_size(annotated: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match="block_tokens"):
        keyness(annotated, block_tokens=0)
