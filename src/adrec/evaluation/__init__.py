"""Evaluation: splits' metrics, baselines and the protocol that puts a model beside them."""

from adrec.evaluation.baselines import BiasOnly, global_mean_rmse, popularity_scores
from adrec.evaluation.cold_start import evaluate_cold_start
from adrec.evaluation.protocol import EvaluationReport, evaluate
from adrec.evaluation.ranking import evaluate_ranking, interest_lists, ranking_metrics, top_k_lists
from adrec.evaluation.rating import rating_errors
from adrec.evaluation.selection import TuneResult, tune

__all__ = [
    "BiasOnly",
    "EvaluationReport",
    "TuneResult",
    "evaluate",
    "evaluate_cold_start",
    "evaluate_ranking",
    "global_mean_rmse",
    "interest_lists",
    "popularity_scores",
    "ranking_metrics",
    "rating_errors",
    "top_k_lists",
    "tune",
]
