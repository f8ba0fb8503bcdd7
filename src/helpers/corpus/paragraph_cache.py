"""Per-paragraph derived text (e.g. the stems TF-IDF compares), cached paragraph by paragraph.

Tokenising and stemming tens of thousands of paragraphs costs seconds of pure Python on
every run, although after one speech changed only that speech's paragraphs are new.
:func:`cached_strings` keeps one Parquet file per kind of derived text
(``<cache_dir>/<name>.parquet``: ``key``, ``value`` per paragraph, in table order) and
recomputes only the paragraphs whose key (:func:`paragraph_keys`: a hash of the
computation's version, the paragraph's id and its text) is not there.
:func:`document_keys` hashes whole documents (used by :mod:`helpers.analysis.reuse_index`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from helpers.io import write_parquet


def document_keys(paras: pd.DataFrame, texts: Sequence[str] | None = None, extra: str | None = None,
                  salt: str = "") -> dict[str, str]:
    """``{doc_id: key}``: a 20-hex-digit hash of ``salt``, each document's ``para_id``s and ``texts``
    (default: its ``text`` column) in table order, and the value of column ``extra`` on its first row."""
    values = list(texts) if texts is not None else paras["text"].fillna("").astype(str).tolist()
    pids = paras["para_id"].astype(str).tolist()
    extras = paras[extra].astype(str).tolist() if extra and extra in paras.columns else [""] * len(pids)
    rows: dict[str, list[int]] = {}
    for k, doc in enumerate(paras["doc_id"].astype(str).tolist()):
        rows.setdefault(doc, []).append(k)
    keys = {}
    for doc, idx in rows.items():
        blob = json.dumps([salt, extras[idx[0]], [pids[k] for k in idx], [values[k] for k in idx]], ensure_ascii=False)
        keys[doc] = hashlib.sha256(blob.encode("utf-8")).hexdigest()[:20]
    return keys


def source_version(*files: str | Path, extra: str = "") -> str:
    """A version string for a cached computation: the hash of the source files that define it
    (and ``extra``, e.g. a library's version), so any edit of them recomputes the cache."""
    h = hashlib.sha256(extra.encode("utf-8"))
    for f in files:
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def paragraph_keys(paras: pd.DataFrame, texts: Sequence[str], salt: str = "") -> list[str]:
    """Per paragraph: a 16-byte BLAKE2 hash (hex) of ``salt``, its ``para_id`` and its text."""
    return [hashlib.blake2b(f"{salt}\x00{pid}\x00{text}".encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
            for pid, text in zip(paras["para_id"].astype(str).tolist(), texts)]


def cached_strings(paras: pd.DataFrame, texts: Sequence[str], name: str, compute: Callable[[str], str],
                   version: str, cache_dir: str | Path | None, update: bool = True) -> list[str]:
    """``[compute(t) for t in texts]``, reading paragraphs already done from ``cache_dir/<name>.parquet``.

    ``paras`` gives each text's ``para_id`` (same length and order as ``texts``); a paragraph
    is found again when its id, its text and ``version`` (name the computation; change it when
    ``compute`` changes) are unchanged, so any subset of a corpus can read the cache. With
    ``update`` the file is rewritten (temporary file, then rename) to hold exactly these
    paragraphs whenever it held anything else; ``update=False`` only reads (e.g. for a
    subset). ``cache_dir=None``: nothing is read or written. :class:`StringCache` does the same
    for a table taken in parts.
    """
    cache = StringCache(name, version, cache_dir, update=update)
    out = cache.strings(paras, texts, compute)
    cache.save()
    return out


def cached_arrow_strings(paras: pd.DataFrame, texts: Sequence[str], name: str, compute: Callable[[str], str],
                         version: str, cache_dir: str | Path | None, update: bool = True) -> pa.Array:
    """:func:`cached_strings` as an Arrow string array (same values, same cache file).

    When the cache holds every paragraph, its values are taken as stored, without a Python string per paragraph;
    with ``update`` the file is then left as it is if it holds exactly these paragraphs (as :func:`cached_strings`
    would leave it), without it only the paragraphs' own rows are read. Otherwise this is :func:`cached_strings`,
    from the file as read and the keys as hashed here."""
    texts = list(texts)
    keys = paragraph_keys(paras, texts, salt=version) if cache_dir is not None else None
    if keys is not None and not update:  # a selection: only its rows of the file are read
        try:
            stored = _stored_values(_rows_with_keys(Path(cache_dir) / f"{name}.parquet", keys), keys, exact=True)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            stored = None
        if stored is not None:
            return stored
    cache = StringCache(name, version, cache_dir, update=update)
    if keys is not None and update and cache.old is not None:
        # The whole file, which is rewritten unless it holds exactly these paragraphs.
        try:
            stored = _stored_values(cache.old, keys, exact=pc.count_distinct(cache.old["key"]).as_py() == len(keys))
        except (ValueError, KeyError, pa.ArrowException):
            stored = None
        if stored is not None:
            return stored
    out = cache.strings(paras, texts, compute, keys=keys)
    cache.save()
    return pa.array(out, pa.string())


def _stored_values(stored: pa.Table, keys: list[str], exact: bool) -> pa.Array | None:
    """The ``value`` of each of ``keys`` in the cache rows ``stored``, in that order, or ``None`` when a key is
    missing or the file is not ``exact`` (it must be rewritten)."""
    if not exact:
        return None
    at = pc.index_in(pa.array(keys, stored.schema.field("key").type), value_set=stored["key"])
    if at.null_count:
        return None
    if len(at) == stored.num_rows and pc.all(pc.equal(at, pa.array(np.arange(len(at)), at.type))).as_py():
        return stored["value"].combine_chunks()  # stored in this order
    return stored["value"].take(at).combine_chunks()


def _rows_with_keys(path: Path, keys: Sequence[str]) -> pa.Table:
    """The rows (``key``, ``value``) of the cache file ``path`` whose key is one of ``keys``, read a batch at a time:
    a selection of a large corpus holds its own rows, not the whole file."""
    f = pq.ParquetFile(path)
    wanted = pa.array(keys, f.schema_arrow.field("key").type)
    batches = [b.filter(pc.is_in(b.column("key"), value_set=wanted))
               for b in f.iter_batches(batch_size=65_536, columns=["key", "value"])]
    return pa.Table.from_batches(batches, schema=pa.schema([f.schema_arrow.field("key"), f.schema_arrow.field("value")]))


class StringCache:
    """:func:`cached_strings` for a table processed part by part, so that no step holds the whole corpus's strings.

    The cache file is read once, as Arrow (``key``, ``value``); :meth:`strings` looks up one part's
    paragraphs (only their entries become Python strings) and computes the rest; :meth:`save`
    then rewrites the file, with ``update``, to hold exactly the paragraphs of every part, in
    order, when it held anything else: the same file :func:`cached_strings` writes for the
    parts concatenated.
    """

    def __init__(self, name: str, version: str, cache_dir: str | Path | None, update: bool = True) -> None:
        self.version, self.update = version, update
        self.path = Path(cache_dir) / f"{name}.parquet" if cache_dir is not None else None
        self.old: pa.Table | None = None
        if self.path is not None:
            try:
                self.old = pq.read_table(self.path, columns=["key", "value"])
            except (OSError, ValueError, KeyError, pa.ArrowException):
                self.old = None
        self.keys: list[str] = []
        self.values: list[str] = []
        self.fresh = 0

    def strings(self, paras: pd.DataFrame, texts: Sequence[str], compute: Callable[[str], str],
                keys: list[str] | None = None) -> list[str]:
        """``[compute(t) for t in texts]`` for one part (``paras`` gives each text's ``para_id``), from the cache where it
        has them; ``keys``: their :func:`paragraph_keys` with this cache's version, when already hashed."""
        texts = list(texts)
        if self.path is None:
            return [compute(t) for t in texts]
        if keys is None:
            keys = paragraph_keys(paras, texts, salt=self.version)
        cached: dict[str, str] = {}
        if self.old is not None and self.old.num_rows:
            try:
                found = self.old.filter(pc.is_in(self.old["key"], value_set=pa.array(keys, self.old.schema.field("key").type)))
                cached = dict(zip(found["key"].to_pylist(), found["value"].to_pylist()))
            except (ValueError, KeyError, pa.ArrowException):
                cached = {}
        out: list[str] = []
        for key, text in zip(keys, texts):
            value = cached.get(key)
            if value is None:
                self.fresh += 1
                value = compute(text)
            out.append(value)
        if self.update:
            self.keys.extend(keys)
            self.values.extend(out)
        return out

    def save(self) -> None:
        """With ``update``: rewrite the cache file when it held anything but the paragraphs looked up (no-op otherwise)."""
        if self.path is None or not self.update:
            return
        held = pc.count_distinct(self.old["key"]).as_py() if self.old is not None else 0
        if self.fresh or held != len(self.keys):
            write_parquet(pd.DataFrame({"key": self.keys, "value": self.values}), self.path)
