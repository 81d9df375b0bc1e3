"""Model configuration: which scoring function, and its sizes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from adrec.errors import ConfigError

MODEL_KINDS = ("mf", "hybrid", "deep")
ACTIVATION_NAMES = ("relu", "sigmoid", "tanh", "linear")


@dataclass
class ModelConfig:
    """Settings of a scoring model.

    Attributes:
        kind: ``mf`` is matrix factorization (dot product of a user and an
            interest embedding); ``hybrid`` adds embeddings of the users' and
            interests' attributes to the ID embeddings, so a new user or
            interest can be scored from attributes alone; ``deep`` passes the
            vectors through dense layers instead of a dot product alone.
        dim: embedding dimension.
        use_bias: add a learned bias per user and per interest and a global
            mean to the score.
        init_std: standard deviation of the normal initialization of the
            embeddings; biases start at zero.
        layers: ``deep`` only: sizes of the hidden dense layers.
        activation: ``deep`` only: activation of the hidden layers: ``relu``,
            ``sigmoid``, ``tanh`` or ``linear``.
        dropout: ``deep`` only: dropout probability after each hidden layer.
        use_product: ``deep`` only: feed the element-wise product of the two
            vectors to the layers beside the vectors themselves.
        attributes: use the attribute columns of the users and interests tables
            (see :mod:`adrec.data.features`). None means yes for ``hybrid`` and
            no for ``deep``; ``mf`` uses none.
        user_columns: users table columns to use; None chooses automatically
            (categorical with at most ``max_attribute_values`` values, numeric,
            0/1 flags, ``|``-separated multi-valued text).
        interest_columns: the same for the interests table.
        max_attribute_values: the bound on distinct values of an automatically
            chosen text column. A named column keeps its most frequent values up
            to this bound, and the rest go to the unknown bucket.
        user_id_dropout: probability of dropping a user's ID embedding in a
            training row, so the attribute part learns to score new users on its
            own.
        interest_id_dropout: the same for interests. Dropping interest IDs blurs
            the interest biases, which carry popularity, and so the rankings for
            new users. Raise it when new interests matter more.
    """

    kind: str = "mf"
    dim: int = 64
    use_bias: bool = True
    init_std: float = 0.1
    layers: tuple[int, ...] = (64, 32)
    activation: str = "relu"
    dropout: float = 0.0
    use_product: bool = True
    attributes: bool | None = None
    user_columns: list[str] | None = None
    interest_columns: list[str] | None = None
    max_attribute_values: int = 100
    user_id_dropout: float = 0.3
    interest_id_dropout: float = 0.0

    def __post_init__(self) -> None:
        self.layers = tuple(self.layers)
        self.validate()

    @property
    def uses_attributes(self) -> bool:
        """True when the model embeds attribute columns."""
        return self.kind == "hybrid" if self.attributes is None else bool(self.attributes)

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that cannot work."""
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}; choose one of {MODEL_KINDS}")
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ConfigError(f"embedding dimension must be a positive integer, got {self.dim!r}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std!r}")
        if any(not isinstance(size, int) or size < 1 for size in self.layers):
            raise ConfigError(f"layer sizes must be positive integers, got {list(self.layers)}")
        if self.activation not in ACTIVATION_NAMES:
            raise ConfigError(f"unknown activation {self.activation!r}; choose one of "
                              f"{ACTIVATION_NAMES}")
        for name in ("dropout", "user_id_dropout", "interest_id_dropout"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ConfigError(f"{name} must be in [0, 1), got {value!r}")
        if self.kind == "mf" and self.attributes:
            raise ConfigError("the mf model uses no attributes; choose kind 'hybrid' (or 'deep') "
                              "to use the users and interests tables")
        if not isinstance(self.max_attribute_values, int) or self.max_attribute_values < 1:
            raise ConfigError(f"max_attribute_values must be a positive integer, "
                              f"got {self.max_attribute_values!r}")

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready data."""
        values = asdict(self)
        values["layers"] = list(self.layers)
        return values

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Build a config from :meth:`to_dict` output, ignoring unknown keys from newer versions."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
