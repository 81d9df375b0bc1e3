"""The training target: frequencies, optionally log-transformed, and the way back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TargetTransform:
    """Map frequencies to the training target and predictions back to frequencies.

    Attributes:
        name: ``none`` or ``log1p``.
        frequency_min: smallest frequency seen in training.
        frequency_max: largest frequency seen in training.

    Predictions mapped back are clipped to ``[frequency_min, frequency_max]``:
    never negative, and never outside the range the model learned from.
    """

    name: str
    frequency_min: float = 0.0
    frequency_max: float = float("inf")

    def forward(self, frequency: np.ndarray) -> np.ndarray:
        """Return the training target for frequencies >= 0."""
        frequency = np.asarray(frequency, dtype=np.float64)
        return np.log1p(frequency) if self.name == "log1p" else frequency

    def inverse(self, target: np.ndarray) -> np.ndarray:
        """Return frequencies for predicted targets, clipped to the training range."""
        target = np.asarray(target, dtype=np.float64)
        if self.name == "log1p":
            # Clip before expm1 so a wild score cannot overflow.
            target = np.clip(target, np.log1p(self.frequency_min), np.log1p(self.frequency_max))
            frequency = np.expm1(target)
        else:
            frequency = target
        return np.clip(frequency, self.frequency_min, self.frequency_max)

    def to_dict(self) -> dict:
        """Return the transform as JSON-ready data."""
        return {"name": self.name, "frequency_min": self.frequency_min,
                "frequency_max": self.frequency_max}
