"""Tests for helpers.analysis.evidence: quote choice, sentence splitting and citations."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from helpers.annotation.annotate import code_paragraphs
from helpers.corpus.corpus import load_paragraphs
from helpers.errors import ParameterError
from helpers.analysis.evidence import cite, evidence_quotes, is_complete_sentence, sentence_spans
from test_frequencies import make_annotated

ROOT = Path(__file__).resolve().parents[1]

T1 = ("Terrorism is a threat. We condemn terrorism and terrorist financing in all their forms and wherever they occur. "
      "Terrorists recruit.")
T2 = "Paragraph 47. <…> We condemn terrorism. Drug trafficking fuels it <…>"


def spans(text: str, *words: str) -> list[tuple[int, int]]:
    """Whole-word, case-insensitive occurrences of ``words`` in ``text`` (what the rules would match)."""
    return [m.span() for w in words for m in re.finditer(rf"\b{re.escape(w)}\b", text, flags=re.IGNORECASE)]


@pytest.fixture()
def annotated() -> pd.DataFrame:
    a = make_annotated([("d1", "A", "speech", "2024-01-01", "terrorism", 0, T1),
                        ("d2", "A", "declaration", "2023-01-01", "drugs;terrorism", 0, T2)])
    a.loc[1, "source_para"] = 47
    return a


@pytest.fixture()
def evidence(annotated: pd.DataFrame) -> pd.DataFrame:
    rows = [("d1-p001", "terrorism", s, e) for s, e in spans(T1, "terrorism", "terrorist")]
    rows += [("d2-p001", "terrorism", s, e) for s, e in spans(T2, "terrorism")]
    rows += [("d2-p001", "drugs", s, e) for s, e in spans(T2, "drug trafficking")]
    return pd.DataFrame(rows, columns=["para_id", "theme", "start", "end"])


def test_sentences_split_at_stops_and_elisions() -> None:
    got = [T2[s:e] for s, e in sentence_spans(T2)]
    assert got == ["Paragraph 47.", "We condemn terrorism.", "Drug trafficking fuels it"]
    assert [is_complete_sentence(s) for s in got] == [False, True, False]
    assert is_complete_sentence("“We act.”") and not is_complete_sentence("and then it ended.")


def test_sentence_spans_closing_marks_elisions_and_edge_space() -> None:
    # Closing quote and bracket stay with their sentence; "[...]" and "<...>" split without being kept; leading,
    # trailing and no-break spaces are stripped; a stop followed by no space ("3.5") does not split.
    text = "\u00a0 He said: \u201cNo.\u201d Then (it rose 3.5 %.) [...] It fell!\u2003<...>  Yes? "
    got = [text[s:e] for s, e in sentence_spans(text)]
    assert got == ["He said: \u201cNo.\u201d", "Then (it rose 3.5 %.)", "It fell!", "Yes?"]
    assert sentence_spans("") == [] and sentence_spans(" \n ") == [] and sentence_spans("[\u2026]") == []


def test_terms_are_the_distinct_matched_terms_of_each_sentence_and_theme() -> None:
    text = "Terrorism and terrorism financing. Terrorism is terrorism."
    a = make_annotated([("d1", "A", "speech", "2024-01-01", "finance;terrorism", 0, text)])
    ev = pd.DataFrame([("d1-p001", "terrorism", s, e) for s, e in spans(text, "terrorism")]
                      + [("d1-p001", "finance", s, e) for s, e in spans(text, "financing", "terrorism financing")],
                      columns=["para_id", "theme", "start", "end"])
    q = evidence_quotes(a, ev).set_index("theme")
    assert q.loc["finance", ["quote", "matches", "terms"]].tolist() == [
        "Terrorism and terrorism financing.", 2, "financing;terrorism financing"]
    # Both sentences have 2 matches of one term for terrorism: the shorter wins.
    assert q.loc["terrorism", ["quote", "matches", "terms"]].tolist() == ["Terrorism is terrorism.", 2, "terrorism"]


def test_strongest_evidence_then_shortest_sentence(annotated: pd.DataFrame, evidence: pd.DataFrame) -> None:
    q = evidence_quotes(annotated, evidence)
    assert list(q.columns) == ["theme", "group", "rank", "doc_id", "para_id", "quote", "start", "end", "matches",
                               "terms", "words", "title", "date", "source_para", "citation"]
    t = q[q["theme"] == "terrorism"]
    # d1's second sentence has 2 matches (terrorism, terrorist), the strongest; d2's "We condemn terrorism."
    # has 1, as has d1's first sentence (which is not taken: one quote per paragraph).
    first = t.iloc[0]
    assert first["quote"] == "We condemn terrorism and terrorist financing in all their forms and wherever they occur."
    assert (first["matches"], first["terms"], first["words"], first["rank"]) == (2, "terrorism;terrorist", 14, 1)
    assert T1[first["start"]:first["end"]] == first["quote"]
    second = t.iloc[1]
    assert (second["para_id"], second["quote"], second["rank"]) == ("d2-p001", "We condemn terrorism.", 2)
    assert second["citation"] == "Title d2, 2023-01-01, ¶47"
    assert first["citation"] == "Title d1, 2024-01-01"
    # "Terrorists recruit." carries no rule match (not in the evidence): never quoted.
    assert not q["quote"].str.contains("recruit").any()
    # The only drugs match sits in an incomplete sentence (ends at an elision): no quote.
    assert not (q["theme"] == "drugs").any()


def test_per_group_limit_and_matches_outside_the_final_coding(annotated: pd.DataFrame, evidence: pd.DataFrame) -> None:
    q = evidence_quotes(annotated, evidence, per_group=1)
    assert q["rank"].tolist() == [1]
    removed = evidence.assign(status=["removed"] * len(evidence))
    assert evidence_quotes(annotated, removed).empty


def test_evidence_without_offsets_is_located_in_the_text(annotated: pd.DataFrame) -> None:
    ev = pd.DataFrame({"para_id": ["d1-p001", "d2-p001"], "theme": ["terrorism", "terrorism"],
                       "source": ["rule", "rule"], "evidence": ["terrorism (0-9); terrorist", "terrorism"]})
    q = evidence_quotes(annotated, ev)
    assert q.iloc[0]["quote"].startswith("We condemn terrorism and terrorist financing")


def test_citation_format() -> None:
    assert cite("Kazan Declaration", "2024-10-23", 54) == "Kazan Declaration, 2024-10-23, ¶54"
    assert cite("Speech", "2024-07-19", pd.NA) == "Speech, 2024-07-19"


def test_seed_corpus_quotes_cite_kazan_paragraph_numbers() -> None:
    coding = code_paragraphs(load_paragraphs(ROOT / "data"), ROOT / "data" / "codebook.yml")
    q = evidence_quotes(coding.paragraphs, coding.evidence)
    brics = q[(q["group"] == "BRICS") & (q["theme"] == "cyber_ict")]
    assert len(brics) >= 1
    assert brics.iloc[0]["citation"].endswith(", 2024-10-23, ¶54")
    for _, r in q.iterrows():
        text = coding.paragraphs.set_index("para_id").loc[r["para_id"], "text"]
        assert text[r["start"]:r["end"]] == r["quote"]
        assert is_complete_sentence(r["quote"]) and r["matches"] >= 1
    assert q.groupby(["theme", "group"])["rank"].max().le(3).all()


def test_bad_parameters(annotated: pd.DataFrame, evidence: pd.DataFrame) -> None:
    with pytest.raises(ParameterError, match=r"^`per_group` must be an integer >= 1\. Got 0 instead\.$"):
        evidence_quotes(annotated, evidence, per_group=0)
    with pytest.raises(ParameterError, match=r"The evidence table lacks column\(s\) theme"):
        evidence_quotes(annotated, evidence.drop(columns=["theme"]))
    with pytest.raises(ParameterError, match=r"^The evidence table has neither start, end \(match offsets\) nor a "
                                             r"matched-text column \(match, matched, matched_text, term, evidence\); "
                                             r"it has para_id, theme\. Pass the evidence table"):
        evidence_quotes(annotated, evidence[["para_id", "theme"]])


def test_sentence_cache_gives_the_same_quotes_and_a_selection_only_reads_it(tmp_path: Path) -> None:
    coding = code_paragraphs(load_paragraphs(Path(__file__).resolve().parents[1] / "data"),
                             Path(__file__).resolve().parents[1] / "data" / "codebook.yml")
    a, ev = coding.paragraphs, coding.evidence
    plain = evidence_quotes(a, ev)
    assert len(plain) > 50
    pd.testing.assert_frame_equal(evidence_quotes(a, ev, cache_dir=tmp_path), plain)  # cold: written
    cache = tmp_path / "sentences.parquet"
    before = cache.read_bytes()
    pd.testing.assert_frame_equal(evidence_quotes(a, ev, cache_dir=tmp_path), plain)  # warm: read back
    csto = a[a["organization"] == "CSTO"]
    pd.testing.assert_frame_equal(evidence_quotes(csto, ev, cache_dir=tmp_path, update_cache=False), evidence_quotes(csto, ev))
    assert cache.read_bytes() == before  # a selection does not rewrite the corpus's cache


def test_quotes_ranked_in_parts_are_the_corpus_ranking_and_write_the_same_cache(tmp_path: Path) -> None:
    # The seed corpus's 115 quotable paragraphs in parts of 1, 7 and 40: each part keeps its best per (theme,
    # organisation) and the merged ranking is the one-part ranking, row for row; the sentence cache holds the same.
    coding = code_paragraphs(load_paragraphs(ROOT / "data"), ROOT / "data" / "codebook.yml")
    a, ev = coding.paragraphs, coding.evidence
    whole = evidence_quotes(a, ev, cache_dir=tmp_path / "whole")
    assert len(whole) == 93 and whole["rank"].value_counts().to_dict() == {1: 40, 2: 29, 3: 24}
    for size in (1, 7, 40):
        pd.testing.assert_frame_equal(evidence_quotes(a, ev, part_paragraphs=size, cache_dir=tmp_path / str(size)), whole)
        part_cache, whole_cache = (pd.read_parquet(tmp_path / name / "sentences.parquet").sort_values("key", ignore_index=True)
                                   for name in (str(size), "whole"))
        pd.testing.assert_frame_equal(part_cache, whole_cache)  # the same entries (each part's in its own order)
    by_document = evidence_quotes(a, ev, by="document", per_group=1)
    pd.testing.assert_frame_equal(evidence_quotes(a, ev, by="document", per_group=1, part_paragraphs=3), by_document)
    with pytest.raises(ParameterError, match="part_paragraphs"):
        evidence_quotes(a, ev, part_paragraphs=0)
