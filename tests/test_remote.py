"""A corpus in object storage, mirrored into the build folder (helpers.corpus.remote)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import fsspec
import pytest

from helpers.corpus.remote import INDEX, SOURCE, source_of, sync_corpus
from helpers.errors import CorpusError

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in (INDEX, SOURCE)}


@pytest.fixture
def store(tmp_path):
    """The seed corpus as a folder reached by a file:// URL (fsspec's local store: same code path as s3://)."""
    folder = tmp_path / "store" / "seeds"
    shutil.copytree(DATA, folder, ignore=shutil.ignore_patterns("validation"))
    return folder, f"file://{folder}"


def test_the_mirror_is_a_copy_and_a_second_sync_downloads_nothing(store, tmp_path):
    folder, url = store
    mirror = tmp_path / "mirror"
    first = sync_corpus(url, mirror)
    assert first == {"files": 16, "downloaded": 16, "removed": 0}  # data/ without validation/
    assert _files(mirror) == _files(folder)
    assert source_of(mirror) == url and source_of(folder) == str(folder)
    dates = {p: p.stat().st_mtime_ns for p in mirror.rglob("*") if p.is_file()}
    assert sync_corpus(url, mirror) == {"files": 16, "downloaded": 0, "removed": 0}
    assert {p: p.stat().st_mtime_ns for p in mirror.rglob("*") if p.is_file()} == dates  # make sees nothing new


def test_an_edited_object_is_downloaded_again_and_a_removed_one_removed(store, tmp_path):
    folder, url = store
    mirror = tmp_path / "mirror"
    sync_corpus(url, mirror)
    doc = folder / "003_b62a35e7ddd15ed7.txt"
    doc.write_text(doc.read_text(encoding="utf-8") + "\n\nA new paragraph.", encoding="utf-8")
    os.utime(doc, ns=(doc.stat().st_atime_ns, doc.stat().st_mtime_ns + 10**9))
    (folder / "aliases.yml").unlink()
    (mirror / "stray.txt").write_text("left by a crash", encoding="utf-8")
    assert sync_corpus(url, mirror) == {"files": 15, "downloaded": 1, "removed": 1}
    assert _files(mirror) == _files(folder)


def test_an_object_named_to_land_outside_the_mirror_stops_the_sync(tmp_path):
    fs = fsspec.filesystem("memory")
    fs.pipe("/corpus-evil/manifest.csv", b"doc_id,file,title,organization,genre,date\n")
    fs.pipe("/corpus-evil/../escaped.txt", b"x")  # an object store key may hold '..'
    with pytest.raises(CorpusError, match=r"'/corpus-evil/\.\./escaped\.txt' would be copied outside the corpus folder"):
        sync_corpus("memory://corpus-evil", tmp_path / "mirror")
    assert not (tmp_path / "escaped.txt").exists()


def test_a_folder_without_a_manifest_and_a_store_without_its_package_are_named(tmp_path):
    fsspec.filesystem("memory").pipe("/no-manifest/a.txt", b"x")
    with pytest.raises(CorpusError, match=r"memory://no-manifest/manifest\.csv: manifest not found"):
        sync_corpus("memory://no-manifest", tmp_path / "m")
    pytest.importorskip("fsspec.implementations.local")
    try:
        import s3fs  # noqa: F401
    except ImportError:
        with pytest.raises(CorpusError, match=r"needs a package that is not installed.*pip install s3fs"):
            sync_corpus("s3://bucket/corpus", tmp_path / "s3")


def test_make_annotate_on_a_url_gives_what_the_folder_gives(store, tmp_path):
    folder, url = store
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "MAKEFLAGS", "MAKELEVEL")}

    def make(corpus, reports, build):
        return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), "annotate", f"CORPUS={corpus}",
                               f"REPORTS={reports}", f"BUILD={build}"], capture_output=True, text=True, env=env, timeout=600)

    local = make(folder, tmp_path / "r-local", tmp_path / "b-local")
    remote = make(url, tmp_path / "r-url", tmp_path / "b-url")
    assert local.returncode == 0, local.stderr
    assert remote.returncode == 0, remote.stderr
    assert f"mirrored {url} into {tmp_path / 'b-url' / 'corpus' / 'seeds'}: 16 files, 16 downloaded" in remote.stderr
    for name in ("annotated_paragraphs.csv", "evidence.csv", "annotations.csv"):
        assert (tmp_path / "r-url" / name).read_bytes() == (tmp_path / "r-local" / name).read_bytes(), name
    again = make(url, tmp_path / "r-url", tmp_path / "b-url")
    assert again.returncode == 0 and "0 downloaded" in again.stderr and "helpers.corpus.corpus" not in again.stdout
