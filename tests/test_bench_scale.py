"""Tests for the scale benchmark's corpus generator (bench/scale_corpus.py) on the 30-speech UNGDC sample."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from conftest import ROOT, write_ungdc_sample

sys.path.insert(0, str(ROOT / "bench"))
from scale_corpus import write_scaled  # noqa: E402


def test_copies_have_new_ids_shifted_years_and_a_few_words_substituted(tmp_path: Path) -> None:
    source = write_ungdc_sample(tmp_path / "sample")
    out = tmp_path / "x3"
    assert write_scaled(3, out, source=source, share=0.02) == 90
    with (out / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    ids = [r["doc_id"] for r in rows]
    assert len(set(ids)) == 90 and "RUS_71_2016" in ids and "RUS_81_2026" in ids and "RUS_91_2036" in ids
    by_id = {r["doc_id"]: r for r in rows}
    assert by_id["RUS_81_2026"]["date"] == "2026" + by_id["RUS_71_2016"]["date"][4:]
    assert by_id["RUS_81_2026"]["organization"] == by_id["RUS_71_2016"]["organization"]
    original = (out / by_id["RUS_71_2016"]["file"]).read_bytes()  # copy 0: the speech itself, byte for byte
    with (source / "manifest.csv").open(encoding="utf-8", newline="") as fh:
        src = {r["doc_id"]: r["file"] for r in csv.DictReader(fh)}
    assert original == (source / src["RUS_71_2016"]).read_bytes()  # manifest paths are relative to the corpus folder
    first, second = (out / by_id["RUS_81_2026"]["file"]).read_text(encoding="utf-8"), original.decode("utf-8")
    a, b = first.split(), second.split()
    assert len(a) == len(b)  # words replaced, never added or dropped
    changed = sum(x != y for x, y in zip(a, b)) / len(b)
    assert 0.002 < changed < 0.05
    # Deterministic: the same bytes again.
    again = tmp_path / "again"
    write_scaled(3, again, source=source, share=0.02)
    assert (again / "manifest.csv").read_bytes() == (out / "manifest.csv").read_bytes()
    assert (again / by_id["RUS_91_2036"]["file"]).read_bytes() == (out / by_id["RUS_91_2036"]["file"]).read_bytes()
