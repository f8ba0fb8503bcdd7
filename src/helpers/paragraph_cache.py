"""Per-paragraph derived text (e.g. the stems TF-IDF compares), cached document by document.

Tokenising and stemming tens of thousands of paragraphs costs seconds of pure Python on
every run, although after one speech changed only that speech's paragraphs are new.
:func:`cached_strings` keeps one Parquet file per kind of derived text
(``<cache_dir>/<name>.parquet``: ``doc_id``, ``key``, ``value`` per paragraph, in table
order) and recomputes only the documents whose key changed (:func:`document_keys`: a hash
of the document's paragraph ids and texts, and of the function's version string).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from .io import write_parquet


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


def cached_strings(paras: pd.DataFrame, texts: Sequence[str], name: str, compute: Callable[[str], str],
                   version: str, cache_dir: str | Path | None) -> list[str]:
    """``[compute(t) for t in texts]``, reading unchanged documents from ``cache_dir/<name>.parquet``.

    ``paras`` gives each text's ``doc_id`` and ``para_id`` (same length and order as ``texts``);
    ``version`` names the computation (change it when ``compute`` changes). With
    ``cache_dir=None`` nothing is read or written. The file is rewritten (temporary file, then
    rename) only when some document was recomputed.
    """
    texts = list(texts)
    if cache_dir is None:
        return [compute(t) for t in texts]
    path = Path(cache_dir) / f"{name}.parquet"
    keys = document_keys(paras, texts, salt=version)
    cached: dict[str, list[str]] = {}
    try:
        old = pd.read_parquet(path)
        for (doc, key), g in old.groupby(["doc_id", "key"], sort=False):
            if keys.get(doc) == key:
                cached[doc] = g["value"].tolist()
    except (OSError, ValueError, KeyError):
        cached = {}
    docs = paras["doc_id"].astype(str).tolist()
    out: list[str] = []
    seen: dict[str, int] = {}
    fresh = False
    for doc, text in zip(docs, texts):
        k = seen.get(doc, 0)
        seen[doc] = k + 1
        values = cached.get(doc)
        if values is not None and k < len(values):
            out.append(values[k])
        else:
            fresh = True
            out.append(compute(text))
    if fresh or len(cached) != len(keys):
        write_parquet(pd.DataFrame({"doc_id": docs, "key": [keys[d] for d in docs], "value": out}), path)
    return out
