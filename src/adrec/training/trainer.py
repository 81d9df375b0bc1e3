"""The training loop: mini-batches, early stopping and the best weights kept.

Two losses: MSE on the engaged pairs (predicted frequencies), and for the ``ials``
objective the same confidence-weighted loss that implicit ALS minimizes, with the
sum over all pairs estimated from a grid of uniformly drawn users and interests.
The second trains models that ALS cannot, such as the deep and hybrid ones.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from adrec.errors import DivergenceError, TrainingError
from adrec.training import distributed
from adrec.training.config import TrainConfig
from adrec.training.early_stopping import EarlyStopping

logger = logging.getLogger(__name__)

EVALUATION_BATCH_SIZE = 65536
# A training set smaller than this many batches gets smaller batches, so an epoch
# still takes several optimizer steps.
MIN_STEPS_PER_EPOCH = 8


@dataclass
class EpochRecord:
    """Figures of one epoch.

    MSE training sets the RMSE values, on the training-target scale.
    Implicit-feedback ALS, whose scores are not frequencies, sets ``train_loss``
    and ``validation_ndcg`` (NDCG@10 on the validation rows) instead.
    ``seconds`` is the whole epoch; ``train_seconds`` its training pass alone.
    """

    epoch: int
    train_rmse: float | None
    validation_rmse: float | None
    seconds: float
    improved: bool
    train_loss: float | None = None
    validation_ndcg: float | None = None
    train_seconds: float | None = None

    def to_dict(self) -> dict:
        """Return the record as JSON-ready data."""
        return asdict(self)


@dataclass
class TrainResult:
    """Outcome of :meth:`Trainer.fit`: the learning curve and the best epoch."""

    history: list[EpochRecord] = field(default_factory=list)
    best_epoch: int = 0
    best_validation_mse: float | None = None
    best_validation_score: float | None = None
    stopped_early: bool = False
    seconds: float = 0.0

    @property
    def best_validation_rmse(self) -> float | None:
        """RMSE of the best epoch, the square root of its validation MSE."""
        return None if self.best_validation_mse is None else math.sqrt(self.best_validation_mse)


EpochCallback = Callable[[EpochRecord], None]


@dataclass
class TrainingArrays:
    """Index and target arrays of one part of the data (train or validation)."""

    users: np.ndarray
    interests: np.ndarray
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)


def make_optimizer(name: str, parameters, learning_rate: float) -> torch.optim.Optimizer:
    """Create the optimizer named in the training config."""
    if name == "adamax":
        return torch.optim.Adamax(parameters, lr=learning_rate)
    if name == "adam":
        return torch.optim.Adam(parameters, lr=learning_rate)
    if name == "adagrad":
        return torch.optim.Adagrad(parameters, lr=learning_rate)
    return torch.optim.SGD(parameters, lr=learning_rate)


def mean_squared_error(model: nn.Module, part: TrainingArrays, device: torch.device) -> float:
    """Return the MSE of ``model`` on ``part`` (target scale), evaluated in batches."""
    if len(part) == 0:
        return float("nan")
    total = 0.0
    model.eval()
    with torch.no_grad():
        for start in range(0, len(part), EVALUATION_BATCH_SIZE):
            stop = start + EVALUATION_BATCH_SIZE
            users = torch.as_tensor(part.users[start:stop], device=device)
            interests = torch.as_tensor(part.interests[start:stop], device=device)
            targets = torch.as_tensor(part.targets[start:stop], dtype=torch.float32, device=device)
            errors = model(users, interests) - targets
            total += float(errors.double().pow(2).sum())
    return total / len(part)


class Trainer:
    """Train a scoring module with mini-batches and keep the weights of the best validation epoch.

    The trainer owns the optimizer, the random generator and the device. After
    :meth:`fit`, the module contains the weights of the epoch with the lowest
    validation loss (or of the last epoch when there is no validation part).

    Args:
        config: training settings.
        callbacks: functions called with each :class:`EpochRecord`.
        progress: show a progress bar; by default only when stderr is a terminal.
        checkpoint_path: if given, the best weights so far are written there
            (atomically, as safetensors) every time the validation loss improves.
        validation_score: ``ials`` objective only: a function of the model that
            returns a ranking score on the validation rows (higher is better),
            which early stopping follows.
    """

    def __init__(self, config: TrainConfig, *, callbacks: Sequence[EpochCallback] = (),
                 progress: bool | None = None, checkpoint_path: str | Path | None = None,
                 validation_score: Callable[[nn.Module], float] | None = None):
        self.config = config
        self.validation_score = validation_score
        self.callbacks = list(callbacks)
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.checkpoint_path = None if checkpoint_path is None else Path(checkpoint_path)
        self.device = torch.device(config.device)

    def fit(self, model: nn.Module, train: TrainingArrays,
            validation: TrainingArrays | None = None) -> TrainResult:
        """Train ``model`` in place and return the learning curve.

        Raises:
            TrainingError: the loss or the weights became NaN or infinite.
        """
        config = self.config
        if len(train) == 0:
            raise TrainingError("no training rows: the data is empty after the validation split")
        has_validation = validation is not None and len(validation) > 0
        model.to(self.device)
        run_epoch = self._epoch_runner(model, train)

        ranking = config.objective == "ials"
        result = TrainResult()
        if ranking:
            has_validation = self.validation_score is not None
        stopping = EarlyStopping(config.patience if has_validation else 0, config.min_delta,
                                 higher_is_better=ranking,
                                 metric="validation_ndcg" if ranking else "validation_mse",
                                 checkpoint_path=self.checkpoint_path)
        started = time.perf_counter()
        bar = tqdm(range(1, config.epochs + 1), desc="training", unit="epoch",
                   disable=not self.progress, file=sys.stderr, leave=True)
        for epoch in bar:
            epoch_started = time.perf_counter()
            train_loss = run_epoch(epoch)
            train_seconds = time.perf_counter() - epoch_started
            if not math.isfinite(train_loss):
                raise DivergenceError(f"training loss became {train_loss} at epoch {epoch}; lower the "
                                    "learning rate or use --target-transform log1p for large counts")

            if ranking:
                record = self._ranking_record(epoch, train_loss, model, stopping, has_validation)
            else:
                record = self._mse_record(epoch, train_loss, model, validation, stopping,
                                          has_validation)
            record.seconds = time.perf_counter() - epoch_started
            record.train_seconds = train_seconds
            result.history.append(record)
            figures = {"train_rmse": record.train_rmse, "val_rmse": record.validation_rmse,
                       "loss": record.train_loss, "val_ndcg": record.validation_ndcg}
            bar.set_postfix({name: f"{value:.4f}" for name, value in figures.items()
                            if value is not None})
            for callback in self.callbacks:
                callback(record)

            if stopping.should_stop(epoch):
                result.stopped_early = True
                break
        bar.close()
        bar.close()

        stopping.restore(model)
        result.best_epoch = stopping.best_epoch
        if ranking:
            result.best_validation_score = stopping.best_value
        else:
            result.best_validation_mse = stopping.best_value
        result.seconds = time.perf_counter() - started
        return result

    def _mse_record(self, epoch: int, train_mse: float, model: nn.Module,
                    validation: TrainingArrays | None, stopping: EarlyStopping,
                    has_validation: bool) -> EpochRecord:
        validation_mse = mean_squared_error(model, validation, self.device) if has_validation \
            else None
        if validation_mse is not None and not math.isfinite(validation_mse):
            raise DivergenceError(f"validation loss became {validation_mse} at epoch {epoch}; "
                                  "lower the learning rate")
        improved = stopping.step(epoch, validation_mse, model)
        record = EpochRecord(epoch=epoch, train_rmse=math.sqrt(train_mse),
                             validation_rmse=None if validation_mse is None
                             else math.sqrt(validation_mse), seconds=0.0, improved=improved)
        logger.info("epoch=%d train_rmse=%.5f validation_rmse=%s improved=%s", epoch,
                    record.train_rmse, "n/a" if record.validation_rmse is None
                    else f"{record.validation_rmse:.5f}", improved)
        return record

    def _ranking_record(self, epoch: int, train_loss: float, model: nn.Module,
                        stopping: EarlyStopping, has_validation: bool) -> EpochRecord:
        score = None
        if has_validation:
            model.eval()
            with torch.no_grad():
                score = float(self.validation_score(model))
        improved = stopping.step(epoch, score, model)
        logger.info("epoch=%d train_loss=%.5f validation_ndcg=%s improved=%s", epoch, train_loss,
                    "n/a" if score is None else f"{score:.5f}", improved)
        return EpochRecord(epoch=epoch, train_rmse=None, validation_rmse=None, seconds=0.0,
                           improved=improved, train_loss=train_loss, validation_ndcg=score)

    def _epoch_runner(self, model: nn.Module, train: TrainingArrays) -> Callable[[int], float]:
        """Set up the optimizer and data, and return a function that trains one epoch.

        The function takes the epoch number and returns the epoch's mean training
        loss per row: the squared error, or the implicit loss of the ``ials``
        objective. In a distributed run each process takes its share of the
        batches and the gradients are averaged across processes at every step.
        """
        config = self.config
        generator = torch.Generator().manual_seed(config.seed)
        optimizer = make_optimizer(config.optimizer_for("torch"), model.parameters(),
                                   config.learning_rate_for("torch"))
        users = torch.as_tensor(train.users, dtype=torch.int64)
        interests = torch.as_tensor(train.interests, dtype=torch.int64)
        targets = torch.tensor(train.targets, dtype=torch.float32)

        batch_size = min(config.batch_size, max(1, math.ceil(len(train) / MIN_STEPS_PER_EPOCH)))
        if batch_size < config.batch_size:
            logger.info("batch size lowered from %d to %d so that each epoch over %d rows takes "
                        "%d steps", config.batch_size, batch_size, len(train), MIN_STEPS_PER_EPOCH)
        world = distributed.world()
        ranking = config.objective == "ials"
        # The sum over all pairs is spread over the epoch's rows like the engaged part.
        unobserved_weight = config.unobserved_weight / len(targets)

        def run_epoch(epoch: int) -> float:
            model.train()
            # Every process draws the same permutation and takes every world.size-th batch;
            # all take the same number of steps, so the gradient averaging stays in step.
            order = torch.randperm(len(targets), generator=generator)
            n_steps = math.ceil(math.ceil(len(order) / batch_size) / world.size)
            squared_error_sum = 0.0
            for step in range(n_steps):
                start = (step * world.size + world.rank) * batch_size
                batch = order[start:start + batch_size]
                optimizer.zero_grad(set_to_none=True)
                if len(batch):
                    batch_users = users[batch].to(self.device)
                    batch_interests = interests[batch].to(self.device)
                    batch_targets = targets[batch].to(self.device)

                    if ranking:
                        error = self._implicit_loss(model, batch_users, batch_interests,
                                                    batch_targets, generator, unobserved_weight)
                    else:
                        predictions = model(batch_users, batch_interests)
                        error = torch.mean((predictions - batch_targets) ** 2)
                    l2 = config.l2_for("torch")
                    loss = error + l2 * model.l2_penalty(batch_users, batch_interests) if l2 > 0 \
                        else error
                    loss.backward()
                    squared_error_sum += float(error.detach()) * len(batch)

                distributed.average_gradients(model, world)
                optimizer.step()
            return distributed.sum_scalar(squared_error_sum, world) / len(order)

        return run_epoch

    def _implicit_loss(self, model: nn.Module, users: torch.Tensor, interests: torch.Tensor,
                       targets: torch.Tensor, generator: torch.Generator,
                       unobserved_weight: float) -> torch.Tensor:
        """Return the batch's confidence-weighted loss per engaged row.

        An engaged pair should score 1 with confidence ``1 + confidence_weight *
        target``. Every pair should score 0 with weight ``unobserved_weight``. That
        sum over all users and interests is estimated from the grid of
        ``model.grid_rows`` users and as many interests, drawn uniformly (or all of
        them when there are fewer), so each user counts the same whatever their
        activity, as in ALS, and the user biases learn who engages more.
        """
        confidence = 1 + self.config.confidence_weight * targets
        engaged = (confidence * (model(users, interests) - 1) ** 2).sum() / len(users)

        drawn_users = self._draw(model.n_users, model.grid_rows, generator, users.device)
        drawn_interests = self._draw(model.n_interests, model.grid_rows, generator, users.device)
        scale = model.n_users * model.n_interests / (len(drawn_users) * len(drawn_interests))
        all_pairs = scale * model.squared_score_sum(drawn_users, drawn_interests)
        return engaged + unobserved_weight * all_pairs

    @staticmethod
    def _draw(n_rows: int, count: int, generator: torch.Generator,
              device: torch.device) -> torch.Tensor:
        """Return ``count`` row indices drawn uniformly, or every row when there are no more."""
        if n_rows <= count:
            return torch.arange(n_rows, device=device)
        return torch.randint(n_rows, (count,), generator=generator).to(device)
