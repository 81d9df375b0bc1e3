"""Baselines that every reported model is compared with."""

from __future__ import annotations

import numpy as np


def global_mean_rmse(train_targets: np.ndarray, test_targets: np.ndarray) -> float | None:
    """Return the RMSE on ``test_targets`` of always predicting the mean of ``train_targets``."""
    if len(test_targets) == 0 or len(train_targets) == 0:
        return None
    mean = float(np.mean(train_targets))
    return float(np.sqrt(np.mean((np.asarray(test_targets, dtype=np.float64) - mean) ** 2)))
