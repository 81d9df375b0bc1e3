"""Evaluation: metrics and baselines."""

from adrec.evaluation.baselines import global_mean_rmse
from adrec.evaluation.rating import rating_errors

__all__ = ["global_mean_rmse", "rating_errors"]
