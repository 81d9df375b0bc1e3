"""Evaluation: metrics and baselines."""

from adrec.evaluation.baselines import global_mean_rmse
from adrec.evaluation.ranking import ranking_metrics
from adrec.evaluation.rating import rating_errors

__all__ = ["global_mean_rmse", "ranking_metrics", "rating_errors"]
