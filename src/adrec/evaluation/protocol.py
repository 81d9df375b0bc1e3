"""Evaluate a fitted recommender on held-out rows, beside the baselines, with the same protocol."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from adrec.data.dataset import InteractionData
from adrec.evaluation.baselines import BiasOnly, global_mean_rmse, popularity_scores
from adrec.evaluation.ranking import evaluate_ranking

logger = logging.getLogger(__name__)

MODEL_NAME = "adrec"


@dataclass
class EvaluationReport:
    """Rating and ranking metrics of a model and its baselines on one test set.

    Attributes:
        rows: one dict per model (``model`` names it): ``rmse`` and ``mae`` in
            the input's units (``rmse_log1p`` too for log1p-trained models), then
            ranking metrics at each k. Metrics a model cannot produce are None.
        counts: test rows, scored rows, rows with unknown users or interests,
            users ranked and users without a relevant interest.
        settings: k values and the relevance rule.
        verdicts: plain sentences saying whether the model beats each baseline.
        notes: sentences about figures that could not be computed, and why.
    """

    rows: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    verdicts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return asdict(self)

    def to_frame(self) -> pd.DataFrame:
        """Return the per-model rows as a DataFrame, metrics as columns."""
        frame = pd.DataFrame(self.rows)
        first = [c for c in ("model", "rmse", "mae", "rmse_log1p", "mae_log1p") if c in frame.columns]
        frame = frame[first + [c for c in frame.columns if c not in first]]
        return frame.dropna(axis=1, how="all")

    @property
    def model_row(self) -> dict:
        """The evaluated model's row."""
        return next(row for row in self.rows if row["model"] == MODEL_NAME)


def evaluate(recommender, test: InteractionData, *, ks: tuple[int, ...] = (10, 20),
             relevant_min: float | None = None, batch_size: int = 1024,
             baselines: bool = True) -> EvaluationReport:
    """Measure a fitted recommender on held-out rows, beside the baselines.

    Rating metrics are computed on every test row whose user and interest are in
    the model's vocabularies. A ranking model, whose outputs are scores, gets none. For
    ranking, every interest is ranked for each known test user, the interests
    the model was trained on for that user excluded, and the user's test rows
    with frequency >= ``relevant_min`` (all test rows when None) are the
    relevant ones. Rows with users or interests the model does not know are
    counted, never scored as if known.

    The baselines learn from the rows stored in the recommender (its training
    data): the global mean and user and interest biases for rating error, and
    most-popular ranking.

    Args:
        recommender: a fitted :class:`adrec.Recommender`.
        test: the held-out rows.
        ks: ranking cut-offs.
        relevant_min: smallest test frequency that counts as relevant.
        batch_size: users ranked at once; results do not depend on it.
        baselines: also evaluate the baselines.
    """
    recommender._require_fitted()
    frame = test.to_frame()
    users = recommender.users.indices_of(frame["user_id"], strict=False)
    interests = recommender.interests.indices_of(frame["interest_id"], strict=False)
    known = (users >= 0) & (interests >= 0)
    unknown_users = len(np.unique(frame["user_id"].to_numpy()[users < 0]))
    unknown_interests = len(np.unique(frame["interest_id"].to_numpy()[interests < 0]))
    actual = frame["frequency"].to_numpy(np.float64)
    users, interests, actual = users[known], interests[known], actual[known]

    stored = recommender.interactions
    train_users = stored["user_index"].to_numpy(np.int64)
    train_interests = stored["interest_index"].to_numpy(np.int64)
    train_frequency = stored["frequency"].to_numpy(np.float64)
    n_users, n_interests = len(recommender.users), len(recommender.interests)
    log_scale = recommender.transform.name == "log1p"

    is_relevant = np.ones(len(actual), dtype=bool) if relevant_min is None else actual >= relevant_min
    relevant = (users[is_relevant], interests[is_relevant])
    train = (train_users, train_interests)
    report = EvaluationReport(settings={"ks": list(ks), "relevant_min": relevant_min,
                                        "objective": recommender.train_config.objective})

    model_row = {"model": MODEL_NAME}
    if recommender.predicts_frequency and len(actual):
        model_row.update(_rating_errors(recommender.predict_indices(users, interests), actual,
                                        log_scale))
    ranking = evaluate_ranking(recommender._score_users, train, relevant, n_users, n_interests,
                               ks=ks, batch_size=batch_size)
    model_row.update(_ranking_columns(ranking, ks))
    report.rows.append(model_row)

    # Rating baselines are compared with predicted frequencies, which a ranking model lacks.
    if baselines and recommender.predicts_frequency:
        mean_row = {"model": "global mean"}
        if len(actual):
            mean_row.update(_rating_errors(np.full(len(actual), train_frequency.mean()), actual,
                                           log_scale))
            if log_scale:
                log_mean = float(np.log1p(train_frequency).mean())
                mean_row["rmse_log1p"] = global_mean_rmse(np.log1p(train_frequency),
                                                          np.log1p(actual))
                mean_row["mae_log1p"] = float(np.mean(np.abs(log_mean - np.log1p(actual))))
        report.rows.append(mean_row)

        bias_row = {"model": "bias only"}
        if len(actual):
            bias = BiasOnly().fit(train_users, train_interests, train_frequency, n_users, n_interests)
            bias_row.update(_rating_errors(bias.predict(users, interests), actual, log_scale))
            if log_scale:
                log_bias = BiasOnly().fit(train_users, train_interests, np.log1p(train_frequency),
                                          n_users, n_interests)
                log_errors = log_bias.predict(users, interests) - np.log1p(actual)
                bias_row["rmse_log1p"] = float(np.sqrt(np.mean(log_errors ** 2)))
                bias_row["mae_log1p"] = float(np.mean(np.abs(log_errors)))
        report.rows.append(bias_row)

    if baselines:
        popularity = popularity_scores(train_interests, n_interests)
        popular = evaluate_ranking(
            lambda batch: np.broadcast_to(popularity, (len(batch), n_interests)),
            train, relevant, n_users, n_interests, ks=ks, batch_size=batch_size)
        report.rows.append({"model": "most popular", **_ranking_columns(popular, ks)})

    report.counts = {
        "test_rows": len(frame),
        "scored_rows": int(known.sum()),
        "unknown_rows": int((~known).sum()),
        "unknown_users": unknown_users,
        "unknown_interests": unknown_interests,
        "relevant_rows": int(is_relevant.sum()),
        "users_ranked": ranking["users_evaluated"],
    }
    report.verdicts = _verdicts(report.rows, ks[0])
    report.notes = _notes(report, recommender.predicts_frequency)
    return report


def _notes(report: EvaluationReport, predicts_frequency: bool) -> list[str]:
    """Explain the figures an evaluation could not compute."""
    counts = report.counts
    notes = []
    if not predicts_frequency:
        notes.append("the model outputs ranking scores, not frequencies, so it has no RMSE or MAE")
    if counts["scored_rows"] == 0:
        notes.append("no held-out row has both a user and an interest the model was trained on, "
                     "so nothing could be scored; evaluate on rows of known users and interests, "
                     "or measure cold start with --cold users (or --cold interests)")
    elif counts["users_ranked"] == 0:
        threshold = report.settings["relevant_min"]
        notes.append(f"no held-out row of a known user and interest has frequency >= {threshold}, "
                     "so no ranking metric was computed; lower --relevant-min")
    return notes


def _rating_errors(predicted: np.ndarray, actual: np.ndarray, log_scale: bool) -> dict:
    """Return RMSE and MAE in the input's units, and on the log1p scale when asked."""
    errors = {"rmse": float(np.sqrt(np.mean((predicted - actual) ** 2))),
              "mae": float(np.mean(np.abs(predicted - actual)))}
    if log_scale:
        log_errors = np.log1p(np.clip(predicted, 0, None)) - np.log1p(actual)
        errors["rmse_log1p"] = float(np.sqrt(np.mean(log_errors ** 2)))
        errors["mae_log1p"] = float(np.mean(np.abs(log_errors)))
    return errors


def _ranking_columns(ranking: dict, ks: tuple[int, ...]) -> dict:
    """Return the ranking metrics shown as columns, at every k."""
    names = ("precision", "recall", "ndcg", "map", "hit_rate", "coverage")
    return {f"{name}@{k}": ranking[f"{name}@{k}"] for k in ks for name in names}


def _verdicts(rows: list[dict], k: int) -> list[str]:
    """Say plainly whether the model beats each baseline on RMSE and on NDCG@k."""
    model = next(row for row in rows if row["model"] == MODEL_NAME)
    verdicts = []
    for row in rows:
        if row is model:
            continue
        for metric, lower_is_better in (("rmse", True), (f"ndcg@{k}", False)):
            ours, theirs = model.get(metric), row.get(metric)
            if ours is None or theirs is None:
                continue
            better = ours < theirs if lower_is_better else ours > theirs
            word = "beats" if better else "does NOT beat"
            if f"{ours:.4f}" == f"{theirs:.4f}":
                word = "ties with"
            verdicts.append(f"{MODEL_NAME} {word} {row['model']} on {metric.upper()}: "
                            f"{ours:.4f} against {theirs:.4f}")
    return verdicts
