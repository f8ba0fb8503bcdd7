"""Tests for helpers.arrays: the garbage collector's thresholds around a block (runs of equal values: test_overlap)."""

from __future__ import annotations

import gc

import pytest

from helpers.arrays import rare_collections


def test_rare_collections_raises_the_thresholds_and_puts_them_back() -> None:
    before = gc.get_threshold()
    with rare_collections(50_000):
        assert gc.get_threshold() == (50_000, 50, 100)
    assert gc.get_threshold() == before
    with pytest.raises(ValueError), rare_collections():
        assert gc.get_threshold()[0] == 100_000
        raise ValueError("the block failed")
    assert gc.get_threshold() == before


def test_kernel_snapshot_freezes_what_the_kernel_holds() -> None:
    from helpers.report import kernel_state

    gc.unfreeze()
    try:
        kernel_state.snapshot()
        frozen = gc.get_freeze_count()
        assert frozen > 1000  # the modules imported so far (pytest, pandas, matplotlib ...)
        kernel_state.restore()  # a later section's collections leave them frozen
        assert gc.get_freeze_count() > 0.99 * frozen  # less the few the restore itself let go
    finally:
        gc.unfreeze()
        kernel_state._recorded.clear()
