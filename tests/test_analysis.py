"""Tests for helpers.analysis: the REPORTS tables and the command line, on the seed corpus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.analysis import ANALYSIS_FILES, main, read_annotated, write_analysis_tables
from helpers.annotate import code_paragraphs
from helpers.corpus import load_paragraphs
from helpers.errors import ParameterError
from helpers.io import write_csv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def coding():
    return code_paragraphs(load_paragraphs(ROOT / "data"), ROOT / "data" / "codebook.yml")


@pytest.fixture()
def reports(tmp_path: Path, coding) -> Path:
    write_csv(coding.paragraphs, tmp_path / "annotated_paragraphs.csv")
    write_csv(coding.evidence, tmp_path / "evidence.csv")
    return tmp_path


def test_cli_writes_every_table_deterministically(reports: Path) -> None:
    assert main(["--reports", str(reports)]) == 0
    first = {name: (reports / name).read_bytes() for name in ANALYSIS_FILES}
    assert main(["--reports", str(reports)]) == 0
    assert {name: (reports / name).read_bytes() for name in ANALYSIS_FILES} == first
    reuse = pd.read_csv(reports / "text_reuse.csv")
    assert list(reuse.columns) == ["doc_a", "para_a", "doc_b", "para_b", "words", "text_a", "text_b",
                                   "start_a", "end_a", "start_b", "end_b"]
    assert len(reuse) == 12 and reuse["words"].min() >= 12
    freq = pd.read_csv(reports / "theme_frequencies.csv")
    assert set(freq["by"]) == {"document", "organization", "genre", "year"}
    # Occurrences are evidence matches (kept rule matches), not paragraphs.
    evidence = pd.read_csv(reports / "evidence.csv")
    kept = evidence[evidence["status"] == "kept"]
    brics = freq[(freq["by"] == "organization") & (freq["group"] == "BRICS")].set_index("theme")
    assert brics.loc["cyber_ict", "occurrences"] == (kept[kept["doc_id"].eq("brics-kazan-2024")]["theme"] == "cyber_ict").sum()
    assert not list(reports.glob("*.tmp"))


def test_cli_minimum_reuse_length(reports: Path) -> None:
    assert main(["--reports", str(reports), "--min-reuse-words", "30"]) == 0
    assert sorted(pd.read_csv(reports / "text_reuse.csv")["words"]) == [33, 34, 54, 114]


def test_without_evidence_occurrences_are_paragraphs(tmp_path: Path, coding) -> None:
    written = write_analysis_tables(coding.paragraphs, None, tmp_path)
    freq = pd.read_csv(written["theme_frequencies.csv"])
    assert (freq["occurrences"] == freq["paragraphs"]).all()
    assert pd.read_csv(written["evidence_quotes.csv"]).empty


def test_missing_annotation_names_the_step(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match=r"annotated_paragraphs\.csv: annotated paragraphs not found\. "
                                             r"Run `make annotate` first"):
        read_annotated(tmp_path / "annotated_paragraphs.csv")
    proc = subprocess.run([sys.executable, "-m", "helpers.analysis", "--reports", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "Run `make annotate` first" in proc.stderr


def test_bad_min_reuse_words(reports: Path) -> None:
    with pytest.raises(ParameterError, match=r"^`min_reuse_words` must be an integer >= 5\. Got 3 instead\.$"):
        main(["--reports", str(reports), "--min-reuse-words", "3"])
