"""Provenance: input files with SHA-256, package versions, git commit, codebook summary."""

from __future__ import annotations

import hashlib

from helpers.annotation.codebook import load_codebook
from helpers.provenance import PROJECT_ROOT, codebook_summary, file_hashes, git_commit, input_files, package_versions


def test_input_files_are_manifest_documents_codebook_then_extras(tmp_path):
    (tmp_path / "manifest.csv").write_text("doc_id,file,title,organization,genre,date\nb,b.txt,B,X,news,2024-01-01\n"
                                           "a,a.txt,A,X,news,2024-01-01\na2,a.txt,A2,X,news,2024-01-02\n", encoding="utf-8")
    for name in ("a.txt", "b.txt", "code.yml", "clean.yml"):
        (tmp_path / name).write_text(name, encoding="utf-8")
    files = input_files(tmp_path, tmp_path / "code.yml", [tmp_path / "clean.yml", tmp_path / "missing.csv", tmp_path / "a.txt"])
    assert [f.name for f in files] == ["manifest.csv", "a.txt", "b.txt", "code.yml", "clean.yml"]


def test_file_hashes(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"abc")
    table = file_hashes([path])
    assert table.to_dict("records") == [{"file": path.as_posix(), "bytes": 3,
                                         "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}]


def test_seed_corpus_hashes_match_the_files():
    files = input_files(PROJECT_ROOT / "data", PROJECT_ROOT / "data" / "codebook.yml")
    table = file_hashes(files)
    assert table["file"].tolist()[:6] == ["data/manifest.csv", "data/000_9261be8fc7c8a342.txt", "data/001_407edb253fecabde.txt",
                                          "data/002_eca40e1e4d17962e.txt", "data/003_b62a35e7ddd15ed7.txt", "data/004_471792af4a523792.txt"]
    raw = (PROJECT_ROOT / "data" / "003_b62a35e7ddd15ed7.txt").read_bytes()
    assert table.loc[4, "sha256"] == hashlib.sha256(raw).hexdigest() and table.loc[4, "bytes"] == len(raw)


def test_package_versions_and_commit():
    versions = package_versions(("pandas", "no-such-package-xyz"))
    assert versions["package"].tolist() == ["python", "pandas", "no-such-package-xyz"]
    assert versions.iloc[2]["version"] == "not installed"
    commit = git_commit()
    assert len(commit.split("-")[0]) == 40 or commit == "unknown (not a git checkout)"
    assert git_commit("/") == "unknown (not a git checkout)"


def test_codebook_summary_counts_rules():
    cb = load_codebook(PROJECT_ROOT / "data" / "codebook.yml")
    table = codebook_summary(cb)
    assert len(table) == len(cb.themes) >= 21
    first = cb.themes[0]
    row = table.iloc[0]
    assert row["theme"] == first.id and row["terms"] == len(first.terms) and row["patterns"] == len(first.regex)
    assert (table["rules"] == table["terms"] + table["patterns"] + table["exclusions"]).all()
    assert set(table["group"]) <= set(cb.groups.values())
    # a theme with a start date says so in its definition; the others keep theirs as written
    war = table.set_index("theme").loc["russia_ukraine_war"]
    assert war["from"] == "2014-02-20"
    assert war["definition"] == ("Russia's war against Ukraine, its front lines and the forces sent to it. "
                                 "Coded in documents from 2014-02-20 on.")
    assert (table.loc[table["theme"] != "russia_ukraine_war", "from"] == "").all()
    assert table.loc[0, "definition"] == first.definition
