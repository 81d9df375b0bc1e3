"""Hybrid factorization: the dot product of two towers that add attribute features to the IDs."""

from __future__ import annotations

import torch

from adrec.models.towers import TowerModel


class HybridFactorization(TowerModel):
    """Predict ``u . i + b_u + b_i + mu``, where each vector and bias is ID part plus attribute part.

    With attributes on both sides this is a factorization machine restricted to
    user-interest interactions: every user attribute value meets every interest
    attribute value through the dot product. A user who is not in the training
    data is scored from the attribute part of the user tower alone.
    """

    def pair_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        return (user_vectors * interest_vectors).sum(dim=1)

    def grid_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        return user_vectors @ interest_vectors.T
