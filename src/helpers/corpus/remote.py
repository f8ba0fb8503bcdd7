"""A corpus in object storage (``s3://``, ``gs://``, ``az://``, any fsspec URL), mirrored into the build folder.

``make report CORPUS=s3://bucket/ungdc`` works like a local corpus folder: before anything else,
:func:`sync_corpus` copies the folder at that URL (``manifest.csv``, the documents, ``briefing.yml``,
``annotations/``) into ``BUILD/corpus/<name>`` (when ``BUILD`` is given, e.g. shared by a cluster) or
``build/remote/<checksum of the URL>/<name>``, and the pipeline then runs on that mirror. Make needs files it can list and date to know what changed: a file is downloaded
again only when its size, checksum or modification time in the store changed, and a file left as it
was keeps its local date, so an unchanged corpus rebuilds nothing. A file removed from the store is
removed from the mirror. Dask workers read the mirror, which lies in the (shared) build folder, by
absolute paths.

The store is untrusted like any corpus: only objects under the URL are listed, a name that would
land outside the mirror (``..``, an absolute path) stops the sync, and every document the manifest
names must still lie inside the mirror (:func:`helpers.corpus.corpus.read_manifest`). Protocols other
than ``file://`` and ``memory://`` need fsspec's package for them in ``.venv`` (``s3fs``, ``gcsfs``,
``adlfs``) and its usual credentials (environment variables or the provider's config file).

Command line (what the Makefile runs): ``python -m helpers.corpus.remote URL MIRROR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from helpers.errors import CorpusError, run_cli
from helpers.io import atomic_path

#: What the mirror remembers of each object it holds: the store's own description (size, ETag, date).
INDEX = ".remote-index.json"
#: The URL the mirror was made from, for the briefing's provenance.
SOURCE = ".remote-source"


def _filesystem(url: str):
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as exc:
        raise CorpusError(f"{url}: reading this kind of URL needs a package that is not installed ({exc}). "
                          f"Install it into the project's environment, e.g. .venv/bin/pip install s3fs "
                          f"(s3://), gcsfs (gs://) or adlfs (az://).") from None
    except ValueError as exc:
        raise CorpusError(f"{url}: not a URL fsspec can open ({exc}). Pass CORPUS=<scheme>://<bucket>/<folder>.") from None


def _relative(name: str, root: str, url: str) -> str:
    """``name`` (a full object name under ``root``) relative to ``root``; refuses names that would leave the mirror."""
    rel = name[len(root):].lstrip("/") if name.startswith(root) else None
    parts = PurePosixPath(rel).parts if rel else ()
    if not parts or any(p in ("..", ".") for p in parts) or "\\" in rel or rel.startswith("/"):
        raise CorpusError(f"{url}: the object '{name}' would be copied outside the corpus folder "
                          "(its name has '..', '.' or a backslash). Rename it in the store.")
    return "/".join(parts)


def _stamp(info: dict) -> str:
    """A fingerprint of an object's description in the store (size, ETag or checksum, modification time)."""
    keep = {k: v for k, v in info.items() if k not in ("name", "ino", "nlink", "uid", "gid", "mode", "islink")}
    return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode("utf-8")).hexdigest()[:20]


def sync_corpus(url: str, mirror: str | os.PathLike[str]) -> dict[str, int]:
    """Make ``mirror`` a copy of the corpus folder at ``url``; returns counts ``{"files", "downloaded", "removed"}``.

    Objects whose description in the store (:func:`_stamp`) is the one recorded at the last sync are
    not downloaded, and their local files keep their dates. Each download is written to a temporary
    file and renamed. Raises :class:`CorpusError` when the URL cannot be listed, holds no
    ``manifest.csv``, or names an object that would land outside ``mirror``.
    """
    fs, root = _filesystem(url)
    root = root.rstrip("/")
    mirror = Path(mirror).resolve()
    try:
        listing = fs.find(root, detail=True)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{url}: cannot list the corpus folder ({exc}). Check the URL and your credentials.") from None
    objects = {}
    for name, info in sorted(listing.items()):
        if info.get("type", "file") != "file":
            continue
        rel = _relative(name, root, url)
        if any(part.startswith(".") for part in PurePosixPath(rel).parts):
            continue  # hidden objects (and this module's own index, should a mirror be uploaded) are not corpus files
        objects[rel] = (name, _stamp(info))
    if "manifest.csv" not in objects:
        raise CorpusError(f"{url}/manifest.csv: manifest not found. A corpus folder needs a manifest.csv "
                          "(columns doc_id, file, title, organization, genre, date) beside its documents.")
    mirror.mkdir(parents=True, exist_ok=True)
    index_path = mirror / INDEX
    try:
        known = json.loads(index_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        known = {}
    counts = {"files": len(objects), "downloaded": 0, "removed": 0}
    for rel, (name, stamp) in objects.items():
        target = mirror / rel
        if not target.resolve().is_relative_to(mirror):
            raise CorpusError(f"{url}: the object '{name}' would be copied outside the corpus folder. Rename it in the store.")
        if known.get(rel) == stamp and target.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            data = fs.cat_file(name)
        except (OSError, ValueError) as exc:
            raise CorpusError(f"{url}: cannot read '{rel}' ({exc}). Check your credentials, then run make again.") from None
        with atomic_path(target) as tmp:
            Path(tmp).write_bytes(data)
        known[rel] = stamp
        counts["downloaded"] += 1
    for rel in sorted(set(known) - set(objects)):
        if (mirror / rel).resolve().is_relative_to(mirror):  # the index is ours, but never trusted to point outside
            (mirror / rel).unlink(missing_ok=True)
        counts["removed"] += 1
    for path in sorted(mirror.rglob("*"), reverse=True):  # files the store never had (a stale download, a crash)
        rel = path.relative_to(mirror).as_posix()
        if path.is_file() and rel not in objects and rel not in (INDEX, SOURCE) and not path.name.startswith("."):
            path.unlink()
    known = {rel: stamp for rel, stamp in known.items() if rel in objects}
    _write_if_changed(index_path, json.dumps(known, indent=0, sort_keys=True) + "\n")
    _write_if_changed(mirror / SOURCE, url + "\n")
    return counts


def source_of(corpus: str | os.PathLike[str]) -> str:
    """The URL a mirrored corpus folder was copied from, else the folder itself (for provenance)."""
    try:
        return (Path(corpus) / SOURCE).read_text(encoding="utf-8").strip() or str(corpus)
    except OSError:
        return str(corpus)


def _write_if_changed(path: Path, text: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == text:
            return
    except OSError:
        pass
    with atomic_path(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.corpus.remote", description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the corpus folder's URL, e.g. s3://bucket/ungdc")
    parser.add_argument("mirror", help="the local folder to mirror it into")
    args = parser.parse_args(argv)
    counts = sync_corpus(args.url, args.mirror)
    print(f"mirrored {args.url} into {args.mirror}: {counts['files']} files, {counts['downloaded']} downloaded, "
          f"{counts['removed']} removed", file=sys.stderr)
    return 0


if __name__ == "__main__":
    from helpers.corpus.remote import main as _main  # the importable module's (see helpers.corpus.corpus)

    raise SystemExit(run_cli(_main))
