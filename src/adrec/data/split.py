"""Splitting interactions into training and validation parts."""

from __future__ import annotations

import numpy as np

from adrec.errors import ConfigError


def random_split(n_rows: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row numbers with ``seed`` and cut off a validation part.

    Args:
        n_rows: number of rows to split.
        validation_fraction: share of rows in the validation part, in [0, 1).
            With 0 the validation part is empty.
        seed: seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(train_rows, validation_rows)``: disjoint sorted ``int64`` arrays of
        row numbers that together cover ``range(n_rows)``.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigError(
            f"validation fraction must be in [0, 1), got {validation_fraction}"
        )
    generator = np.random.default_rng(seed)
    order = generator.permutation(n_rows)
    n_validation = int(round(n_rows * validation_fraction))
    if validation_fraction > 0 and n_rows > 1:
        n_validation = min(max(n_validation, 1), n_rows - 1)
    validation_rows = np.sort(order[:n_validation])
    train_rows = np.sort(order[n_validation:])
    return train_rows.astype(np.int64), validation_rows.astype(np.int64)
