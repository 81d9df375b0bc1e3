"""Top-k selection over score vectors and batches of them, with seen interests excluded."""

from __future__ import annotations

import numpy as np
import torch


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


def interest_lists(users: np.ndarray, interests: np.ndarray, n_users: int) -> tuple[np.ndarray, np.ndarray]:
    """Group (user, interest) index pairs by user: ``(indptr, indices)`` in CSR form.

    User ``u``'s interests are ``indices[indptr[u]:indptr[u + 1]]``.
    """
    users = np.asarray(users, dtype=np.int64)
    order = np.argsort(users, kind="stable")
    counts = np.bincount(users, minlength=n_users)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return indptr, np.asarray(interests, dtype=np.int64)[order]


def top_k_lists(score_users, users: np.ndarray, k: int, exclude: tuple[np.ndarray, np.ndarray],
                batch_size: int = 1024) -> list[np.ndarray]:
    """Return each user's ``k`` best interest indices, best first, with excluded interests left out.

    Args:
        score_users: function from an array of user indices to a 2-D array of
            scores, one row per user and one column per interest.
        users: user indices to rank for.
        k: list length; shorter lists come back when the catalogue runs out.
        exclude: ``(indptr, indices)`` of the interests to leave out per user,
            as from :func:`interest_lists`.
        batch_size: users scored at once; it bounds memory and does not change results.

    Ties are broken by the lower interest index, as :func:`top_k` does.
    """
    indptr, indices = exclude
    lists: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        batch = np.asarray(users[start:start + batch_size], dtype=np.int64)
        scores = np.asarray(score_users(batch))
        if not scores.flags.writeable or scores.dtype.kind != "f":
            scores = np.array(scores, dtype=np.float64)
        counts = indptr[batch + 1] - indptr[batch]
        batch_rows = np.repeat(np.arange(len(batch)), counts)
        excluded = np.concatenate([indices[indptr[u]:indptr[u + 1]] for u in batch]) \
            if counts.sum() else np.empty(0, dtype=np.int64)
        scores[batch_rows, excluded] = -np.inf

        lists.extend(_best_first(scores, k))
    return lists


def _best_first(scores: np.ndarray, k: int) -> list[np.ndarray]:
    """Return each row's ``k`` best finite columns, best first, lower column first on ties."""
    n_rows, n_columns = scores.shape
    width = min(k, n_columns)
    if width == 0:
        return [np.empty(0, dtype=np.int64) for _ in range(n_rows)]

    if width < n_columns:
        # torch.topk is several times faster than np.argpartition here and uses every core. One
        # extra candidate shows whether a score outside the top ties with the last one inside.
        values, candidates = torch.topk(torch.from_numpy(scores), width + 1, dim=1, sorted=True)
        values, candidates = values.numpy(), candidates.numpy()
        tie_across_boundary = values[:, width - 1] == values[:, width]
        candidates = candidates[:, :width]
    else:
        candidates = np.tile(np.arange(n_columns), (n_rows, 1))
        tie_across_boundary = np.zeros(n_rows, dtype=bool)
    # Sorting the candidates by column first makes the stable sort by score break ties by column.
    candidates = np.sort(candidates, axis=1)
    candidate_scores = np.take_along_axis(scores, candidates, axis=1)
    order = np.argsort(-candidate_scores, axis=1, kind="stable")
    ranked = np.take_along_axis(candidates, order, axis=1)

    lists = []
    for row in range(n_rows):
        if tie_across_boundary[row]:
            # Columns tied with the k-th score may lie outside the candidates: rank them all.
            threshold = scores[row, ranked[row, -1]]
            chosen = np.flatnonzero(scores[row] >= threshold)
            chosen = chosen[np.lexsort((chosen, -scores[row, chosen]))][:width]
        else:
            chosen = ranked[row]
        lists.append(chosen[np.isfinite(scores[row, chosen])].astype(np.int64))
    return lists
