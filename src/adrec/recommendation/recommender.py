"""The recommender facade: fit, predict, history, recommend, save and load, with external IDs."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from adrec.data.dataset import InteractionData
from adrec.data.features import FeatureSpace
from adrec.data.split import random_split
from adrec.data.vocabulary import Vocabulary
from adrec.errors import BundleError, ConfigError, DivergenceError
from adrec.evaluation.baselines import BiasOnly, global_mean_rmse, popularity_scores
from adrec.evaluation.ranking import evaluate_ranking
from adrec.models import ModelConfig, build_model
from adrec.persistence import BundleContents, bundle_hash, load_bundle, read_manifest, save_bundle
from adrec.recommendation.ranking import interest_lists, top_k, top_k_lists
from adrec.training import ALSTrainer, SGDTrainer, TargetTransform, TrainConfig, Trainer, TrainingArrays
from adrec.training.trainer import EpochCallback

logger = logging.getLogger(__name__)

# Attribute columns shown beside interests when present, in this order.
PREFERRED_DISPLAY_COLUMNS = ("name", "title", "category", "genres")
MAX_DISPLAY_COLUMNS = 3
SCORING_BATCH_SIZE = 65536
# Validation ranking metrics are computed on at most this many users, a seeded sample.
VALIDATION_RANKING_USERS = 5000
RANKING_KS = (10, 20)
# The training RMSE of a fit is measured on at most this many training rows, a seeded sample.
TRAIN_ERROR_SAMPLE = 1_000_000
# The fast backend starts again at most this many times, each time with the learning rate
# divided by SGD_STEP_DIVISOR, when its loss becomes NaN or infinite.
MAX_SGD_RESTARTS = 4
# Segment popularity counts kept for the fallback, oldest dropped first.
POPULARITY_CACHE_SIZE = 256
SGD_STEP_DIVISOR = 4.0


def _ranked_batches(score_batch, rows: np.ndarray, k: int, exclude: tuple[np.ndarray, np.ndarray],
                    batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Yield, per batch of ``rows``, each entry's row, its chosen column and its rank, best first.

    ``score_batch`` scores a batch of rows against every column, and ``exclude``
    lists the columns each row must not get (see :func:`top_k_lists`).
    """
    for start in range(0, len(rows), batch_size):
        batch = np.asarray(rows[start:start + batch_size], dtype=np.int64)
        lists = top_k_lists(score_batch, batch, k, exclude, batch_size=len(batch))
        lengths = np.array([len(chosen) for chosen in lists], dtype=np.int64)
        if not lengths.sum():
            empty = np.empty(0, dtype=np.int64)
            yield empty, empty, empty
            continue
        ranks = np.concatenate([np.arange(1, n + 1) for n in lengths])
        yield np.repeat(batch, lengths), np.concatenate(lists), ranks


def _aligned(table: pd.DataFrame, ids: np.ndarray) -> pd.DataFrame:
    """Return the attribute rows of ``ids`` in their order; IDs without a row get missing values."""
    return table.reindex(pd.Index(ids, dtype=object))


def reference_configs() -> tuple[ModelConfig, TrainConfig]:
    """Return the reference design: dimension 100, plain dot product, MSE, Adamax, 30 epochs.

    As in that design, the weights of the best validation epoch are kept (no refit).
    """
    return (ModelConfig(dim=100, use_bias=False, init_std=0.05),
            TrainConfig(epochs=30, optimizer="adamax", learning_rate=0.002, l2=0.0, patience=0,
                        refit=False))


class Recommender:
    """Learn user and interest embeddings from frequency data and answer questions with IDs.

    Args:
        model_config: the scoring model; defaults to :class:`ModelConfig`'s defaults.
        train_config: the training run; defaults to :class:`TrainConfig`'s defaults.

    After :meth:`fit` or :meth:`load`, ``metrics`` contains the validation
    figures and ``history_`` the learning curve, one dict per epoch.
    """

    def __init__(self, model_config: ModelConfig | None = None,
                 train_config: TrainConfig | None = None):
        self.model_config = model_config or ModelConfig()
        self.train_config = train_config or TrainConfig()
        self.model = None
        self.transform: TargetTransform | None = None
        self.users: Vocabulary | None = None
        self.interests: Vocabulary | None = None
        self.user_attributes = pd.DataFrame()
        self.interest_attributes = pd.DataFrame()
        self.interactions = pd.DataFrame()
        self.metrics: dict = {}
        self.history_: list[dict] = []
        self.data_summary: dict = {}
        self.manifest: dict = {}
        self._engaged_indptr = np.zeros(1, dtype=np.int64)
        self._engaged_interests = np.empty(0, dtype=np.int64)
        # The attribute columns a hybrid or deep model embeds, or None when it uses none.
        self.user_features: FeatureSpace | None = None
        self.interest_features: FeatureSpace | None = None
        self._encoded_features: tuple | None = None
        self._categories: dict[str, np.ndarray] | None = None
        self._init_from = self._init_data = None
        # The fast backend's step size after a restart for divergence, while fit() runs.
        self._sgd_learning_rate: float | None = None
        self._users_by_interest: tuple[np.ndarray, np.ndarray] | None = None
        # Answers that depend only on the stored rows and tables, kept between requests.
        self._column_cache: dict[tuple[str, str], np.ndarray] = {}
        self._popularity_cache: dict[tuple, np.ndarray] = {}

    def __repr__(self) -> str:
        if self.model is None:
            return f"Recommender(model={self.model_config}, not fitted)"
        rmse = self.metrics.get("validation_rmse")
        rmse_text = "n/a" if rmse is None else f"{rmse:.4f}"
        return (f"Recommender(kind={self.model_config.kind!r}, dim={self.model_config.dim}, "
                f"users={len(self.users):,}, interests={len(self.interests):,}, "
                f"validation_rmse={rmse_text})")

    # ------------------------------------------------------------------ fitting

    def fit(
        self,
        data: InteractionData,
        *,
        init_from: Recommender | str | Path | None = None,
        checkpoint_path: str | Path | None = None,
        callbacks: Sequence[EpochCallback] = (),
        progress: bool | None = None,
    ) -> Recommender:
        """Train from scratch on ``data`` and return ``self``.

        Rows are shuffled and split into training and validation parts with the
        training config's seed. The weights of the epoch with the lowest
        validation loss are kept. Every row, validation rows included, counts
        as engaged: :meth:`history` shows it and :meth:`recommend` excludes it.

        Args:
            data: the frequency data.
            init_from: a fitted recommender or a bundle path whose embeddings
                start the training, matched by ID; IDs it does not know start
                from the usual random initialization.
            checkpoint_path: file that receives the best weights so far,
                atomically, whenever the validation loss improves.
            callbacks: functions called with each epoch's record.
            progress: show a progress bar (default: when stderr is a terminal).
        """
        if len(data) == 0:
            raise ConfigError("cannot fit on empty data")
        config = self.train_config
        started = time.perf_counter()
        if self.model_config.kind != "mf" and config.backend == "fast":
            raise ConfigError(f"the fast backend trains the mf model only; the "
                              f"{self.model_config.kind} model trains with --backend torch, its "
                              "default")
        if config.objective == "ials" and self.model_config.kind == "mf" and \
                self.model_config.use_bias:
            logger.info("implicit-feedback ALS learns no biases; training without them")
            self.model_config = dataclasses.replace(self.model_config, use_bias=False)

        train_rows, validation_rows = random_split(len(data), config.validation_fraction, config.seed)
        frequency = data.frequency
        self.transform = TargetTransform(config.target_transform,
                                         frequency_min=float(frequency[train_rows].min()),
                                         frequency_max=float(frequency[train_rows].max()))
        # 32-bit indices and targets halve the memory of the copies training makes.
        targets = self.transform.forward(frequency).astype(np.float32)
        user_index = data.user_index.astype(np.int32)
        interest_index = data.interest_index.astype(np.int32)
        train = TrainingArrays(user_index[train_rows], interest_index[train_rows],
                               targets[train_rows])
        validation = TrainingArrays(user_index[validation_rows], interest_index[validation_rows],
                                    targets[validation_rows])
        del user_index, interest_index  # made again for the refit, if there is one

        global_mean = float(train.targets.mean())
        self._init_from, self._init_data = init_from, data
        self._sgd_learning_rate = None
        self._fit_features(data)
        self.model = self._new_model(data, global_mean)
        if init_from is not None:
            self._copy_embeddings_from(init_from, data)

        self.users, self.interests = data.users, data.interests
        self._set_attributes(data.user_attributes, data.interest_attributes)
        self._set_interactions(data, validation_rows)

        result = self._train(self.model, train, validation, config, callbacks, progress,
                             checkpoint_path)
        self.model.cpu().eval()
        self.history_ = [record.to_dict() for record in result.history]
        self.metrics = self._compute_metrics(train, validation, data, train_rows, validation_rows,
                                             result)
        has_validation = len(validation) > 0
        del train, validation

        if config.refit and has_validation:
            # Same initialization, every row, the validated run's best epoch count. The
            # validation figures above stay those of the validated run, the only ones
            # measured on rows the model had not seen.
            logger.info("refitting on all %d rows for %d epochs", len(data), result.best_epoch)
            everything = TrainingArrays(data.user_index.astype(np.int32),
                                        data.interest_index.astype(np.int32), targets)
            refit_config = TrainConfig.from_dict({
                **config.to_dict(), "epochs": result.best_epoch, "patience": 0,
                "validation_fraction": 0.0, "refit": False})
            self.model = self._new_model(data, float(targets.mean()))
            if init_from is not None:
                self._copy_embeddings_from(init_from, data)
            self._train(self.model, everything, None, refit_config, (), progress, None)
            self.model.cpu().eval()
            self.metrics["refit_epochs"] = result.best_epoch

        self.metrics["fit_seconds"] = time.perf_counter() - started
        if self._sgd_learning_rate is not None:
            self.metrics["learning_rate"] = self._sgd_learning_rate
        self._init_from = self._init_data = self._sgd_learning_rate = None
        self.data_summary = data.summary()
        logger.info("fitted: best_epoch=%d validation_rmse=%s validation_ndcg@10=%s",
                    result.best_epoch, self.metrics.get("validation_rmse"),
                    self.metrics.get("validation_ndcg@10"))
        return self

    def _fit_features(self, data: InteractionData) -> None:
        """Choose and encode the attribute columns, for the model kinds that use them."""
        self.user_features = self.interest_features = None
        self._encoded_features = None
        config = self.model_config
        if not config.uses_attributes:
            return
        users = _aligned(data.user_attributes, data.users.ids)
        interests = _aligned(data.interest_attributes, data.interests.ids)
        self.user_features = FeatureSpace.fit(users, config.user_columns,
                                              max_values=config.max_attribute_values, kind="user")
        self.interest_features = FeatureSpace.fit(interests, config.interest_columns,
                                                  max_values=config.max_attribute_values,
                                                  kind="interest")
        self._encoded_features = (self.user_features.encode(users),
                                  self.interest_features.encode(interests))
        logger.info("attribute features: users %s; interests %s", self.user_features.describe(),
                    self.interest_features.describe())

    def _new_model(self, data: InteractionData, global_mean: float):
        """Build the configured model with freshly seeded random weights."""
        model = build_model(self.model_config, data.n_users, data.n_interests, global_mean,
                            user_features=self.user_features,
                            interest_features=self.interest_features,
                            encoded=self._encoded_features)
        model.reset_parameters(self.model_config.init_std,
                               torch.Generator().manual_seed(self.train_config.seed))
        return model

    def _train(self, model, train: TrainingArrays, validation: TrainingArrays | None,
               config: TrainConfig, callbacks: Sequence[EpochCallback], progress: bool | None,
               checkpoint_path: str | Path | None):
        """Run the trainer of the configured objective and return its result."""
        score = None
        if config.objective == "ials" and validation is not None and len(validation):
            def score(scored_model) -> float:
                scored_model.eval()
                metrics = evaluate_ranking(
                    lambda users: self._score_users_with(scored_model, users),
                    (train.users, train.interests), (validation.users, validation.interests),
                    model.n_users, model.n_interests, ks=(10,),
                    max_users=VALIDATION_RANKING_USERS, seed=config.seed)
                return metrics["ndcg@10"] or 0.0
        if config.objective == "ials" and self.model_config.kind == "mf":
            trainer = ALSTrainer(config, validation_score=score, callbacks=callbacks,
                                 progress=progress, checkpoint_path=checkpoint_path)
            return trainer.fit(model, train)
        if self.model_config.kind != "mf" or config.effective_backend == "torch":
            trainer = Trainer(config, callbacks=callbacks, progress=progress,
                              checkpoint_path=checkpoint_path, validation_score=score)
            # Dropout draws from torch's global generator: seed it, and give the caller's back.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(config.seed)
                return trainer.fit(model, train, validation)

        # One SGD step per row diverges on large raw counts with a step size made for ratings.
        # Then training starts again from the same initialization with a smaller step, unless
        # the caller chose the step size. The refit reuses the step that worked.
        if self._sgd_learning_rate is not None:
            config = dataclasses.replace(config, learning_rate=self._sgd_learning_rate)
        for restart in range(MAX_SGD_RESTARTS + 1):
            try:
                trainer = SGDTrainer(config, callbacks=callbacks, progress=progress,
                                     checkpoint_path=checkpoint_path)
                return trainer.fit(model, train, validation)
            except DivergenceError as error:
                if restart == MAX_SGD_RESTARTS or self.train_config.learning_rate is not None:
                    raise
                smaller = config.learning_rate_for("fast") / SGD_STEP_DIVISOR
                logger.warning("%s; starting again with learning rate %.3g (choose it with "
                               "--learning-rate, or train on --target-transform log1p)", error,
                               smaller)
                config = dataclasses.replace(config, learning_rate=smaller)
                self._sgd_learning_rate = smaller
                self._reinitialize(model)
        raise AssertionError("unreachable")

    def _reinitialize(self, model) -> None:
        """Give ``model`` the seeded initial weights :meth:`_new_model` gives."""
        model.reset_parameters(self.model_config.init_std,
                               torch.Generator().manual_seed(self.train_config.seed))
        if self._init_from is not None:
            self._copy_embeddings_from(self._init_from, self._init_data)

    def _compute_metrics(self, train: TrainingArrays, validation: TrainingArrays,
                         data: InteractionData, train_rows: np.ndarray, validation_rows: np.ndarray,
                         result) -> dict:
        """Collect the validation figures of a fit beside the baselines'.

        Models that predict frequencies get rating errors on the target and
        frequency scales. Every model gets ranking metrics at 10 and 20, with the
        user's training interests excluded, beside most-popular ranking.
        """
        metrics = {
            "objective": self.train_config.objective,
            "best_epoch": result.best_epoch,
            "epochs_run": len(result.history),
            "stopped_early": result.stopped_early,
            "train_rows": len(train),
            "validation_rows": len(validation),
            "target_transform": self.transform.name,
            "l2": self.train_config.l2_for(self._trainer_name()),
        }
        if len(validation) == 0:
            return metrics

        if self.predicts_frequency:
            # The reference design's figure: the square root of the best validation MSE.
            metrics["validation_rmse_target"] = result.best_validation_rmse
            metrics["baseline_global_mean_rmse_target"] = global_mean_rmse(train.targets,
                                                                           validation.targets)
            predicted = self.predict_indices(validation.users, validation.interests)
            actual = data.frequency[validation_rows]
            metrics["validation_rmse"] = float(np.sqrt(np.mean((predicted - actual) ** 2)))
            metrics["validation_mae"] = float(np.mean(np.abs(predicted - actual)))
            # Training error on a seeded sample of rows: a diagnostic of overfitting that
            # need not cost a pass over a log of many millions of rows.
            sample = np.arange(len(train))
            if len(sample) > TRAIN_ERROR_SAMPLE:
                sample = np.sort(np.random.default_rng(self.train_config.seed).choice(
                    len(train), TRAIN_ERROR_SAMPLE, replace=False))
            train_actual = data.frequency[train_rows[sample]]
            train_predicted = self.predict_indices(train.users[sample], train.interests[sample])
            metrics["train_rmse"] = float(np.sqrt(np.mean((train_predicted - train_actual) ** 2)))
            metrics["train_rmse_target"] = float(np.sqrt(np.mean(
                (self.transform.forward(train_predicted) - train.targets[sample]) ** 2)))
            train_mean = (data.frequency.sum() - actual.sum()) / len(train)
            metrics["baseline_global_mean_rmse"] = float(np.sqrt(np.mean((actual - train_mean) ** 2)))

            # User and interest biases alone, fitted on the same scale as the model.
            bias = BiasOnly().fit(train.users, train.interests, train.targets, len(self.users),
                                  len(self.interests))
            bias_target = bias.predict(validation.users, validation.interests)
            metrics["baseline_bias_only_rmse_target"] = float(np.sqrt(np.mean(
                (bias_target - validation.targets) ** 2)))
            metrics["baseline_bias_only_rmse"] = float(np.sqrt(np.mean(
                (self.transform.inverse(bias_target) - actual) ** 2)))

        train_pairs = (train.users, train.interests)
        validation_pairs = (validation.users, validation.interests)
        ranking = evaluate_ranking(self._score_users, train_pairs, validation_pairs,
                                   len(self.users), len(self.interests), ks=RANKING_KS,
                                   max_users=VALIDATION_RANKING_USERS, seed=self.train_config.seed)
        popularity = popularity_scores(train.interests, len(self.interests))
        popular = evaluate_ranking(lambda users: np.broadcast_to(popularity, (len(users), len(popularity))),
                                   train_pairs, validation_pairs, len(self.users),
                                   len(self.interests), ks=RANKING_KS,
                                   max_users=VALIDATION_RANKING_USERS, seed=self.train_config.seed)
        for k in RANKING_KS:
            for name in ("ndcg", "recall"):
                metrics[f"validation_{name}@{k}"] = ranking[f"{name}@{k}"]
                metrics[f"baseline_most_popular_{name}@{k}"] = popular[f"{name}@{k}"]
        metrics["validation_ranking_users"] = ranking["users_evaluated"]
        return metrics

    def _copy_embeddings_from(self, source: Recommender | str | Path, data: InteractionData) -> None:
        """Start from another model's weights for every user and interest ID both know."""
        if self.model_config.kind != "mf":
            raise ConfigError(f"starting from another model's embeddings works for the mf model "
                              f"only, not {self.model_config.kind!r}")
        if not isinstance(source, Recommender):
            source = Recommender.load(source)
        if source.model_config.dim != self.model_config.dim or \
                source.model_config.use_bias != self.model_config.use_bias:
            raise ConfigError(
                f"cannot start from a model with dim={source.model_config.dim}, "
                f"use_bias={source.model_config.use_bias}: this model has "
                f"dim={self.model_config.dim}, use_bias={self.model_config.use_bias}; train with "
                f"the same settings (--dim {source.model_config.dim}"
                f"{'' if source.model_config.use_bias else ' --no-bias'})"
            )
        pairs = (("user", data.users, source.users), ("interest", data.interests, source.interests))
        with torch.no_grad():
            for kind, target_vocabulary, source_vocabulary in pairs:
                source_rows = source_vocabulary.indices_of(target_vocabulary.ids, strict=False)
                known = source_rows >= 0
                target_rows = torch.as_tensor(np.flatnonzero(known))
                from_rows = torch.as_tensor(source_rows[known])
                getattr(self.model, f"{kind}_embedding").weight[target_rows] = \
                    getattr(source.model, f"{kind}_embedding").weight[from_rows]
                if self.model_config.use_bias:
                    getattr(self.model, f"{kind}_bias").weight[target_rows] = \
                        getattr(source.model, f"{kind}_bias").weight[from_rows]
                share = known.mean() if len(known) else 0.0
                log = logger.warning if share < 0.5 else logger.info
                log("initialized %d of %d %s embeddings (%.0f%%) from the given model",
                    int(known.sum()), len(known), kind, 100 * share)

    def _set_attributes(self, user_attributes: pd.DataFrame,
                        interest_attributes: pd.DataFrame) -> None:
        """Keep the attribute rows of the known users and interests, in index order."""
        self._column_cache = {}
        self._categories = None
        self.user_attributes = user_attributes.reindex(pd.Index(self.users.ids, dtype=object)) \
            if len(user_attributes.columns) else pd.DataFrame(index=pd.Index(self.users.ids))
        self.interest_attributes = interest_attributes.reindex(
            pd.Index(self.interests.ids, dtype=object)) if len(interest_attributes.columns) \
            else pd.DataFrame(index=pd.Index(self.interests.ids))

    def _set_interactions(self, data: InteractionData, validation_rows: np.ndarray) -> None:
        """Store every engaged row, sorted by user, for history and seen-interest exclusion."""
        is_validation = np.zeros(len(data), dtype=bool)
        is_validation[validation_rows] = True
        # Sort by user, then interest, one column at a time: sorting a whole frame
        # would hold two copies of a log of many millions of rows.
        order = np.lexsort((data.interest_index, data.user_index))
        columns = {
            "user_index": data.user_index[order].astype(np.int32),
            "interest_index": data.interest_index[order].astype(np.int32),
            "frequency": data.frequency[order],
            "validation": is_validation[order],
        }
        if data.timestamp is not None:
            columns["timestamp"] = data.timestamp[order]
        del order, is_validation
        self._index_interactions(pd.DataFrame(columns, copy=False), sorted_by_user=True)

    def _index_interactions(self, frame: pd.DataFrame, sorted_by_user: bool = False) -> None:
        """Sort engaged rows by user and build the row offsets of each user."""
        if not sorted_by_user:
            frame = frame.sort_values(["user_index", "interest_index"], kind="stable")
        self.interactions = frame.reset_index(drop=True)
        self._users_by_interest = None
        self._popularity_cache = {}
        counts = np.bincount(self.interactions["user_index"].to_numpy(), minlength=len(self.users))
        self._engaged_interests = self.interactions["interest_index"].to_numpy(np.int64)
        self._engaged_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    # --------------------------------------------------------------- questions

    def _require_fitted(self) -> None:
        if self.model is None:
            raise ConfigError("the recommender is not fitted; call fit() or Recommender.load()")

    @property
    def predicts_frequency(self) -> bool:
        """True when outputs are frequencies (MSE training); False for ranking scores."""
        return self.train_config.objective == "mse"

    @property
    def score_column(self) -> str:
        """Name of the model output column: ``predicted_frequency``, or ``score`` for ranking models."""
        return "predicted_frequency" if self.predicts_frequency else "score"

    def _output(self, raw: np.ndarray) -> np.ndarray:
        """Map raw model outputs to what callers see: frequencies, or scores as they are."""
        return self.transform.inverse(raw) if self.predicts_frequency else np.asarray(raw, np.float64)

    @staticmethod
    def _score_users_with(model, users: np.ndarray, out: torch.Tensor | None = None) -> np.ndarray:
        # The model may sit on a GPU while it trains; the scores come back to the CPU.
        device = next(model.parameters()).device
        with torch.no_grad():
            users = torch.as_tensor(users, dtype=torch.int64, device=device)
            return model.score_all(users, out=out).cpu().numpy()

    @property
    def device(self) -> torch.device:
        """The device the model scores on (see :meth:`to`)."""
        self._require_fitted()
        return next(self.model.parameters()).device

    def to(self, device: str | torch.device) -> Recommender:
        """Move the model to ``device`` (``cpu``, ``cuda``, ``cuda:1``) for scoring; return ``self``.

        Scores come back to the CPU as NumPy arrays whatever the device.

        Raises:
            ConfigError: the device is invalid or CUDA is not available.
        """
        self._require_fitted()
        try:
            target = torch.device(device)
        except (RuntimeError, TypeError) as error:
            raise ConfigError(f"invalid device {device!r} ({error}); use cpu or cuda") from None
        if target.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested, but CUDA is not available to this torch "
                              "build; score on cpu or install a CUDA build of torch")
        self.model.to(target)
        return self

    def _score_users(self, users: np.ndarray) -> np.ndarray:
        """Return raw float32 scores of every interest for each user index, shape (users, interests)."""
        self.model.eval()
        return self._score_users_with(self.model, users)

    def predict_indices(self, users: np.ndarray, interests: np.ndarray) -> np.ndarray:
        """Predict pairs of contiguous indices: frequencies, or scores for ranking models."""
        outputs = []
        self.model.eval()
        with torch.no_grad():
            for start in range(0, len(users), SCORING_BATCH_SIZE):
                stop = start + SCORING_BATCH_SIZE
                batch_users = torch.tensor(users[start:stop], dtype=torch.int64, device=self.device)
                batch_interests = torch.tensor(interests[start:stop], dtype=torch.int64,
                                               device=self.device)
                scores = self.model(batch_users, batch_interests)
                outputs.append(scores.double().cpu().numpy())
        scores = np.concatenate(outputs) if outputs else np.empty(0)
        return self._output(scores)

    def _score_user(self, user_index: int) -> np.ndarray:
        """Return the raw scores of every interest for one user (target scale)."""
        self.model.eval()
        with torch.no_grad():
            scores = self.model.score_all(torch.tensor([user_index], dtype=torch.int64,
                                                       device=self.device))
        return scores[0].double().cpu().numpy()

    def engaged_rows(self, user_index: int) -> pd.DataFrame:
        """Return the stored rows of one user (by index)."""
        start, stop = self._engaged_indptr[user_index], self._engaged_indptr[user_index + 1]
        return self.interactions.iloc[start:stop]

    def predict(self, user_id: str, interest_id: str) -> float:
        """Predict the frequency of one (user, interest) pair, in the input's units.

        Raises:
            UnknownIDError: the user or interest is not in the training data.
        """
        return float(self.predict_pairs([user_id], [interest_id])[0])

    def predict_pairs(self, user_ids: Sequence[str], interest_ids: Sequence[str]) -> np.ndarray:
        """Predict frequencies for equal-length sequences of user and interest IDs."""
        self._require_fitted()
        if len(user_ids) != len(interest_ids):
            raise ConfigError(f"got {len(user_ids)} user IDs but {len(interest_ids)} interest IDs; "
                              "pass one of each per pair")
        users = self.users.indices_of(user_ids)
        interests = self.interests.indices_of(interest_ids)
        return self.predict_indices(users, interests)

    def display_columns(self) -> list[str]:
        """Return the interest attribute columns shown beside recommendations."""
        columns = [str(c) for c in self.interest_attributes.columns]
        preferred = [c for c in PREFERRED_DISPLAY_COLUMNS if c in columns]
        chosen = preferred or [c for c in columns if not c.startswith("genre_")]
        return chosen[:MAX_DISPLAY_COLUMNS]

    def _column_values(self, kind: str, column: str) -> np.ndarray:
        """Return a ``user`` or ``interest`` attribute column as a NumPy array, converted once.

        Taking rows from a NumPy array is many times faster than from a pandas
        text column, which matters when a server answers one request at a time.
        """
        values = self._column_cache.get((kind, column))
        if values is None:
            table = self.user_attributes if kind == "user" else self.interest_attributes
            values = table[column].to_numpy()
            self._column_cache[(kind, column)] = values
        return values

    def _interest_columns(self, interest_indices: np.ndarray) -> dict[str, np.ndarray]:
        """Return the display attributes of the given interests, one array per column."""
        return {column: self._column_values("interest", column)[interest_indices]
                for column in self.display_columns()}

    def _with_attributes(self, frame: pd.DataFrame, interest_indices: np.ndarray) -> pd.DataFrame:
        for column, values in self._interest_columns(interest_indices).items():
            frame[column] = values
        return frame

    def history(self, user_id: str, k: int | None = 20) -> pd.DataFrame:
        """Return a user's most frequented interests with the model's prediction beside each.

        Columns: ``rank``, ``interest_id``, ``frequency`` (actual),
        ``predicted_frequency`` (``score`` for ranking models), ``part``
        (``train`` or ``validation``), then the interest's display attributes.
        Sorted by actual frequency, highest first (ties by interest index).
        ``k=None`` returns every engaged interest.
        """
        self._require_fitted()
        user = self.users.index_of(user_id)
        rows = self.engaged_rows(user)
        order = np.lexsort((rows["interest_index"].to_numpy(), -rows["frequency"].to_numpy()))
        if k is not None:
            order = order[:max(k, 0)]
        rows = rows.iloc[order]
        interests = rows["interest_index"].to_numpy()
        frame = pd.DataFrame({
            "rank": np.arange(1, len(rows) + 1),
            "interest_id": self.interests.ids[interests],
            "frequency": rows["frequency"].to_numpy(),
            self.score_column: self.predict_indices(np.full(len(rows), user), interests),
            "part": np.where(rows["validation"].to_numpy(), "validation", "train"),
        })
        return self._with_attributes(frame, interests)

    def recommend(self, user_id: str, k: int = 20, exclude_seen: bool = True, *,
                  fallback: bool = False,
                  attributes: Mapping[str, str] | None = None,
                  include: Sequence[str] | None = None,
                  exclude: Sequence[str] | None = None,
                  categories: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the ``k`` best interests for a user, best first, with their attributes.

        Interests the user engaged with (any stored row, validation rows
        included) are left out unless ``exclude_seen`` is false. Ties keep the
        lower interest index first. Fewer than ``k`` rows come back when the
        catalogue runs out.

        Columns: ``rank``, ``interest_id``, ``predicted_frequency`` (``score``
        for ranking models), then the
        interest's display attributes.

        An unknown user raises :class:`UnknownIDError`, unless ``fallback`` is
        true. Then the result is :meth:`popular` within the segment that
        ``attributes`` describes, and the frame's ``attrs`` flag it.

        Filters: ``include`` ranks only those interests (each must be known),
        ``exclude`` leaves those out (unknown IDs are ignored), and
        ``categories`` keeps interests whose ``category`` attribute is one of them.
        """
        columns, notes = self.recommend_columns(user_id, k, exclude_seen, fallback=fallback,
                                                attributes=attributes, include=include,
                                                exclude=exclude, categories=categories)
        frame = pd.DataFrame(columns)
        frame.attrs.update(notes)
        return frame

    def recommend_columns(self, user_id: str, k: int = 20, exclude_seen: bool = True, *,
                          fallback: bool = False,
                          attributes: Mapping[str, str] | None = None,
                          include: Sequence[str] | None = None,
                          exclude: Sequence[str] | None = None,
                          categories: Sequence[str] | None = None
                          ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
        """Return :meth:`recommend` as NumPy columns, and the notes it puts in ``attrs``.

        Building a DataFrame costs more than scoring one user, so the HTTP
        service takes the columns as they are. The notes are empty unless the
        result is a fallback (``fallback`` and ``reason``).
        """
        self._require_fitted()
        allowed = self._allowed_interests(include, exclude, categories)
        if fallback and user_id not in self.users:
            # A model with user attributes scores the new user from them. Other models fall
            # back to what is popular in the user's segment.
            features = self.user_features
            if attributes and features is not None and \
                    {column.name for column in features.columns} & set(attributes):
                frame = self._recommend_new_user(attributes, k, allowed)
            else:
                frame = self.popular(k, attributes, allowed=allowed)
            notes = dict(frame.attrs, reason=f"unknown user {user_id!r}: {frame.attrs['reason']}")
            return {column: frame[column].to_numpy() for column in frame.columns}, notes

        user = self.users.index_of(user_id)
        scores = self._score_user(user)
        if exclude_seen:
            start, stop = self._engaged_indptr[user], self._engaged_indptr[user + 1]
            seen = self._engaged_interests[start:stop]
        else:
            seen = np.empty(0, dtype=np.int64)
        if allowed is not None:
            seen = np.union1d(seen, np.flatnonzero(~allowed))

        chosen = top_k(scores, k, seen)
        columns = {"rank": np.arange(1, len(chosen) + 1),
                   "interest_id": self.interests.ids[chosen],
                   self.score_column: self._output(scores[chosen])}
        return columns | self._interest_columns(chosen), {}

    def recommend_many(self, user_ids: Sequence[str], k: int = 20,
                       exclude_seen: bool = True) -> pd.DataFrame:
        """Return :meth:`recommend` for several users in one frame with a ``user_id`` column."""
        frames = list(self.recommend_batches(user_ids, k, exclude_seen))
        if not frames:
            return pd.DataFrame(columns=["user_id", "rank", "interest_id", self.score_column])
        return pd.concat(frames, ignore_index=True)

    def recommend_batches(self, user_ids: Sequence[str] | None = None, k: int = 20,
                          exclude_seen: bool = True,
                          batch_size: int = 1024) -> Iterator[pd.DataFrame]:
        """Yield the top ``k`` interests of many users, ``batch_size`` users per frame.

        ``user_ids=None`` means every user in the model's vocabulary. Each frame has the
        columns of :meth:`recommend` after a ``user_id`` column. Memory is
        bounded by one batch of scores (``batch_size`` x interests); seen
        interests are excluded through the stored rows, never a dense mask.
        """
        self._require_fitted()
        users = np.arange(len(self.users)) if user_ids is None else self.users.indices_of(user_ids)
        if exclude_seen:
            exclude = (self._engaged_indptr, self.interactions["interest_index"].to_numpy(np.int64))
        else:
            exclude = (np.zeros(len(self.users) + 1, dtype=np.int64), np.empty(0, dtype=np.int64))

        self.model.eval()
        buffer = torch.empty(min(batch_size, len(users)), len(self.interests), device=self.device)

        def score_batch(batch: np.ndarray) -> np.ndarray:
            return self._score_users_with(self.model, batch, out=buffer[:len(batch)])

        for batch_users, interests, ranks in _ranked_batches(score_batch, users, k, exclude,
                                                              batch_size):
            frame = pd.DataFrame({
                "user_id": self.users.ids[batch_users],
                "rank": ranks,
                "interest_id": self.interests.ids[interests],
                self.score_column: self.predict_indices(batch_users, interests),
            })
            yield self._with_attributes(frame, interests)

    # ------------------------------------------------------------ targeting

    def _engaged_users(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the users of each interest as ``(indptr, indices)``, built on first use."""
        if self._users_by_interest is None:
            self._users_by_interest = interest_lists(
                self.interactions["interest_index"].to_numpy(np.int64),
                self.interactions["user_index"].to_numpy(np.int64), len(self.interests))
        return self._users_by_interest

    def user_display_columns(self) -> list[str]:
        """Return the user attribute columns shown beside audiences and similar users."""
        return [str(c) for c in self.user_attributes.columns][:MAX_DISPLAY_COLUMNS]

    def _with_user_attributes(self, frame: pd.DataFrame, user_indices: np.ndarray) -> pd.DataFrame:
        for column in self.user_display_columns():
            frame[column] = self._column_values("user", column)[user_indices]
        return frame

    def audience(self, interest_id: str, k: int = 1000, exclude_engaged: bool = True) -> pd.DataFrame:
        """Return the ``k`` users most likely to engage with an interest, best first.

        This is lookalike targeting: users who already engaged with the interest
        (any stored row) are left out unless ``exclude_engaged`` is false.

        Columns: ``rank``, ``user_id``, ``predicted_frequency`` (``score`` for
        ranking models), then up to three user attribute columns.

        Raises:
            UnknownIDError: the interest is not in the training data.
        """
        frame = next(self.audience_batches([interest_id], k, exclude_engaged))
        return frame.drop(columns=["interest_id"])

    def audience_batches(self, interest_ids: Sequence[str] | None = None, k: int = 1000,
                         exclude_engaged: bool = True,
                         batch_size: int = 64) -> Iterator[pd.DataFrame]:
        """Yield the audiences of many interests, ``batch_size`` interests per frame.

        ``interest_ids=None`` means every interest. Each frame has an
        ``interest_id`` column, then the columns of :meth:`audience`. Memory is
        bounded by one batch of scores (``batch_size`` x users).
        """
        self._require_fitted()
        interests = np.arange(len(self.interests)) if interest_ids is None \
            else self.interests.indices_of(interest_ids)
        if exclude_engaged:
            exclude = self._engaged_users()
        else:
            exclude = (np.zeros(len(self.interests) + 1, dtype=np.int64), np.empty(0, dtype=np.int64))

        self.model.eval()
        buffer = torch.empty(min(batch_size, len(interests)), len(self.users), device=self.device)

        def score_batch(batch: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                batch = torch.as_tensor(batch, dtype=torch.int64, device=self.device)
                return self.model.score_all_users(batch, out=buffer[:len(batch)]).cpu().numpy()

        for batch_interests, users, ranks in _ranked_batches(score_batch, interests, k, exclude,
                                                              batch_size):
            frame = pd.DataFrame({
                "interest_id": self.interests.ids[batch_interests],
                "rank": ranks,
                "user_id": self.users.ids[users],
                self.score_column: self.predict_indices(users, batch_interests),
            })
            yield self._with_user_attributes(frame, users)

    def similar_interests(self, interest_id: str, k: int = 20) -> pd.DataFrame:
        """Return the ``k`` interests nearest to one in embedding space (cosine), best first.

        Columns: ``rank``, ``interest_id``, ``similarity`` (cosine, -1 to 1), then
        the interest's display attributes. The interest itself is left out.
        """
        self._require_fitted()
        chosen, similarity = self._nearest(self.model.interest_vectors()[0],
                                           self.interests.index_of(interest_id), k)
        frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                              "interest_id": self.interests.ids[chosen], "similarity": similarity})
        return self._with_attributes(frame, chosen)

    def similar_users(self, user_id: str, k: int = 20) -> pd.DataFrame:
        """Return the ``k`` users nearest to one in embedding space (cosine), best first.

        Columns: ``rank``, ``user_id``, ``similarity``, then up to three user
        attribute columns. The user itself is left out.
        """
        self._require_fitted()
        chosen, similarity = self._nearest(self.model.user_vectors()[0],
                                           self.users.index_of(user_id), k)
        frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                              "user_id": self.users.ids[chosen], "similarity": similarity})
        return self._with_user_attributes(frame, chosen)

    @staticmethod
    def _nearest(vectors: torch.Tensor, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``k`` rows of ``vectors`` with the highest cosine to ``row``, and the cosines."""
        with torch.no_grad():
            norms = vectors.norm(dim=1).clamp_min(1e-12)
            cosines = (vectors @ vectors[row]) / (norms * norms[row])
        cosines = cosines.double().cpu().numpy()
        chosen = top_k(cosines, k, np.array([row]))
        return chosen, cosines[chosen]

    def _allowed_interests(self, include: Sequence[str] | None, exclude: Sequence[str] | None,
                           categories: Sequence[str] | None) -> np.ndarray | None:
        """Return a mask of the interests the filters allow, or None when there are no filters."""
        if include is None and not exclude and not categories:
            return None
        allowed = np.ones(len(self.interests), dtype=bool)
        if include is not None:
            allowed[:] = False
            allowed[self.interests.indices_of(include)] = True
        if exclude:
            rows = self.interests.indices_of(exclude, strict=False)
            allowed[rows[rows >= 0]] = False
        if categories:
            if "category" not in self.interest_attributes.columns:
                raise ConfigError("the interests table has no category column, so interests "
                                  "cannot be filtered by category; drop the category filter")
            members = self._category_members()
            unknown = [str(value) for value in categories if str(value) not in members]
            if unknown:
                raise ConfigError(f"unknown category {unknown[0]!r}; the interests table has "
                                  f"{len(members):,} categories, such as {sorted(members)[:10]}")
            in_categories = np.zeros(len(self.interests), dtype=bool)
            for value in categories:
                in_categories[members[str(value)]] = True
            allowed &= in_categories
        return allowed

    def _category_members(self) -> dict[str, np.ndarray]:
        """Return the interests of each category, computed once.

        A category cell may hold several categories separated by ``|`` (such as
        MovieLens's ``Comedy|Romance``); the interest then belongs to each.
        """
        if self._categories is None:
            column = self.interest_attributes["category"]
            tokens = column.dropna().astype(str).str.split("|").explode().str.strip()
            tokens = tokens[tokens != ""]
            rows = self.interest_attributes.index.get_indexer(tokens.index)
            self._categories = {str(name): np.unique(rows[positions])
                                for name, positions in tokens.reset_index(drop=True).groupby(
                                    tokens.to_numpy()).groups.items()}
        return self._categories

    def popular(self, k: int = 20, attributes: Mapping[str, str] | None = None,
                allowed: np.ndarray | None = None) -> pd.DataFrame:
        """Return the ``k`` interests engaged by the most users, overall or within a segment.

        ``attributes`` (for example ``{"region": "north", "age_band": "25-34"}``)
        restricts the count to users whose attribute columns have those values.
        A segment without users falls back to all users. The frame's
        ``attrs`` give ``fallback`` (``"popular"``) and ``reason``. ``allowed``,
        a mask over interests, leaves out the others.

        Columns: ``rank``, ``interest_id``, ``engaged_users`` (the count), then
        the interest's display attributes.

        Raises:
            ConfigError: an attribute is not a column of the users table.
        """
        self._require_fitted()
        users_in_segment, segment = None, "all users"
        if attributes:
            unknown = [name for name in attributes if name not in self.user_attributes.columns]
            if unknown:
                raise ConfigError(f"unknown user attribute {unknown[0]!r}; use one of the users "
                                  f"table's columns {[str(c) for c in self.user_attributes.columns]}")
            match = np.ones(len(self.users), dtype=bool)
            for name, value in attributes.items():
                match &= self.user_attributes[name].astype(str).to_numpy() == str(value)
            description = ", ".join(f"{name}={value}" for name, value in attributes.items())
            if match.any():
                users_in_segment = match
                segment = f"{int(match.sum()):,} users with {description}"
            else:
                segment = f"all users (no user has {description})"

        key = tuple(sorted((str(name), str(value)) for name, value in (attributes or {}).items()))
        counts = self._popularity_cache.get(key)
        if counts is None:
            rows = self.interactions["interest_index"].to_numpy(np.int64)
            if users_in_segment is not None:
                rows = rows[users_in_segment[self.interactions["user_index"].to_numpy()]]
            counts = np.bincount(rows, minlength=len(self.interests))
            if len(self._popularity_cache) >= POPULARITY_CACHE_SIZE:
                self._popularity_cache.pop(next(iter(self._popularity_cache)))
            self._popularity_cache[key] = counts
        chosen = top_k(counts, k, None if allowed is None else np.flatnonzero(~allowed))
        frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                              "interest_id": self.interests.ids[chosen],
                              "engaged_users": counts[chosen]})
        frame = self._with_attributes(frame, chosen)
        frame.attrs.update(fallback="popular", reason=f"most engaged interests among {segment}")
        return frame

    # ------------------------------------------------------------- cold start

    def _new_entity_features(self, kind: str, attributes: Mapping[str, object]
                             ) -> tuple[torch.Tensor, torch.Tensor, str]:
        """Encode a new user's or interest's attributes; return the matrices and a description."""
        space = self.user_features if kind == "user" else self.interest_features
        table = self.user_attributes if kind == "user" else self.interest_attributes
        if space is None or len(space) == 0:
            raise ConfigError(f"this {self.model_config.kind} model embeds no {kind} attributes, so "
                              f"it cannot score a new {kind}; train a hybrid model (--model hybrid) "
                              f"on data with a{'' if kind == 'user' else 'n'} {kind}s table")
        unknown = [name for name in attributes if name not in table.columns]
        if unknown:
            raise ConfigError(f"unknown {kind} attribute {unknown[0]!r}; use one of the {kind}s "
                              f"table's columns {[str(c) for c in table.columns]}")
        columns = {column.name: column for column in space.columns}
        used = {name: value for name, value in attributes.items() if name in columns}
        if not used:
            raise ConfigError(f"the model uses none of the given {kind} attributes "
                              f"{sorted(attributes)}; give at least one of {sorted(columns)}")
        for name, value in used.items():
            _check_number(kind, name, columns[name].kind, value)
        ids, weights = space.encode_attributes(used)

        def shown(name: str, value: object) -> str:
            column = columns[name]
            tokens = str(value).split("|") if column.kind == "multi" else [str(value)]
            known = column.kind not in ("categorical", "multi") or \
                all(token.strip() in column.values for token in tokens)
            return f"{name}={value}" if known else f"{name}={value} (not seen in training)"

        description = ", ".join(shown(name, value) for name, value in used.items())
        ignored = sorted(set(attributes) - set(columns))
        if ignored:
            description += f" (the model does not use {', '.join(ignored)})"
        return (torch.as_tensor(ids, device=self.device), torch.as_tensor(weights, device=self.device),
                description)

    def _new_entity_scores(self, kind: str, attributes: Mapping[str, object]) -> tuple[np.ndarray, str]:
        """Score a new user against every interest (or a new interest against every user)."""
        self._require_fitted()
        ids, weights, description = self._new_entity_features(kind, attributes)
        score = self.model.score_new_users if kind == "user" else self.model.score_new_interests
        self.model.eval()
        with torch.no_grad():
            scores = score(ids, weights)[0]
        return scores.double().cpu().numpy(), description

    def _recommend_new_user(self, attributes: Mapping[str, object], k: int,
                            allowed: np.ndarray | None) -> pd.DataFrame:
        scores, description = self._new_entity_scores("user", attributes)
        chosen = top_k(scores, k, None if allowed is None else np.flatnonzero(~allowed))
        frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                              "interest_id": self.interests.ids[chosen],
                              self.score_column: self._output(scores[chosen])})
        frame = self._with_attributes(frame, chosen)
        frame.attrs.update(fallback="attributes",
                           reason=f"scored from the user's attributes alone: {description}")
        return frame

    def recommend_new_user(self, attributes: Mapping[str, object], k: int = 20, *,
                           include: Sequence[str] | None = None,
                           exclude: Sequence[str] | None = None,
                           categories: Sequence[str] | None = None) -> pd.DataFrame:
        """Return the ``k`` best interests for a user the model has not seen, from attributes alone.

        ``attributes`` maps users table columns to values, such as
        ``{"age_band": "25-34", "region": "north"}``. Values the model did not
        see in training, and columns left out, count as unknown. Columns of the
        users table that the model does not embed are ignored and named in the
        ``reason``. The frame has the columns of :meth:`recommend`; its ``attrs``
        give ``fallback`` (``"attributes"``) and ``reason``.

        Raises:
            ConfigError: the model embeds no user attributes, or an attribute is
                not a column of the users table.
        """
        return self._recommend_new_user(attributes, k,
                                        self._allowed_interests(include, exclude, categories))

    def predict_new_user(self, attributes: Mapping[str, object],
                         interest_ids: Sequence[str]) -> np.ndarray:
        """Predict a new user's frequency (or score) for each interest, from the user's attributes."""
        scores, _ = self._new_entity_scores("user", attributes)
        return self._output(scores[self.interests.indices_of(interest_ids)])

    def audience_new_interest(self, attributes: Mapping[str, object], k: int = 1000) -> pd.DataFrame:
        """Return the ``k`` users most likely to engage with an interest the model has not seen.

        The interest is described by its attributes (columns of the interests
        table, such as ``{"category": "Sports"}``). Columns: those of
        :meth:`audience`; ``attrs`` give ``fallback`` (``"attributes"``) and ``reason``.
        """
        scores, description = self._new_entity_scores("interest", attributes)
        chosen = top_k(scores, k)
        frame = pd.DataFrame({"rank": np.arange(1, len(chosen) + 1),
                              "user_id": self.users.ids[chosen],
                              self.score_column: self._output(scores[chosen])})
        frame = self._with_user_attributes(frame, chosen)
        frame.attrs.update(fallback="attributes",
                           reason=f"scored from the interest's attributes alone: {description}")
        return frame

    def predict_new_interest(self, attributes: Mapping[str, object],
                             user_ids: Sequence[str]) -> np.ndarray:
        """Predict each user's frequency (or score) for a new interest, from its attributes."""
        scores, _ = self._new_entity_scores("interest", attributes)
        return self._output(scores[self.users.indices_of(user_ids)])

    # ------------------------------------------------------------- persistence

    def info(self) -> dict:
        """Return configs, data summary, metrics and versions as JSON-ready data."""
        self._require_fitted()
        # Settings of other model kinds would only mislead, so they are left out.
        model = self.model_config.to_dict()
        if self.model_config.kind != "deep":
            for name in ("layers", "activation", "dropout", "use_product"):
                model.pop(name)
        if not self.model_config.uses_attributes:
            for name in ("attributes", "user_columns", "interest_columns", "max_attribute_values",
                         "user_id_dropout", "interest_id_dropout"):
                model.pop(name)
        info = {
            "model": model,
            "training": {**self.train_config.to_dict(), **self._effective_training()},
            "target_transform": self.transform.to_dict(),
            "metrics": self.metrics,
            "data": self.data_summary,
            "users": len(self.users),
            "interests": len(self.interests),
            "engaged_rows": len(self.interactions),
        }
        if self.user_features is not None:
            # One line per table, so the CLI's table shows the columns, not a nested list.
            info["attribute_columns"] = {
                kind: ", ".join(f"{column['name']} ({column['kind']})" for column in space.describe())
                or "none"
                for kind, space in (("user", self.user_features),
                                    ("interest", self.interest_features))}
        for key in ("adrec_version", "torch_version", "python_version", "saved_at"):
            if key in self.manifest:
                info[key] = self.manifest[key]
        if "files" in self.manifest:
            info["bundle_hash"] = bundle_hash(self.manifest)
        return info

    def _trainer_name(self) -> str:
        """Return which trainer fits this model: ``als``, ``fast`` or ``torch``."""
        if self.model_config.kind != "mf":
            return "torch"
        if self.train_config.objective == "ials":
            return "als"
        return self.train_config.effective_backend

    def _effective_training(self) -> dict:
        """Return the settings training used where the config left them to defaults (None)."""
        config = self.train_config
        used = {"l2": config.l2_for(self._trainer_name())}
        if self._trainer_name() != "als":
            backend = config.effective_backend if self.model_config.kind == "mf" else "torch"
            used.update(backend=backend, optimizer=config.optimizer_for(backend),
                        learning_rate=self.metrics.get("learning_rate",
                                                       config.learning_rate_for(backend)))
            if backend == "fast":
                used["bias_l2"] = config.effective_bias_l2
        return used

    def save(self, path: str | Path) -> Path:
        """Write the model bundle folder atomically; see :mod:`adrec.persistence.bundle`."""
        self._require_fitted()
        users = self.user_attributes.reset_index(drop=True)
        users.insert(0, "user_id", self.users.ids)
        interests = self.interest_attributes.reset_index(drop=True)
        interests.insert(0, "interest_id", self.interests.ids)
        manifest = {
            "model": self.model_config.to_dict(),
            "training": self.train_config.to_dict(),
            "target_transform": self.transform.to_dict(),
            "metrics": self.metrics,
            "history": self.history_,
            "data": self.data_summary,
        }
        if self.user_features is not None:
            manifest["features"] = {"user": self.user_features.to_dict(),
                                    "interest": self.interest_features.to_dict()}
        # Bundles hold CPU tensors, so a model scored on a GPU loads anywhere.
        weights = {name: tensor.cpu() for name, tensor in self.model.state_dict().items()}
        contents = BundleContents(manifest=manifest, weights=weights,
                                  users=users, interests=interests,
                                  interactions=self.interactions)
        path = save_bundle(path, contents)
        self.manifest = read_manifest(path)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | torch.device = "cpu") -> Recommender:
        """Load a bundle written by :meth:`save`; no code in it is executed.

        ``device`` is where the model scores (see :meth:`to`).

        Raises:
            BundleError: the bundle is missing, truncated, corrupted or incompatible.
        """
        contents = load_bundle(path)
        manifest = contents.manifest
        try:
            recommender = cls(ModelConfig.from_dict(manifest["model"]),
                              TrainConfig.from_dict(manifest["training"]))
            transform = manifest["target_transform"]
            recommender.transform = TargetTransform(transform["name"], transform["frequency_min"],
                                                    transform["frequency_max"])
            users = contents.users
            interests = contents.interests
            recommender.users = Vocabulary(users["user_id"].astype(object).to_numpy(), "user")
            recommender.interests = Vocabulary(interests["interest_id"].astype(object).to_numpy(),
                                               "interest")
            recommender.user_attributes = users.drop(columns=["user_id"]).set_axis(
                pd.Index(recommender.users.ids, dtype=object, name="user_id"))
            recommender.interest_attributes = interests.drop(columns=["interest_id"]).set_axis(
                pd.Index(recommender.interests.ids, dtype=object, name="interest_id"))

            features = manifest.get("features")
            if features is not None:
                recommender.user_features = FeatureSpace.from_dict(features["user"])
                recommender.interest_features = FeatureSpace.from_dict(features["interest"])
            model = build_model(recommender.model_config, len(recommender.users),
                                len(recommender.interests),
                                user_features=recommender.user_features,
                                interest_features=recommender.interest_features)
            model.load_state_dict(contents.weights)
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
            raise BundleError(f"{path}: the bundle does not match this adrec version's model "
                              f"definition ({first_line}); retrain it") from error
        recommender.model = model.eval()
        recommender._index_interactions(contents.interactions)
        recommender.metrics = manifest.get("metrics", {})
        recommender.history_ = manifest.get("history", [])
        recommender.data_summary = manifest.get("data", {})
        recommender.manifest = manifest
        if not all(math.isfinite(float(t.abs().max())) for t in contents.weights.values() if t.numel()):
            raise BundleError(f"{path}: the weights hold NaN or infinite values; retrain the model")
        return recommender.to(device) if torch.device(device).type != "cpu" else recommender


def _check_number(kind: str, name: str, column_kind: str, value: object) -> None:
    """Raise ConfigError when a numeric or 0/1 column's value is not a number; an empty value passes."""
    if column_kind not in ("numeric", "flag") or value is None or str(value).strip() == "":
        return
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise ConfigError(f"{kind} attribute {name!r} is numeric, got {value!r}; give a finite "
                          "number, or an empty value for missing")
    if column_kind == "flag" and number not in (0.0, 1.0):
        raise ConfigError(f"{kind} attribute {name!r} is a 0/1 flag, got {value!r}; give 0 or 1")
