"""Towers: the vector and bias of each user or interest, from its ID and its attributes."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

# Rows per block when every row's vector is computed, which bounds the memory of the lookup.
BLOCK_ROWS = 65536
# Largest row-by-feature matrix (cells) that training builds instead of calling embedding_bag.
DENSE_FEATURE_CELLS = 1 << 24


class Tower(nn.Module):
    """The vector and bias of each user (or each interest): an ID embedding plus attribute features.

    A row's attribute features come as ``feature_ids`` and ``feature_weights``,
    both of shape (rows, slots) (see :class:`adrec.data.features.FeatureSpace`);
    their part of the vector is ``sum_j weight_j * F[id_j]``, and likewise for the
    bias. An entity the model has never seen gets its vector from that part and
    the mean ID part (:meth:`new_rows`).

    While training, ``id_dropout`` drops each row's ID part with that probability,
    so the attribute part also learns to stand alone.

    Args:
        n_rows: number of users (or interests).
        dim: vector size.
        use_bias: learn a bias per row and per feature.
        n_features: number of feature ids (0 for an ID-only tower).
        slots: width of the feature matrices.
        features: the ``(ids, weights)`` matrices of the rows; zeros when the
            tower is built to receive saved weights.
        id_dropout: probability of dropping a row's ID part in training.
    """

    def __init__(self, n_rows: int, dim: int, *, use_bias: bool, n_features: int = 0, slots: int = 0,
                 features: tuple[np.ndarray, np.ndarray] | None = None, id_dropout: float = 0.0):
        super().__init__()
        self.dim = dim
        self.use_bias = use_bias
        self.id_dropout = id_dropout
        self.embedding = nn.Embedding(n_rows, dim)
        self.bias = nn.Embedding(n_rows, 1) if use_bias else None
        self.has_features = n_features > 0 and slots > 0
        if self.has_features:
            self.feature_embedding = nn.Embedding(n_features, dim)
            self.feature_bias = nn.Embedding(n_features, 1) if use_bias else None
            ids, weights = features if features is not None else (
                np.zeros((n_rows, slots), np.int64), np.zeros((n_rows, slots), np.float32))
            self.register_buffer("feature_ids", torch.as_tensor(ids, dtype=torch.int64))
            self.register_buffer("feature_weights", torch.as_tensor(weights, dtype=torch.float32))
        self._cache: tuple | None = None
        self._mean: tuple | None = None
        self._penalty: tuple | None = None

    def reset_parameters(self, init_std: float, generator: torch.Generator) -> None:
        """Draw the ID and feature vectors from N(0, init_std^2) and set the biases to zero."""
        with torch.no_grad():
            nn.init.normal_(self.embedding.weight, std=init_std, generator=generator)
            if self.bias is not None:
                self.bias.weight.zero_()
            if self.has_features:
                nn.init.normal_(self.feature_embedding.weight, std=init_std, generator=generator)
                if self.feature_bias is not None:
                    self.feature_bias.weight.zero_()
        self._cache = None

    def train(self, mode: bool = True) -> Tower:
        self._penalty = None  # it keeps a batch's autograd graph alive, so release it here
        return super().train(mode)

    def from_features(self, ids: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the attribute part of the vectors and biases for feature matrices (rows, slots)."""
        n_features = self.feature_embedding.num_embeddings
        if torch.is_grad_enabled() and len(ids) * n_features <= DENSE_FEATURE_CELLS:
            # A row-by-feature weight matrix times the table: on CPU, for MovieLens's 1,682
            # interests and 60 features, the backward of this product was 8 times faster
            # than embedding_bag's.
            matrix = torch.zeros(len(ids), n_features, device=ids.device, dtype=weights.dtype)
            matrix.scatter_add_(1, ids, weights)
            table = self.feature_embedding.weight if self.feature_bias is None else \
                torch.cat([self.feature_embedding.weight, self.feature_bias.weight], dim=1)
            product = matrix @ table
            if self.feature_bias is None:
                return product, torch.zeros(len(ids), device=product.device)
            return product[:, :-1], product[:, -1]
        # embedding_bag sums weighted rows without materializing a (rows, slots, dim) tensor.
        vectors = F.embedding_bag(ids, self.feature_embedding.weight, mode="sum",
                                  per_sample_weights=weights)
        if self.feature_bias is None:
            return vectors, torch.zeros(len(ids), device=vectors.device)
        biases = F.embedding_bag(ids, self.feature_bias.weight, mode="sum",
                                 per_sample_weights=weights)[:, 0]
        return vectors, biases

    def new_rows(self, ids: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the vectors and biases of rows the model has not seen, from their features.

        The unknown ID part is taken at its expected value, the mean over the
        known rows. ID embeddings can share a common offset, which the attribute
        part alone would miss.
        """
        vectors, biases = self.from_features(ids, weights)
        mean_vector, mean_bias = self._mean_id_part()
        return vectors + mean_vector, biases + mean_bias

    def _mean_id_part(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the mean ID embedding and bias, kept between calls until the weights change."""
        # A served model answers each new-user request with this mean, so it is computed once.
        weights = [self.embedding.weight] + ([self.bias.weight] if self.bias is not None else [])
        version = tuple((weight.data_ptr(), weight._version) for weight in weights)
        if self._mean is not None and self._mean[0] == version and not torch.is_grad_enabled():
            return self._mean[1], self._mean[2]
        mean_vector = self.embedding.weight.mean(dim=0)
        mean_bias = self.bias.weight.mean() if self.bias is not None \
            else torch.zeros((), device=mean_vector.device)
        if not torch.is_grad_enabled():
            self._mean = (version, mean_vector, mean_bias)
        return mean_vector, mean_bias

    def id_part(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the ID embeddings and biases of ``rows``."""
        vectors = self.embedding(rows)
        biases = self.bias(rows)[:, 0] if self.bias is not None \
            else torch.zeros(len(rows), device=vectors.device)
        return vectors, biases

    def forward(self, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the vectors (rows, dim) and biases (rows,) of ``rows``."""
        id_vectors, id_biases = self.id_part(rows)
        vectors, biases = id_vectors, id_biases
        if self.training and self.id_dropout > 0:
            keep = (torch.rand(len(rows), device=rows.device) >= self.id_dropout).to(vectors.dtype)
            vectors, biases = vectors * keep[:, None], biases * keep
        penalty = id_vectors.pow(2).sum(dim=1) + id_biases.pow(2)
        if self.has_features:
            feature_vectors, feature_biases = self.from_features(self.feature_ids[rows],
                                                                 self.feature_weights[rows])
            vectors, biases = vectors + feature_vectors, biases + feature_biases
            penalty = penalty + feature_vectors.pow(2).sum(dim=1) + feature_biases.pow(2)
        if self.training:
            # The trainer requests the penalty of the rows it just scored, so keeping it saves a
            # second pass over the embeddings.
            self._penalty = (rows, penalty)
        return vectors, biases

    def all(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Return every row's vector and bias, kept between calls until the weights change."""
        # A weight changed in place (an optimizer step, a restored checkpoint) bumps its version;
        # moving to another device gives new storage.
        version = tuple((parameter.data_ptr(), parameter._version) for parameter in self.parameters())
        if self._cache is not None and self._cache[0] == version and not torch.is_grad_enabled():
            return self._cache[1], self._cache[2]
        parts = [self(torch.arange(start, min(start + BLOCK_ROWS, self.embedding.num_embeddings),
                                   device=self.embedding.weight.device))
                 for start in range(0, self.embedding.num_embeddings, BLOCK_ROWS)]
        vectors = torch.cat([part[0] for part in parts])
        biases = torch.cat([part[1] for part in parts])
        if not torch.is_grad_enabled() and not self.training:
            self._cache = (version, vectors, biases)
        return vectors, biases

    def l2_penalty(self, rows: torch.Tensor) -> torch.Tensor:
        """Return the squared norm of each row's ID part and attribute part, shape (rows,)."""
        if self._penalty is not None and self._penalty[0] is rows:
            return self._penalty[1]
        vectors, biases = self.id_part(rows)
        penalty = vectors.pow(2).sum(dim=1) + biases.pow(2)
        if self.has_features:
            feature_vectors, feature_biases = self.from_features(self.feature_ids[rows],
                                                                 self.feature_weights[rows])
            penalty = penalty + feature_vectors.pow(2).sum(dim=1) + feature_biases.pow(2)
        return penalty


class TowerModel(nn.Module):
    """A user tower and an interest tower, joined by a head that subclasses define.

    The scoring interface is :class:`~adrec.models.factorization.MatrixFactorization`'s
    (``forward``, ``score_all``, ``score_all_users``, ``l2_penalty``), so the same
    trainer and recommender serve every kind. Users and interests unknown to the
    model are scored from their attribute features (:meth:`score_new_users`,
    :meth:`Tower.new_rows`).
    """

    def __init__(self, user_tower: Tower, interest_tower: Tower, *, use_bias: bool,
                 global_mean: float = 0.0):
        super().__init__()
        self.user_tower = user_tower
        self.interest_tower = interest_tower
        self.use_bias = use_bias
        self.n_users = user_tower.embedding.num_embeddings
        self.n_interests = interest_tower.embedding.num_embeddings
        self.dim = user_tower.dim
        self.register_buffer("global_mean", torch.tensor(float(global_mean) if use_bias else 0.0))

    def reset_parameters(self, init_std: float, generator: torch.Generator) -> None:
        self.user_tower.reset_parameters(init_std, generator)
        self.interest_tower.reset_parameters(init_std, generator)

    def pair_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        """Score aligned rows of user and interest vectors; shape (batch,)."""
        raise NotImplementedError

    def grid_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        """Score every user vector against every interest vector; shape (users, interests)."""
        raise NotImplementedError

    def forward(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        user_vectors, user_biases = self.user_tower(users)
        interest_vectors, interest_biases = self.interest_tower(interests)
        return self.pair_scores(user_vectors, interest_vectors) + user_biases + interest_biases \
            + self.global_mean

    def _grid(self, user_vectors, user_biases, interest_vectors, interest_biases) -> torch.Tensor:
        scores = self.grid_scores(user_vectors, interest_vectors)
        return scores + user_biases[:, None] + interest_biases[None, :] + self.global_mean

    def score_all(self, users: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Score every interest for each user in ``users``; shape (batch, n_interests)."""
        scores = self._grid(*self.user_tower(users), *self.interest_tower.all())
        return scores if out is None else out.copy_(scores)

    def score_all_users(self, interests: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
        """Score every user for each interest in ``interests``; shape (batch, n_users)."""
        scores = self._grid(*self.user_tower.all(), *self.interest_tower(interests)).T
        return scores if out is None else out.copy_(scores)

    def squared_score_sum(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Return the sum of squared scores over every pair of ``users`` and ``interests``."""
        return self._grid(*self.user_tower(users), *self.interest_tower(interests)).pow(2).sum()

    # Rows of each side that the implicit loss draws per step. It scores every pair of the
    # grid they form, to estimate the sum of squared scores over all pairs.
    grid_rows = 64

    def score_new_users(self, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Score every interest for users given only by attribute features; shape (batch, n_interests)."""
        return self._grid(*self.user_tower.new_rows(ids, weights), *self.interest_tower.all())

    def score_new_interests(self, ids: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Score every user for interests given only by attribute features; shape (batch, n_users)."""
        return self._grid(*self.user_tower.all(), *self.interest_tower.new_rows(ids, weights)).T

    def user_vectors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return every user's vector and bias (None without biases)."""
        vectors, biases = self.user_tower.all()
        return vectors, biases if self.use_bias else None

    def interest_vectors(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return every interest's vector and bias (None without biases)."""
        vectors, biases = self.interest_tower.all()
        return vectors, biases if self.use_bias else None

    def l2_penalty(self, users: torch.Tensor, interests: torch.Tensor) -> torch.Tensor:
        """Return the mean squared norm of the parameters a batch touches."""
        return (self.user_tower.l2_penalty(users) + self.interest_tower.l2_penalty(interests)).mean()
