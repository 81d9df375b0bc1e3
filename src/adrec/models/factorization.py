"""Matrix factorization: the dot product of a user and an interest embedding, plus optional biases."""

from __future__ import annotations

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """Predict a (transformed) frequency as ``p_u . q_i [+ b_u + b_i + mu]``.

    Works on contiguous indices only; the recommender maps external IDs.

    Args:
        n_users: number of user embeddings.
        n_interests: number of interest embeddings.
        dim: embedding dimension.
        use_bias: learn a bias per user and per interest and add the global mean.
        global_mean: the mean training target, used when ``use_bias`` is true.
    """

    def __init__(self, n_users: int, n_interests: int, dim: int, *, use_bias: bool = True,
                 global_mean: float = 0.0):
        super().__init__()
        self.n_users = n_users
        self.n_interests = n_interests
        self.dim = dim
        self.use_bias = use_bias
        self.user_embedding = nn.Embedding(n_users, dim)
        self.interest_embedding = nn.Embedding(n_interests, dim)
        if use_bias:
            self.user_bias = nn.Embedding(n_users, 1)
            self.interest_bias = nn.Embedding(n_interests, 1)
        self.register_buffer("global_mean", torch.tensor(float(global_mean) if use_bias else 0.0))

    def reset_parameters(self, init_std: float, generator: torch.Generator) -> None:
        """Draw embeddings from N(0, init_std^2) with ``generator``; set biases to zero."""
        with torch.no_grad():
            nn.init.normal_(self.user_embedding.weight, std=init_std, generator=generator)
            nn.init.normal_(self.interest_embedding.weight, std=init_std, generator=generator)
            if self.use_bias:
                self.user_bias.weight.zero_()
                self.interest_bias.weight.zero_()

    def forward(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Score pairs: ``users`` and ``interests`` are equal-length index tensors; returns shape (batch,)."""
        scores = (self.user_embedding(users) * self.interest_embedding(interests)).sum(dim=1)
        if self.use_bias:
            scores = (scores + self.user_bias(users).squeeze(1) + self.interest_bias(interests).squeeze(1)
                      + self.global_mean)
        return scores

    # Rows per side that the implicit loss of the PyTorch trainer draws per step.
    grid_rows = 4096

    def squared_score_sum(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Return the sum of squared scores over every pair of ``users`` and ``interests``.

        With biases a score is ``[p_u, b_u + mu, 1] . [q_i, 1, b_i]``, so the sum over
        the grid is the element-wise product of the two sides' Gram matrices, summed.
        """
        left, right = self.user_embedding(users), self.interest_embedding(interests)
        if self.use_bias:
            user_biases = self.user_bias(users) + self.global_mean
            interest_biases = self.interest_bias(interests)
            left = torch.cat([left, user_biases, torch.ones_like(user_biases)], dim=1)
            right = torch.cat([right, torch.ones_like(interest_biases), interest_biases], dim=1)
        return ((left.T @ left) * (right.T @ right)).sum()

    def score_all(self, users: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Score every interest for each user in ``users``; returns shape (batch, n_interests).

        ``out`` (outside autograd only) receives the scores, so repeated batches reuse
        one buffer instead of allocating hundreds of megabytes each time.
        """
        scores = torch.matmul(self.user_embedding(users), self.interest_embedding.weight.T, out=out)
        if self.use_bias:
            scores += self.user_bias(users) + self.interest_bias.weight.T + self.global_mean
        return scores

    def score_all_users(self, interests: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Score every user for each interest in ``interests``; returns shape (batch, n_users).

        The transpose of :meth:`score_all`, for finding the audience of an interest.
        """
        scores = torch.matmul(self.interest_embedding(interests), self.user_embedding.weight.T, out=out)
        if self.use_bias:
            scores += self.interest_bias(interests) + self.user_bias.weight.T + self.global_mean
        return scores

    def user_vectors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return every user's vector and bias (None without biases)."""
        return self.user_embedding.weight, self.user_bias.weight[:, 0] if self.use_bias else None

    def interest_vectors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return every interest's vector and bias (None without biases)."""
        return self.interest_embedding.weight, \
            self.interest_bias.weight[:, 0] if self.use_bias else None

    def l2_penalty(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Return the mean squared norm of the parameters a batch touches.

        Regularizing only the rows in the batch weights each user and interest
        by how often it occurs, as stochastic gradient factorization does.
        """
        penalty = (self.user_embedding(users).pow(2).sum(dim=1)
                   + self.interest_embedding(interests).pow(2).sum(dim=1))
        if self.use_bias:
            penalty = penalty + self.user_bias(users).squeeze(1).pow(2) \
                + self.interest_bias(interests).squeeze(1).pow(2)
        return penalty.mean()
