"""Implicit-feedback ALS: a weighted squared loss over all (user, interest) pairs.

Every pair counts. An engaged pair has preference 1 and confidence
``1 + confidence_weight * target``, where the target is the frequency or its
log1p. A pair without a row has preference 0 and weight ``unobserved_weight``.
The loss is

    sum over engaged pairs of c_ui (1 - p_u . q_i)^2
    + unobserved_weight * sum over the other pairs of (p_u . q_i)^2
    + l2 * sum over users of (n_u + unobserved_weight * n_interests)^0.5 ||p_u||^2
    + the same term for interests.

Because it learns from what a user did not engage with, it answers "which new
interests will this user engage with" far better than MSE on engaged pairs.
The scale of the L2 term grows with the number of pairs a row touches, so one
``l2`` value suits data sets of very different sizes.

Alternating least squares solves the user embeddings with the interest
embeddings fixed, then the reverse; one such pair of solves is an epoch. Each
row's linear system is solved by a few steps of conjugate gradient started from
the previous solution, which touches only the engaged pairs plus one small
Gramian per epoch, so the cost grows with the number of rows, not with users x interests.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from adrec.errors import TrainingError
from adrec.training.config import TrainConfig
from adrec.training.early_stopping import EarlyStopping
from adrec.training.trainer import EpochCallback, EpochRecord, TrainingArrays, TrainResult

logger = logging.getLogger(__name__)

# Exponent of the pair count in the L2 scale (frequency-scaled regularization).
L2_EXPONENT = 0.5
# Conjugate-gradient steps per row and half-epoch; warm starts make a few enough.
CG_STEPS = 3
# Engaged pairs processed at once, which bounds the memory of one step.
CHUNK_ROWS = 1 << 20

ValidationScore = Callable[[torch.nn.Module], float]


class ALSTrainer:
    """Fit the embeddings of a matrix factorization model by implicit-feedback ALS.

    The model must have no biases: scores are plain dot products. The
    training targets are the confidences' inputs (see the module docstring).
    After :meth:`fit` the model contains the weights of the epoch with the best
    validation score (higher is better), or of the last epoch without one.

    Args:
        config: training settings; ``epochs``, ``l2``, ``confidence_weight``,
            ``unobserved_weight``, ``patience``, ``min_delta`` and ``seed`` apply.
        validation_score: function of the model returning a score to maximize,
            such as NDCG@10 on held-out rows.
        callbacks: functions called with each :class:`EpochRecord`.
        progress: show a progress bar; by default only when stderr is a terminal.
        checkpoint_path: receives the best weights whenever the validation score improves.
    """

    def __init__(self, config: TrainConfig, *, validation_score: ValidationScore | None = None,
                 callbacks: Sequence[EpochCallback] = (), progress: bool | None = None,
                 checkpoint_path: str | Path | None = None):
        self.config = config
        self.validation_score = validation_score
        self.callbacks = list(callbacks)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.device = torch.device(config.device)

    def fit(self, model: torch.nn.Module, train: TrainingArrays) -> TrainResult:
        """Train ``model`` in place and return the learning curve."""
        config = self.config
        if len(train) == 0:
            raise TrainingError("no training rows: the data is empty after the validation split")
        if getattr(model, "use_bias", False):
            raise TrainingError("implicit-feedback ALS trains models without biases; "
                                "build the model with use_bias=False")
        model.to(self.device)
        user_factors = model.user_embedding.weight.data
        interest_factors = model.interest_embedding.weight.data

        users = torch.as_tensor(train.users, dtype=torch.int64, device=self.device)
        interests = torch.as_tensor(train.interests, dtype=torch.int64, device=self.device)
        confidence = 1.0 + config.confidence_weight * torch.tensor(
            train.targets, dtype=torch.float32, device=self.device)
        if bool((confidence <= 0).any()):
            raise TrainingError("confidences must be positive; frequencies must be >= 0")
        user_side = _Side(users, interests, confidence, model.n_users, model.n_interests, config)
        interest_side = _Side(interests, users, confidence, model.n_interests, model.n_users, config)

        result = TrainResult()
        stopping = EarlyStopping(config.patience, config.min_delta, higher_is_better=True,
                                 metric="validation_ndcg", checkpoint_path=self.checkpoint_path)
        started = time.perf_counter()
        bar = tqdm(range(1, config.epochs + 1), desc="training (ALS)", unit="epoch",
                   disable=not self.progress, file=sys.stderr, leave=True)
        for epoch in bar:
            epoch_started = time.perf_counter()
            with torch.no_grad():
                user_factors.copy_(user_side.solve(interest_factors, user_factors))
                interest_factors.copy_(interest_side.solve(user_factors, interest_factors))
                loss = user_side.loss(user_factors, interest_factors)
            if not math.isfinite(loss):
                raise TrainingError(f"the ALS loss became {loss} at epoch {epoch}; raise --l2")

            score = None if self.validation_score is None else float(self.validation_score(model))
            improved = stopping.step(epoch, score, model)
            record = EpochRecord(epoch=epoch, train_rmse=None, validation_rmse=None,
                                 seconds=time.perf_counter() - epoch_started, improved=improved,
                                 train_loss=loss, validation_ndcg=score)
            result.history.append(record)
            logger.info("epoch=%d train_loss=%.5f validation_ndcg=%s seconds=%.2f improved=%s",
                        epoch, loss, "n/a" if score is None else f"{score:.5f}", record.seconds,
                        improved)
            bar.set_postfix(loss=f"{loss:.4f}", val_ndcg="n/a" if score is None else f"{score:.4f}")
            for callback in self.callbacks:
                callback(record)

            # Without a validation score every epoch counts as the best, so nothing stops early.
            if score is not None and stopping.should_stop(epoch):
                result.stopped_early = True
                break
        bar.close()

        stopping.restore(model)
        result.best_epoch = stopping.best_epoch
        result.best_validation_score = stopping.best_value
        result.seconds = time.perf_counter() - started
        return result


class _Side:
    """The engaged pairs seen from one side (users or interests), for solving that side's rows."""

    def __init__(self, rows: torch.Tensor, columns: torch.Tensor, confidence: torch.Tensor,
                 n_rows: int, n_columns: int, config: TrainConfig):
        self.rows = rows
        self.columns = columns
        self.confidence = confidence
        self.n_rows = n_rows
        self.unobserved_weight = config.unobserved_weight
        self.l2_weight = config.effective_l2
        counts = torch.bincount(rows, minlength=n_rows).to(torch.float32)
        self.l2 = (config.effective_l2
                   * (counts + config.unobserved_weight * n_columns) ** L2_EXPONENT)[:, None]

    def _engaged_product(self, fixed: torch.Tensor, vectors: torch.Tensor) -> torch.Tensor:
        """Return, per row, the sum over its engaged pairs of (c - w) (q . v) q."""
        out = torch.zeros_like(vectors)
        for start in range(0, len(self.rows), CHUNK_ROWS):
            rows = self.rows[start:start + CHUNK_ROWS]
            factors = fixed[self.columns[start:start + CHUNK_ROWS]]
            weights = self.confidence[start:start + CHUNK_ROWS] - self.unobserved_weight
            dots = (factors * vectors[rows]).sum(dim=1)
            out.index_add_(0, rows, (weights * dots)[:, None] * factors)
        return out

    def solve(self, fixed: torch.Tensor, current: torch.Tensor) -> torch.Tensor:
        """Return this side's embeddings that minimize the loss with ``fixed`` held constant."""
        gramian = self.unobserved_weight * (fixed.T @ fixed)

        def matvec(vectors: torch.Tensor) -> torch.Tensor:
            return vectors @ gramian + self.l2 * vectors + self._engaged_product(fixed, vectors)

        right_side = torch.zeros_like(current)
        for start in range(0, len(self.rows), CHUNK_ROWS):
            rows = self.rows[start:start + CHUNK_ROWS]
            factors = fixed[self.columns[start:start + CHUNK_ROWS]]
            right_side.index_add_(0, rows, self.confidence[start:start + CHUNK_ROWS, None] * factors)

        # Conjugate gradient on every row's system at once, from the current solution.
        solution = current.clone()
        residual = right_side - matvec(solution)
        direction = residual.clone()
        residual_norm = (residual * residual).sum(dim=1, keepdim=True)
        for _ in range(CG_STEPS):
            product = matvec(direction)
            step = residual_norm / (direction * product).sum(dim=1, keepdim=True).clamp_min(1e-20)
            solution += step * direction
            residual -= step * product
            new_norm = (residual * residual).sum(dim=1, keepdim=True)
            direction = residual + (new_norm / residual_norm.clamp_min(1e-20)) * direction
            residual_norm = new_norm
        return solution

    def loss(self, row_factors: torch.Tensor, column_factors: torch.Tensor) -> float:
        """Return the full loss per engaged pair (this side's rows are users)."""
        engaged = 0.0
        for start in range(0, len(self.rows), CHUNK_ROWS):
            rows = self.rows[start:start + CHUNK_ROWS]
            columns = self.columns[start:start + CHUNK_ROWS]
            scores = (row_factors[rows] * column_factors[columns]).sum(dim=1)
            confidence = self.confidence[start:start + CHUNK_ROWS]
            engaged += float((confidence * (1 - scores) ** 2
                              - self.unobserved_weight * scores ** 2).double().sum())
        # The sum of squared scores over all pairs, from the two Gramians.
        all_pairs = float(((row_factors.T @ row_factors) * (column_factors.T @ column_factors))
                          .double().sum())
        row_l2 = float((self.l2[:, 0] * row_factors.pow(2).sum(dim=1)).double().sum())
        column_counts = torch.bincount(self.columns, minlength=len(column_factors)).to(torch.float32)
        column_scale = (column_counts + self.unobserved_weight * len(row_factors)) ** L2_EXPONENT
        column_l2 = float((self.l2_weight * column_scale * column_factors.pow(2).sum(dim=1))
                          .double().sum())
        return (engaged + self.unobserved_weight * all_pairs + row_l2 + column_l2) / len(self.rows)
