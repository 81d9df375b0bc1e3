"""Baselines that every reported model is compared with."""

from __future__ import annotations

import numpy as np


def global_mean_rmse(train_targets: np.ndarray, test_targets: np.ndarray) -> float | None:
    """Return the RMSE on ``test_targets`` of always predicting the mean of ``train_targets``."""
    if len(test_targets) == 0 or len(train_targets) == 0:
        return None
    mean = float(np.mean(train_targets))
    return float(np.sqrt(np.mean((np.asarray(test_targets, dtype=np.float64) - mean) ** 2)))


def popularity_scores(interests: np.ndarray, n_interests: int) -> np.ndarray:
    """Return each interest's number of training rows: the most-popular ranking's scores."""
    return np.bincount(np.asarray(interests, dtype=np.int64), minlength=n_interests).astype(np.float64)


class BiasOnly:
    """Predict ``mean + user bias + interest bias``, the biases fitted by regularized alternating means.

    Each interest's bias is the shrunk mean of its residuals after the user
    biases, and the reverse, repeated a few times: the baseline estimate of
    neighbourhood and factorization models.

    Args:
        user_l2: shrinkage of user biases towards zero, in rows.
        interest_l2: shrinkage of interest biases towards zero, in rows.
        iterations: alternating passes.
    """

    def __init__(self, user_l2: float = 15.0, interest_l2: float = 10.0, iterations: int = 10):
        self.user_l2 = user_l2
        self.interest_l2 = interest_l2
        self.iterations = iterations
        self.mean = 0.0
        self.user_bias = np.zeros(0)
        self.interest_bias = np.zeros(0)

    def fit(self, users: np.ndarray, interests: np.ndarray, targets: np.ndarray, n_users: int,
            n_interests: int) -> BiasOnly:
        """Fit the biases from index arrays and targets; return ``self``."""
        targets = np.asarray(targets, dtype=np.float64)
        # One index copy in the type bincount wants, and two reused buffers: on a log of
        # many millions of rows, temporaries per step would multiply memory.
        users = np.asarray(users, dtype=np.intp)
        interests = np.asarray(interests, dtype=np.intp)
        self.mean = float(targets.mean()) if len(targets) else 0.0
        self.user_bias = np.zeros(n_users)
        self.interest_bias = np.zeros(n_interests)
        user_counts = np.bincount(users, minlength=n_users)
        interest_counts = np.bincount(interests, minlength=n_interests)
        residual = np.empty_like(targets)
        gathered = np.empty_like(targets)
        for _ in range(self.iterations):
            np.subtract(targets, self.mean, out=residual)
            residual -= np.take(self.user_bias, users, out=gathered)
            self.interest_bias = np.bincount(interests, residual, n_interests) \
                / (self.interest_l2 + interest_counts)
            np.subtract(targets, self.mean, out=residual)
            residual -= np.take(self.interest_bias, interests, out=gathered)
            self.user_bias = np.bincount(users, residual, n_users) / (self.user_l2 + user_counts)
        return self

    def predict(self, users: np.ndarray, interests: np.ndarray) -> np.ndarray:
        """Predict targets for index pairs."""
        return self.mean + self.user_bias[users] + self.interest_bias[interests]
