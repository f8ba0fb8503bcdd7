"""Tests for helpers.corpus.text: normalisation and same-length folding."""

import pytest

from helpers.corpus.text import WORD_RE, count_words, fold, folded_words, normalize


def test_fold_keeps_length_and_maps_quotes_dashes_and_spaces():
    s = "“dormant” – Russia’s\u00a0war\tand `x`"
    assert fold(s) == "\"dormant\" - Russia's war and 'x'"
    assert len(fold(s)) == len(s)
    assert fold("plain ascii\nline") == "plain ascii line"
    assert fold("Café\u2014\u2018мир\u2019\ufeff") == "Café-'мир' "  # other characters as they are


def test_the_ocr_line_break_mark_folds_to_a_hyphen_and_joins_a_word():
    # the complete UN General Debate corpus's older records: "aggres¬sion", "non¬interference"
    assert fold("aggres¬sion, non¬interference") == "aggres-sion, non-interference"
    assert count_words("the aggres¬sion and non¬interference ¬") == 4


def test_normalize_is_nfc_with_single_spaces():
    assert normalize("  e\u0301te \u00a0 and\n\nmore ") == "\u00e9te and more"


def test_count_words_keeps_inner_apostrophes_and_hyphens():
    assert count_words("Russia’s counter-terrorism efforts, 2024.") == 4


def test_english_stop_words_are_scikit_learns_list():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    from helpers.corpus.text import english_stop_words

    assert english_stop_words() == ENGLISH_STOP_WORDS and len(english_stop_words()) == 318
    assert {"the", "and", "of"} <= english_stop_words() and "security" not in english_stop_words()


@pytest.mark.parametrize("text", [
    "The “Collective” Security—Treaty don't",      # folded quotes and dashes, ASCII after folding
    "İstanbul and STRAßE",                          # İ and ß change length when case-mapped
    "ΟΔΟΣ.Χ ΟΔΟΣ",                                  # a final sigma: lower() depends on what follows, across words
    "Ǆemal ǅx Ⅳ ﬁne",                               # title-case digraphs, a Roman numeral, a ligature
])
def test_folded_words_are_the_words_of_the_folded_text_each_case_mapped(text: str) -> None:
    for case in ("casefold", "lower"):
        assert folded_words(text, case) == [getattr(w, case)() for w in WORD_RE.findall(fold(text))]
    assert folded_words("ΟΔΟΣ.Χ", "lower") == ["οδος", "χ"]  # each word lower-cased on its own: final ς
    assert folded_words("STRAßE-İ") == ["strasse-i̇"]
