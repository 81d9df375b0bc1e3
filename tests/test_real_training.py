"""Training on the real datasets through the Python API: accuracy bands and named recommendations."""

from __future__ import annotations

import pytest

import adrec
from adrec.data import random_split, split_data
from adrec.evaluation import evaluate, rating_errors

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


def test_movielens_default_model_reaches_target_rmse(movielens_path):
    data = adrec.load_data(movielens_path)
    train_rows, test_rows = random_split(len(data), 0.1, seed=0)
    recommender = adrec.Recommender().fit(data.take(train_rows), progress=False)
    errors = rating_errors(recommender, data.take(test_rows))
    assert errors["rmse"] <= 0.93
    assert errors["unknown_rows"] < 0.01 * errors["rows"]
    assert recommender.metrics["validation_rmse"] < recommender.metrics["baseline_global_mean_rmse"]


def test_movielens_recommendations_are_unrated_titles(movielens_path):
    data = adrec.load_data(movielens_path)
    recommender = adrec.Recommender(train_config=adrec.TrainConfig(epochs=10)).fit(
        data, progress=False)
    rated = set(data.to_frame().query("user_id == '1'")["interest_id"])
    result = recommender.recommend("1", k=20)
    assert len(result) == 20
    assert not set(result["interest_id"]) & rated
    assert result["name"].str.contains(r"\(\d{4}\)").all()
    assert result["predicted_frequency"].between(1, 5).all()


def test_lastfm_log1p_model_beats_baseline(lastfm_path):
    data = adrec.load_data(lastfm_path)
    training = adrec.TrainConfig(target_transform="log1p")
    recommender = adrec.Recommender(train_config=training).fit(data, progress=False)
    metrics = recommender.metrics
    assert metrics["validation_rmse_target"] < 0.9 * metrics["baseline_global_mean_rmse_target"]

    listened = set(data.to_frame().query("user_id == '2'")["interest_id"])
    result = recommender.recommend("2", k=10)
    assert len(result) == 10
    assert not set(result["interest_id"]) & listened
    assert (result["name"].str.len() > 0).all()
    assert (result["predicted_frequency"] >= 1).all()


def test_movielens_default_rmse_beats_bias_only(movielens_path):
    data = adrec.load_data(movielens_path)
    train, test, _ = split_data(data, "random", test_fraction=0.1, seed=0)

    report = evaluate(adrec.Recommender().fit(train, progress=False), test, ks=(10,))

    bias_only = next(row for row in report.rows if row["model"] == "bias only")
    # Seed 0 scores 0.891 on this machine; the bound leaves room for other BLAS builds.
    assert report.model_row["rmse"] <= 0.900
    assert report.model_row["rmse"] < bias_only["rmse"] - 0.02


def test_movielens_ials_ranks_far_above_popular(movielens_path):
    data = adrec.load_data(movielens_path)
    train, test, _ = split_data(data, "random", test_fraction=0.1, seed=0)
    ranking = adrec.TrainConfig(objective="ials")

    report = evaluate(adrec.Recommender(train_config=ranking).fit(train, progress=False), test,
                      ks=(10,), relevant_min=4)

    popular = next(row for row in report.rows if row["model"] == "most popular")
    assert report.model_row["ndcg@10"] >= 0.25
    assert report.model_row["ndcg@10"] > popular["ndcg@10"] + 0.1


def test_lastfm_ials_per_user_holdout(lastfm_path):
    data = adrec.load_data(lastfm_path)
    train, test, split = split_data(data, "leave-n-out", test_fraction=0.2, seed=0)
    ranking = adrec.TrainConfig(objective="ials", target_transform="log1p")

    recommender = adrec.Recommender(train_config=ranking).fit(train, progress=False)
    report = evaluate(recommender, test, ks=(10, 20))

    assert split.cold_users == 0
    popular = next(row for row in report.rows if row["model"] == "most popular")
    assert report.model_row["ndcg@10"] >= 0.22
    assert report.model_row["recall@20"] >= 0.27
    assert report.model_row["ndcg@10"] > 2 * popular["ndcg@10"]
    assert "score" in recommender.recommend("2", k=5).columns
