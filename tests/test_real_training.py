"""Training on the real datasets through the Python API: accuracy bands and named recommendations."""

from __future__ import annotations

import pytest

import adrec
from adrec.data import random_split
from adrec.evaluation import rating_errors

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
