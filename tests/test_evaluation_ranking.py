"""Ranking metrics against hand-computed values, empty and degenerate cases included."""

from __future__ import annotations

import math

import pytest

from adrec.evaluation.ranking import ranking_metrics


def test_single_user_hand_computed():
    # Hits at ranks 1 and 3 of 4; three relevant interests.
    result = ranking_metrics([[5, 1, 7, 2]], [[5, 7, 9]], k=4, n_interests=10)

    assert result["precision@4"] == pytest.approx(2 / 4)
    assert result["recall@4"] == pytest.approx(2 / 3)
    assert result["hit_rate@4"] == 1.0
    dcg = 1 / math.log2(2) + 1 / math.log2(4)
    ideal = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert result["ndcg@4"] == pytest.approx(dcg / ideal)
    assert result["map@4"] == pytest.approx((1 / 1 + 2 / 3) / 3)
    assert result["coverage"] == pytest.approx(4 / 10)


def test_means_over_users():
    result = ranking_metrics([[0, 1], [2, 3]], [[0], [4]], k=2, n_interests=5)

    assert result["precision@2"] == pytest.approx((1 / 2 + 0) / 2)
    assert result["recall@2"] == pytest.approx((1 + 0) / 2)
    assert result["hit_rate@2"] == pytest.approx(0.5)
    assert result["ndcg@2"] == pytest.approx(0.5)
    assert result["coverage"] == pytest.approx(4 / 5)


def test_perfect_ranking_scores_one():
    result = ranking_metrics([[3, 1]], [[1, 3]], k=2, n_interests=4)

    assert result["ndcg@2"] == pytest.approx(1.0)
    assert result["map@2"] == pytest.approx(1.0)
    assert result["precision@2"] == pytest.approx(1.0)


def test_ideal_dcg_uses_at_most_k_relevant():
    # Five relevant interests but k = 2: a list of two hits is ideal.
    result = ranking_metrics([[0, 1]], [[0, 1, 2, 3, 4]], k=2, n_interests=5)

    assert result["ndcg@2"] == pytest.approx(1.0)
    assert result["recall@2"] == pytest.approx(2 / 5)


def test_users_without_relevant_are_left_out():
    result = ranking_metrics([[0], [1]], [[0], []], k=1, n_interests=2)

    assert result["users_evaluated"] == 1
    assert result["users_without_relevant"] == 1
    assert result["precision@1"] == pytest.approx(1.0)


def test_no_relevant_at_all_gives_none():
    result = ranking_metrics([[0]], [[]], k=1, n_interests=3)

    assert result["ndcg@1"] is None
    assert result["coverage"] == pytest.approx(1 / 3)


def test_no_lists_gives_no_coverage():
    result = ranking_metrics([], [], k=5, n_interests=3)

    assert result["coverage"] is None
    assert result["users_evaluated"] == 0


def test_short_list_counts_against_precision():
    result = ranking_metrics([[0]], [[0]], k=3, n_interests=3)

    assert result["precision@3"] == pytest.approx(1 / 3)
    assert result["ndcg@3"] == pytest.approx(1.0)


def test_only_first_k_count():
    result = ranking_metrics([[9, 8, 0]], [[0]], k=2, n_interests=10)

    assert result["hit_rate@2"] == 0.0
    assert result["coverage"] == pytest.approx(2 / 10)


def test_results_do_not_depend_on_user_batches():
    rankings = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [0, 2, 1]]
    relevant = [[0], [1, 2], [2], [1]]
    whole = ranking_metrics(rankings, relevant, k=2, n_interests=3)
    first = ranking_metrics(rankings[:2], relevant[:2], k=2, n_interests=3)
    second = ranking_metrics(rankings[2:], relevant[2:], k=2, n_interests=3)

    assert whole["ndcg@2"] == pytest.approx((first["ndcg@2"] + second["ndcg@2"]) / 2)


@pytest.mark.parametrize("k", [0, -1])
def test_invalid_k_raises(k):
    with pytest.raises(ValueError, match="k must be"):
        ranking_metrics([[0]], [[0]], k=k, n_interests=1)


def test_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="one of each per user"):
        ranking_metrics([[0]], [[0], [1]], k=1, n_interests=2)
