"""Models: scoring functions on contiguous user and interest indices."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adrec.models.config import MODEL_KINDS, ModelConfig
from adrec.models.deep import DeepFactorization
from adrec.models.factorization import MatrixFactorization
from adrec.models.hybrid import HybridFactorization
from adrec.models.towers import Tower, TowerModel

if TYPE_CHECKING:
    from adrec.data.features import FeatureSpace


def build_model(config: ModelConfig, n_users: int, n_interests: int, global_mean: float = 0.0, *,
                user_features: FeatureSpace | None = None,
                interest_features: FeatureSpace | None = None,
                encoded: tuple | None = None):
    """Create the module that ``config`` describes, with uninitialized weights.

    ``user_features`` and ``interest_features`` are the attribute spaces of
    models that use attributes; ``encoded`` contains the users' and interests'
    ``(ids, weights)`` matrices, or None when saved weights will fill them.
    """
    if config.kind == "mf":
        return MatrixFactorization(n_users, n_interests, config.dim, use_bias=config.use_bias,
                                   global_mean=global_mean)

    user_encoded, interest_encoded = encoded if encoded is not None else (None, None)
    towers = []
    for n_rows, space, features, id_dropout in (
            (n_users, user_features, user_encoded, config.user_id_dropout),
            (n_interests, interest_features, interest_encoded, config.interest_id_dropout)):
        towers.append(Tower(n_rows, config.dim, use_bias=config.use_bias,
                            n_features=space.size if space is not None else 0,
                            slots=space.slots if space is not None else 0, features=features,
                            id_dropout=id_dropout if space is not None else 0.0))
    if config.kind == "hybrid":
        return HybridFactorization(*towers, use_bias=config.use_bias, global_mean=global_mean)
    return DeepFactorization(*towers, layers=config.layers, activation=config.activation,
                             dropout=config.dropout, use_product=config.use_product,
                             use_bias=config.use_bias, global_mean=global_mean)


__all__ = ["MODEL_KINDS", "DeepFactorization", "HybridFactorization", "MatrixFactorization",
           "ModelConfig", "Tower", "TowerModel", "build_model"]
