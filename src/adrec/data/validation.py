"""Validation of frequency tables: one place that turns raw rows into clean (user, interest, frequency)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from adrec.data.tables import FrequencyColumns, id_column_as_text, row_location
from adrec.errors import DataValidationError

logger = logging.getLogger(__name__)

DUPLICATE_POLICIES = ("sum", "mean", "last", "error")
DEFAULT_DUPLICATE_POLICY = "sum"


@dataclass
class DataReport:
    """Findings of loading: sizes, merged duplicates, columns used and warnings.

    ``warnings`` contains one sentence per finding that does not stop loading,
    such as IDs missing from the users table; front ends show them.
    """

    sources: list[str] = field(default_factory=list)
    rows_read: int = 0
    pairs: int = 0
    duplicate_rows: int = 0
    duplicate_policy: str = DEFAULT_DUPLICATE_POLICY
    event_log: bool = False
    columns: dict = field(default_factory=dict)
    interests_without_rows: int = 0
    users: int = 0
    interests: int = 0
    single_row_users: int = 0
    single_row_interests: int = 0
    users_missing_from_table: int = 0
    interests_missing_from_table: int = 0
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        """Record a warning for front ends to show, and log it at INFO level."""
        self.warnings.append(message)
        logger.info(message)

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return dict(self.__dict__)


def _bad_row_error(path: Path, column: str, mask: np.ndarray, values: pd.Series, problem: str,
                   fix: str, header_lines: int | None) -> DataValidationError:
    """Build the error for the first row where ``mask`` is true."""
    row = int(np.argmax(mask))
    value = values.iloc[row]
    value_text = repr(value) if isinstance(value, str) else str(value)
    count = int(mask.sum())
    more = f" ({count - 1:,} more rows like it)" if count > 1 else ""
    return DataValidationError(
        f"{path}: column {column!r} at {row_location(row, header_lines)} has {value_text}, "
        f"{problem}{more}; {fix}"
    )


def parse_frequency(values: pd.Series, path: Path, column: str,
                    header_lines: int | None = None) -> np.ndarray:
    """Convert a frequency column to ``float64``, rejecting anything but finite numbers >= 0.

    Zeros are kept: a zero frequency is a valid observation. Empty cells, text,
    NaN, infinities and negative numbers raise :class:`DataValidationError`
    naming the first bad row and its value.
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype("float64").to_numpy()
        text = values
    else:
        # Parse each distinct text once: counts repeat the same few values many times.
        codes, uniques = pd.factorize(values, use_na_sentinel=False)
        text = pd.Series(np.asarray(uniques, dtype=object)).astype(str).str.strip()
        unique_numbers = pd.to_numeric(text, errors="coerce").astype("float64").to_numpy()
        unique_missing = text.str.lower().isin(["nan", "", "na", "null", "none"]).to_numpy()
        numbers = unique_numbers[codes]
        not_numeric = (np.isnan(unique_numbers) & ~unique_missing)[codes]
        if not_numeric.any():
            raise _bad_row_error(path, column, not_numeric, values, "which is not a number",
                                 "frequency must be a finite number >= 0", header_lines)

    missing = np.isnan(numbers)
    if missing.any():
        raise _bad_row_error(path, column, missing, values, "a missing value (NaN or empty)",
                             "fill it in or drop the row before training", header_lines)
    infinite = np.isinf(numbers)
    if infinite.any():
        raise _bad_row_error(path, column, infinite, values, "which is infinite",
                             "frequency must be a finite number >= 0", header_lines)
    negative = numbers < 0
    if negative.any():
        raise _bad_row_error(path, column, negative, values, "which is negative",
                             "frequency must be a finite number >= 0", header_lines)
    return numbers


def parse_timestamp(values: pd.Series, path: Path, column: str,
                    header_lines: int | None = None) -> np.ndarray:
    """Convert a timestamp column to Unix seconds (``int64``).

    Numbers are taken as Unix seconds; text is parsed as a date or date-time
    (ISO 8601 recommended). Unparseable or empty cells raise an error.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = pd.to_datetime(values, utc=True)
    else:
        if pd.api.types.is_string_dtype(values):
            # Whole Unix seconds in text, the common case, convert in one pass without copies.
            try:
                return values.astype("int64[pyarrow]").to_numpy(np.int64)
            except (ValueError, TypeError, pa.ArrowException):
                pass
        numbers = pd.to_numeric(values, errors="coerce")
        if not numbers.isna().any():
            return numbers.astype("float64").round().astype("int64").to_numpy()
        parsed = pd.to_datetime(values, errors="coerce", utc=True, format="mixed")

    bad = parsed.isna().to_numpy()
    if bad.any():
        raise _bad_row_error(path, column, bad, values, "which is not a date or Unix time",
                             "use ISO 8601 (2024-05-31T12:00:00) or Unix seconds", header_lines)
    seconds = (parsed - pd.Timestamp("1970-01-01", tz="UTC")) // pd.Timedelta(seconds=1)
    return seconds.astype("int64").to_numpy()


def _has_repeated_pairs(clean: pd.DataFrame) -> bool:
    """Return True when a (user, interest) pair occurs twice, checked on sorted integer keys.

    Sorting one integer key per row needs far less memory than hashing pairs of
    IDs, and most logs have no repeated pairs, so the full check rarely runs.
    """
    users, interests = clean["user_id"], clean["interest_id"]
    if not (isinstance(users.dtype, pd.CategoricalDtype)
            and isinstance(interests.dtype, pd.CategoricalDtype)):
        return bool(clean.duplicated(["user_id", "interest_id"]).any())
    keys = (users.cat.codes.to_numpy().astype(np.int64) * len(interests.cat.categories)
            + interests.cat.codes.to_numpy())
    keys.sort()
    return bool((keys[1:] == keys[:-1]).any())


def clean_frequency_table(
    frame: pd.DataFrame,
    columns: FrequencyColumns,
    path: Path,
    report: DataReport,
    duplicates: str = DEFAULT_DUPLICATE_POLICY,
) -> pd.DataFrame:
    """Turn a raw frequency table into one row per (user, interest) pair.

    What happens to each kind of row:

    * IDs become text exactly as written; an empty ID cell is an error.
    * Frequencies must be finite numbers >= 0 (see :func:`parse_frequency`);
      zeros are kept as observed pairs.
    * An event log (no frequency column) is counted: each row is one engagement.
    * Duplicated (user, interest) pairs are combined by ``duplicates``: ``sum``
      (the default: rows are counts from different log periods), ``mean``,
      ``last`` (the latest row by timestamp, else the row nearest the end of
      the file) or ``error``. Their
      timestamp becomes the latest one. The number of merged rows is reported.

    The input frame is not modified.

    Returns:
        A new frame with columns ``user_id``, ``interest_id``, ``frequency``
        and, when the input has one, ``timestamp`` (Unix seconds).
    """
    if duplicates not in DUPLICATE_POLICIES:
        raise DataValidationError(
            f"unknown duplicates policy {duplicates!r}; choose one of {', '.join(DUPLICATE_POLICIES)}"
        )
    if len(frame) == 0:
        raise DataValidationError(f"{path}: the table has a header but no data rows")

    header_lines = frame.attrs.get("header_lines")
    report.columns = {"user": columns.user, "interest": columns.interest,
                      "frequency": columns.frequency, "timestamp": columns.timestamp}
    clean = pd.DataFrame({
        "user_id": id_column_as_text(frame[columns.user], path, columns.user, header_lines).array,
        "interest_id": id_column_as_text(frame[columns.interest], path, columns.interest,
                                         header_lines).array,
    })
    if columns.frequency is None:
        clean["frequency"] = 1.0
        report.event_log = True
    else:
        clean["frequency"] = parse_frequency(frame[columns.frequency], path, columns.frequency,
                                             header_lines)
    if columns.timestamp is not None:
        clean["timestamp"] = parse_timestamp(frame[columns.timestamp], path, columns.timestamp,
                                             header_lines)
    report.rows_read += len(clean)
    report.duplicate_policy = duplicates

    if not _has_repeated_pairs(clean):
        return clean
    duplicated = clean.duplicated(["user_id", "interest_id"], keep=False).to_numpy()

    extra_rows = int(clean.duplicated(["user_id", "interest_id"]).sum())
    if columns.frequency is None:
        policy = "sum"
    else:
        policy = duplicates
    if policy == "error":
        first = int(np.argmax(duplicated))
        pair = (clean.at[first, "user_id"], clean.at[first, "interest_id"])
        raise DataValidationError(
            f"{path}: the (user, interest) pair {pair} appears more than once, first at "
            f"{row_location(first, header_lines)}; {extra_rows:,} rows repeat an earlier pair. "
            "Combine them with --duplicates sum, mean or last"
        )

    aggregations = {"frequency": {"sum": "sum", "mean": "mean", "last": "last"}[policy]}
    if "timestamp" in clean:
        aggregations["timestamp"] = "max"
        if policy == "last":
            # "Last" means latest in time when rows carry timestamps; file order breaks ties.
            # Pair numbers in order of first appearance keep the pairs in file order.
            pair_number = clean.groupby(["user_id", "interest_id"], sort=False).ngroup()
            order = np.lexsort((clean["timestamp"].to_numpy(), pair_number.to_numpy()))
            clean = clean.iloc[order]
    merged = clean.groupby(["user_id", "interest_id"], sort=False, as_index=False).agg(aggregations)
    report.duplicate_rows += extra_rows
    if columns.frequency is not None:
        report.warn(
            f"{path}: {extra_rows:,} rows repeated an earlier (user, interest) pair and were "
            f"combined by {policy} (choose with --duplicates {'|'.join(DUPLICATE_POLICIES)})"
        )
    else:
        report.warn(f"{path}: counted {len(clean):,} events (one per row) into {len(merged):,} "
                    "(user, interest) frequencies")
    return merged
