"""Tests for helpers.corpus.paragraph_cache: derived text is recomputed for changed documents only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from helpers.corpus.paragraph_cache import StringCache, cached_arrow_strings, cached_strings, document_keys
from test_overlap import paras


def rows() -> list[tuple[str, str, str, str]]:
    return [("d1", "A", "2024-01-01", "One two."), ("d1", "A", "2024-01-01", "Three."),
            ("d2", "B", "2024-01-02", "Four five six."), ("d3", "B", "2024-01-03", "Seven.")]


def recording_upper() -> tuple[Callable[[str], str], list[str]]:
    """``str.upper`` that records each text it is given, and the list it records into."""
    calls: list[str] = []

    def upper(text: str) -> str:
        calls.append(text)
        return text.upper()

    return upper, calls


def test_only_changed_documents_are_recomputed(tmp_path: Path) -> None:
    upper, calls = recording_upper()
    p = paras(rows())
    assert cached_strings(p, p["text"], "upper", upper, "v1", tmp_path) == ["ONE TWO.", "THREE.", "FOUR FIVE SIX.", "SEVEN."]
    assert len(calls) == 4 and (tmp_path / "upper.parquet").is_file()
    calls.clear()
    assert cached_strings(p, p["text"], "upper", upper, "v1", tmp_path)[2] == "FOUR FIVE SIX."
    assert calls == []  # everything read back
    edited = rows()
    edited[2] = ("d2", "B", "2024-01-02", "Four, five.")
    p2 = paras(edited)
    assert cached_strings(p2, p2["text"], "upper", upper, "v1", tmp_path) == ["ONE TWO.", "THREE.", "FOUR, FIVE.", "SEVEN."]
    assert calls == ["Four, five."]  # only the edited paragraph
    calls.clear()
    cached_strings(p2, p2["text"], "upper", upper, "v2", tmp_path)  # a new version recomputes all
    assert len(calls) == 4
    calls.clear()
    # A subset (here d2 alone) reads the cache without rewriting it when update=False.
    before = (tmp_path / "upper.parquet").read_bytes()
    subset = p2[p2["doc_id"] == "d2"]
    assert cached_strings(subset, subset["text"], "upper", upper, "v2", tmp_path, update=False) == ["FOUR, FIVE."]
    assert calls == [] and (tmp_path / "upper.parquet").read_bytes() == before


def test_no_cache_folder_writes_nothing(tmp_path: Path) -> None:
    p = paras(rows())
    assert cached_strings(p, p["text"], "x", str.lower, "v", None)[0] == "one two."
    assert list(tmp_path.iterdir()) == []


def test_document_keys_change_with_text_ids_and_extra_column() -> None:
    p = paras(rows())
    base = document_keys(p)
    assert list(base) == ["d1", "d2", "d3"] and all(len(k) == 20 for k in base.values())
    moved = p.assign(date=["2024-01-01", "2024-01-01", "2025-01-01", "2024-01-03"])
    assert document_keys(moved) == base  # the date counts only when asked for
    with_date = document_keys(moved, extra="date")
    assert with_date["d2"] != document_keys(p, extra="date")["d2"] and with_date["d1"] == document_keys(p, extra="date")["d1"]
    renamed = p.assign(para_id=pd.Series(["x1", "d1-p002", "d2-p001", "d3-p001"]))
    assert document_keys(renamed)["d1"] != base["d1"] and document_keys(renamed)["d2"] == base["d2"]


def test_a_cache_taken_in_parts_reads_once_and_writes_what_the_whole_table_would(tmp_path: Path) -> None:
    upper, calls = recording_upper()
    p = paras(rows())
    cached_strings(p, p["text"], "upper", upper, "v1", tmp_path / "whole")
    cached_strings(p.iloc[:3], p["text"].iloc[:3], "upper", upper, "v1", tmp_path / "parts")
    calls.clear()
    cache = StringCache("upper", "v1", tmp_path / "parts")
    assert cache.strings(p.iloc[:2], p["text"].iloc[:2], upper) == ["ONE TWO.", "THREE."]
    assert cache.strings(p.iloc[2:], p["text"].iloc[2:], upper) == ["FOUR FIVE SIX.", "SEVEN."]
    assert calls == ["Seven."]  # only the paragraph the file did not hold
    cache.save()
    assert (tmp_path / "parts" / "upper.parquet").read_bytes() == (tmp_path / "whole" / "upper.parquet").read_bytes()
    # Nothing new and the same paragraphs: the file is left as it is.
    before = (tmp_path / "parts" / "upper.parquet").stat().st_mtime_ns
    again = StringCache("upper", "v1", tmp_path / "parts")
    again.strings(p, p["text"], upper)
    again.save()
    assert (tmp_path / "parts" / "upper.parquet").stat().st_mtime_ns == before and calls == ["Seven."]


def test_arrow_strings_are_the_cached_strings_and_take_a_complete_cache_as_stored(tmp_path: Path) -> None:
    upper, calls = recording_upper()
    p = paras(rows())
    cold = cached_arrow_strings(p, p["text"], "upper", upper, "v1", tmp_path / "arrow")
    assert cold.to_pylist() == ["ONE TWO.", "THREE.", "FOUR FIVE SIX.", "SEVEN."] and len(calls) == 4
    cached_strings(p, p["text"], "upper", upper, "v1", tmp_path / "list")
    arrow_file, list_file = tmp_path / "arrow" / "upper.parquet", tmp_path / "list" / "upper.parquet"
    assert arrow_file.read_bytes() == list_file.read_bytes()
    calls.clear()
    before = arrow_file.stat().st_mtime_ns
    shuffled = p.iloc[[2, 0, 3, 1]]
    warm = cached_arrow_strings(shuffled, shuffled["text"], "upper", upper, "v1", tmp_path / "arrow")
    assert warm.to_pylist() == ["FOUR FIVE SIX.", "ONE TWO.", "SEVEN.", "THREE."]
    assert calls == [] and arrow_file.stat().st_mtime_ns == before  # every paragraph held: nothing computed or written
    # A subset: read without writing (update=False), or the file rewritten to hold it, as cached_strings writes it.
    subset = p.iloc[2:]
    assert cached_arrow_strings(subset, subset["text"], "upper", upper, "v1", tmp_path / "arrow",
                                update=False).to_pylist() == ["FOUR FIVE SIX.", "SEVEN."]
    assert arrow_file.stat().st_mtime_ns == before
    cached_arrow_strings(subset, subset["text"], "upper", upper, "v1", tmp_path / "arrow")
    cached_strings(subset, subset["text"], "upper", upper, "v1", tmp_path / "list")
    assert calls == [] and arrow_file.read_bytes() == list_file.read_bytes()
    # An edited paragraph: it and those the subset's file no longer holds are computed, nothing else.
    edited = rows()
    edited[3] = ("d3", "B", "2024-01-03", "Eight.")
    p2 = paras(edited)
    assert cached_arrow_strings(p2, p2["text"], "upper", upper, "v1", tmp_path / "arrow").to_pylist()[3] == "EIGHT."
    assert calls == ["One two.", "Three.", "Eight."]
