"""Deep model: dense layers over the user and interest vectors instead of a dot product alone."""

from __future__ import annotations

import torch
from torch import nn

from adrec.models.towers import Tower, TowerModel

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "linear": nn.Identity}
# Pairs scored at once when a grid of users and interests goes through the layers, which bounds
# the memory of the first layer's activations.
GRID_PAIRS = 1 << 18


class DeepFactorization(TowerModel):
    """Predict ``MLP([u, i, u * i]) + b_u + b_i + mu`` from the towers' vectors.

    The input of the dense layers is the user vector and the interest vector
    concatenated, with their element-wise product appended when
    ``use_product`` is true. Hidden layers apply ``activation`` and dropout; the
    output layer is linear.

    Args:
        layers: sizes of the hidden layers, such as ``(64, 32)``.
        activation: ``relu``, ``sigmoid``, ``tanh`` or ``linear``.
        dropout: dropout probability after each hidden layer.
        use_product: append ``u * i`` to the input.
    """

    def __init__(self, user_tower: Tower, interest_tower: Tower, *, layers: tuple[int, ...],
                 activation: str = "relu", dropout: float = 0.0, use_product: bool = True,
                 use_bias: bool, global_mean: float = 0.0):
        super().__init__(user_tower, interest_tower, use_bias=use_bias, global_mean=global_mean)
        self.use_product = use_product
        width = (3 if use_product else 2) * self.dim
        blocks: list[nn.Module] = []
        for size in layers:
            blocks += [nn.Linear(width, size), ACTIVATIONS[activation]()]
            if dropout > 0:
                blocks.append(nn.Dropout(dropout))
            width = size
        blocks.append(nn.Linear(width, 1))
        self.layers = nn.Sequential(*blocks)

    def reset_parameters(self, init_std: float, generator: torch.Generator) -> None:
        super().reset_parameters(init_std, generator)
        with torch.no_grad():
            for layer in self.layers:
                if isinstance(layer, nn.Linear):
                    # Glorot-scaled weights keep the activations' size steady through the layers.
                    bound = (6 / (layer.in_features + layer.out_features)) ** 0.5
                    layer.weight.uniform_(-bound, bound, generator=generator)
                    layer.bias.zero_()

    def pair_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        parts = [user_vectors, interest_vectors]
        if self.use_product:
            parts.append(user_vectors * interest_vectors)
        return self.layers(torch.cat(parts, dim=1))[:, 0]

    def grid_scores(self, user_vectors: torch.Tensor, interest_vectors: torch.Tensor) -> torch.Tensor:
        n_users, n_interests = len(user_vectors), len(interest_vectors)
        scores = torch.empty(n_users, n_interests, device=user_vectors.device)
        step = max(1, GRID_PAIRS // max(n_interests, 1))
        for start in range(0, n_users, step):
            block = user_vectors[start:start + step]
            users = block.repeat_interleave(n_interests, dim=0)
            interests = interest_vectors.repeat(len(block), 1)
            scores[start:start + step] = self.pair_scores(users, interests).view(len(block), n_interests)
        return scores
