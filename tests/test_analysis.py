"""Tests for helpers.analysis.analysis: the REPORTS tables and the command line, on the seed corpus."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from helpers.analysis.analysis import (ANALYSIS_FILES, BODY_COLUMNS, TEXT_FILES, THEME_FILES, main, read_annotated,
                                       read_body_paragraphs, write_analysis_tables)
from helpers.annotation.annotate import code_paragraphs
from helpers.corpus.corpus import ingest, load_paragraphs
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
    clusters = pd.read_csv(reports / "reuse_clusters.csv")
    assert list(clusters.columns) == ["cluster_id", "n_documents", "n_organizations", "first_doc_id", "first_date", "words", "passage"]
    assert clusters["cluster_id"].tolist() == list(range(1, 13)) and (clusters["n_documents"] == 2).all()
    members = pd.read_csv(reports / "reuse_cluster_members.csv")
    assert list(members.columns) == ["cluster_id", "doc_id", "para_id", "char_start", "char_end"] and len(members) == 24
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
    proc = subprocess.run([sys.executable, "-m", "helpers.analysis.analysis", "--reports", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    assert "Run `make annotate` first" in proc.stderr


def test_bad_min_reuse_words(reports: Path) -> None:
    with pytest.raises(ParameterError, match=r"^`min_reuse_words` must be an integer >= 5\. Got 3 instead\.$"):
        main(["--reports", str(reports), "--min-reuse-words", "3"])


# --------------------------------------------------------------------------- cache and Dask

def _tables(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ANALYSIS_FILES}


def test_shingle_cache_gives_the_same_bytes_and_reshingles_only_the_edited_document(
        tmp_path: Path, coding, capsys) -> None:
    plain, cached = tmp_path / "plain", tmp_path / "cached"
    for folder in (plain, cached):
        write_csv(coding.paragraphs, folder / "annotated_paragraphs.csv")
        write_csv(coding.evidence, folder / "evidence.csv")
    build = tmp_path / "build"
    assert main(["--reports", str(plain)]) == 0
    assert not (tmp_path / "shingles").exists() and not build.exists()  # nothing cached without --build
    assert main(["--reports", str(cached), "--build", str(build)]) == 0
    assert _tables(cached) == _tables(plain)
    files = sorted(p.name for p in (build / "shingles").glob("*.arrow"))
    docs = sorted(coding.paragraphs["doc_id"].unique())
    assert [f.split("@")[0] for f in files] == docs  # one file per document with body paragraphs
    assert main(["--reports", str(cached), "--build", str(build)]) == 0  # warm: every file read back
    assert _tables(cached) == _tables(plain)
    assert sorted(p.name for p in (build / "shingles").glob("*.arrow")) == files

    # Edit one paragraph of one speech: only that speech gets a new shingle file, the old one goes.
    edited = coding.paragraphs.copy()
    row = edited.index[edited["para_id"] == "csto-sg-unsc-2024-p007"][0]
    edited.loc[row, "text"] = edited.loc[row, "text"] + " An added closing sentence."
    write_csv(edited, cached / "annotated_paragraphs.csv")
    before = {p.name: p.stat().st_mtime_ns for p in (build / "shingles").glob("*.arrow")}
    assert main(["--reports", str(cached), "--build", str(build)]) == 0
    after = {p.name: p.stat().st_mtime_ns for p in (build / "shingles").glob("*.arrow")}
    changed = sorted(set(after) ^ set(before))
    assert [n.split("@")[0] for n in changed] == ["csto-sg-unsc-2024", "csto-sg-unsc-2024"]
    assert all(after[n] == before[n] for n in set(after) & set(before))
    write_csv(edited, plain / "annotated_paragraphs.csv")
    assert main(["--reports", str(plain)]) == 0
    assert _tables(cached) == _tables(plain)
    out = capsys.readouterr().out
    assert "wrote " in out and "text_reuse.csv (" in out


def test_the_text_stage_needs_no_annotation_and_the_two_stages_write_what_one_run_does(tmp_path: Path, coding,
                                                                                         capsys) -> None:
    """make runs ``--only text`` from paragraphs.parquet beside the annotation, then ``--only themes``: together
    they write every table, each byte-identical to one run's, and neither writes the other's."""
    from helpers.annotation.annotate import ANNOTATED_COLUMNS

    assert BODY_COLUMNS == [c for c in ANNOTATED_COLUMNS if c != "themes"]
    assert sorted(TEXT_FILES + THEME_FILES) == sorted(ANALYSIS_FILES)
    one, split, build = tmp_path / "one", tmp_path / "split", tmp_path / "build"
    ingest(ROOT / "data", build)
    body = read_body_paragraphs(build)
    assert len(body) == 118 and list(body.columns) == BODY_COLUMNS  # the seed corpus's 118 body paragraphs
    for folder in (one, split):
        write_csv(coding.paragraphs, folder / "annotated_paragraphs.csv")
        write_csv(coding.evidence, folder / "evidence.csv")
    assert main(["--reports", str(one)]) == 0
    (split / "annotated_paragraphs.csv").rename(split / "later.csv")  # the annotation has not finished yet
    assert main(["--reports", str(split), "--build", str(build), "--only", "text"]) == 0
    assert "read 118 body paragraphs" in capsys.readouterr().out
    assert sorted(p.name for p in split.glob("*.csv") if p.name in ANALYSIS_FILES) == sorted(TEXT_FILES)
    (split / "later.csv").rename(split / "annotated_paragraphs.csv")
    assert main(["--reports", str(split), "--build", str(build), "--only", "themes"]) == 0
    assert _tables(split) == _tables(one)
    with pytest.raises(ParameterError, match=r"--only text reads BUILD/paragraphs.parquet: pass --build"):
        main(["--reports", str(split), "--only", "text"])
    with pytest.raises(ParameterError, match=r"paragraphs.parquet: paragraphs table not found. Run `make ingest` first"):
        main(["--reports", str(split), "--build", str(tmp_path / "nothing"), "--only", "text"])


def test_the_text_stage_computes_keyness_beside_the_reuse_join(tmp_path: Path, coding, monkeypatch, capsys) -> None:
    """With two processes the text stage's second one computes similar paragraphs and keyness (the first one the
    reuse join); the tables are the bytes one process writes. With every table, keyness stays in the first."""
    import helpers.analysis.analysis as analysis

    assert analysis.side_tables("text") == ("similar_paragraphs.csv", "keyness.csv")
    assert analysis.side_tables(None) == ("document_similarity.csv", "similar_paragraphs.csv", "evidence_quotes.csv")
    assert analysis.side_tables("themes") == ("document_similarity.csv", "evidence_quotes.csv")
    one, two, build = tmp_path / "one", tmp_path / "two", tmp_path / "build"
    ingest(ROOT / "data", build)
    assert main(["--reports", str(one), "--build", str(build), "--only", "text", "--jobs", "1"]) == 0
    assert "second process" not in capsys.readouterr().out
    monkeypatch.setattr(analysis, "PARALLEL_MIN_PARAGRAPHS", 1)  # the seed corpus is small
    assert main(["--reports", str(two), "--build", str(build), "--only", "text", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "keyness.csv (" in out and "similar_paragraphs.csv (54 rows, computed in a second process)" in out
    assert out.count("computed in a second process") == 2
    assert all((two / name).read_bytes() == (one / name).read_bytes() for name in TEXT_FILES)


def test_the_text_stage_uses_one_process_above_its_own_limit_not_the_theme_stages(tmp_path: Path, monkeypatch, capsys) -> None:
    """Two limits: above SIDE_BY_SIDE_MAX_PARAGRAPHS the text stage computes everything in one process, whatever
    THEME_STAGE_WAITS_ABOVE_PARAGRAPHS (when the theme stage waits) says. The seed corpus's paragraphs.parquet has
    134 rows."""
    import helpers.analysis.analysis as analysis

    build = tmp_path / "build"
    ingest(ROOT / "data", build)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(analysis, "PARALLEL_MIN_PARAGRAPHS", 1)  # the seed corpus is small
    monkeypatch.setattr(analysis, "THEME_STAGE_WAITS_ABOVE_PARAGRAPHS", 133)  # the theme stage would wait: irrelevant here
    assert main(["--reports", str(tmp_path / "two"), "--build", str(build), "--only", "text"]) == 0
    assert capsys.readouterr().out.count("computed in a second process") == 2  # 134 <= SIDE_BY_SIDE_MAX_PARAGRAPHS
    monkeypatch.setattr(analysis, "SIDE_BY_SIDE_MAX_PARAGRAPHS", 133)
    monkeypatch.setattr(analysis, "THEME_STAGE_WAITS_ABOVE_PARAGRAPHS", 10**9)
    assert main(["--reports", str(tmp_path / "one"), "--build", str(build), "--only", "text"]) == 0
    assert "second process" not in capsys.readouterr().out
    assert all((tmp_path / "two" / name).read_bytes() == (tmp_path / "one" / name).read_bytes() for name in TEXT_FILES)


def test_on_a_large_corpus_the_theme_stage_waits_for_the_text_stage(tmp_path: Path, coding, monkeypatch, capsys) -> None:
    """Above THEME_STAGE_WAITS_ABOVE_PARAGRAPHS the theme stage starts only once the text stage (holding
    BUILD/text-analysis.lock) is done; below it, it does not wait."""
    import fcntl
    import threading

    import helpers.analysis.analysis as analysis

    build, reports = tmp_path / "build", tmp_path / "reports"
    ingest(ROOT / "data", build)
    write_csv(coding.paragraphs, reports / "annotated_paragraphs.csv")
    write_csv(coding.evidence, reports / "evidence.csv")
    args = ["--reports", str(reports), "--build", str(build), "--only", "themes"]
    with open(build / "text-analysis.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # a text stage at work
        assert main(args) == 0  # 134 paragraphs: no wait
        assert "waiting" not in capsys.readouterr().out
        monkeypatch.setattr(analysis, "THEME_STAGE_WAITS_ABOVE_PARAGRAPHS", 133)
        (reports / "theme_frequencies.csv").unlink()
        done: list[int] = []
        stage = threading.Thread(target=lambda: done.append(main(args)), daemon=True)
        stage.start()
        stage.join(1.0)
        assert stage.is_alive() and not (reports / "theme_frequencies.csv").exists()
        fcntl.flock(held, fcntl.LOCK_UN)  # the text stage ends
    stage.join(60)
    assert done == [0] and (reports / "theme_frequencies.csv").is_file()
    assert "waiting for the text analysis of" in capsys.readouterr().out


def test_two_dask_workers_write_byte_identical_tables(tmp_path: Path, coding) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        write_csv(coding.paragraphs, folder / "annotated_paragraphs.csv")
        write_csv(coding.evidence, folder / "evidence.csv")
    assert main(["--reports", str(one)]) == 0
    assert main(["--reports", str(two), "--build", str(tmp_path / "build"), "--workers", "2"]) == 0
    assert _tables(two) == _tables(one)
    assert len(list((tmp_path / "build" / "shingles").glob("*.arrow"))) == coding.paragraphs["doc_id"].nunique()


def test_a_second_process_for_similarity_and_quotes_writes_the_same_bytes(tmp_path: Path, coding, monkeypatch,
                                                                          capsys) -> None:
    import helpers.analysis.analysis

    one, two = tmp_path / "one", tmp_path / "two"
    for folder in (one, two):
        write_csv(coding.paragraphs, folder / "annotated_paragraphs.csv")
        write_csv(coding.evidence, folder / "evidence.csv")
    assert main(["--reports", str(one), "--jobs", "1"]) == 0
    assert "second process" not in capsys.readouterr().out
    monkeypatch.setattr(helpers.analysis.analysis, "PARALLEL_MIN_PARAGRAPHS", 1)  # the seed corpus is small
    assert main(["--reports", str(two), "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "similar_paragraphs.csv (54 rows, computed in a second process)" in out
    assert "evidence_quotes.csv (" in out and out.count("computed in a second process") == 3
    assert _tables(two) == _tables(one)
    # The command line starts that process before reading the table when the file is large.
    monkeypatch.setattr(helpers.analysis.analysis, "PARALLEL_MIN_PARAGRAPHS", 10**9)
    monkeypatch.setattr(helpers.analysis.analysis, "PARALLEL_MIN_BYTES", 1)
    for name in ANALYSIS_FILES:
        (two / name).unlink()
    assert main(["--reports", str(two), "--jobs", "2"]) == 0
    assert "similar_paragraphs.csv (54 rows, computed in a second process)" in capsys.readouterr().out
    assert _tables(two) == _tables(one)


def test_default_jobs_is_one_above_the_size_where_both_peaks_would_coincide(monkeypatch) -> None:
    from helpers.analysis.analysis import PARALLEL_MAX_BYTES, PARALLEL_MAX_PARAGRAPHS, default_jobs

    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert default_jobs() == 2
    assert default_jobs(paragraphs=PARALLEL_MAX_PARAGRAPHS) == 2
    assert default_jobs(paragraphs=PARALLEL_MAX_PARAGRAPHS + 1) == 1
    assert default_jobs(file_bytes=PARALLEL_MAX_BYTES + 1) == 1
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert default_jobs() == 1


def test_a_large_table_runs_in_one_process_unless_jobs_asks_for_two(tmp_path: Path, coding, monkeypatch,
                                                                      capsys) -> None:
    import helpers.analysis.analysis

    write_csv(coding.paragraphs, tmp_path / "annotated_paragraphs.csv")
    write_csv(coding.evidence, tmp_path / "evidence.csv")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    monkeypatch.setattr(helpers.analysis.analysis, "PARALLEL_MIN_BYTES", 1)
    monkeypatch.setattr(helpers.analysis.analysis, "PARALLEL_MAX_BYTES", 1000)  # the seed table is ~1 MB
    assert main(["--reports", str(tmp_path)]) == 0
    assert "second process" not in capsys.readouterr().out
    for name in ANALYSIS_FILES:
        (tmp_path / name).unlink()
    assert main(["--reports", str(tmp_path), "--jobs", "2"]) == 0
    assert capsys.readouterr().out.count("computed in a second process") == 3


def test_incremental_reuse_after_an_edit_matches_a_fresh_build(tmp_path: Path, coding, capsys) -> None:
    fresh, kept = tmp_path / "fresh", tmp_path / "kept"
    for folder in (fresh, kept):
        write_csv(coding.paragraphs, folder / "annotated_paragraphs.csv")
        write_csv(coding.evidence, folder / "evidence.csv")
    assert main(["--reports", str(kept), "--build", str(tmp_path / "build")]) == 0
    edited = coding.paragraphs.copy()
    row = edited.index[edited["para_id"] == "csto-sg-minsk-2024-p004"][0]
    unsc = edited.loc[edited["doc_id"] == "csto-sg-unsc-2024", "text"].iloc[5]
    edited.loc[row, "text"] = edited.loc[row, "text"] + " " + unsc  # a new verbatim passage
    for folder in (fresh, kept):
        write_csv(edited, folder / "annotated_paragraphs.csv")
    capsys.readouterr()
    assert main(["--reports", str(kept), "--build", str(tmp_path / "build")]) == 0
    assert "reuse: 1 changed and 0 removed of 8 documents; incremental join" in capsys.readouterr().out
    assert main(["--reports", str(fresh)]) == 0
    assert _tables(kept) == _tables(fresh)
    assert len(pd.read_csv(kept / "text_reuse.csv")) > 12  # the planted passage is found


def test_bad_workers_are_refused(reports: Path) -> None:
    with pytest.raises(ParameterError, match=r"^`workers` must be a whole number >= 0\. Got 'two' instead\.$"):
        main(["--reports", str(reports), "--workers", "two"])


def test_numbering_labels_are_not_words_of_the_analysis(tmp_path: Path, coding) -> None:
    # The Kazan declaration numbers its paragraphs "Paragraph 47."; the label is not BRICS's wording.
    annotated = coding.paragraphs
    if "label_chars" not in annotated.columns:  # carried by annotated_paragraphs.csv once annotate passes it on
        labels = load_paragraphs(ROOT / "data")[["para_id", "label_chars"]]
        annotated = annotated.merge(labels, on="para_id", how="left", validate="one_to_one")
    assert (annotated["label_chars"] > 0).sum() == 12
    written = write_analysis_tables(annotated, coding.evidence, tmp_path)
    key = pd.read_csv(written["keyness.csv"], keep_default_na=False)
    assert "paragraph" not in set(key["term"])
    quotes = pd.read_csv(written["evidence_quotes.csv"], keep_default_na=False)
    assert not quotes["quote"].str.startswith("Paragraph").any()
    # Reuse offsets still index the paragraph's full text.
    reuse = pd.read_csv(written["text_reuse.csv"], keep_default_na=False)
    text = dict(zip(annotated["para_id"], annotated["text"]))
    assert len(reuse) == 12 and all(text[p][s:e] == t for p, s, e, t in zip(reuse["para_a"], reuse["start_a"], reuse["end_a"], reuse["text_a"]))
