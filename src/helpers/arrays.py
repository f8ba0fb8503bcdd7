"""Helpers shared by the analysis modules: runs of equal values in sorted (or grouped) NumPy arrays, and the process's memory and garbage collection."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


def run_starts(values: np.ndarray) -> np.ndarray:
    """Index of the first element of each run of equal consecutive ``values`` (empty for an empty array)."""
    if not len(values):
        return np.empty(0, dtype=np.int64)
    return np.flatnonzero(np.r_[True, values[1:] != values[:-1]])


def positions_in_runs(starts: np.ndarray, n: int) -> np.ndarray:
    """0-based position of each of ``n`` elements within its run, the runs starting at ``starts`` (:func:`run_starts`)."""
    return np.arange(n) - np.repeat(starts, np.diff(np.r_[starts, n]))


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of an integer array and how often each occurs.

    ``np.unique`` gives the same, but NumPy 2's hash-based path for integers takes ten times as
    long on millions of values as this sort.
    """
    ordered = np.sort(values)
    starts = run_starts(ordered)
    return ordered[starts], np.diff(np.r_[starts, len(ordered)]).astype(np.int64)


def release_memory() -> None:
    """Hand memory the process has freed back to the system (output-neutral; a no-op where unsupported).

    After a large computation glibc's allocator keeps the freed heap (hundreds of thousands of
    small arrays and strings leave it fragmented) and Arrow's pool keeps freed blocks: on the
    complete UNGDC corpus a process that had finished the reuse join still held 1.2 GB more than
    before it. ``malloc_trim(0)`` returns glibc's free pages, ``release_unused`` Arrow's.
    """
    import ctypes
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to trim
            pass
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except (ImportError, AttributeError):
        pass


@contextmanager
def rare_collections(threshold: int = 100_000) -> Iterator[None]:
    """Run the block with Python's cyclic garbage collector started after ``threshold`` new objects instead of 700
    (its older generations 50 and 100 times rarer too), then put the thresholds back.

    For a library building hundreds of thousands of small objects that live until it returns (WeasyPrint's boxes while
    it lays out the briefing): each collection scans them all again and frees nothing; 0.7 of the PDF's 6 s on the
    UN General Debate slice. Memory is unchanged: what they hold is freed by reference counting as before.
    """
    import gc

    previous = gc.get_threshold()
    gc.set_threshold(threshold, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
