"""Top-k selection over a score vector, with seen interests excluded."""

from __future__ import annotations

import numpy as np


def top_k(scores: np.ndarray, k: int, exclude: np.ndarray | None = None) -> np.ndarray:
    """Return the indices of the ``k`` highest scores, best first.

    Ties are broken by the lower index, so the order is deterministic. Excluded
    indices never appear; when fewer than ``k`` remain, all of them are returned.

    Args:
        scores: 1-D array of scores.
        k: number of indices wanted (>= 0).
        exclude: indices to leave out, such as the interests a user engaged with.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if exclude is not None and len(exclude):
        scores = scores.copy()
        scores[exclude] = -np.inf
        available = len(scores) - len(np.unique(exclude))
    else:
        available = len(scores)
    k = min(k, available)
    if k <= 0:
        return np.empty(0, dtype=np.int64)

    if k < len(scores):
        # Take every index tied with the k-th score so tie-breaking by index is exact.
        threshold = np.partition(scores, len(scores) - k)[len(scores) - k]
        candidates = np.flatnonzero(scores >= threshold)
    else:
        candidates = np.arange(len(scores))
    # Excluded interests carry -inf, so they sort last and fall beyond k.
    order = np.lexsort((candidates, -scores[candidates]))
    return candidates[order][:k].astype(np.int64)
