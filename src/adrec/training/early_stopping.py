"""Early stopping: track the best validation figure, keep its weights, and decide when to stop."""

from __future__ import annotations

import copy
import logging
from pathlib import Path

from torch import nn

from adrec.training.checkpoint import write_checkpoint

logger = logging.getLogger(__name__)


class EarlyStopping:
    """Keep the weights of the best epoch and count the epochs since it.

    Args:
        patience: epochs without improvement before :meth:`should_stop` returns True;
            0 never stops.
        min_delta: smallest change of the metric that counts as an improvement.
        higher_is_better: true for scores such as NDCG, false for losses.
        metric: name of the metric, for checkpoint metadata.
        checkpoint_path: receives the best weights, atomically, whenever they improve.

    Without a validation metric (``value`` None) every epoch counts as the best
    so far, so the last epoch's weights are kept.
    """

    def __init__(self, patience: int, min_delta: float, *, higher_is_better: bool, metric: str,
                 checkpoint_path: Path | None = None):
        self.patience = patience
        self.min_delta = min_delta
        self.higher_is_better = higher_is_better
        self.metric = metric
        self.checkpoint_path = checkpoint_path
        self.best_epoch = 0
        self.best_value: float | None = None
        self.best_state: dict | None = None
        self.epochs_without_improvement = 0

    def is_improvement(self, value: float | None) -> bool:
        """Return whether ``value`` beats the best so far by more than ``min_delta``."""
        if value is None or self.best_value is None:
            return True
        if self.higher_is_better:
            return value > self.best_value + self.min_delta
        return value < self.best_value - self.min_delta

    def step(self, epoch: int, value: float | None, model: nn.Module) -> bool:
        """Record one epoch's metric; keep the model's weights if it improved. Return whether it did."""
        improved = self.is_improvement(value)
        if not improved:
            self.epochs_without_improvement += 1
            return False

        self.best_epoch = epoch
        self.best_value = value
        self.best_state = copy.deepcopy(model.state_dict())
        self.epochs_without_improvement = 0
        if self.checkpoint_path is not None and value is not None:
            write_checkpoint(self.checkpoint_path, self.best_state, {"epoch": epoch, self.metric: value})
        return True

    def should_stop(self, epoch: int) -> bool:
        """Return True, and log it, once ``patience`` epochs in a row brought no improvement."""
        stop = bool(self.patience) and self.epochs_without_improvement >= self.patience
        if stop:
            logger.info("early stop at epoch %d: no improvement for %d epochs; best epoch %d",
                        epoch, self.patience, self.best_epoch)
        return stop

    def restore(self, model: nn.Module) -> None:
        """Load the best weights into ``model``."""
        model.load_state_dict(self.best_state)
