"""NumPy helpers shared by the analysis modules."""

from __future__ import annotations

import numpy as np


def unique_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The sorted distinct values of an integer array and how often each occurs.

    ``np.unique`` gives the same, but NumPy 2's hash-based path for integers takes ten times as
    long on millions of values as this sort.
    """
    ordered = np.sort(values)
    if not len(ordered):
        return ordered, np.empty(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    return ordered[starts], np.diff(np.r_[starts, len(ordered)])
