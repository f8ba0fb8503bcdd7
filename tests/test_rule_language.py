"""Tests for helpers.annotation.rule_language: proximity, spelling variants and aliases, from data files, with exact errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.annotation.annotate import Matcher, code_paragraphs
from helpers.annotation.codebook import load_codebook
from helpers.errors import CodebookError
from helpers.annotation.rule_language import Spelling, load_spelling

ALIASES = "CSTO: [Collective Security Treaty Organization, ODKB]\nbad-name: [x]\n"
SPELLING = "words:\n  defence: defense\n  programme: [program]\nsuffixes:\n  - [our, or, 5]\n  - [tre, ter, 5]\n"
HEAD = "aliases: aliases.yml\nspelling: spelling.yml\ngroups: {g: G}\nthemes:\n"


def _codebook(tmp_path: Path, terms: str, exclude: str = "[]") -> Path:
    (tmp_path / "aliases.yml").write_text(ALIASES, encoding="utf-8")
    (tmp_path / "spelling.yml").write_text(SPELLING, encoding="utf-8")
    p = tmp_path / "cb.yml"
    p.write_text(HEAD + f"  - id: t\n    label: T\n    definition: T.\n    group: g\n    terms: {terms}\n"
                 f"    exclude: {exclude}\n", encoding="utf-8")
    return p


def _found(codebook: Path, text: str) -> list[tuple[str, str, str]]:
    m = Matcher(load_codebook(codebook))
    hits = m.match([text])
    return [(r.rule, r.rule_kind, text[r.start:r.end]) for r in hits.itertuples()]


def test_aliases_expand_to_full_names_and_short_forms(tmp_path):
    cb = _codebook(tmp_path, "['@CSTO']")
    text = "The Collective Security Treaty Organisation, the CSTO and the ODKB."
    assert _found(cb, text) == [("@CSTO", "term", "Collective Security Treaty Organisation"),
                                ("@CSTO", "term", "CSTO"), ("@CSTO", "term", "ODKB")]


def test_spelling_variants_apply_to_every_word(tmp_path):
    cb = _codebook(tmp_path, "[defence programme, labour, centre]")
    text = "A defense program, labor unions and a center."
    assert [x[2] for x in _found(cb, text)] == ["defense program", "labor", "center"]
    s = load_spelling(tmp_path / "spelling.yml")
    assert s.variants("four") == ["four"]  # shorter than 5 letters: never 'for'
    assert Spelling({}, (("tre", "ter", 5),)).variants("theatre") == ["theatre", "theater"]


def test_proximity_either_order_within_k_words(tmp_path):
    cb = _codebook(tmp_path, "['sanction NEAR/3 unilateral*']")
    text = "Unilateral coercive measures and sanctions. Sanctions a b c d unilateral."
    # first: 'Unilateral' ... 'sanctions' with 3 words between (coercive measures and); second: 4 words between
    assert _found(cb, text) == [("sanction NEAR/3 unilateral*", "near", "Unilateral coercive measures and sanctions")]
    # never across the end of a sentence
    assert _found(cb, "They imposed sanctions. Unilateral ones.") == []


def test_a_proximity_rule_is_searched_only_in_paragraphs_holding_both_sides(tmp_path, monkeypatch):
    """The regex of 'sanction NEAR/3 unilateral*' is run only where both words occur (its anchor and co-anchor,
    annotate._co_anchors): the paragraph with 'sanctions' alone is never searched, and the matches are unchanged."""
    m = Matcher(load_codebook(_codebook(tmp_path, "['sanction NEAR/3 unilateral*']")))
    searched: list[int] = []
    spans = Matcher._regex_spans

    def counting(self, j, encoded, lo, hi):
        searched.append(lo)
        return spans(self, j, encoded, lo, hi)

    monkeypatch.setattr(Matcher, "_regex_spans", counting)
    texts = ["Sanctions were imposed on many countries.", "Unilateral coercive measures and sanctions.", "Unilateral acts."]
    hits = m.match(texts)
    assert [(r.index, texts[r.index][r.start:r.end]) for r in hits.itertuples()] == [
        (1, "Unilateral coercive measures and sanctions")]
    second = len(" \x00 ") + len(texts[0]) + len(" \x00 ")  # where the second text starts in the joined chunk
    assert searched and all(second <= lo < second + len(texts[1]) for lo in searched)


def test_evidence_keeps_the_rule_and_overrides_still_win(tmp_path):
    import pandas as pd

    cb = _codebook(tmp_path, "['@CSTO', 'sanction NEAR/2 unilateral']")
    paragraphs = pd.DataFrame({"para_id": ["p1", "p2"], "doc_id": "d", "title": "", "organization": "", "genre": "",
                               "date": "", "source_para": 1, "position": [1, 2], "n_words": 1, "label_chars": 0,
                               "kind": "body", "text": ["The ODKB met.", "Unilateral sanctions."]})
    overrides = pd.DataFrame({"para_id": ["p1"], "theme": ["t"], "action": ["remove"], "coder": ["a"], "note": [""]})
    coding = code_paragraphs(paragraphs, cb, overrides)
    assert coding.paragraphs["themes"].tolist() == ["", "t"]
    assert coding.evidence[["para_id", "rule", "rule_kind", "term", "status"]].values.tolist() == [
        ["p1", "@CSTO", "term", "ODKB", "removed"], ["p2", "sanction NEAR/2 unilateral", "near", "Unilateral sanctions", "kept"]]


@pytest.mark.parametrize("terms, exclude, message", [
    ("['sanction NEAR/x unilateral']", "[]",
     "cb.yml, line 5, theme 't': terms item 'sanction NEAR/x unilateral' (line 9) is not valid: proximity is written "
     "'term NEAR/k term' with k a whole number from 1 to 20."),
    ("['sanction NEAR/0 unilateral']", "[]",
     "terms item 'sanction NEAR/0 unilateral' (line 9) is not valid: proximity is written 'term NEAR/k term'"),
    ("['a NEAR/2 b NEAR/2 c']", "[]",
     "terms item 'a NEAR/2 b NEAR/2 c' (line 9) is not valid: a proximity rule joins two terms; write one NEAR/k per rule."),
    ("['sanction NEAR/2 (x)']", "[]",
     "terms item 'sanction NEAR/2 (x)' (line 9) is not valid: '(x)': terms may contain letters"),
    ("[war]", "['peace NEAR/2 war']",
     "exclude item 'peace NEAR/2 war' (line 10): proximity (NEAR/k) rules are allowed under 'terms' only."),
    ("['@NATO']", "[]",
     "cb.yml, line 5, theme 't': terms item '@NATO' (line 9) names an unknown alias 'NATO'. Aliases in "),
])
def test_malformed_rules_name_theme_rule_and_line(tmp_path, terms, exclude, message):
    cb = _codebook(tmp_path, terms, exclude)
    with pytest.raises(CodebookError, match=re.escape(message)):
        load_codebook(cb)


def test_alias_without_an_aliases_file_and_bad_data_files(tmp_path):
    p = tmp_path / "cb.yml"
    p.write_text("groups: {g: G}\nthemes:\n  - id: t\n    label: T\n    definition: T.\n    group: g\n    terms: ['@CSTO']\n",
                 encoding="utf-8")
    with pytest.raises(CodebookError, match=re.escape(
            "terms item '@CSTO' (line 7) names an alias, but the codebook declares no aliases file. "
            "Add 'aliases: aliases.yml' (relative to the codebook) at its top.")):
        load_codebook(p)
    cb = _codebook(tmp_path, "[x]")
    (tmp_path / "aliases.yml").write_text("CSTO: Collective Security Treaty Organization\n", encoding="utf-8")
    with pytest.raises(CodebookError, match=re.escape(
            "aliases.yml, line 1: alias 'CSTO' must list its full names and short forms as text. "
            "Got 'Collective Security Treaty Organization' instead.")):
        load_codebook(cb)
    (tmp_path / "aliases.yml").unlink()
    with pytest.raises(CodebookError, match=r"aliases\.yml: aliases file not found \(named in the codebook, relative to it\)\."):
        load_codebook(cb)
