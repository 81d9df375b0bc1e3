"""Tests of batched top-k lists, ranking evaluation, the bias-only baseline and the evaluation report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.evaluation import (
    BiasOnly,
    evaluate,
    evaluate_ranking,
    interest_lists,
    popularity_scores,
    top_k_lists,
)
from adrec.recommendation.ranking import top_k
from conftest import two_group_frame


def test_interest_lists_groups_by_user():
    indptr, indices = interest_lists(np.array([2, 0, 2, 0]), np.array([5, 1, 3, 4]), n_users=4)

    assert indptr.tolist() == [0, 2, 2, 4, 4]
    assert indices[0:2].tolist() == [1, 4]
    assert indices[2:4].tolist() == [5, 3]


def test_top_k_lists_match_single_user_top_k():
    scores = np.random.default_rng(0).normal(size=(7, 30)).round(1)  # rounding makes ties
    users = np.arange(7)
    seen_users = np.array([0, 0, 3, 6, 6, 6])
    seen_interests = np.array([4, 9, 0, 1, 2, 3])
    exclude = interest_lists(seen_users, seen_interests, 7)

    lists = top_k_lists(lambda batch: scores[batch], users, 5, exclude, batch_size=3)

    for user in users:
        seen = seen_interests[seen_users == user]
        assert lists[user].tolist() == top_k(scores[user], 5, seen).tolist()


def test_top_k_lists_short_when_catalogue_runs_out():
    scores = np.array([[0.1, 0.5, 0.3]])
    exclude = interest_lists(np.array([0, 0]), np.array([1, 2]), 1)

    lists = top_k_lists(lambda batch: scores[batch], np.array([0]), 10, exclude)

    assert lists[0].tolist() == [0]


def test_evaluate_ranking_hand_computed():
    # Two users, four interests. User 0 trained on 0, relevant 2; user 1 trained on 3,
    # relevant 1 and 2. Scores rank 3 > 2 > 1 > 0 for everyone.
    scores = np.array([0.0, 1.0, 2.0, 3.0])
    train = (np.array([0, 1]), np.array([0, 3]))
    test = (np.array([0, 1, 1]), np.array([2, 1, 2]))

    result = evaluate_ranking(lambda users: np.tile(scores, (len(users), 1)), train, test, 2, 4,
                              ks=(1, 2))

    # User 0 gets [3, 2]: miss then hit. User 1 gets [2, 1]: two hits.
    assert result["precision@1"] == pytest.approx((0 + 1) / 2)
    assert result["recall@2"] == pytest.approx((1 / 1 + 2 / 2) / 2)
    ndcg_user0 = (1 / np.log2(3)) / 1.0
    assert result["ndcg@2"] == pytest.approx((ndcg_user0 + 1.0) / 2)
    assert result["coverage@2"] == pytest.approx(3 / 4)
    assert result["users_evaluated"] == 2


def test_evaluate_ranking_no_relevant_users():
    result = evaluate_ranking(lambda users: np.zeros((len(users), 3)), (np.array([0]), np.array([0])),
                              (np.array([], dtype=np.int64), np.array([], dtype=np.int64)), 1, 3,
                              ks=(10,))

    assert result["ndcg@10"] is None
    assert result["users_evaluated"] == 0


def test_evaluate_ranking_independent_of_batch_size():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(50, 40))
    train = (rng.integers(0, 50, 300), rng.integers(0, 40, 300))
    test = (rng.integers(0, 50, 100), rng.integers(0, 40, 100))

    results = [evaluate_ranking(lambda users: scores[users], train, test, 50, 40, batch_size=size)
               for size in (1, 7, 1000)]

    assert results[0] == results[1] == results[2]


def test_bias_only_matches_hand_computed_means():
    # With no shrinkage and one pass, interest biases are residual means after the
    # global mean, and user biases the means of what remains.
    users = np.array([0, 0, 1, 1])
    interests = np.array([0, 1, 0, 1])
    targets = np.array([5.0, 3.0, 3.0, 1.0])

    bias = BiasOnly(user_l2=0.0, interest_l2=0.0, iterations=1).fit(users, interests, targets, 2, 2)

    assert bias.mean == pytest.approx(3.0)
    assert bias.interest_bias.tolist() == pytest.approx([1.0, -1.0])
    assert bias.user_bias.tolist() == pytest.approx([1.0, -1.0])
    assert bias.predict(users, interests).tolist() == pytest.approx([5.0, 3.0, 3.0, 1.0])


def test_popularity_counts_rows():
    assert popularity_scores(np.array([2, 2, 0]), 4).tolist() == [1.0, 0.0, 2.0, 0.0]


@pytest.fixture(scope="module")
def fitted_split():
    data = adrec.InteractionData.from_frame(two_group_frame(users_per_group=30))
    train, test, report = adrec.data.split_data(data, "leave-n-out", n=2, seed=0)
    recommender = adrec.Recommender(adrec.ModelConfig(dim=8),
                                    adrec.TrainConfig(epochs=100, learning_rate=0.05, seed=1)
                                    ).fit(train, progress=False)
    return recommender, train, test


def test_evaluate_report_has_model_and_baselines(fitted_split):
    recommender, _, test = fitted_split

    report = evaluate(recommender, test, ks=(5,))

    models = [row["model"] for row in report.rows]
    assert models == ["adrec", "global mean", "bias only", "most popular"]
    assert report.model_row["rmse"] < report.rows[1]["rmse"]
    assert report.counts["test_rows"] == len(test)
    assert report.counts["unknown_rows"] == 0
    assert any("global mean on RMSE" in verdict for verdict in report.verdicts)
    json.dumps(report.to_dict())
    assert list(report.to_frame().columns[:3]) == ["model", "rmse", "mae"]


def test_evaluate_counts_unknown_rows(fitted_split):
    recommender, _, test = fitted_split
    extra = pd.DataFrame({"user_id": ["stranger", "0000"], "interest_id": ["a00", "new"],
                          "frequency": [3.0, 2.0]})
    frame = pd.concat([test.to_frame(), extra], ignore_index=True)

    report = evaluate(recommender, adrec.InteractionData.from_frame(frame))

    assert report.counts["unknown_rows"] == 2
    assert report.counts["unknown_users"] == 1
    assert report.counts["unknown_interests"] == 1
    assert report.counts["scored_rows"] == len(test)


def test_evaluate_excludes_training_interests(fitted_split):
    recommender, train, _ = fitted_split
    # Held-out rows that repeat training pairs can never be recommended, so they never count as hits.
    repeated = train.to_frame().head(30)

    report = evaluate(recommender, adrec.InteractionData.from_frame(repeated), ks=(10,))

    assert report.model_row["ndcg@10"] == 0.0
    assert report.model_row["recall@10"] == 0.0


def test_evaluate_relevant_min_filters(fitted_split):
    recommender, _, test = fitted_split

    everything = evaluate(recommender, test, ks=(5,))
    strict = evaluate(recommender, test, ks=(5,), relevant_min=6.0)

    assert strict.counts["relevant_rows"] < everything.counts["relevant_rows"]
    assert strict.counts["relevant_rows"] == int((test.frequency >= 6.0).sum())


def test_evaluate_says_when_model_loses(fitted_split):
    _, train, test = fitted_split
    # One epoch with a tiny learning rate leaves the embeddings random: no better than bias only.
    weak = adrec.Recommender(adrec.ModelConfig(dim=8, use_bias=False),
                             adrec.TrainConfig(epochs=1, learning_rate=1e-6, refit=False)
                             ).fit(train, progress=False)

    report = evaluate(weak, test, ks=(5,))

    assert any(verdict.startswith("adrec does NOT beat bias only on RMSE")
               for verdict in report.verdicts)


def test_evaluate_log1p_model_reports_both_scales(fitted_split):
    _, train, test = fitted_split
    logged = adrec.Recommender(adrec.ModelConfig(dim=8),
                               adrec.TrainConfig(epochs=20, learning_rate=0.05,
                                                 target_transform="log1p")).fit(train, progress=False)

    report = evaluate(logged, test, ks=(5,))

    for row in report.rows[:3]:
        assert row["rmse_log1p"] is not None
        assert row["mae_log1p"] <= row["rmse_log1p"] + 1e-12
    assert list(report.to_frame().columns[:5]) == ["model", "rmse", "mae", "rmse_log1p", "mae_log1p"]


def test_evaluate_notes_nothing_scored(fitted_split):
    recommender, _, _ = fitted_split
    strangers = pd.DataFrame({"user_id": ["x1", "x2"], "interest_id": ["a00", "q"],
                              "frequency": [1.0, 2.0]})

    report = evaluate(recommender, adrec.InteractionData.from_frame(strangers))

    assert report.counts["scored_rows"] == 0
    assert any("nothing could be scored" in note for note in report.notes)


def test_evaluate_notes_no_relevant_rows(fitted_split):
    recommender, _, test = fitted_split

    report = evaluate(recommender, test, relevant_min=1000.0)

    assert report.counts["users_ranked"] == 0
    assert any("frequency >= 1000.0" in note for note in report.notes)
    assert report.model_row["coverage@10"] is None


def test_evaluate_ranking_model_has_no_rating_baselines(fitted_split):
    _, train, test = fitted_split
    ranking = adrec.Recommender(adrec.ModelConfig(dim=8),
                                adrec.TrainConfig(objective="ials", epochs=5)).fit(train, progress=False)

    report = evaluate(ranking, test, ks=(5,))

    assert [row["model"] for row in report.rows] == ["adrec", "most popular"]
    assert any("ranking scores" in note for note in report.notes)
