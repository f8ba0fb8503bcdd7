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


def test_each_stage_is_timed_and_its_process_tree_peak_kept(tmp_path: Path) -> None:
    """measured() on a make-like parent: the stage child (found by its command line) with a child of its own
    holding 200 MB: the stage's peak counts both processes, its seconds the child's life, its span when it ran."""
    from scale_run import measured

    hold = ("import subprocess, sys, time; kid = subprocess.Popen([sys.executable, '-c', "
            "'b = bytearray(200 * 2**20); import time; time.sleep(1.5)']); kid.wait()")
    stage = tmp_path / "helpers"
    stage.mkdir()
    (stage / "__init__.py").write_text("")
    (stage / "corpus").mkdir()
    (stage / "corpus" / "__init__.py").write_text("")
    (stage / "corpus" / "corpus.py").write_text(hold)  # python -m helpers.corpus.corpus: the ingest stage
    parent = f"import subprocess, sys; subprocess.run([sys.executable, '-m', 'helpers.corpus.corpus'], cwd={str(tmp_path)!r})"
    with (tmp_path / "log.txt").open("w") as log:
        seconds, peak, largest, rc, stages, stage_peaks, seen = measured([sys.executable, "-c", parent], log)
    assert rc == 0 and list(stages) == ["ingest"] and list(stage_peaks) == ["ingest"] and list(seen) == ["ingest"]
    assert 1.0 <= stages["ingest"] <= seconds
    first, last = seen["ingest"]  # when the stage's process was first and last seen, from the parent's start
    assert 0 <= first < last <= seconds and abs((last - first) - stages["ingest"]) <= 0.1
    assert 200 * 2**20 < stage_peaks["ingest"] <= peak  # the stage's own process and its child
    assert largest < stage_peaks["ingest"]  # no single process held it all
