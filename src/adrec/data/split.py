"""Splitting interactions into training and held-out parts.

Methods: random rows, per-user leave-n-out, a time cutoff, and cold-start splits that
hold out whole users or whole interests.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from adrec.errors import ConfigError

logger = logging.getLogger(__name__)

SPLIT_METHODS = ("random", "leave-n-out", "time", "cold-users", "cold-interests")
# Methods that hold out whole users or interests, keyed to the index they group rows by.
COLD_SPLIT_COLUMNS = {"cold-users": "user_index", "cold-interests": "interest_index"}


def random_split(n_rows: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Shuffle row numbers with ``seed`` and cut off a held-out part.

    Args:
        n_rows: number of rows to split.
        validation_fraction: share of rows in the held-out part, in [0, 1).
            With 0 the held-out part is empty.
        seed: seed of the shuffle; the same seed gives the same split.

    Returns:
        ``(train_rows, held_out_rows)``: disjoint sorted ``int64`` arrays of
        row numbers that together cover ``range(n_rows)``.
    """
    _check_fraction(validation_fraction)
    generator = np.random.default_rng(seed)
    order = generator.permutation(n_rows)
    n_validation = int(round(n_rows * validation_fraction))
    if validation_fraction > 0 and n_rows > 1:
        n_validation = min(max(n_validation, 1), n_rows - 1)
    validation_rows = np.sort(order[:n_validation])
    train_rows = np.sort(order[n_validation:])
    return train_rows.astype(np.int64), validation_rows.astype(np.int64)


def leave_n_out_split(user_index: np.ndarray, seed: int, *, n: int | None = None,
                      fraction: float | None = None,
                      min_train: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Hold out, for every user, ``n`` rows or a ``fraction`` of their rows, chosen at random.

    Each user keeps at least ``min_train`` rows for training, so every user in
    the held-out part is in the model's vocabulary. Users with ``min_train`` rows
    or fewer stay entirely in training. A fraction is rounded per user (20% of 7
    rows holds out 1). Give exactly one of ``n`` and ``fraction``.

    Returns:
        ``(train_rows, held_out_rows)`` as sorted ``int64`` row numbers.
    """
    if (n is None) == (fraction is None):
        raise ConfigError("give exactly one of n (rows per user) and fraction (share per user)")
    if n is not None and n < 1:
        raise ConfigError(f"rows held out per user must be >= 1, got {n}")
    if fraction is not None:
        _check_fraction(fraction)
    if min_train < 0:
        raise ConfigError(f"min_train must be >= 0, got {min_train}")

    user_index = np.asarray(user_index, dtype=np.int64)
    generator = np.random.default_rng(seed)
    # A random order, then grouped by user (stable), gives each user's rows in random order.
    order = generator.permutation(len(user_index))
    order = order[np.argsort(user_index[order], kind="stable")]
    counts = np.bincount(user_index, minlength=int(user_index.max()) + 1 if len(user_index) else 0)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]) if len(counts) else np.zeros(0, np.int64)

    requested = np.full(len(counts), n) if n is not None else np.round(counts * fraction).astype(np.int64)
    held_out_per_user = np.clip(np.minimum(requested, counts - min_train), 0, None)
    users_of_order = user_index[order]
    position = np.arange(len(order)) - starts[users_of_order]
    is_held_out = position < held_out_per_user[users_of_order]
    return np.sort(order[~is_held_out]).astype(np.int64), np.sort(order[is_held_out]).astype(np.int64)


def time_split(timestamp: np.ndarray | None, *, cutoff: int | None = None,
               fraction: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Hold out every row at or after a global time cutoff.

    Give the cutoff as Unix seconds, or a ``fraction`` to place it so that about
    that share of the rows (the latest ones) is held out. Rows with the
    cutoff's own timestamp all go to the held-out part, so ties never straddle it.

    Returns:
        ``(train_rows, held_out_rows)`` as sorted ``int64`` row numbers.
    """
    if timestamp is None:
        raise ConfigError("a time split needs timestamps, and this data has none; use a random "
                          "or leave-n-out split, or add a timestamp column")
    if (cutoff is None) == (fraction is None):
        raise ConfigError("give exactly one of cutoff (Unix seconds) and fraction (share held out)")
    timestamp = np.asarray(timestamp, dtype=np.int64)
    if fraction is not None:
        _check_fraction(fraction)
        if fraction == 0 or len(timestamp) == 0:
            return np.arange(len(timestamp), dtype=np.int64), np.empty(0, dtype=np.int64)
        ordered = np.sort(timestamp)
        cutoff = int(ordered[max(0, len(ordered) - int(round(len(ordered) * fraction)))]) \
            if round(len(ordered) * fraction) > 0 else int(ordered[-1]) + 1
    is_held_out = timestamp >= cutoff
    return np.flatnonzero(~is_held_out).astype(np.int64), np.flatnonzero(is_held_out).astype(np.int64)


def cold_split(entity_index: np.ndarray, test_fraction: float, seed: int, *,
               entity: str = "user") -> tuple[np.ndarray, np.ndarray]:
    """Hold out every row of a random ``test_fraction`` of the users or interests.

    ``entity_index`` gives each row's user (or interest) index. The fraction is
    taken of the distinct indices that occur in it and rounded, with at least
    one held out and one left for training when the fraction is above 0. The
    training part then contains no row of a held-out user (or interest), which
    is what a cold-start evaluation needs.

    Args:
        entity_index: the user or interest index of each row.
        test_fraction: share of the users (or interests) held out, in [0, 1).
        seed: seed of the choice; the same seed gives the same split.
        entity: ``"user"`` or ``"interest"``, used in error messages.

    Returns:
        ``(train_rows, held_out_rows)`` as sorted ``int64`` row numbers.

    Raises:
        ConfigError: fewer than two distinct users (or interests) occur, so
            one cannot be held out while another stays in training.
    """
    _check_fraction(test_fraction)
    entity_index = np.asarray(entity_index, dtype=np.int64)
    present = np.unique(entity_index)
    if len(present) < 2:
        raise ConfigError(f"a cold-{entity}s split needs rows of at least 2 {entity}s, "
                          f"got {len(present)}. Use a random or leave-n-out split instead.")

    # The same rounding and bounds as a random row split, applied to the distinct IDs.
    _, held_out_positions = random_split(len(present), test_fraction, seed)
    is_held_out = np.isin(entity_index, present[held_out_positions])
    return np.flatnonzero(~is_held_out).astype(np.int64), np.flatnonzero(is_held_out).astype(np.int64)


@dataclass
class SplitReport:
    """Counts of a split, including the held-out rows that no model trained on the rest can score."""

    method: str
    train_rows: int
    test_rows: int
    test_users: int
    test_interests: int
    cold_users: int
    cold_interests: int
    cold_rows: int
    cutoff: int | None = None

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return asdict(self)


def split_report(method: str, user_index: np.ndarray, interest_index: np.ndarray,
                 train_rows: np.ndarray, test_rows: np.ndarray,
                 cutoff: int | None = None) -> SplitReport:
    """Count the held-out users, interests and rows that never occur in the training part."""
    train_users = np.unique(user_index[train_rows])
    train_interests = np.unique(interest_index[train_rows])
    test_users = np.unique(user_index[test_rows])
    test_interests = np.unique(interest_index[test_rows])
    cold_row = ~np.isin(user_index[test_rows], train_users) | \
        ~np.isin(interest_index[test_rows], train_interests)
    report = SplitReport(
        method=method, train_rows=len(train_rows), test_rows=len(test_rows),
        test_users=len(test_users), test_interests=len(test_interests),
        cold_users=int((~np.isin(test_users, train_users)).sum()),
        cold_interests=int((~np.isin(test_interests, train_interests)).sum()),
        cold_rows=int(cold_row.sum()), cutoff=cutoff,
    )
    if method in COLD_SPLIT_COLUMNS:
        logger.info("%s split: %d of %d held-out users and %d of %d held-out interests do not occur "
                    "in the training part", method, report.cold_users, report.test_users,
                    report.cold_interests, report.test_interests)
    elif report.cold_rows:
        logger.info("%d held-out rows (%d users, %d interests) do not occur in the training part; "
                    "a model trained on it cannot score them", report.cold_rows, report.cold_users,
                    report.cold_interests)
    return report


def _check_fraction(fraction: float) -> None:
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"held-out (validation or test) fraction must be in [0, 1), "
                          f"got {fraction}")


def parse_cutoff(cutoff: int | str | None) -> int | None:
    """Return a time cutoff as Unix seconds, given as seconds or an ISO date or date-time.

    A date or date-time without a time zone is read as UTC.
    """
    if cutoff is None or isinstance(cutoff, (int, np.integer)):
        return None if cutoff is None else int(cutoff)
    text = str(cutoff).strip()
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        moment = pd.Timestamp(text)
    except ValueError:
        raise ConfigError(f"invalid cutoff {cutoff!r}: give Unix seconds or an ISO date such as "
                          "2024-05-01") from None
    moment = moment.tz_localize("UTC") if moment.tzinfo is None else moment.tz_convert("UTC")
    return int(moment.timestamp())


def split_data(data, method: str = "random", *, test_fraction: float | None = None, seed: int = 0,
               n: int | None = None, cutoff: int | str | None = None):
    """Split an :class:`InteractionData` into ``(train, test, report)`` datasets.

    Args:
        data: the interactions to split.
        method: ``random`` (rows at random), ``leave-n-out`` (per user: ``n``
            rows, or ``test_fraction`` of their rows), ``time`` (every row at
            or after ``cutoff``, or the latest ``test_fraction`` of rows),
            ``cold-users`` (every row of ``test_fraction`` of the users) or
            ``cold-interests`` (every row of ``test_fraction`` of the interests).
        test_fraction: share held out, in (0, 1): of the rows, or of the users
            or interests for the cold splits; 0.1 when neither it, ``n`` nor
            ``cutoff`` is given.
        seed: seed of the random choices; the same seed gives the same split.
        n: ``leave-n-out`` only: rows held out per user, instead of a fraction.
        cutoff: ``time`` only: the first held-out moment, as Unix seconds or an
            ISO date or date-time (UTC unless it names a time zone).

    The two parts are disjoint and together hold every row. Each part's
    vocabularies hold only its own IDs; ``report`` counts the held-out users,
    interests and rows the training part does not contain. After a cold split,
    every held-out user (or interest) is among them.

    Raises:
        ConfigError: an unknown method, an option the method does not use, or a
            split that leaves either part empty.
    """
    if method not in SPLIT_METHODS:
        raise ConfigError(f"unknown split method {method!r}; choose one of {SPLIT_METHODS}")
    if n is not None and method != "leave-n-out":
        raise ConfigError(f"n (-n, rows per user) applies to the leave-n-out split only, not to "
                          f"the {method} split")
    if cutoff is not None and method != "time":
        raise ConfigError(f"a cutoff (--cutoff) applies to the time split only, not to the {method} "
                          "split")
    if test_fraction is not None and (n is not None or cutoff is not None):
        other = "n (-n)" if n is not None else "a cutoff (--cutoff)"
        raise ConfigError(f"give either a test fraction (--test-fraction) or {other}, not both")
    fraction = 0.1 if test_fraction is None else test_fraction
    cutoff = parse_cutoff(cutoff)

    if method == "random":
        train_rows, test_rows = random_split(len(data), fraction, seed)
    elif method == "leave-n-out":
        train_rows, test_rows = leave_n_out_split(
            data.user_index, seed, n=n, fraction=None if n is not None else fraction)
    elif method in COLD_SPLIT_COLUMNS:
        column = COLD_SPLIT_COLUMNS[method]
        train_rows, test_rows = cold_split(getattr(data, column), fraction, seed,
                                           entity=column.removesuffix("_index"))
    else:
        train_rows, test_rows = time_split(data.timestamp, cutoff=cutoff,
                                           fraction=None if cutoff is not None else fraction)
    _check_parts(data, method, train_rows, test_rows, cutoff)

    used_cutoff = None
    if method == "time":
        used_cutoff = int(data.timestamp[test_rows].min()) if cutoff is None else int(cutoff)
    report = split_report(method, data.user_index, data.interest_index, train_rows, test_rows,
                          used_cutoff)
    return data.take(train_rows), data.take(test_rows), report


def _check_parts(data, method: str, train_rows: np.ndarray, test_rows: np.ndarray,
                 cutoff: int | None) -> None:
    """Raise :class:`ConfigError` when a split leaves either part empty, with the data's time range."""
    if len(train_rows) and len(test_rows):
        return
    empty = "training" if len(train_rows) == 0 else "test"
    advice = "hold out less" if empty == "training" else "hold out more"
    if method == "time" and data.timestamp is not None and len(data):
        first = pd.Timestamp(int(data.timestamp.min()), unit="s", tz="UTC")
        last = pd.Timestamp(int(data.timestamp.max()), unit="s", tz="UTC")
        advice = (f"the data's timestamps run from {first:%Y-%m-%d %H:%M:%S} to "
                  f"{last:%Y-%m-%d %H:%M:%S} UTC; choose a cutoff between them")
        if cutoff is not None:
            moment = pd.Timestamp(cutoff, unit="s", tz="UTC")
            advice = f"the cutoff is {moment:%Y-%m-%d %H:%M:%S} UTC ({cutoff}), but {advice}"
    raise ConfigError(f"the {method} split left no {empty} rows; {advice}")
