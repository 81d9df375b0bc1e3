"""Tests of the factorization module: scores, batch scoring and the L2 penalty."""

from __future__ import annotations

import pytest
import torch

from adrec.errors import ConfigError
from adrec.models import ModelConfig, build_model


def _model(use_bias: bool = True):
    model = build_model(ModelConfig(dim=4, use_bias=use_bias), n_users=5, n_interests=7,
                        global_mean=2.5)
    model.reset_parameters(0.3, torch.Generator().manual_seed(1))
    if use_bias:
        with torch.no_grad():
            model.user_bias.weight.normal_(generator=torch.Generator().manual_seed(2))
            model.interest_bias.weight.normal_(generator=torch.Generator().manual_seed(3))
    return model


def test_forward_is_dot_product_plus_biases():
    model = _model()
    users, interests = torch.tensor([0, 3]), torch.tensor([6, 2])
    expected = (model.user_embedding.weight[users] * model.interest_embedding.weight[interests]).sum(1) \
        + model.user_bias.weight[users, 0] + model.interest_bias.weight[interests, 0] + 2.5
    assert torch.allclose(model(users, interests), expected)


def test_forward_without_bias_is_plain_dot_product():
    model = _model(use_bias=False)
    users, interests = torch.tensor([1, 4]), torch.tensor([0, 5])
    expected = (model.user_embedding.weight[users] * model.interest_embedding.weight[interests]).sum(1)
    assert torch.allclose(model(users, interests), expected)
    assert float(model.global_mean) == 0.0


@pytest.mark.parametrize("use_bias", [True, False])
def test_score_all_matches_pairwise_forward(use_bias):
    model = _model(use_bias)
    users = torch.tensor([0, 2, 4])
    all_scores = model.score_all(users)
    assert all_scores.shape == (3, 7)
    for row, user in enumerate(users):
        pairwise = model(user.repeat(7), torch.arange(7))
        assert torch.allclose(all_scores[row], pairwise, atol=1e-6)


@pytest.mark.parametrize("use_bias", [True, False])
def test_score_all_users_matches_forward(use_bias):
    model = _model(use_bias)
    interests = torch.tensor([1, 6])
    n_users = model.n_users
    all_scores = model.score_all_users(interests)
    assert all_scores.shape == (2, n_users)
    for row, interest in enumerate(interests):
        pairwise = model(torch.arange(n_users), interest.repeat(n_users))
        assert torch.allclose(all_scores[row], pairwise, atol=1e-6)


def test_l2_penalty_of_batch_rows():
    model = _model()
    users, interests = torch.tensor([1, 1]), torch.tensor([2, 3])
    expected = ((model.user_embedding.weight[users] ** 2).sum(1)
                + (model.interest_embedding.weight[interests] ** 2).sum(1)
                + model.user_bias.weight[users, 0] ** 2
                + model.interest_bias.weight[interests, 0] ** 2).mean()
    assert torch.allclose(model.l2_penalty(users, interests), expected)


def test_reset_parameters_is_seeded():
    first, second = _model(), _model()
    assert torch.equal(first.user_embedding.weight, second.user_embedding.weight)
    assert torch.equal(first.interest_embedding.weight, second.interest_embedding.weight)


@pytest.mark.parametrize("settings", [{"dim": 0}, {"dim": -3}, {"kind": "nope"}, {"init_std": 0}])
def test_model_config_rejects_invalid_settings(settings):
    with pytest.raises(ConfigError):
        ModelConfig(**settings)


def test_model_config_round_trips_through_dict():
    config = ModelConfig(dim=12, use_bias=False)
    assert ModelConfig.from_dict({**config.to_dict(), "future_setting": 1}) == config
