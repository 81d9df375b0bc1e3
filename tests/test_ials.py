"""Tests of implicit-feedback ALS: the solver, the trainer, and ranking models in the recommender and CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import adrec
from adrec.evaluation import evaluate
from adrec.models.factorization import MatrixFactorization
from adrec.training import ALSTrainer, TrainConfig, TrainingArrays
from adrec.training.als import L2_EXPONENT, _Side
from conftest import run_adrec, two_group_frame


def _exact_user_solution(interest_factors, users, interests, confidence, n_users, config):
    """Solve every user's normal equations directly, as the loss in adrec.training.als defines them."""
    solutions = []
    n_interests, dim = interest_factors.shape
    for user in range(n_users):
        mine = users == user
        matrix = config.unobserved_weight * interest_factors.T @ interest_factors
        right = np.zeros(dim)
        for interest, weight in zip(interests[mine], confidence[mine], strict=True):
            factor = interest_factors[interest]
            matrix += (weight - config.unobserved_weight) * np.outer(factor, factor)
            right += weight * factor
        scale = config.effective_l2 * (mine.sum() + config.unobserved_weight * n_interests) ** L2_EXPONENT
        solutions.append(np.linalg.solve(matrix + scale * np.eye(dim), right))
    return np.array(solutions)


def test_user_step_equals_exact_solve():
    # With dimension 2, two conjugate-gradient steps solve each 2x2 system exactly,
    # so one ALS half-epoch must equal the direct solution of the normal equations.
    rng = np.random.default_rng(0)
    n_users, n_interests = 6, 9
    users = rng.integers(0, n_users, 25)
    interests = rng.integers(0, n_interests, 25)
    pairs = np.unique(np.stack([users, interests], 1), axis=0)
    users, interests = pairs[:, 0], pairs[:, 1]
    targets = rng.uniform(0, 3, len(users))
    config = TrainConfig(objective="ials", epochs=1, l2=0.2, confidence_weight=2.0,
                         unobserved_weight=0.5, validation_fraction=0.0)
    model = MatrixFactorization(n_users, n_interests, 2, use_bias=False)
    model.reset_parameters(0.3, torch.Generator().manual_seed(0))
    start_interests = model.interest_embedding.weight.detach().numpy().astype(np.float64).copy()

    side = _Side(torch.as_tensor(users), torch.as_tensor(interests),
                 1.0 + 2.0 * torch.tensor(targets, dtype=torch.float32), n_users, n_interests, config)
    solved = side.solve(torch.tensor(start_interests, dtype=torch.float32),
                        model.user_embedding.weight.detach().clone())

    expected = _exact_user_solution(start_interests, users, interests, 1.0 + 2.0 * targets, n_users,
                                    config)
    np.testing.assert_allclose(solved.numpy(), expected, rtol=1e-3, atol=1e-4)


def test_als_loss_decreases():
    data = adrec.InteractionData.from_frame(two_group_frame())
    config = TrainConfig(objective="ials", epochs=6, validation_fraction=0.0)
    model = MatrixFactorization(data.n_users, data.n_interests, 8, use_bias=False)
    model.reset_parameters(0.1, torch.Generator().manual_seed(0))
    records = []

    ALSTrainer(config, callbacks=[records.append], progress=False).fit(
        model, TrainingArrays(data.user_index, data.interest_index, data.frequency))

    losses = [record.train_loss for record in records]
    assert len(losses) == 6
    assert all(later <= earlier + 1e-6 for earlier, later in zip(losses, losses[1:], strict=False))
    assert records[0].train_rmse is None


def test_als_refuses_biased_model():
    model = MatrixFactorization(3, 3, 2, use_bias=True)

    with pytest.raises(adrec.TrainingError, match="without biases"):
        ALSTrainer(TrainConfig(objective="ials"), progress=False).fit(
            model, TrainingArrays(np.array([0]), np.array([0]), np.array([1.0])))


@pytest.fixture(scope="module")
def ranking_fit():
    data = adrec.InteractionData.from_frame(two_group_frame(users_per_group=30))
    train, test, _ = adrec.data.split_data(data, "leave-n-out", n=2, seed=0)
    recommender = adrec.Recommender(adrec.ModelConfig(dim=8),
                                    adrec.TrainConfig(objective="ials", epochs=15, seed=0))
    return recommender.fit(train, progress=False), train, test


def test_ranking_model_labels_scores(ranking_fit):
    recommender, train, _ = ranking_fit
    user = train.users.ids[0]

    recommended = recommender.recommend(user, k=5)
    history = recommender.history(user, k=5)

    assert "score" in recommended.columns
    assert "predicted_frequency" not in recommended.columns
    assert "score" in history.columns
    assert recommender.model_config.use_bias is False
    assert recommender.metrics["objective"] == "ials"
    assert "validation_rmse" not in recommender.metrics
    assert recommender.metrics["validation_ndcg@10"] is not None


def test_ranking_model_excludes_seen_and_sorts(ranking_fit):
    recommender, train, _ = ranking_fit
    user = train.users.ids[3]
    seen = set(train.to_frame().query("user_id == @user")["interest_id"])

    recommended = recommender.recommend(user, k=20)

    assert not seen & set(recommended["interest_id"])
    assert recommended["score"].is_monotonic_decreasing


def test_ranking_model_beats_most_popular(ranking_fit):
    recommender, _, test = ranking_fit

    report = evaluate(recommender, test, ks=(3,))

    popular = next(row for row in report.rows if row["model"] == "most popular")
    assert report.model_row["ndcg@3"] > popular["ndcg@3"]
    assert report.model_row.get("rmse") is None


def test_ranking_model_save_load_same_scores(ranking_fit, tmp_path):
    recommender, train, _ = ranking_fit
    user = train.users.ids[1]

    recommender.save(tmp_path / "bundle")
    loaded = adrec.Recommender.load(tmp_path / "bundle")

    assert loaded.train_config.objective == "ials"
    assert loaded.score_column == "score"
    np.testing.assert_allclose(loaded.recommend(user, k=6)["score"],
                               recommender.recommend(user, k=6)["score"])


def test_cli_train_ials_and_evaluate(tmp_path):
    data = adrec.InteractionData.from_frame(two_group_frame(users_per_group=30))
    train, test, _ = adrec.data.split_data(data, "leave-n-out", n=2, seed=0)
    train.to_frame().to_csv(tmp_path / "train.csv", index=False)
    test.to_frame().to_csv(tmp_path / "test.csv", index=False)

    trained = run_adrec("train", "train.csv", "--out", "model", "--objective", "ials", "--epochs", "10",
                        "--dim", "8", cwd=tmp_path, timeout=300)
    recommended = run_adrec("recommend", "model", train.users.ids[0], "-k", "3", "--format", "csv",
                            cwd=tmp_path, timeout=120)
    evaluated = run_adrec("evaluate", "model", "test.csv", "-k", "3", "--json", "report.json",
                          cwd=tmp_path, timeout=120)

    assert trained.returncode == 0, trained.stderr
    assert "NDCG@10" in trained.stdout
    assert recommended.returncode == 0, recommended.stderr
    assert recommended.stdout.splitlines()[0].split(",")[:3] == ["rank", "interest_id", "score"]
    assert evaluated.returncode == 0, evaluated.stderr
    assert "no RMSE" in evaluated.stdout
    assert "adrec beats most popular on NDCG@3" in evaluated.stdout
    assert (tmp_path / "report.json").exists()
