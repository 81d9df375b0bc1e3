"""Reading CSV, TSV and Parquet tables, and finding their ID and frequency columns."""

from __future__ import annotations

import csv
import ctypes
import gzip
import logging
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from adrec.errors import DataValidationError

logger = logging.getLogger(__name__)

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".dat", ".parquet", ".pq", ".csv.gz", ".tsv.gz")

# Normalized column names (lower case, letters and digits only) tried in order
# when the caller does not name a column.
USER_COLUMN_NAMES = ("userid", "user", "uid", "customerid", "customer", "visitorid", "memberid",
                     "accountid", "personid")
INTEREST_COLUMN_NAMES = ("interestid", "interest", "itemid", "item", "iid", "segmentid", "segment",
                         "topicid", "topic", "categoryid", "artistid", "movieid", "productid",
                         "adgroupid", "audienceid")
FREQUENCY_COLUMN_NAMES = ("frequency", "freq", "count", "counts", "weight", "engagements",
                          "engagementcount", "clicks", "views", "impressions", "visits", "plays",
                          "playcount", "rating", "score", "value", "n")
TIMESTAMP_COLUMN_NAMES = ("timestamp", "ts", "time", "eventtime", "datetime", "date", "lastseen",
                          "lastengaged")


@dataclass(frozen=True)
class FrequencyColumns:
    """Names of the columns of a frequency table; ``frequency`` is None for an event log."""

    user: str
    interest: str
    frequency: str | None
    timestamp: str | None


def normalize_column_name(name: str) -> str:
    """Lower-case a column name and drop everything but letters and digits."""
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def sniff_delimiter(path: Path, encoding: str) -> str:
    """Guess the field delimiter of a text table from its first line."""
    # Sniff a gzipped table after decompression, because its compressed bytes contain delimiters at random.
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding=encoding, errors="replace", newline="") as handle:
        first_line = handle.readline()
    if path.name.endswith((".tsv", ".tsv.gz")):
        return "\t"
    counts = {delimiter: first_line.count(delimiter) for delimiter in ("\t", ",", ";", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] > 0 else ","


def read_table(
    path: str | Path,
    *,
    names: list[str] | None = None,
    sep: str | None = None,
    encoding: str = "utf-8-sig",
    categorical_text: bool = False,
) -> pd.DataFrame:
    """Read a CSV, TSV or Parquet table with every text column kept as ``str``.

    Text tables are read without type inference, so IDs such as ``"007"`` keep
    their leading zeros and ``"NA"`` stays a string. A UTF-8 byte-order mark and
    CRLF line endings are accepted. Parquet integer and string columns are kept;
    a floating-point column is returned as is and rejected later if it contains IDs.

    Args:
        path: the file.
        names: column names for a file without a header line.
        sep: field delimiter; guessed from the first line when None.
        encoding: text encoding of CSV and TSV files.
        categorical_text: return Parquet text columns as pandas categoricals
            (one integer code per row and each distinct text once), which keeps
            a log of many millions of rows small in memory.

    Raises:
        DataValidationError: the file is missing, empty, or cannot be decoded.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path}: file not found")

    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            text_columns = _text_columns(pq.read_schema(path)) if categorical_text else []
            frame = pq.read_table(path, read_dictionary=text_columns).to_pandas()
        except Exception as error:  # pyarrow raises several unrelated types for bad files
            raise DataValidationError(f"{path}: not a readable Parquet file ({error})") from error
        frame.attrs["header_lines"] = None
        return frame

    if path.stat().st_size == 0:
        raise DataValidationError(f"{path}: the file is empty; expected a header line and data rows")
    try:
        delimiter = sep if sep is not None else sniff_delimiter(path, encoding)
        frame = pd.read_csv(
            path,
            sep=delimiter,
            header=None if names else 0,
            names=names,
            # Without index_col=False, rows with one field more than the header (a trailing
            # delimiter) make pandas use the first column as the index and shift the others
            # left. With it, pandas drops the extra field and emits a ParserWarning.
            index_col=False,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            encoding=encoding,
            quoting=csv.QUOTE_MINIMAL,
            skip_blank_lines=True,
        )
        # Error messages turn data rows into file lines with this; blank lines are not counted.
        frame.attrs["header_lines"] = 0 if names else 1
        return frame
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{path}: cannot be decoded as {encoding} ({error.reason} at byte {error.start}); "
            "pass the file's encoding, for example --encoding latin-1"
        ) from error
    except pd.errors.ParserError as error:
        raise DataValidationError(
            f"{path}: cannot be parsed with delimiter {delimiter!r} "
            f"({str(error).strip().splitlines()[-1]}); "
            "check the delimiter and quoting"
        ) from error
    except pd.errors.EmptyDataError as error:
        raise DataValidationError(f"{path}: the file has no columns") from error
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataValidationError(
            f"{path}: not a readable gzip file ({error}); compress it again or pass it uncompressed"
        ) from error


def release_free_memory() -> None:
    """Return memory that Arrow's and the C library's allocators keep for reuse to the system.

    After a large table is read and converted, both allocators hold on to the
    freed buffers, which would otherwise count towards the process's memory for
    the rest of its life.
    """
    pa.default_memory_pool().release_unused()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: nothing to trim


def _text_columns(schema: pa.Schema) -> list[str]:
    """Return the names of the text columns of a Parquet schema."""
    return [column.name for column in schema
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type)]


def find_column(
    frame: pd.DataFrame, requested: str | None, candidates: tuple[str, ...], *,
    role: str, option: str, path: Path, required: bool = True,
) -> str | None:
    """Return the column to use for ``role``: the requested one, or the first name that matches.

    Raises:
        DataValidationError: the requested column does not exist, or a required
            column could not be found; the message lists the columns there are.
    """
    columns = [str(column) for column in frame.columns]
    if requested is not None:
        if requested in columns:
            return requested
        raise DataValidationError(
            f"{path}: {role} column {requested!r} not found; the columns are {columns}. "
            f"Pass the right name with {option}"
        )

    normalized = {normalize_column_name(column): column for column in reversed(columns)}
    for candidate in candidates:
        if candidate in normalized:
            return normalized[candidate]
    if required:
        raise DataValidationError(
            f"{path}: no {role} column found among {columns}; name it with {option}"
        )
    return None


def resolve_frequency_columns(
    frame: pd.DataFrame,
    path: Path,
    *,
    user_col: str | None = None,
    interest_col: str | None = None,
    frequency_col: str | None = None,
    timestamp_col: str | None = None,
    events: bool = False,
) -> FrequencyColumns:
    """Find the user, interest, frequency and timestamp columns of a frequency table.

    A table with only ID columns (and an optional timestamp) is an event log,
    one row per engagement. A table with further columns but no recognizable
    frequency column is rejected rather than guessed at.
    """
    user = find_column(frame, user_col, USER_COLUMN_NAMES, role="user ID",
                       option="--user-col", path=path)
    interest = find_column(frame, interest_col, INTEREST_COLUMN_NAMES, role="interest ID",
                           option="--interest-col", path=path)
    if user == interest:
        raise DataValidationError(
            f"{path}: the user and interest columns are both {user!r}; "
            "name them with --user-col and --interest-col"
        )
    timestamp = find_column(frame, timestamp_col, TIMESTAMP_COLUMN_NAMES, role="timestamp",
                            option="--timestamp-col", path=path, required=False)

    if events:
        return FrequencyColumns(user, interest, None, timestamp)
    frequency = find_column(frame, frequency_col, FREQUENCY_COLUMN_NAMES, role="frequency",
                            option="--frequency-col", path=path, required=False)
    if frequency is None:
        others = [c for c in frame.columns if c not in (user, interest, timestamp)]
        if others:
            raise DataValidationError(
                f"{path}: no frequency column found among {list(map(str, frame.columns))}; "
                "name it with --frequency-col, or pass --events to count each row as one "
                "engagement"
            )
        logger.info("%s has no frequency column: counting each row as one engagement", path)
    return FrequencyColumns(user, interest, frequency, timestamp)


def row_location(row: int, header_lines: int | None) -> str:
    """Describe where 0-based data row ``row`` is: its row number, and its line in a text file."""
    if header_lines is None:
        return f"row {row + 1}"
    return f"data row {row + 1} (line {row + 1 + header_lines})"


def id_column_as_text(series: pd.Series, path: Path, column: str,
                      header_lines: int | None = None) -> pd.Series:
    """Return an ID column as a categorical of Python strings, rejecting floats and empty cells.

    Integers become their decimal text. Floating-point IDs are rejected because
    ``6.0`` or ``1e+20`` would no longer match the ID as written. The result is
    categorical: one integer code per row and each distinct ID's text once,
    because a large log repeats IDs many times.
    """
    if pd.api.types.is_float_dtype(series):
        raise DataValidationError(
            f"{path}: column {column!r} contains floating-point numbers, which cannot be IDs "
            "(6.0 is not '6'); store IDs as text or integers"
        )
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    uniques = np.asarray(uniques, dtype=object)
    if pd.api.types.is_integer_dtype(series) or (
            isinstance(series.dtype, pd.CategoricalDtype)
            and pd.api.types.is_integer_dtype(series.dtype.categories)):
        texts = np.array([str(int(value)) for value in uniques], dtype=object)
    else:
        texts = np.array([str(value) for value in uniques], dtype=object)

    empty = np.flatnonzero(texts == "")
    missing = (codes < 0) | np.isin(codes, empty)
    if missing.any():
        row = int(np.argmax(missing))
        raise DataValidationError(
            f"{path}: column {column!r} is empty at {row_location(row, header_lines)}; "
            "every row needs an ID"
        )
    categories = pd.Index(texts, dtype=object)
    if not categories.is_unique:
        # Distinct raw values with the same text (7 and "7" in one object column) are one ID.
        return pd.Series(texts[codes], index=series.index, dtype=object)
    return pd.Series(pd.Categorical.from_codes(codes, categories=categories), index=series.index)
