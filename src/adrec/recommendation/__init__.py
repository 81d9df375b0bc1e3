"""Recommendation: the facade that answers questions in external IDs."""

from adrec.recommendation.ranking import top_k
from adrec.recommendation.recommender import Recommender, reference_configs

__all__ = ["Recommender", "reference_configs", "top_k"]
