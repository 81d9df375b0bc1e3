"""Ranking metrics at k over per-user recommendation lists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def ranking_metrics(recommended: Sequence[Sequence[int]], relevant: Sequence[Sequence[int]],
                    k: int, n_interests: int) -> dict:
    """Return precision, recall, NDCG, MAP and hit rate at ``k``, and catalogue coverage.

    Args:
        recommended: per user, interest indices best first (only the first ``k`` count).
        relevant: per user, the held-out interests that count as relevant.
        k: cut-off, >= 1.
        n_interests: catalogue size, for coverage.

    Definitions, per user with at least one relevant interest (users without one
    are left out of the means and counted in ``users_without_relevant``):

    * precision@k = hits / k; recall@k = hits / |relevant|; hit rate = 1 if hits > 0.
    * NDCG@k = sum over hits of 1 / log2(rank + 1), divided by the same sum for
      an ideal list of min(|relevant|, k) hits.
    * AP@k = sum over hit ranks r of precision@r, divided by min(|relevant|, k).

    Coverage is the share of the catalogue in any user's top k. Each metric is
    None when no user has a relevant interest.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if len(recommended) != len(relevant):
        raise ValueError(f"got {len(recommended)} recommendation lists but {len(relevant)} "
                         "relevant sets; pass one of each per user")

    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    sums = dict.fromkeys(("precision", "recall", "ndcg", "map", "hit_rate"), 0.0)
    evaluated = 0
    covered = set()
    for ranking, user_relevant in zip(recommended, relevant, strict=True):
        top = list(ranking)[:k]
        covered.update(top)
        relevant_set = set(user_relevant)
        if not relevant_set:
            continue

        evaluated += 1
        hits = np.array([interest in relevant_set for interest in top], dtype=bool)
        n_hits = int(hits.sum())
        sums["precision"] += n_hits / k
        sums["recall"] += n_hits / len(relevant_set)
        sums["hit_rate"] += float(n_hits > 0)
        ideal = discounts[:min(len(relevant_set), k)].sum()
        sums["ndcg"] += float(discounts[:len(top)][hits].sum() / ideal)
        precision_at_hits = np.cumsum(hits)[hits] / (np.flatnonzero(hits) + 1)
        sums["map"] += float(precision_at_hits.sum() / min(len(relevant_set), k))

    result = {f"{name}@{k}": (total / evaluated if evaluated else None)
              for name, total in sums.items()}
    result["coverage"] = len(covered) / n_interests if n_interests else None
    result["users_evaluated"] = evaluated
    result["users_without_relevant"] = len(relevant) - evaluated
    return result
