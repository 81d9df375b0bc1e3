"""Models: scoring functions on contiguous user and interest indices."""

from adrec.models.config import MODEL_KINDS, ModelConfig
from adrec.models.factorization import MatrixFactorization


def build_model(config: ModelConfig, n_users: int, n_interests: int,
                global_mean: float = 0.0) -> MatrixFactorization:
    """Create the module that ``config`` describes, with uninitialized weights."""
    return MatrixFactorization(n_users, n_interests, config.dim, use_bias=config.use_bias,
                               global_mean=global_mean)


__all__ = ["MODEL_KINDS", "MatrixFactorization", "ModelConfig", "build_model"]
