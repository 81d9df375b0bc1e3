"""Tests of the trainer: convergence, early stopping, best weights, checkpoints, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from adrec.errors import ConfigError, TrainingError
from adrec.models import ModelConfig, build_model
from adrec.training import TargetTransform, TrainConfig, Trainer, TrainingArrays


def _low_rank_problem(seed: int = 0, n_users: int = 60, n_interests: int = 40, rank: int = 3):
    """Observed entries of an exact rank-3 matrix plus small noise, split 80/20."""
    generator = np.random.default_rng(seed)
    user_factors = generator.normal(size=(n_users, rank))
    interest_factors = generator.normal(size=(n_interests, rank))
    users, interests = np.meshgrid(np.arange(n_users), np.arange(n_interests), indexing="ij")
    users, interests = users.ravel(), interests.ravel()
    keep = generator.permutation(len(users))[: len(users) // 2]
    users, interests = users[keep], interests[keep]
    targets = (user_factors[users] * interest_factors[interests]).sum(1) + 3.0 \
        + generator.normal(scale=0.05, size=len(users))
    cut = int(0.8 * len(users))
    return (TrainingArrays(users[:cut], interests[:cut], targets[:cut]),
            TrainingArrays(users[cut:], interests[cut:], targets[cut:]), n_users, n_interests)


def _fit(config: TrainConfig, **trainer_options):
    train, validation, n_users, n_interests = _low_rank_problem()
    model = build_model(ModelConfig(dim=8), n_users, n_interests, float(train.targets.mean()))
    model.reset_parameters(0.1, torch.Generator().manual_seed(config.seed))
    result = Trainer(config, progress=False, **trainer_options).fit(model, train, validation)
    return model, result


def test_trainer_learns_low_rank_structure():
    config = TrainConfig(epochs=60, batch_size=64, learning_rate=0.03, l2=0.001, patience=0)
    _, result = _fit(config)
    first, best = result.history[0].validation_rmse, result.best_validation_rmse
    assert best < 0.5 * first
    assert best < 0.6


def test_best_rmse_is_root_of_mse():
    _, result = _fit(TrainConfig(epochs=10, batch_size=64, learning_rate=0.03))
    assert result.best_validation_rmse == pytest.approx(math.sqrt(result.best_validation_mse))
    best_record = result.history[result.best_epoch - 1]
    assert best_record.validation_rmse == pytest.approx(result.best_validation_rmse)
    assert min(r.validation_rmse for r in result.history) == pytest.approx(result.best_validation_rmse)


def test_best_weights_are_restored_after_overfitting():
    # A large learning rate without L2 overfits, so later epochs are worse than the best one.
    config = TrainConfig(epochs=25, batch_size=16, learning_rate=0.2, l2=0.0, patience=0)
    model, result = _fit(config)
    _, validation, _, _ = _low_rank_problem()
    with torch.no_grad():
        predictions = model(torch.as_tensor(validation.users), torch.as_tensor(validation.interests))
    rmse = float(torch.sqrt(torch.mean((predictions.double() - torch.as_tensor(validation.targets)) ** 2)))
    assert rmse == pytest.approx(result.best_validation_rmse, rel=1e-5)
    assert result.history[-1].validation_rmse >= result.best_validation_rmse


def test_early_stopping_stops_after_patience():
    config = TrainConfig(epochs=200, batch_size=16, learning_rate=0.2, l2=0.0, patience=3)
    _, result = _fit(config)
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 3
    assert len(result.history) < 200


def test_same_seed_gives_identical_weights():
    config = TrainConfig(epochs=5, batch_size=32, seed=7)
    first, _ = _fit(config)
    second, _ = _fit(config)
    for name, tensor in first.state_dict().items():
        assert torch.equal(tensor, second.state_dict()[name]), name


def test_different_seed_gives_different_weights():
    first, _ = _fit(TrainConfig(epochs=3, seed=1))
    second, _ = _fit(TrainConfig(epochs=3, seed=2))
    assert not torch.equal(first.user_embedding.weight, second.user_embedding.weight)


def test_checkpoint_holds_best_weights(tmp_path):
    path = tmp_path / "best.safetensors"
    config = TrainConfig(epochs=25, batch_size=16, learning_rate=0.2, l2=0.0, patience=0)
    model, _ = _fit(config, checkpoint_path=path)
    saved = load_file(str(path))
    for name, tensor in model.state_dict().items():
        assert torch.equal(saved[name], tensor), name
    assert not list(tmp_path.glob("*.tmp"))


def test_callbacks_receive_every_epoch():
    records = []
    _fit(TrainConfig(epochs=4, patience=0), callbacks=[records.append])
    assert [r.epoch for r in records] == [1, 2, 3, 4]
    assert all(r.train_rmse > 0 for r in records)


def test_diverging_training_raises_with_epoch():
    config = TrainConfig(epochs=20, batch_size=8, optimizer="sgd", learning_rate=1e6, l2=0.0)
    with pytest.raises(TrainingError, match="epoch 1"):
        _fit(config)


def test_training_without_validation_keeps_last_epoch():
    train, _, n_users, n_interests = _low_rank_problem()
    model = build_model(ModelConfig(dim=4), n_users, n_interests)
    model.reset_parameters(0.1, torch.Generator().manual_seed(0))
    result = Trainer(TrainConfig(epochs=3), progress=False).fit(model, train, None)
    assert result.best_epoch == 3
    assert result.best_validation_mse is None


@pytest.mark.parametrize("settings", [
    {"epochs": 0}, {"batch_size": 0}, {"optimizer": "rmsprop"}, {"learning_rate": 0},
    {"l2": -1}, {"validation_fraction": 1.0}, {"validation_fraction": -0.1}, {"patience": -1},
    {"target_transform": "sqrt"}, {"l2": float("nan")}, {"learning_rate": float("inf")},
    {"min_delta": -1.0}, {"device": "nonsense"},
])
def test_train_config_rejects_invalid_settings(settings):
    with pytest.raises(ConfigError):
        TrainConfig(**settings)


def test_log1p_transform_round_trips_and_clips():
    transform = TargetTransform("log1p", frequency_min=1.0, frequency_max=100.0)
    frequencies = np.array([1.0, 5.0, 100.0])
    assert np.allclose(transform.inverse(transform.forward(frequencies)), frequencies)
    assert transform.inverse(np.array([-50.0]))[0] == 1.0
    assert transform.inverse(np.array([1e6]))[0] == 100.0


def test_identity_transform_never_predicts_negative():
    transform = TargetTransform("none", frequency_min=0.0, frequency_max=5.0)
    assert transform.inverse(np.array([-3.0]))[0] == 0.0
    assert transform.inverse(np.array([2.5]))[0] == 2.5
