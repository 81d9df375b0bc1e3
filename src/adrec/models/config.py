"""Model configuration: which scoring function, and its sizes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from adrec.errors import ConfigError

MODEL_KINDS = ("mf",)


@dataclass
class ModelConfig:
    """Settings of a scoring model.

    Attributes:
        kind: the model kind; ``"mf"`` is matrix factorization (dot product of
            a user and an interest embedding).
        dim: embedding dimension.
        use_bias: add a learned bias per user and per interest and a global
            mean to the dot product.
        init_std: standard deviation of the normal initialization of the
            embeddings; biases start at zero.
    """

    kind: str = "mf"
    dim: int = 64
    use_bias: bool = True
    init_std: float = 0.1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`ConfigError` for settings that cannot work."""
        if self.kind not in MODEL_KINDS:
            raise ConfigError(f"unknown model kind {self.kind!r}; choose one of {MODEL_KINDS}")
        if not isinstance(self.dim, int) or self.dim < 1:
            raise ConfigError(f"embedding dimension must be a positive integer, got {self.dim!r}")
        if not self.init_std > 0:
            raise ConfigError(f"init_std must be > 0, got {self.init_std!r}")

    def to_dict(self) -> dict:
        """Return the settings as JSON-ready data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> ModelConfig:
        """Build a config from :meth:`to_dict` output, ignoring unknown keys from newer versions."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in values.items() if key in known})
