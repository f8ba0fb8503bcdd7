"""Tests for helpers.annotation.suggest_rules: keyness of missed tune paragraphs and corpus word-vector neighbours."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from helpers.annotation.codebook import parse_codebook
from helpers.errors import ParameterError
from helpers.annotation.suggest_rules import SUGGESTION_COLUMNS, g2, keyness_suggestions, neighbour_suggestions, word_vectors

CB = parse_codebook({"groups": {"g": "G"}, "themes": [
    {"id": "sanctions", "label": "S", "definition": "S.", "group": "g", "terms": ["sanction*"]},
    {"id": "war", "label": "W", "definition": "W.", "group": "g", "terms": ["war"]}]})


def test_g2_by_hand():
    # a = 2 of c = 2 target paragraphs, b = 0 of d = 2: expected 1 and 1; G² = 2 (2 ln 2 + 0) = 4 ln 2
    assert g2(np.array([2]), np.array([0]), 2, 2)[0] == pytest.approx(4 * math.log(2))


def test_keyness_finds_words_of_missed_paragraphs_the_rules_do_not_match():
    tune = pd.DataFrame({
        "para_id": ["p1", "p2", "p3", "p4"], "split": "tune",
        "text": ["Unilateral coercive measures hurt us.", "The blockade and coercive measures must end.",
                 "Sanctions were lifted.", "The harvest was good."],
        "gold": ["sanctions", "sanctions", "sanctions", ""], "rules": ["", "", "sanctions", ""]})
    out = keyness_suggestions(tune, CB, top=3)
    assert list(out.columns) == SUGGESTION_COLUMNS
    # 'coercive', 'measures', 'coercive measures' are in both missed paragraphs (p1, p2) and in no other:
    # G² = 2 [2 ln(2 / (2 * 2/4))] ... with c = 2 missed, d = 1 other -> e1 = 2 * 2/3; G² = 4 ln(3/2)
    assert set(out["candidate"]) == {"coercive", "measures", "coercive measures"}
    assert out["score"].iloc[0] == pytest.approx(round(4 * math.log(1.5), 3))
    assert (out["missed_paragraphs"] == 2).all() and (out["example_para_id"] == "p1").all()
    with pytest.raises(ParameterError, match="keyness suggestions read `tune` rows only"):
        keyness_suggestions(tune.assign(split="test"), CB)


def test_neighbours_come_from_vectors_of_the_corpus_and_skip_matched_words():
    texts = ["sanctions embargo blockade trade", "embargo sanctions blockade imposed", "war battle army fight",
             "battle war army soldiers"] * 10
    vocab, vec, df = word_vectors(texts, min_count=5, dims=2)
    assert np.allclose(np.linalg.norm(vec, axis=1), 1.0)
    out = neighbour_suggestions(CB, vocab, vec, df, top=2)
    got = out[out["theme"] == "sanctions"]["candidate"].tolist()
    assert set(got) <= {"embargo", "blockade", "trade", "imposed"} and "sanctions" not in got
