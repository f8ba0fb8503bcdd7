"""Incremental verbatim reuse: the corpus shingle index and the last results, kept in the build folder.

:func:`reuse_tables` returns what :func:`helpers.analysis.overlap.find_reuse` and
:func:`helpers.analysis.overlap.reuse_by_document_pair` return, and keeps in ``state_dir``:

- ``state-<token>.json`` (pointed to by ``state.json``): the parameters, and for every
  document its key (hash of its paragraph ids, texts and date) in index order;
- ``index-<token>.arrow``: every shingle of the corpus (Arrow IPC, uncompressed: written and read
  whole on every run, 30 times faster than Parquet for this), sorted by ``h``: ``doc`` (int32: position in the
  state's document list), ``p`` (int32: the paragraph's position among its document's body
  paragraphs), ``i`` (int32: token position), ``h``, ``g`` (uint64 hashes, see
  :func:`helpers.analysis.overlap.document_shingles`);
- ``passages-<token>.parquet`` and ``pairs-<token>.parquet``: the two result tables.

On the next run, documents whose key changed, new documents and removed documents are
the *changed* set. Passages between two unchanged documents depend only on their words and
on which shared shingles are too common to seed (found in more than ``max_shingle_df``
paragraphs), so they are kept, unless one of the changed documents' shingles crosses that
limit for a shingle that unchanged documents share: then, and when there is no state, the
parameters differ or more than a fifth of the documents changed, everything is recomputed.
Otherwise only the changed documents' shingles are looked up in the index, chained and
aligned. The result is the same table, byte for byte, as a full run (tested on random edits).

Files are written under fresh names and ``state.json`` is replaced last (atomically), so
an interrupted run leaves the previous state usable; older files are then removed.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather

from helpers.arrays import release_memory
from helpers.analysis.frequencies import body_only
from helpers.io import atomic_path, write_parquet, write_text
from helpers.corpus.paragraph_cache import document_keys, source_version
from helpers.analysis.overlap import (
    REUSE_COLUMNS, REUSE_PAIR_COLUMNS, SHINGLE_VERSION, _bucket_seeds, _chain, _check_reuse_params, _document_order,
    _passages, _sort_passages, corpus_shingles, cut_passage_texts, indexed_passages, reuse_by_document_pair,
    sorted_shingle_slices,
)
from helpers.parallel import Runner

#: Names the index and last tables: this module's source (the join; the shingles and chaining are named by
#: overlap.SHINGLE_VERSION), so a change in the code never reuses a state it would not have written.
STATE_VERSION = source_version(__file__, extra="3")  # 2: the index is sorted by h; 3: Arrow IPC
#: Above this share of changed documents a full join is as cheap as the incremental one.
MAX_CHANGED_SHARE = 0.2


def _params(min_words: int, shingle: int, max_gap: int, max_shingle_df: int) -> dict:
    return {"version": STATE_VERSION, "shingle_version": SHINGLE_VERSION, "min_words": min_words, "shingle": shingle,
            "max_gap": max_gap, "max_shingle_df": max_shingle_df}


def _read_state(state_dir: Path, params: dict) -> dict | None:
    """The last run's state if it exists, is readable and used the same parameters; else ``None``."""
    try:
        pointer = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
        state = json.loads((state_dir / pointer["file"]).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if state.get("params") != params or not all((state_dir / state.get(k, "")).is_file() for k in ("index", "passages", "pairs")):
        return None
    return state


def _write_index(state_dir: Path, index: dict[str, np.ndarray] | Iterable[dict[str, np.ndarray]]) -> str:
    """Write ``index`` (the index columns, or consecutive slices of them, each a record batch of one file) under a
    fresh name in ``state_dir``; returns the name, for :func:`_write_state`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    name = f"index-{uuid.uuid4().hex[:12]}.arrow"
    with atomic_path(state_dir / name) as tmp:
        # Arrow IPC file format (Feather V2), uncompressed, as feather.write_feather writes it.
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, _INDEX_SCHEMA) as writer:
            for part in ([index] if isinstance(index, dict) else index):
                writer.write_batch(pa.RecordBatch.from_arrays([part[c] for c in INDEX_COLUMNS], schema=_INDEX_SCHEMA))
    return name


def _write_state(state_dir: Path, params: dict, docs: list[str], keys: dict[str, str], index: str,
                 passages: pd.DataFrame, pairs: pd.DataFrame) -> None:
    """The state pointing at the index file ``index`` (:func:`_write_index`) and the two tables, replacing the last one."""
    state_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    files = {"index": index, "passages": f"passages-{token}.parquet", "pairs": f"pairs-{token}.parquet"}
    write_parquet(passages, state_dir / files["passages"])
    write_parquet(pairs, state_dir / files["pairs"])
    state = {"params": params, "documents": [[d, keys[d]] for d in docs], **files}
    write_text(json.dumps(state, ensure_ascii=False), state_dir / f"state-{token}.json")
    write_text(json.dumps({"file": f"state-{token}.json"}), state_dir / "state.json")
    keep = set(files.values()) | {f"state-{token}.json", "state.json"}
    for name in os.listdir(state_dir):
        if name not in keep and name.split("-", 1)[0] in ("index", "passages", "pairs", "state"):
            (state_dir / name).unlink(missing_ok=True)


def _local_positions(paras: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Per row: document code, position within the document; the documents; and a lookup
    ``row_at`` with ``row_at[start[doc] + p]`` = table row of paragraph ``p`` of ``doc``."""
    codes, docs = pd.factorize(paras["doc_id"].astype(str), sort=False)
    codes = codes.astype(np.int64)
    local = pd.Series(codes).groupby(codes).cumcount().to_numpy(dtype=np.int64)
    return codes, local, [str(d) for d in docs], np.lexsort((local, codes))


INDEX_COLUMNS = ("doc", "p", "i", "h", "g")
_INDEX_SCHEMA = pa.schema([("doc", pa.int32()), ("p", pa.int32()), ("i", pa.int32()), ("h", pa.uint64()), ("g", pa.uint64())])


def _index_arrays(shingles: pd.DataFrame, codes: np.ndarray, local: np.ndarray) -> dict[str, np.ndarray]:
    """Shingles (``para`` = table row) as index columns, sorted by ``h``."""
    parts = [_index_columns(s, codes, local) for s in sorted_shingle_slices(shingles, rows=max(len(shingles), 1))]
    return parts[0] if parts else {c: np.empty(0, dtype=_INDEX_SCHEMA.field(c).type.to_pandas_dtype()) for c in INDEX_COLUMNS}


def _index_columns(part: dict[str, np.ndarray], codes: np.ndarray, local: np.ndarray) -> dict[str, np.ndarray]:
    """A slice of shingles in ``h`` order (``para`` = table row; :func:`helpers.analysis.overlap.sorted_shingle_slices`)
    as index columns: the row becomes its document (``codes``) and its place in it (``local``)."""
    r = part["para"]
    return {"doc": codes[r].astype(np.int32), "p": local[r].astype(np.int32), "i": part["i"].astype(np.int32),
            "h": part["h"], "g": part["g"]}


def _merge_sorted(kept: dict[str, np.ndarray], fresh: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Two index column sets, each sorted by ``h``, merged into one sorted by ``h``."""
    at = np.searchsorted(kept["h"], fresh["h"], side="right")
    return {c: np.insert(kept[c], at, fresh[c]) for c in INDEX_COLUMNS}


def _ranges(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """The concatenation of ``arange(lo[k], hi[k])`` for every k."""
    n = hi - lo
    if not n.sum():
        return np.empty(0, dtype=np.int64)
    return np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(int(n.sum()))


def _read_index(path: Path) -> dict[str, np.ndarray]:
    table = feather.read_table(path, memory_map=True)  # one record batch per slice written (one array each column)
    return {c: table.column(c).to_numpy() for c in INDEX_COLUMNS}


def _paragraph_df(doc: np.ndarray, p: np.ndarray, h: np.ndarray, g: np.ndarray) -> pd.Series:
    """Paragraphs holding each shingle (h, g), as a Series indexed by (h, g)."""
    frame = pd.DataFrame({"h": h, "g": g, "doc": doc, "p": p}).drop_duplicates()
    return frame.groupby(["h", "g"], sort=False).size()


def reuse_tables(
    paragraphs: pd.DataFrame,
    min_words: int = 12,
    shingle: int = 5,
    max_gap: int = 3,
    max_shingle_df: int = 100,
    cache_dir: str | Path | None = None,
    state_dir: str | Path | None = None,
    run: Runner | None = None,
    log: Callable[[str], None] | None = None,
    spill_dir: str | Path | None = None,
    texts_cut: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(find_reuse(...), reuse_by_document_pair(...))`` of ``paragraphs``, incrementally when ``state_dir`` holds a previous run.

    Parameters are those of :func:`helpers.analysis.overlap.find_reuse`; ``state_dir`` (``None``: no
    state, a full run) keeps the index and results described in the module docstring.
    ``log`` receives one line saying whether the join was full or incremental and why.
    ``spill_dir`` (default: ``state_dir``, else the system's temporary folder) receives the seeds
    of a large full join, bucket by bucket (:func:`helpers.analysis.overlap._joined_chains`).
    ``texts_cut=False`` leaves the passages' ``text_a``/``text_b`` empty, for a caller that keeps only some
    rows and cuts their texts then (:func:`helpers.analysis.overlap.cut_passage_texts`): on a corpus
    whose speeches share much text, the texts of every passage are most of the join's memory. The state
    keeps no texts either way.
    """
    _check_reuse_params(paragraphs, min_words, shingle, max_gap, max_shingle_df)
    say = log or (lambda _line: None)
    paras = body_only(paragraphs).reset_index(drop=True)
    params = _params(min_words, shingle, max_gap, max_shingle_df)
    codes, local, docs, row_at = _local_positions(paras)
    state_path = Path(state_dir) if state_dir is not None else None
    keys = document_keys(paras, extra="date", salt="reuse") if state_path is not None else {}
    release_memory()  # hashing every document's text left its strings freed but resident
    state = _read_state(state_path, params) if state_path is not None else None
    result = None
    if state is not None:
        result = _incremental(paras, state, state_path, keys, codes, local, docs, row_at, params, cache_dir, say)
    if result is None:
        spill = spill_dir if spill_dir is not None else state_path
        index: list[str] = []

        def keep_index(slices: Iterator[dict[str, np.ndarray]]) -> None:
            # Written slice by slice while the join's shingles exist: never a sorted copy of every shingle at once.
            index.append(_write_index(state_path, (_index_columns(s, codes, local) for s in slices)))

        reuse = indexed_passages(paras, min_words, shingle, max_gap, max_shingle_df, cache_dir, run,
                                 spill_dir=Path(spill).resolve() if spill is not None else None, texts_cut=False,
                                 on_sorted=keep_index if state_path is not None else None)
        pairs = reuse_by_document_pair(reuse, paras)
        if state_path is not None:
            _write_state(state_path, params, docs, keys, index[0], reuse, pairs)
        result = (reuse, pairs)
    if texts_cut:
        result = (cut_passage_texts(result[0], paras), result[1])
    return result


def _incremental(paras: pd.DataFrame, state: dict, state_dir: Path, keys: dict[str, str], codes: np.ndarray,
                 local: np.ndarray, docs: list[str], row_at: np.ndarray, params: dict,
                 cache_dir: str | Path | None, say: Callable[[str], None]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """The incremental join, or ``None`` when a full one is needed (see the module docstring)."""
    old_docs = [d for d, _ in state["documents"]]
    old_keys = dict(map(tuple, state["documents"]))
    changed = {d for d in docs if old_keys.get(d) != keys[d]}
    removed = set(old_docs) - set(docs)
    gone = changed | removed
    if len(gone) > MAX_CHANGED_SHARE * max(len(docs), 1):
        say(f"reuse: {len(gone)} of {len(docs)} documents changed; full join")
        return None
    shingle, max_df, max_gap, min_words = params["shingle"], params["max_shingle_df"], params["max_gap"], params["min_words"]
    old_index = _read_index(state_dir / state["index"])
    reuse_old = pd.read_parquet(state_dir / state["passages"]).assign(text_a="", text_b="")  # an older state kept texts
    pairs_old = pd.read_parquet(state_dir / state["pairs"])
    position = {d: k for k, d in enumerate(docs)}
    changed_codes = np.array(sorted(position[d] for d in changed), dtype=np.int64)
    # Old index -> current document codes; rows of changed or removed documents go.
    remap = np.array([position.get(d, -1) if d not in gone else -1 for d in old_docs], dtype=np.int64)
    new_code = remap[old_index["doc"].astype(np.int64)] if len(old_index["doc"]) else np.empty(0, dtype=np.int64)
    stay = new_code >= 0
    # The changed documents' shingles now (from the per-document shingle cache).
    sub_rows = np.flatnonzero(np.isin(codes, changed_codes)) if changed else np.empty(0, dtype=np.int64)
    sub = paras.iloc[sub_rows].reset_index(drop=True)
    fresh = corpus_shingles(sub, shingle, cache_dir=cache_dir) if len(sub) else pd.DataFrame(
        {"para": np.empty(0, np.int64), "i": np.empty(0, np.int64), "h": np.empty(0, np.uint64), "g": np.empty(0, np.uint64)})
    fresh_index = _index_arrays(fresh.assign(para=sub_rows[fresh["para"].to_numpy(dtype=np.int64)]), codes, local)

    # Only shingle groups touched by a changed document can change; each is taken whole (the
    # index is sorted by h, so a group's rows are one range).
    h_old = old_index["h"]
    touched_h = np.unique(np.concatenate([h_old[~stay], fresh_index["h"]]))
    old_rows = _ranges(np.searchsorted(h_old, touched_h, "left"), np.searchsorted(h_old, touched_h, "right"))
    old_part = {c: v[old_rows] for c, v in old_index.items()}
    kept_rows = old_rows[stay[old_rows]]
    new_part = {c: np.concatenate([(new_code[kept_rows] if c == "doc" else old_index[c][kept_rows]).astype(fresh_index[c].dtype),
                                   fresh_index[c]]) for c in INDEX_COLUMNS}
    df_old = _paragraph_df(*(old_part[c] for c in ("doc", "p", "h", "g")))
    df_new = _paragraph_df(*(new_part[c] for c in ("doc", "p", "h", "g")))
    both = pd.concat([df_old.rename("old"), df_new.rename("new")], axis=1).fillna(0)
    crossed = both[(both["old"] <= max_df) != (both["new"] <= max_df)]
    if len(crossed):
        unchanged = ~np.isin(new_part["doc"], changed_codes)
        df_unchanged = _paragraph_df(*(new_part[c][unchanged] for c in ("doc", "p", "h", "g")))
        shared = df_unchanged.reindex(crossed.index).fillna(0) >= 2
        if shared.any():
            say(f"reuse: {int(shared.sum())} shingles shared by unchanged documents crossed max_shingle_df; full join")
            return None

    # Seeds of the touched groups, kept only where a changed document is one side.
    order = {d: k for k, d in enumerate(_document_order(paras))}
    doc_rank_of_code = np.array([order[d] for d in docs], dtype=np.int64)
    start = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(docs)))][:-1]
    part_doc = new_part["doc"].astype(np.int64)
    rows = row_at[start[part_doc] + new_part["p"].astype(np.int64)]
    seeds = _bucket_seeds(rows, new_part["i"].astype(np.int64), new_part["h"], new_part["g"], doc_rank_of_code[part_doc], max_df)
    is_changed = np.isin(codes, changed_codes)
    seeds = seeds[is_changed[seeds["pa"].to_numpy()] | is_changed[seeds["pb"].to_numpy()]].reset_index(drop=True)
    fresh_reuse = _passages(paras, _chain(seeds, shingle, max_gap, min_words), min_words, texts_cut=False)

    keep_old = ~(reuse_old["doc_a"].isin(gone) | reuse_old["doc_b"].isin(gone))
    reuse = _combine([reuse_old[keep_old], fresh_reuse], REUSE_COLUMNS)
    if len(reuse):
        reuse = _sort_passages(reuse, paras["para_id"].astype(str).to_numpy())
    involved = set(fresh_reuse["doc_a"]) | set(fresh_reuse["doc_b"])
    fresh_pairs = reuse_by_document_pair(fresh_reuse, paras[paras["doc_id"].astype(str).isin(involved)])
    keep_pairs = ~(pairs_old["doc_a"].isin(gone) | pairs_old["doc_b"].isin(gone))
    pairs = _combine([pairs_old[keep_pairs], fresh_pairs], REUSE_PAIR_COLUMNS)
    if len(pairs):
        pairs = pairs.sort_values(["doc_a", "doc_b"], kind="mergesort").reset_index(drop=True)
    say(f"reuse: {len(changed)} changed and {len(removed)} removed of {len(docs)} documents; incremental join")
    if gone or docs != old_docs:
        kept = {c: (new_code[stay] if c == "doc" else v[stay]).astype(fresh_index[c].dtype) for c, v in old_index.items()}
        _write_state(state_dir, params, docs, keys, _write_index(state_dir, _merge_sorted(kept, fresh_index)), reuse, pairs)
    return reuse, pairs


def _combine(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    """Concatenate the non-empty frames (an empty one would turn integer columns into objects)."""
    full = [f for f in frames if len(f)]
    if not full:
        return frames[-1][columns].reset_index(drop=True) if frames[-1].columns.tolist() == columns else pd.DataFrame(columns=columns)
    return pd.concat(full, ignore_index=True)[columns]
