"""Tests for helpers.corpus.text: normalisation and same-length folding."""

from helpers.corpus.text import count_words, fold, normalize


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
