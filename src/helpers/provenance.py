"""Provenance for the briefing's methods appendix: what went in, with what, at which commit.

Everything here is deterministic for the same inputs (sorted, no timestamps), so the
appendix never breaks the byte-identical rebuild:

- :func:`input_files` / :func:`file_hashes`: the manifest, every document file it names,
  the codebook, the cleaning rules and the analysts' annotation files, with size and SHA-256;
- :func:`package_versions`: the installed versions of the packages that shape the output;
- :func:`git_commit`: the commit of the checkout (``-dirty`` when tracked files differ);
- :func:`codebook_summary`: one row per theme with its definition and rule counts.
"""

from __future__ import annotations

import csv
import hashlib
import os
import platform
import subprocess
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import pandas as pd

#: The project's root folder (``src/helpers/provenance.py`` -> two levels up from ``src``).
PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Packages whose versions the appendix lists (those that compute or draw what readers see).
PACKAGES: tuple[str, ...] = (
    "pandas", "numpy", "pyarrow", "PyYAML", "scikit-learn", "scipy", "snowballstemmer", "PyStemmer", "pyahocorasick",
    "beautifulsoup4", "pypdf", "matplotlib", "pillow", "papermill", "nbconvert", "nbformat", "ipykernel", "weasyprint",
)


def display_path(path: str | os.PathLike[str], root: Path = PROJECT_ROOT) -> str:
    """``path`` relative to the project root when inside it (POSIX separators), else as given."""
    p = Path(path)
    try:
        return p.resolve().relative_to(root).as_posix()
    except ValueError:
        return p.as_posix()


def input_files(corpus: str | os.PathLike[str], codebook: str | os.PathLike[str], extra: Iterable[str | os.PathLike[str]] = ()) -> list[Path]:
    """The files a briefing is built from, without duplicates, in a fixed order.

    Inputs: the corpus folder (its ``manifest.csv`` and the files the manifest names), the
    codebook, and ``extra`` files (cleaning rules, overrides, validation sample) that are
    included when they exist. Output: existing paths; the manifest first, then the
    documents sorted by name, then the codebook and the extras in the order given.
    """
    corpus = Path(corpus)
    manifest = corpus / "manifest.csv"
    files: list[Path] = [manifest] if manifest.is_file() else []
    if manifest.is_file():
        with manifest.open(encoding="utf-8", newline="") as handle:
            names = sorted({row["file"] for row in csv.DictReader(handle) if row.get("file")})
        files += [corpus / n for n in names if (corpus / n).is_file()]
    seen = {f.resolve() for f in files}  # once, not once per extra file (thousands of documents)
    for p in (codebook, *extra):
        p = Path(p)
        if p.is_file() and p.resolve() not in seen:
            files.append(p)
            seen.add(p.resolve())
    return files


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_hashes(paths: Sequence[str | os.PathLike[str]]) -> pd.DataFrame:
    """One row per file: ``file`` (str, path relative to the project root when inside it),
    ``bytes`` (int, size), ``sha256`` (str, 64 hex digits). Order as given."""
    rows = [{"file": display_path(p), "bytes": Path(p).stat().st_size, "sha256": sha256_file(p)} for p in paths]
    return pd.DataFrame(rows, columns=["file", "bytes", "sha256"])


def package_versions(packages: Sequence[str] = PACKAGES) -> pd.DataFrame:
    """``package`` (str) and ``version`` (str, "not installed" when absent), Python first."""
    rows = [{"package": "python", "version": platform.python_version()}]
    for name in packages:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "not installed"
        rows.append({"package": name, "version": version})
    return pd.DataFrame(rows, columns=["package", "version"])


def git_commit(root: str | os.PathLike[str] = PROJECT_ROOT) -> str:
    """The checkout's commit hash, with ``-dirty`` when tracked files have uncommitted changes.

    Returns ``"unknown (not a git checkout)"`` when git or the repository is unavailable.
    """
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("-dirty" if status.strip() else "")


def codebook_summary(codebook: object) -> pd.DataFrame:
    """One row per theme of a loaded :class:`helpers.annotation.codebook.Codebook`, in codebook order.

    Columns: ``theme`` (str, id), ``label`` (str), ``group`` (str, the group's label),
    ``definition`` (str; for a theme with a ``from`` date, followed by "Coded in documents from YYYY-MM-DD on."),
    ``terms``, ``patterns``, ``exclusions`` (int: number of rules of each kind), ``rules`` (int, their sum),
    ``from`` (str, the theme's first date, YYYY-MM-DD, or "").
    """
    groups = getattr(codebook, "groups", {}) or {}
    rows = []
    for t in codebook.themes:  # type: ignore[attr-defined]
        n_terms, n_regex, n_excl = len(t.terms), len(t.regex), len(t.exclude)
        first = t.from_date
        definition = f"{t.definition} Coded in documents from {first} on." if first else t.definition
        rows.append({
            "theme": t.id, "label": t.label, "group": groups.get(t.group, t.group), "definition": definition,
            "terms": n_terms, "patterns": n_regex, "exclusions": n_excl, "rules": n_terms + n_regex + n_excl, "from": first,
        })
    return pd.DataFrame(rows, columns=["theme", "label", "group", "definition", "terms", "patterns", "exclusions", "rules", "from"])
