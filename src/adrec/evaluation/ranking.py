"""Ranking metrics at k over per-user recommendation lists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from adrec.recommendation.ranking import interest_lists, top_k_lists


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

    Coverage is the share of the catalogue in any user's top k, None when there
    are no lists. Each other metric is None when no user has a relevant interest.
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
    # With no list at all, coverage was not measured; 0 would read as a measured result.
    result["coverage"] = len(covered) / n_interests if n_interests and len(recommended) else None
    result["users_evaluated"] = evaluated
    result["users_without_relevant"] = len(relevant) - evaluated
    return result


def evaluate_ranking(score_users, train: tuple[np.ndarray, np.ndarray],
                     test: tuple[np.ndarray, np.ndarray], n_users: int, n_interests: int,
                     ks: tuple[int, ...] = (10, 20), batch_size: int = 1024,
                     max_users: int | None = None, seed: int = 0) -> dict:
    """Rank every interest for each test user, training interests excluded, and score the lists.

    Args:
        score_users: function from user indices to a 2-D score array (see :func:`top_k_lists`).
        train: ``(users, interests)`` index arrays of the rows the model learned from.
        test: ``(users, interests)`` of the held-out rows that count as relevant.
        n_users: number of users in the model's vocabulary.
        n_interests: catalogue size.
        ks: cut-offs; the result contains every metric of :func:`ranking_metrics` at each.
        batch_size: users scored at once; results do not depend on it.
        max_users: evaluate a seeded random sample of this many test users (None: all).
        seed: seed of that sample.

    Returns:
        ``{"ndcg@10": ..., "recall@20": ..., "coverage@10": ..., "users_evaluated": ...}``.
    """
    test_indptr, test_indices = interest_lists(test[0], test[1], n_users)
    users = np.flatnonzero(np.diff(test_indptr) > 0)
    if max_users is not None and len(users) > max_users:
        users = np.sort(np.random.default_rng(seed).choice(users, max_users, replace=False))
    exclude = interest_lists(train[0], train[1], n_users)
    lists = top_k_lists(score_users, users, max(ks), exclude, batch_size)
    relevant = [test_indices[test_indptr[u]:test_indptr[u + 1]] for u in users]

    result: dict = {}
    for k in ks:
        metrics = ranking_metrics([ranked[:k] for ranked in lists], relevant, k, n_interests)
        metrics[f"coverage@{k}"] = metrics.pop("coverage")
        result.update(metrics)
    return result
