"""Tests of the fast training path: the compiled SGD kernel against the PyTorch module."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import adrec
from adrec.errors import ConfigError
from adrec.models import ModelConfig, build_model
from adrec.models.kernels import factorization_arrays, kernel_threads, predict_pairs, sgd_epoch
from adrec.training import SGDTrainer, TrainConfig, TrainingArrays
from adrec.training.config import DEFAULT_LEARNING_RATE_FAST, DEFAULT_LEARNING_RATE_TORCH


def _model(use_bias: bool, n_users: int = 30, n_interests: int = 20, dim: int = 6):
    model = build_model(ModelConfig(dim=dim, use_bias=use_bias), n_users, n_interests, 2.5)
    model.reset_parameters(0.3, torch.Generator().manual_seed(0))
    if use_bias:
        with torch.no_grad():
            model.user_bias.weight.normal_(generator=torch.Generator().manual_seed(1))
            model.interest_bias.weight.normal_(generator=torch.Generator().manual_seed(2))
    return model


def _pairs(n: int = 200, n_users: int = 30, n_interests: int = 20, seed: int = 0):
    generator = np.random.default_rng(seed)
    users = generator.integers(0, n_users, n).astype(np.int32)
    interests = generator.integers(0, n_interests, n).astype(np.int32)
    targets = generator.uniform(1, 5, n).astype(np.float32)
    return users, interests, targets


@pytest.mark.parametrize("use_bias", [True, False])
def test_kernel_predictions_equal_module_forward(use_bias: bool):
    model = _model(use_bias)
    users, interests, _ = _pairs()
    expected = model(torch.as_tensor(users, dtype=torch.int64),
                     torch.as_tensor(interests, dtype=torch.int64)).detach().double().numpy()
    arrays = factorization_arrays(model)
    actual = predict_pairs(users, interests, *arrays[:4], arrays[4] if use_bias else 0.0)
    np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


def test_kernel_step_matches_hand_update():
    model = _model(use_bias=True)
    users, interests, targets = _pairs(n=1)
    u, i, t = int(users[0]), int(interests[0]), float(targets[0])
    p = model.user_embedding.weight[u].detach().double().numpy().copy()
    q = model.interest_embedding.weight[i].detach().double().numpy().copy()
    user_bias, interest_bias = model.user_bias.weight.detach(), model.interest_bias.weight.detach()
    bu, bi = float(user_bias[u]), float(interest_bias[i])
    lr, l2, bias_l2 = 0.05, 0.1, 0.02
    error = t - (p @ q + bu + bi + 2.5)

    arrays = factorization_arrays(model)
    with kernel_threads(1):
        squared = sgd_epoch(np.array([0]), 128, users, interests, targets, *arrays[:4], arrays[4],
                            np.float32(lr), np.float32(l2), np.float32(bias_l2))

    assert squared == pytest.approx(error ** 2, rel=1e-5)
    np.testing.assert_allclose(model.user_embedding.weight[u].detach().numpy(),
                               p + lr * (error * q - l2 * p), rtol=1e-5)
    np.testing.assert_allclose(model.interest_embedding.weight[i].detach().numpy(),
                               q + lr * (error * p - l2 * q), rtol=1e-5)
    assert float(user_bias[u]) == pytest.approx(bu + lr * (error - bias_l2 * bu), rel=1e-5)
    assert float(interest_bias[i]) == pytest.approx(bi + lr * (error - bias_l2 * bi), rel=1e-5)


def _low_rank(seed: int = 0, n_users: int = 80, n_interests: int = 50, rank: int = 3):
    generator = np.random.default_rng(seed)
    left = generator.normal(size=(n_users, rank))
    right = generator.normal(size=(n_interests, rank))
    users, interests = np.meshgrid(np.arange(n_users), np.arange(n_interests), indexing="ij")
    keep = generator.permutation(users.size)[: users.size // 2]
    users, interests = users.ravel()[keep], interests.ravel()[keep]
    targets = (left[users] * right[interests]).sum(1) + 3.0
    cut = int(0.8 * len(users))
    return (TrainingArrays(users[:cut], interests[:cut], targets[:cut]),
            TrainingArrays(users[cut:], interests[cut:], targets[cut:]), n_users, n_interests)


def _fit_fast(config: TrainConfig):
    train, validation, n_users, n_interests = _low_rank()
    model = build_model(ModelConfig(dim=8), n_users, n_interests, float(train.targets.mean()))
    model.reset_parameters(0.1, torch.Generator().manual_seed(config.seed))
    result = SGDTrainer(config, progress=False).fit(model, train, validation)
    return model, result


def test_fast_trainer_learns_low_rank():
    _, result = _fit_fast(TrainConfig(epochs=80, learning_rate=0.02, l2=0.001, patience=0))
    first, best = result.history[0].validation_rmse, result.best_validation_rmse
    assert best < 0.3 * first
    assert best < 0.5


def test_one_thread_is_deterministic():
    config = TrainConfig(epochs=5, seed=3, threads=1)
    first, _ = _fit_fast(config)
    second, _ = _fit_fast(config)
    for name, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name]), name


def test_fast_trainer_keeps_best_weights():
    # A large step without L2 overfits, so the restored weights are those of the best epoch.
    model, result = _fit_fast(TrainConfig(epochs=30, learning_rate=0.08, l2=0.0, patience=0))
    _, validation, _, _ = _low_rank()
    arrays = factorization_arrays(model)
    predictions = predict_pairs(validation.users, validation.interests, *arrays[:4], arrays[4])
    rmse = float(np.sqrt(np.mean((predictions - validation.targets) ** 2)))
    assert rmse == pytest.approx(result.best_validation_rmse, rel=1e-4)


def test_backend_choice():
    assert TrainConfig().effective_backend == "fast"
    assert TrainConfig().effective_optimizer == "sgd"
    assert TrainConfig().effective_learning_rate == DEFAULT_LEARNING_RATE_FAST["none"]
    assert TrainConfig(target_transform="log1p").effective_learning_rate == \
        DEFAULT_LEARNING_RATE_FAST["log1p"]
    assert TrainConfig(backend="torch").effective_learning_rate == DEFAULT_LEARNING_RATE_TORCH
    assert TrainConfig(optimizer="adamax").effective_backend == "torch"
    assert TrainConfig(backend="torch").effective_optimizer == "adamax"
    with pytest.raises(ConfigError, match="fast backend runs SGD"):
        TrainConfig(backend="fast", optimizer="adam")
    with pytest.raises(ConfigError, match="threads"):
        TrainConfig(threads=0)


def test_divergence_restarts_with_smaller_step(caplog):
    # Raw counts in the hundreds make one SGD step per row with the default step diverge.
    frame = adrec.load_sample().to_frame()
    frame["frequency"] = frame["frequency"] * 10
    data = adrec.InteractionData.from_frame(frame)
    recommender = adrec.Recommender(adrec.ModelConfig(dim=8), adrec.TrainConfig(epochs=5))
    with caplog.at_level("WARNING"):
        recommender.fit(data, progress=False)
    assert "starting again with learning rate" in caplog.text
    assert np.isfinite(recommender.metrics["validation_rmse"])
    step = recommender.metrics["learning_rate"]
    assert step < 0.01
    # The refit starts with the step that worked, so only the first run restarts.
    restarts = round(math.log(0.01 / step, 4))
    assert caplog.text.count("starting again") == restarts


def test_backends_reach_similar_error():
    data = adrec.load_sample()
    errors = {}
    for backend in ("fast", "torch"):
        training = adrec.TrainConfig(backend=backend, target_transform="log1p")
        recommender = adrec.Recommender(adrec.ModelConfig(), training).fit(data, progress=False)
        errors[backend] = recommender.metrics["validation_rmse_target"]
    assert errors["fast"] < 1.05 * errors["torch"]
