"""adrec: learn user and interest embeddings from frequency logs and recommend interests.

The usual path::

    import adrec

    data = adrec.load_data("path/to/folder")          # or adrec.load_sample()
    recommender = adrec.Recommender().fit(data)
    recommender.history("6", k=20)
    recommender.recommend("6", k=20)
    recommender.save("models/ads")
    recommender = adrec.Recommender.load("models/ads")
"""

from adrec._version import __version__
from adrec.data import InteractionData, Vocabulary, load_data, load_sample
from adrec.errors import (
    AdrecError,
    BundleError,
    ConfigError,
    DataValidationError,
    TrainingError,
    UnknownIDError,
)
from adrec.models import MODEL_KINDS, ModelConfig
from adrec.recommendation import Recommender, reference_configs
from adrec.training import TrainConfig

__all__ = [
    "MODEL_KINDS",
    "AdrecError",
    "BundleError",
    "ConfigError",
    "DataValidationError",
    "InteractionData",
    "ModelConfig",
    "Recommender",
    "TrainConfig",
    "TrainingError",
    "UnknownIDError",
    "Vocabulary",
    "__version__",
    "load_data",
    "load_sample",
    "reference_configs",
]
