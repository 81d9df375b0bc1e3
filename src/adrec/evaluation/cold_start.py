"""Evaluate cold start: users (or interests) the model never saw, scored from their attributes alone.

The held-out part comes from a split that holds out whole users (``cold-users``)
or whole interests (``cold-interests``). For each new user, every interest is
ranked from the user's attributes, and the user's test rows are the relevant ones.
Rating error is measured on the test rows. The baselines are what a model without
attributes can offer: the global mean, the interest biases plus the global mean,
the interest means (which, unlike the biases, keep the average rater's bias), and
the most popular interests. New interests are measured the other way round:
each one's audience is ranked, against the user biases and the most active users.
"""

from __future__ import annotations

import numpy as np
import torch

from adrec.data.dataset import InteractionData
from adrec.errors import ConfigError
from adrec.evaluation.baselines import BiasOnly
from adrec.evaluation.protocol import (
    MODEL_NAME,
    EvaluationReport,
    _ranking_columns,
    _rating_errors,
    _verdicts,
)
from adrec.evaluation.ranking import ranking_metrics
from adrec.recommendation.ranking import interest_lists, top_k

SIDES = ("users", "interests")
# New entities scored at once. Each needs one row of scores over the whole other side.
BATCH = 256
# Rows of prior weight that pull an interest's (user's) mean residual towards zero.
MEAN_SHRINKAGE = 10.0


def evaluate_cold_start(recommender, test: InteractionData, side: str = "users", *,
                        ks: tuple[int, ...] = (10, 20),
                        relevant_min: float | None = None) -> EvaluationReport:
    """Measure a model on users (``side="users"``) or interests it was not trained on.

    Only test rows whose ``side`` entity is new to the model and whose other
    entity is known are used. The new entities' attributes come from the test
    data's users (or interests) table.

    Args:
        recommender: a fitted :class:`adrec.Recommender` that embeds attributes
            of that side (a hybrid model).
        test: held-out rows, such as the test part of a ``cold-users`` split.
        side: ``users`` or ``interests``.
        ks: ranking cut-offs.
        relevant_min: smallest test frequency that counts as relevant (all rows when None).

    Raises:
        ConfigError: an unknown side, a model without attributes of that side, or
            no test row with a new entity of that side.
    """
    if side not in SIDES:
        raise ConfigError(f"unknown side {side!r}; choose one of {SIDES}")
    recommender._require_fitted()
    new_side = "user" if side == "users" else "interest"
    space = recommender.user_features if side == "users" else recommender.interest_features
    if space is None or len(space) == 0:
        raise ConfigError(f"the model embeds no {new_side} attributes, so it cannot score new "
                          f"{side}; train a hybrid model (--model hybrid)")

    # Pairs as (new entity, known entity), whichever side is new.
    frame = test.to_frame()
    new_ids = frame[f"{new_side}_id"].to_numpy()
    other_side = "interest" if side == "users" else "user"
    other_vocabulary = recommender.interests if side == "users" else recommender.users
    own_vocabulary = recommender.users if side == "users" else recommender.interests
    is_new = own_vocabulary.indices_of(new_ids, strict=False) < 0
    other = other_vocabulary.indices_of(frame[f"{other_side}_id"], strict=False)
    usable = is_new & (other >= 0)
    if not usable.any():
        raise ConfigError(f"no test row has a {new_side} the model was not trained on (and a known "
                          f"{other_side}); split with --method cold-{side}")
    entities, entity_rows = np.unique(new_ids[usable], return_inverse=True)
    other, actual = other[usable], frame["frequency"].to_numpy(np.float64)[usable]
    without_attributes = _count_without_attributes(test, side, entities)
    if without_attributes == len(entities):
        table = "users" if side == "users" else "interests"
        raise ConfigError(f"none of the {len(entities):,} new {side} has a row in the {table} "
                          f"table of the test data, so there are no attributes to score them "
                          f"from; put {table}.csv beside the test frequency.csv (adrec split "
                          f"writes it) or pass --{table} FILE")

    scores = _new_entity_scores(recommender, test, side, entities)
    baselines = _baselines(recommender, side)
    is_relevant = np.ones(len(actual), bool) if relevant_min is None else actual >= relevant_min
    indptr, indices = interest_lists(entity_rows[is_relevant], other[is_relevant], len(entities))
    relevant = [indices[indptr[row]:indptr[row + 1]] for row in range(len(entities))]
    n_other = len(other_vocabulary)

    report = EvaluationReport(settings={"ks": list(ks), "relevant_min": relevant_min, "side": side,
                                        "objective": recommender.train_config.objective})
    model_row = {"model": MODEL_NAME}
    if recommender.predicts_frequency:
        predicted = recommender._output(scores[entity_rows, other])
        model_row.update(_rating_errors(predicted, actual, recommender.transform.name == "log1p"))
    model_row.update(_ranked(scores, relevant, ks, n_other))
    report.rows.append(model_row)

    if recommender.predicts_frequency:
        mean_row = {"model": "global mean"}
        mean_row.update(_rating_errors(np.full(len(actual), baselines["mean"]), actual, False))
        report.rows.append(mean_row)
        bias_name = "interest bias" if side == "users" else "user bias"
        bias_row = {"model": bias_name}
        bias_row.update(_rating_errors(baselines["mean"] + baselines["bias"][other], actual, False))
        report.rows.append(bias_row)
        average_row = {"model": "interest mean" if side == "users" else "user mean"}
        average_row.update(_rating_errors(baselines["mean"] + baselines["average"][other], actual,
                                          False))
        report.rows.append(average_row)
    popular = np.broadcast_to(baselines["popularity"], (len(entities), n_other))
    report.rows.append({"model": "most popular" if side == "users" else "most active users",
                        **_ranked(popular, relevant, ks, n_other)})

    if without_attributes:
        report.notes.append(f"{without_attributes:,} of the {len(entities):,} new {side} have no "
                            f"row in the {side} table, so they were scored from the unknown "
                            "buckets alone")
    report.counts = {"test_rows": len(frame), "scored_rows": int(usable.sum()),
                     f"new_{side}": len(entities),
                     f"new_{side}_without_attributes": without_attributes,
                     f"new_{side}_with_relevant": int(sum(len(r) > 0 for r in relevant))}
    report.verdicts = _verdicts(report.rows, ks[0])
    return report


def _count_without_attributes(test: InteractionData, side: str, entities: np.ndarray) -> int:
    """Return how many new entities have no row, or only empty values, in the test data's table."""
    table = test.user_attributes if side == "users" else test.interest_attributes
    if not len(table.columns):
        return len(entities)
    return int(table.reindex(entities.astype(object)).isna().all(axis=1).sum())


def _new_entity_scores(recommender, test: InteractionData, side: str,
                       entities: np.ndarray) -> np.ndarray:
    """Score every known entity of the other side for each new entity, from its attributes."""
    table = test.user_attributes if side == "users" else test.interest_attributes
    space = recommender.user_features if side == "users" else recommender.interest_features
    ids, weights = space.encode(table.reindex(entities.astype(object)))
    score = recommender.model.score_new_users if side == "users" \
        else recommender.model.score_new_interests
    recommender.model.eval()
    parts = []
    with torch.no_grad():
        for start in range(0, len(entities), BATCH):
            batch_ids = torch.as_tensor(ids[start:start + BATCH], device=recommender.device)
            batch_weights = torch.as_tensor(weights[start:start + BATCH], device=recommender.device)
            parts.append(score(batch_ids, batch_weights).double().cpu().numpy())
    return np.concatenate(parts)


def _baselines(recommender, side: str) -> dict:
    """Fit the fallbacks on the model's stored rows, in the input's units."""
    stored = recommender.interactions
    users = stored["user_index"].to_numpy(np.int64)
    interests = stored["interest_index"].to_numpy(np.int64)
    frequency = stored["frequency"].to_numpy(np.float64)
    bias = BiasOnly().fit(users, interests, frequency, len(recommender.users),
                          len(recommender.interests))
    # A new user has no bias of its own: the interest's bias and the mean remain, and the
    # other way round for a new interest. The shrunk mean residual of each known entity is
    # the alternative that leaves the new side's average bias in.
    other = interests if side == "users" else users
    n_other = len(recommender.interests if side == "users" else recommender.users)
    average = np.bincount(other, frequency - bias.mean, n_other) \
        / (np.bincount(other, minlength=n_other) + MEAN_SHRINKAGE)
    return {"mean": bias.mean, "average": average,
            "bias": bias.interest_bias if side == "users" else bias.user_bias,
            "popularity": np.bincount(other, minlength=n_other)}


def _ranked(scores: np.ndarray, relevant: list[np.ndarray], ks: tuple[int, ...],
            n_items: int) -> dict:
    """Rank every item for each row of ``scores`` and measure the lists against ``relevant``."""
    lists = [top_k(row, max(ks)) for row in scores]
    keep = [index for index, items in enumerate(relevant) if len(items)]
    result: dict = {}
    for k in ks:
        metrics = ranking_metrics([lists[i][:k] for i in keep], [relevant[i] for i in keep], k,
                                  n_items)
        metrics[f"coverage@{k}"] = metrics.pop("coverage")
        result.update(metrics)
    return _ranking_columns(result, ks)
