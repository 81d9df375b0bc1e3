"""Rating-error metrics of a fitted recommender on held-out rows."""

from __future__ import annotations

import numpy as np

from adrec.data.dataset import InteractionData


def rating_errors(recommender, test: InteractionData, scale: str = "frequency") -> dict:
    """Return RMSE and MAE for the held-out rows of ``test``.

    ``scale`` is ``frequency`` (the input's units) or ``log1p`` (errors between
    log(1 + predicted) and log(1 + actual), the scale a log1p model trains on).

    Rows whose user or interest the recommender does not know cannot be scored
    by it: they are counted in ``unknown_rows`` and left out of the figures,
    never scored as if known.
    """
    frame = test.to_frame()
    users = recommender.users.indices_of(frame["user_id"], strict=False)
    interests = recommender.interests.indices_of(frame["interest_id"], strict=False)
    known = (users >= 0) & (interests >= 0)
    actual = frame["frequency"].to_numpy()[known]
    result = {"rows": len(frame), "scored_rows": int(known.sum()),
              "unknown_rows": int((~known).sum()), "rmse": None, "mae": None}
    if known.any():
        predicted = recommender.predict_indices(users[known], interests[known])
        if scale == "log1p":
            predicted, actual = np.log1p(predicted), np.log1p(actual)
        result["rmse"] = float(np.sqrt(np.mean((predicted - actual) ** 2)))
        result["mae"] = float(np.mean(np.abs(predicted - actual)))
    return result
