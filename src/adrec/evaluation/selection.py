"""Embedding-size search: train one model per grid point and keep the one that validates best.

The grid is every embedding size crossed with every L2 weight, run in the order
given (sizes outer, L2 weights inner). Every run uses the training config's seed,
so all runs see the same training and validation rows.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from adrec.data.dataset import InteractionData
from adrec.errors import ConfigError
from adrec.models import ModelConfig
from adrec.training import TrainConfig

if TYPE_CHECKING:
    from adrec.recommendation import Recommender

logger = logging.getLogger(__name__)

RMSE_CRITERION = "validation_rmse"
TARGET_RMSE_CRITERION = "validation_rmse_target"
NDCG_CRITERION = "validation_ndcg@10"

# Columns of TuneResult.to_frame, taken from each run's metrics.
FRAME_METRICS = ("best_epoch", "train_rmse", "validation_rmse", "train_rmse_target",
                 "validation_rmse_target", "validation_ndcg@10", "fit_seconds")


@dataclass
class TuneRun:
    """One finished training run of the search.

    Attributes:
        dim: embedding size.
        l2: the L2 weight training used (the default for the objective and
            target transform when none was given).
        metrics: the fitted recommender's ``metrics``.
        history: the learning curve, one dict per epoch (``Recommender.history_``).
        seconds: wall-clock time of the run, metrics included.
    """

    dim: int
    l2: float
    metrics: dict
    history: list[dict]
    seconds: float

    def score(self, criterion: str) -> float | None:
        """Return the run's value of ``criterion``, or None when it is missing or not finite."""
        value = self.metrics.get(criterion)
        if value is None or not math.isfinite(value):
            return None
        return float(value)

    def to_dict(self) -> dict:
        """Return the run as JSON-ready data."""
        return dataclasses.asdict(self)


@dataclass
class TuneResult:
    """Outcome of :func:`tune`.

    Attributes:
        runs: the finished runs, in grid order.
        best: index in ``runs`` of the chosen run.
        criterion: ``validation_rmse`` (lowest wins) for models that predict
            frequencies, ``validation_rmse_target`` (the log1p scale) for
            log1p-trained ones, ``validation_ndcg@10`` (highest wins) for ``ials``.
        skipped: (dim, l2) of the grid points not started because the time
            budget ran out.
        settings: the model and training configs, the grid and the time budget.
        elapsed_seconds: wall-clock time of the whole search.
        best_recommender: the chosen run's fitted recommender; not part of
            :meth:`to_dict`.
    """

    runs: list[TuneRun]
    best: int
    criterion: str
    skipped: list[tuple[int, float]] = field(default_factory=list)
    settings: dict = field(default_factory=dict)
    elapsed_seconds: float = 0.0
    best_recommender: Recommender | None = field(default=None, repr=False, compare=False)

    @property
    def best_run(self) -> TuneRun:
        """The chosen run."""
        return self.runs[self.best]

    @property
    def higher_is_better(self) -> bool:
        """Whether the criterion is a ranking score (higher wins) rather than an error."""
        return self.criterion == NDCG_CRITERION

    def to_dict(self) -> dict:
        """Return the runs, the chosen one and the settings as JSON-ready data."""
        chosen = self.best_run
        return {
            "criterion": self.criterion,
            "higher_is_better": self.higher_is_better,
            "best": self.best,
            "chosen": {"dim": chosen.dim, "l2": chosen.l2, self.criterion: chosen.score(self.criterion)},
            "runs": [run.to_dict() for run in self.runs],
            "skipped": [{"dim": dim, "l2": l2} for dim, l2 in self.skipped],
            "settings": self.settings,
            "elapsed_seconds": self.elapsed_seconds,
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per run: dim, l2, the main metrics and a boolean ``chosen`` column."""
        # The log1p-scale columns matter only when the search is judged on that scale.
        names = [name for name in FRAME_METRICS
                 if not name.endswith("_target") or self.criterion == TARGET_RMSE_CRITERION]
        if self.criterion == NDCG_CRITERION:
            # Ranking models output scores, so they have no RMSE.
            names = [name for name in names if "rmse" not in name]
        rows = []
        for index, run in enumerate(self.runs):
            row = {"dim": run.dim, "l2": run.l2}
            row.update({name: run.metrics.get(name) for name in names})
            row["chosen"] = index == self.best
            rows.append(row)
        frame = pd.DataFrame(rows)
        # Keep metric columns numeric when a metric is missing for every run (ials has no RMSE).
        for name in names:
            frame[name] = pd.to_numeric(frame[name], errors="coerce")
        return frame


def selection_criterion(train_config: TrainConfig) -> str:
    """Return the metric a search with this training config chooses by."""
    if train_config.objective == "ials":
        return NDCG_CRITERION
    # A log1p model is judged on the scale it is trained on, where large counts do not dominate.
    return RMSE_CRITERION if train_config.target_transform == "none" else TARGET_RMSE_CRITERION


def _check_grid(dims: Sequence[int], l2_values: Sequence[float] | None,
                time_budget: float | None, train_config: TrainConfig) -> None:
    """Raise :class:`ConfigError` for a grid or budget that cannot be searched."""
    if len(dims) == 0:
        raise ConfigError("no embedding sizes given; give at least one, such as 8,16,32")
    for dim in dims:
        if isinstance(dim, bool) or not isinstance(dim, int) or dim < 1:
            raise ConfigError(f"embedding size must be a positive integer, got {dim!r}")
    if len(set(dims)) != len(dims):
        raise ConfigError(f"embedding sizes must be distinct, got {list(dims)}")

    if l2_values is not None:
        if len(l2_values) == 0:
            raise ConfigError("no L2 weights given; give at least one, or none to use the default")
        if len(set(l2_values)) != len(l2_values):
            raise ConfigError(f"L2 weights must be distinct, got {list(l2_values)}")

    if time_budget is not None and not (math.isfinite(time_budget) and time_budget > 0):
        raise ConfigError(f"time budget must be a finite number of seconds > 0, got {time_budget!r}")
    if train_config.validation_fraction <= 0:
        raise ConfigError("choosing an embedding size needs validation rows; set a validation "
                          f"fraction above 0 (now {train_config.validation_fraction})")


def _grid(model_config: ModelConfig, train_config: TrainConfig, dims: Sequence[int],
          l2_values: Sequence[float] | None) -> list[tuple[ModelConfig, TrainConfig]]:
    """Build the configs of every grid point, sizes outer and L2 weights inner.

    Building them all first makes an invalid L2 weight fail before any training.
    """
    l2_choices = [train_config.l2] if l2_values is None else list(l2_values)
    return [(dataclasses.replace(model_config, dim=dim), dataclasses.replace(train_config, l2=l2))
            for dim in dims for l2 in l2_choices]


def _is_better(score: float | None, best_score: float | None, higher_is_better: bool) -> bool:
    """Return whether ``score`` beats ``best_score``.

    A missing score never wins, and a tie keeps the earlier run.
    """
    if score is None:
        return False
    if best_score is None:
        return True
    return score > best_score if higher_is_better else score < best_score


def tune(
    data: InteractionData,
    model_config: ModelConfig,
    train_config: TrainConfig,
    dims: Sequence[int],
    l2_values: Sequence[float] | None = None,
    time_budget: float | None = None,
    progress: bool | None = None,
    on_run: Callable[[TuneRun], None] | None = None,
) -> TuneResult:
    """Train one model per (embedding size, L2 weight) and choose the best by validation.

    Models that predict frequencies are chosen by the lowest validation RMSE, in
    the input's units, or on the log1p scale for models trained on log1p
    targets. Implicit-feedback ALS models (``objective="ials"``) output
    ranking scores, so they are chosen by the highest validation NDCG@10. Ties
    keep the earlier run. Only the chosen run's recommender stays in memory.

    Args:
        data: the frequency data; every run splits it with ``train_config.seed``.
        model_config: settings shared by every run; ``dim`` is replaced by each size.
        train_config: settings shared by every run; ``l2`` is replaced by each
            weight when ``l2_values`` is given.
        dims: embedding sizes, positive and distinct, in the order to run them.
        l2_values: L2 weights to cross with the sizes; None uses ``train_config.l2``.
        time_budget: seconds after which no new run starts. A run already
            started finishes, and the first run always starts.
        progress: show each run's progress bar (default: when stderr is a terminal).
        on_run: called with each finished run, in grid order.

    Returns:
        The runs, the chosen one and its fitted recommender, and the skipped grid points.

    Raises:
        ConfigError: an empty or invalid grid, a time budget <= 0, no validation
            rows, or no run that produced the criterion.
    """
    # Imported here because adrec.recommendation imports this package while it initializes.
    from adrec.recommendation import Recommender

    _check_grid(dims, l2_values, time_budget, train_config)
    grid = _grid(model_config, train_config, dims, l2_values)
    criterion = selection_criterion(train_config)
    higher_is_better = criterion == NDCG_CRITERION

    started = time.perf_counter()
    runs: list[TuneRun] = []
    skipped: list[tuple[int, float]] = []
    best_index, best_score, best_recommender = -1, None, None

    for position, (run_model, run_training) in enumerate(grid):
        elapsed = time.perf_counter() - started
        if position > 0 and time_budget is not None and elapsed > time_budget:
            skipped = [(model.dim, training.effective_l2) for model, training in grid[position:]]
            logger.info("time budget of %.1f s exceeded after %.1f s, so %d runs are skipped",
                        time_budget, elapsed, len(skipped))
            break

        logger.info("run %d/%d: dim=%d l2=%g", position + 1, len(grid), run_model.dim,
                    run_training.effective_l2)
        run_started = time.perf_counter()
        recommender = Recommender(run_model, run_training).fit(data, progress=progress)
        run = TuneRun(dim=run_model.dim, l2=float(recommender.metrics["l2"]),
                      metrics=dict(recommender.metrics), history=list(recommender.history_),
                      seconds=time.perf_counter() - run_started)
        runs.append(run)

        score = run.score(criterion)
        if _is_better(score, best_score, higher_is_better):
            best_index, best_score, best_recommender = len(runs) - 1, score, recommender
        # Drop a losing model before the next run starts, so at most two are in memory at once.
        del recommender
        if on_run is not None:
            on_run(run)

    if best_recommender is None:
        raise ConfigError(f"no run produced a {criterion}, because the validation part has too few "
                          f"rows to score; raise the validation fraction (now "
                          f"{train_config.validation_fraction}) or give more rows")

    settings = {
        "model": model_config.to_dict(),
        "training": train_config.to_dict(),
        "dims": list(dims),
        "l2_values": None if l2_values is None else list(l2_values),
        "time_budget": time_budget,
        "data": data.summary(),
    }
    chosen = runs[best_index]
    logger.info("chose dim=%d l2=%g: %s=%.6g", chosen.dim, chosen.l2, criterion, best_score)
    return TuneResult(runs=runs, best=best_index, criterion=criterion, skipped=skipped,
                      settings=settings, elapsed_seconds=time.perf_counter() - started,
                      best_recommender=best_recommender)
