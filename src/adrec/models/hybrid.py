"""Hybrid factorization: the dot product of two towers that add attribute features to the IDs."""

from __future__ import annotations

import torch

from adrec.models.towers import TowerModel


class HybridFactorization(TowerModel):
    """Predict ``u . i + b_u + b_i + mu``, where each vector and bias is ID part plus attribute part.

    With attributes on both sides this is a factorization machine restricted to
    user-interest interactions: every user attribute value meets every interest
    attribute value through the dot product. A user who is not in the training
    data is scored from the attribute part of the user tower plus the mean ID part.
    """

    # The Gram matrices make a grid of any size cheap, so the implicit loss can take many rows.
    grid_rows = 4096

    def pair_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        return (user_vectors * interest_vectors).sum(dim=1)

    def grid_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        return user_vectors @ interest_vectors.T

    def squared_score_sum(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Return the sum of squared scores over every pair of ``users`` and ``interests``.

        A score is ``[u, b_u + mu, 1] . [i, 1, b_i]``, so the sum of its squares over
        the grid is the element-wise product of the two sides' Gram matrices, summed:
        linear in the number of rows rather than in the number of pairs.
        """
        user_vectors, user_biases = self.user_tower(users)
        interest_vectors, interest_biases = self.interest_tower(interests)
        left = torch.cat([user_vectors, (user_biases + self.global_mean)[:, None],
                          torch.ones_like(user_biases)[:, None]], dim=1)
        right = torch.cat([interest_vectors, torch.ones_like(interest_biases)[:, None],
                           interest_biases[:, None]], dim=1)
        return ((left.T @ left) * (right.T @ right)).sum()
