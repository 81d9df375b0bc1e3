"""Training configuration: loss, optimizer, epochs, split and early stopping."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch

from adrec.errors import ConfigError

OBJECTIVES = ("mse", "ials")
BACKENDS = ("fast", "torch")
OPTIMIZERS = ("adamax", "adam", "adagrad", "sgd")
TARGET_TRANSFORMS = ("none", "log1p")

# Default L2 weights when TrainConfig.l2 is None: per target transform for MSE, measured by
# benchmarks/choose_defaults.py, and for implicit-feedback ALS, by benchmarks/choose_ials_defaults.py.
DEFAULT_L2 = {"none": 0.1, "log1p": 0.05}
DEFAULT_L2_IALS = 0.3
# The PyTorch loop weighs its L2 term per engaged row, so its scale differs from ALS's.
DEFAULT_L2_IALS_TORCH = 0.05
# Step sizes when TrainConfig.learning_rate is None: Adamax's for the torch backend, and
# SGD's for the fast backend per target transform, as is its bias L2 when bias_l2 is None.
# The fast backend's values are the best of the grid of benchmarks/choose_fast_defaults.py.
DEFAULT_LEARNING_RATE_TORCH = 0.01
DEFAULT_LEARNING_RATE_FAST = {"none": 0.01, "log1p": 0.02}
DEFAULT_BIAS_L2_FAST = {"none": 0.02, "log1p": 0.1}


@dataclass
class TrainConfig:
    """Settings of one training run.

    Attributes:
        objective: ``mse`` fits the frequencies of engaged pairs (the reference
            design; predictions are frequencies). ``ials`` is implicit-feedback
            ALS, a confidence-weighted loss over all pairs that also learns from
            the interests a user did not engage with. Its outputs are ranking
            scores, not frequencies. See :mod:`adrec.training.als`.
        backend: how MSE training runs. ``fast`` is compiled lock-free SGD on
            the CPU, one step per row, touching only the rows involved (see
            :mod:`adrec.training.sgd`); ``torch`` is the PyTorch loop with
            mini-batches, any optimizer and any device. None (the default)
            picks ``fast`` on the CPU with the default optimizer, and ``torch``
            on CUDA or when ``optimizer`` names a mini-batch optimizer.
        epochs: maximum number of passes over the training rows.
        batch_size: rows per optimizer step of the ``torch`` backend.
        optimizer: the ``torch`` backend's optimizer: ``adamax`` (its default),
            ``adam``, ``adagrad`` or ``sgd``. The ``fast`` backend runs SGD.
        learning_rate: step size of the optimizer; None picks
            :data:`DEFAULT_LEARNING_RATE_TORCH` or
            :data:`DEFAULT_LEARNING_RATE_FAST` for the target transform.
        l2: weight of the L2 penalty on the embeddings and biases of each batch.
            None picks :data:`DEFAULT_L2` for the target transform: 0.1 for raw
            frequencies, 0.05 for log1p targets, the best of a measured grid on
            MovieLens 100K and on the embedded sample respectively; for ``ials``
            it picks :data:`DEFAULT_L2_IALS` for ALS (mf) and
            :data:`DEFAULT_L2_IALS_TORCH` for the PyTorch loop (hybrid and deep).
        bias_l2: ``fast`` backend only: L2 weight on the biases; None picks
            :data:`DEFAULT_BIAS_L2_FAST`. The ``torch`` backend applies ``l2``
            to the biases too.
        confidence_weight: ``ials`` only: an engaged pair's confidence is
            ``1 + confidence_weight * target``.
        unobserved_weight: ``ials`` only: weight of the pairs without a row.
        validation_fraction: share of rows held out for validation, in [0, 1).
        patience: stop after this many epochs without a better validation loss;
            0 turns early stopping off.
        min_delta: smallest decrease of the validation loss that counts as better.
        target_transform: ``none`` trains on frequencies as they are; ``log1p``
            trains on log(1 + frequency), which suits heavy-tailed counts.
        refit: after early stopping has found the best epoch count, train again
            from the same initialization on every row, validation rows included,
            for that many epochs. The reported validation figures stay those of
            the first run, the only ones measured on rows the model did not see.
        seed: seed of the split, the initialization and the shuffling.
        device: torch device, such as ``cpu`` or ``cuda``.
        threads: threads of the ``fast`` backend; None uses one thread for
            fewer than a million training rows and every core above. With one
            thread, a fixed seed gives the same weights on every run.
    """

    objective: str = "mse"
    backend: str | None = None
    epochs: int = 60
    batch_size: int = 1024
    optimizer: str | None = None
    learning_rate: float | None = None
    l2: float | None = None
    bias_l2: float | None = None
    validation_fraction: float = 0.1
    patience: int = 5
    min_delta: float = 0.0
    confidence_weight: float = 0.3
    unobserved_weight: float = 1.0
    target_transform: str = "none"
    refit: bool = True
    seed: int = 42
    device: str = "cpu"
    threads: int | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that cannot work."""
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}; choose one of {OBJECTIVES}")
        if not (math.isfinite(self.confidence_weight) and self.confidence_weight >= 0):
            raise ConfigError(f"confidence weight must be a finite number >= 0, "
                              f"got {self.confidence_weight!r}")
        if not (math.isfinite(self.unobserved_weight) and self.unobserved_weight > 0):
            raise ConfigError(f"unobserved weight must be a finite number > 0, "
                              f"got {self.unobserved_weight!r}")
        if not isinstance(self.epochs, int) or self.epochs < 1:
            raise ConfigError(f"epochs must be a positive integer, got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ConfigError(f"batch size must be a positive integer, got {self.batch_size!r}")
        if self.backend is not None and self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; choose one of {BACKENDS}")
        if self.optimizer is not None and self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; choose one of {OPTIMIZERS}")
        if self.learning_rate is not None and not (math.isfinite(self.learning_rate)
                                                   and self.learning_rate > 0):
            raise ConfigError(f"learning rate must be a finite number > 0, got {self.learning_rate!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise ConfigError(f"threads must be a positive integer, got {self.threads!r}")
        for name in ("l2", "bias_l2"):
            value = getattr(self, name)
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ConfigError(
                f"validation fraction must be in [0, 1), got {self.validation_fraction!r}"
            )
        if not (math.isfinite(self.min_delta) and self.min_delta >= 0):
            raise ConfigError(f"min_delta must be a finite number >= 0, got {self.min_delta!r}")
        if self.patience < 0:
            raise ConfigError(f"patience must be >= 0, got {self.patience!r}")
        if self.target_transform not in TARGET_TRANSFORMS:
            raise ConfigError(
                f"unknown target transform {self.target_transform!r}; "
                f"choose one of {TARGET_TRANSFORMS}"
            )

        self._validate_device()
        self._validate_backend()

    def _validate_device(self) -> None:
        """Raise :class:`ConfigError` for a device torch does not know or cannot use here."""
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError) as error:
            raise ConfigError(f"invalid device {self.device!r} ({error}); use cpu or cuda") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ConfigError(f"device {self.device!r} requested, but CUDA is not available to this "
                              "torch build; use --device cpu or install a CUDA build of torch")

    def _validate_backend(self) -> None:
        """Raise :class:`ConfigError` for a backend that cannot run the other settings."""
        if self.backend != "fast" or self.objective != "mse":
            return
        if self.optimizer not in (None, "sgd"):
            raise ConfigError(f"the fast backend runs SGD, not {self.optimizer}; drop the optimizer "
                              "setting or use backend 'torch'")
        if torch.device(self.device).type != "cpu":
            raise ConfigError(f"the fast backend runs on the CPU, not {self.device}; use backend "
                              "'torch' to train on CUDA")

    @property
    def effective_backend(self) -> str:
        """The backend MSE training uses: ``backend``, or the choice described in the class docs."""
        if self.backend is not None:
            return self.backend
        if torch.device(self.device).type != "cpu" or self.optimizer not in (None, "sgd"):
            return "torch"
        return "fast"

    @property
    def effective_optimizer(self) -> str:
        """The optimizer training uses: ``optimizer``, or the backend's default."""
        return self.optimizer_for(self.effective_backend)

    @property
    def effective_learning_rate(self) -> float:
        """The step size training uses: ``learning_rate``, or the backend's default."""
        return self.learning_rate_for(self.effective_backend)

    def optimizer_for(self, backend: str) -> str:
        """Return the optimizer ``backend`` runs: ``optimizer``, or SGD (fast) or Adamax (torch)."""
        if self.optimizer is not None:
            return self.optimizer
        return "sgd" if backend == "fast" else "adamax"

    def learning_rate_for(self, backend: str) -> float:
        """Return the step size ``backend`` uses: ``learning_rate``, or its default."""
        if self.learning_rate is not None:
            return self.learning_rate
        if backend == "fast":
            return DEFAULT_LEARNING_RATE_FAST[self.target_transform]
        return DEFAULT_LEARNING_RATE_TORCH

    @property
    def effective_bias_l2(self) -> float:
        """L2 weight on the biases of the fast backend (the torch backend uses ``l2`` for all)."""
        if self.bias_l2 is not None:
            return self.bias_l2
        return DEFAULT_BIAS_L2_FAST[self.target_transform]

    @property
    def effective_l2(self) -> float:
        """The L2 weight of ALS and MSE training: ``l2``, or the default for the objective and transform."""
        if self.l2 is not None:
            return self.l2
        return DEFAULT_L2_IALS if self.objective == "ials" else DEFAULT_L2[self.target_transform]

    def l2_for(self, trainer: str) -> float:
        """Return the L2 weight of ``trainer`` (``als``, ``fast`` or ``torch``): ``l2``, or its default."""
        if self.l2 is None and self.objective == "ials" and trainer == "torch":
            return DEFAULT_L2_IALS_TORCH
        return self.effective_l2

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> TrainConfig:
        """Build a config from :meth:`to_dict` output, ignoring unknown keys."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
