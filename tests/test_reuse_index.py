"""Tests for helpers.analysis.reuse_index: an incremental reuse join gives exactly the tables of a full one."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest

from helpers.analysis.overlap import find_reuse, reuse_by_document_pair
from helpers.analysis import overlap, reuse_index
from helpers.analysis.reuse_index import reuse_tables
from test_overlap import paras


def corpus(rng: random.Random, n_docs: int = 8, per_doc: int = 5, vocab: int = 9) -> list[tuple[str, str, str, str]]:
    """(doc_id, organization, date, text) rows over a small vocabulary, with planted copies across documents."""
    words = [f"w{i}" for i in range(vocab)]
    rows = []
    for d in range(n_docs):
        for _ in range(per_doc):
            rows.append([f"d{d}", "O", f"2024-01-{1 + d % 5:02d}", [rng.choice(words) for _ in range(rng.randint(5, 40))]])
    for _ in range(10):
        src, dst = rng.sample(range(len(rows)), 2)
        s = rng.randint(0, max(0, len(rows[src][3]) - 16))
        rows[dst][3][rng.randint(0, len(rows[dst][3])):0] = rows[src][3][s:s + 16]
    return [(d, o, date, " ".join(t) + ".") for d, o, date, t in rows]


def edit(rng: random.Random, rows: list[tuple[str, str, str, str]]) -> list[tuple[str, str, str, str]]:
    """One random change: a copied passage, a dropped paragraph, a new or removed document, a new date."""
    rows = list(rows)
    docs = sorted({r[0] for r in rows})
    kind = rng.choice(["copy", "drop", "add", "remove", "date"])
    target = rng.choice(docs)
    idx = [k for k, r in enumerate(rows) if r[0] == target]
    if kind == "copy":
        src = rng.choice([r for r in rows if r[0] != target])[3].split()
        k = rng.choice(idx)
        s = rng.randint(0, max(0, len(src) - 14))
        rows[k] = rows[k][:3] + (rows[k][3].rstrip(".") + " " + " ".join(src[s:s + 14]) + ".",)
    elif kind == "drop" and len(idx) > 1:
        del rows[rng.choice(idx)]
    elif kind == "add":
        new = f"n{rng.randint(0, 10**6)}"
        rows += [(new, "O", "2024-01-03", " ".join(rng.choice(rows)[3].split()[:20]) + " w1 w2.") for _ in range(2)]
    elif kind == "remove" and len(docs) > 3:
        rows = [r for r in rows if r[0] != target]
    else:
        rows = [(d, o, "2024-02-01" if d == target else date, t) for d, o, date, t in rows]
    return rows


def full(p: pd.DataFrame, **kw: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    reuse = find_reuse(p, **kw)
    return reuse, reuse_by_document_pair(reuse, p)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("max_df", [100, 3])
def test_incremental_join_equals_a_full_join_after_random_edits(tmp_path: Path, seed: int, max_df: int,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    if seed % 2:  # the index file of a full join written in many record batches reads back the same
        monkeypatch.setattr(overlap, "SORTED_SLICE_ROWS", 7)
    rng = random.Random(seed)
    rows = corpus(rng)
    kw = {"min_words": 8, "shingle": 4, "max_gap": 2, "max_shingle_df": max_df}
    lines: list[str] = []
    reuse_tables(paras(rows), cache_dir=tmp_path / "shingles", state_dir=tmp_path / "reuse", log=lines.append, **kw)
    for _ in range(6):
        rows = edit(rng, rows)
        p = paras(rows)
        reuse, pairs = reuse_tables(p, cache_dir=tmp_path / "shingles", state_dir=tmp_path / "reuse", log=lines.append, **kw)
        want_reuse, want_pairs = full(p, **kw)
        pd.testing.assert_frame_equal(reuse, want_reuse, check_dtype=False)
        pd.testing.assert_frame_equal(pairs, want_pairs, check_dtype=False)
        assert reuse.to_csv(index=False) == want_reuse.to_csv(index=False)
        assert pairs.to_csv(index=False) == want_pairs.to_csv(index=False)
    assert any("incremental" in line for line in lines)  # the incremental path did run
    if max_df == 100:
        assert len(reuse) > 0


def test_a_shingle_crossing_the_boilerplate_limit_forces_a_full_join(tmp_path: Path) -> None:
    phrase = "in accordance with the purposes and principles of the charter of the united nations"
    rows = [(f"d{i}", "O", f"2024-01-{i + 1:02d}", f"Point {i}: {phrase}.") for i in range(3)]
    rows.append(("d3", "O", "2024-01-04", "Nothing in common here at all."))
    kw = {"max_shingle_df": 3}
    lines: list[str] = []
    first, _ = reuse_tables(paras(rows), state_dir=tmp_path, log=lines.append, **kw)
    assert len(first) == 3  # three documents share the 14-word phrase: 3 pairs
    rows[3] = ("d3", "O", "2024-01-04", f"Point 3: {phrase}.")  # now in 4 paragraphs > 3: boilerplate
    reuse, pairs = reuse_tables(paras(rows), state_dir=tmp_path, log=lines.append, **kw)
    assert "full join" in lines[-1] and reuse.empty and pairs.empty
    rows[3] = ("d3", "O", "2024-01-04", "Nothing in common here at all.")  # back under the limit
    reuse, _ = reuse_tables(paras(rows), state_dir=tmp_path, log=lines.append, **kw)
    assert "full join" in lines[-1]
    pd.testing.assert_frame_equal(reuse, first)


def test_state_files_are_replaced_not_accumulated(tmp_path: Path) -> None:
    rng = random.Random(1)
    rows = corpus(rng)
    for _ in range(3):
        reuse_tables(paras(rows), state_dir=tmp_path)
        rows = edit(rng, rows)
    names = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
    assert names == ["index", "pairs", "passages", "state", "state.json"]
    pointer = json.loads((tmp_path / "state.json").read_text())
    assert (tmp_path / pointer["file"]).is_file()


def test_a_damaged_state_is_ignored(tmp_path: Path) -> None:
    rows = corpus(random.Random(2))
    p = paras(rows)
    reuse_tables(p, state_dir=tmp_path)
    (tmp_path / "state.json").write_text("{not json")
    lines: list[str] = []
    reuse, pairs = reuse_tables(p, state_dir=tmp_path, log=lines.append)
    want = full(p)
    pd.testing.assert_frame_equal(reuse, want[0], check_dtype=False)
    assert not lines  # no state: a plain full join, nothing to report


def test_the_shingle_cache_and_index_are_named_after_the_tokenisers_source(tmp_path: Path) -> None:
    """A change to how words are cut (helpers.corpus.text: fold, WORD_RE) or hashed (overlap) re-shingles every
    document: the cached shingles and the index carry the hash of both sources, not a constant."""
    import helpers.analysis.overlap as overlap
    import helpers.corpus.text as text
    from helpers.corpus.paragraph_cache import source_version

    assert overlap.SHINGLE_VERSION == source_version(overlap.__file__, text.__file__, extra="1")
    frame = paras(corpus(random.Random(3)))
    reuse_tables(frame, min_words=8, cache_dir=tmp_path / "shingles", state_dir=tmp_path / "reuse")
    state = json.loads(next((tmp_path / "reuse").glob("state-*.json")).read_text())
    assert state["params"]["shingle_version"] == overlap.SHINGLE_VERSION
