"""Sparse feature inputs built from the columns of a users or interests table.

A :class:`FeatureSpace` is fitted on the attribute table of the training rows
(a DataFrame indexed by the text ID, one row per user or interest) and encodes
any such table into two fixed-width matrices: feature ids and weights. A model
sums ``weight * embedding[feature_id]`` over the slots of a row, so an entity
without interactions still gets a vector from its attributes.

Feature id 0 is padding and always has weight 0. Each categorical or
multi-valued column reserves one id, its unknown bucket, for missing values,
values not seen in fit and values dropped by the cap on distinct values.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

from adrec.errors import ConfigError

logger = logging.getLogger(__name__)

MAX_ATTRIBUTE_VALUES = 100
MAX_TOKENS = 20
SEPARATOR = "|"

KINDS = ("categorical", "multi", "numeric", "flag")
FORMAT_VERSION = 1

# A numeric column is also cut into up to this many quantile bins, each with its own embedding,
# so that an effect need not grow in a straight line with the value (age, for instance).
NUMERIC_BINS = 8
# Scaled numeric weights are clipped to this range, so one outlier cannot dominate the summed vector.
NUMERIC_CLIP = 5.0
TABLE_NAMES = {"user": "users table", "interest": "interests table"}


@dataclass
class FeatureColumn:
    """One table column turned into features.

    Attributes:
        name: the column name.
        kind: ``"categorical"``, ``"multi"``, ``"numeric"`` or ``"flag"``.
        values: the known values (text) of a categorical or multi column, in id
            order, and empty for numeric and flag columns.
        mean: the mean that numeric values are centred on.
        std: the standard deviation that numeric values are divided by (never 0).
        edges: the inner edges of a numeric column's quantile bins (empty for
            the other kinds, and for a numeric column with too few values to bin).
        offset: the first feature id of this column. A categorical or multi
            column uses ``offset`` as its unknown bucket and ``offset + 1 + j``
            for ``values[j]``. A flag column uses ``offset`` only. A numeric
            column uses ``offset`` for the scaled value and, when it has bins,
            ``offset + 1`` for a missing value and ``offset + 2 + b`` for bin ``b``.
        slots: the number of slots the column takes in an encoded row: the
            largest token count seen in fit (at most ``MAX_TOKENS``) for a multi
            column, 2 for a numeric column with bins (value and bin), 1 otherwise.
    """

    name: str
    kind: str
    values: list[str] = field(default_factory=list)
    mean: float = 0.0
    std: float = 1.0
    offset: int = 0
    slots: int = 1
    edges: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ConfigError(f"feature column {self.name!r} has invalid kind {self.kind!r}, "
                              f"expected one of {', '.join(KINDS)}")
        if not (math.isfinite(self.mean) and math.isfinite(self.std)) or self.std == 0:
            raise ConfigError(f"feature column {self.name!r} needs a finite mean and a finite, non-zero "
                              f"standard deviation, got mean={self.mean!r} and std={self.std!r}")
        if self.kind in ("numeric", "flag") and self.values:
            raise ConfigError(f"{self.kind} feature column {self.name!r} must not list values")
        if len(set(self.values)) != len(self.values):
            raise ConfigError(f"feature column {self.name!r} lists some values more than once")
        if self.edges and (self.kind != "numeric" or self.slots != 2):
            raise ConfigError(f"feature column {self.name!r}: only a numeric column in 2 slots has "
                              "bin edges")
        max_slots = {"multi": MAX_TOKENS, "numeric": 2}.get(self.kind, 1)
        if not 1 <= self.slots <= max_slots:
            raise ConfigError(f"{self.kind} feature column {self.name!r} must take 1 to {max_slots} "
                              f"slots, got {self.slots}")

    @property
    def n_ids(self) -> int:
        """Number of feature ids the column uses, the unknown bucket included."""
        if self.kind == "numeric" and self.edges:
            return 2 + len(self.edges) + 1
        return 1 + len(self.values) if self.kind in ("categorical", "multi") else 1


class FeatureSpace:
    """The feature columns of one table, with their ids and slots.

    Args:
        columns: the feature columns in slot order. Their offsets are assigned
            here, consecutively after the padding id 0.

    Attributes:
        columns: the feature columns, with offsets set.
        size: the number of feature ids, padding included (ids are ``0 .. size - 1``).
        slots: the width of the encoded matrices.
    """

    def __init__(self, columns: Sequence[FeatureColumn]):
        names = [column.name for column in columns]
        if len(set(names)) != len(names):
            raise ConfigError(f"feature columns must have distinct names, got {names}")

        offset = 1
        self.columns: list[FeatureColumn] = []
        for column in columns:
            self.columns.append(replace(column, values=list(column.values), offset=offset))
            offset += self.columns[-1].n_ids
        self.size = offset
        self.slots = sum(column.slots for column in self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    def __repr__(self) -> str:
        names = ", ".join(f"{column.name}:{column.kind}" for column in self.columns)
        return f"FeatureSpace(columns=[{names}], size={self.size}, slots={self.slots})"

    @classmethod
    def fit(cls, table: pd.DataFrame, columns: Sequence[str] | None = None, *,
            max_values: int = MAX_ATTRIBUTE_VALUES, kind: str = "user") -> FeatureSpace:
        """Choose the feature columns of a table and learn their values and scales.

        A numeric column (int, float or bool dtype) whose values are all 0 or 1
        becomes a flag, and any other numeric column a scaled numeric feature.
        A text or categorical column becomes a multi-valued column when at
        least half of its non-missing cells contain ``SEPARATOR``, and a
        categorical column otherwise.

        Args:
            table: the training rows' users or interests table, indexed by ID.
                The index is never a feature.
            columns: the columns to use, in this order. None chooses them
                automatically: it skips columns with fewer than 2 distinct
                values and text columns with more than ``max_values`` distinct
                values (tokens for a multi column) or more than half as many
                distinct values as non-missing rows. A named text column with
                more than ``max_values`` values keeps its ``max_values`` most
                frequent ones instead.
            max_values: the bound on distinct values of a text column.
            kind: ``"user"`` or ``"interest"``, used in messages.

        Raises:
            ConfigError: on a named column that is not in the table, or an
                invalid ``kind`` or ``max_values``.
        """
        table_name = _table_name(kind)
        if isinstance(max_values, bool) or not isinstance(max_values, int) or max_values < 1:
            raise ConfigError(f"max_values must be an integer >= 1, got {max_values!r}")

        if columns is None:
            fitted = _choose_columns(table, max_values, table_name)
        else:
            names = _check_names(table, columns, table_name)
            fitted = [_fit_column(name, _column(table, name, table_name), max_values, table_name)
                      for name in names]

        space = cls(fitted)
        logger.info("%s: %d feature columns (%s), %d feature ids, %d slots", table_name, len(space),
                    ", ".join(f"{c.name}={c.kind}" for c in space.columns) or "none", space.size,
                    space.slots)
        return space

    def encode(self, table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Encode every row of a table into feature ids and weights.

        Fitted columns that the table lacks count as missing in every row, and
        columns that were not fitted are ignored. Numeric columns given as text
        are parsed, and text that is not a number counts as missing. A flag's
        weight is its value as given, so a flag column should hold 0 and 1.

        Returns:
            ``ids`` (``int64``) and ``weights`` (``float32``), both of shape
            ``(len(table), slots)``, in the order of the table's rows.
        """
        rows = len(table)
        ids = np.zeros((rows, self.slots), dtype=np.int64)
        weights = np.zeros((rows, self.slots), dtype=np.float32)
        labels = {str(label): label for label in table.columns}

        start = 0
        for column in self.columns:
            if column.name in labels:
                series = _column(table, labels[column.name], "table").reset_index(drop=True)
            else:
                series = pd.Series([None] * rows, dtype=object)
            block = slice(start, start + column.slots)
            ids[:, block], weights[:, block] = _encode_column(column, series)
            start += column.slots
        return ids, weights

    def encode_attributes(self, attributes: Mapping[str, object]) -> tuple[np.ndarray, np.ndarray]:
        """Encode one entity from its attributes, given as text or numbers.

        A multi column also accepts a list of tokens. Columns not given count as
        missing.

        Returns:
            ``ids`` and ``weights`` of shape ``(1, slots)``, as :meth:`encode` returns them.

        Raises:
            ConfigError: on attribute names that are not fitted columns, or a
                value that is neither text, a number nor None (a list is
                accepted only for a multi column).
        """
        known = {column.name: column for column in self.columns}
        unknown = [name for name in attributes if name not in known]
        if unknown:
            fitted = ", ".join(repr(name) for name in known) or "none"
            raise ConfigError(f"unknown attribute names {unknown}. The feature columns are: {fitted}")

        cells = {}
        for name, value in attributes.items():
            if known[name].kind == "multi" and isinstance(value, (list, tuple)):
                value = SEPARATOR.join(str(token) for token in value)
            elif not (value is None or isinstance(value, (str, int, float, np.number, np.bool_))):
                raise ConfigError(f"attribute {name!r} must be text, a number or None, got "
                                  f"{type(value).__name__} {value!r}")
            cells[name] = pd.Series([value], dtype=object)
        return self.encode(pd.DataFrame(cells, index=pd.RangeIndex(1)))

    def describe(self) -> list[dict]:
        """Summarise each column: name, kind, number of values and slots (JSON-ready)."""
        return [{"name": column.name, "kind": column.kind, "n_values": len(column.values),
                 "slots": column.slots} for column in self.columns]

    def to_dict(self) -> dict:
        """Return the feature space as plain JSON data (text, numbers and lists only)."""
        return {"format_version": FORMAT_VERSION, "size": self.size, "slots": self.slots,
                "columns": [asdict(column) for column in self.columns]}

    @classmethod
    def from_dict(cls, values: dict) -> FeatureSpace:
        """Rebuild a feature space from the output of :meth:`to_dict`.

        Raises:
            ConfigError: when the data is not a feature space of this format or
                its ids and slots do not match its columns.
        """
        if not isinstance(values, Mapping) or values.get("format_version") != FORMAT_VERSION:
            raise ConfigError(f"invalid feature space data: expected a dict with "
                              f"format_version {FORMAT_VERSION}")
        try:
            columns = [_column_from_dict(entry) for entry in values["columns"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ConfigError(f"invalid feature space data: {error}") from error

        space = cls(columns)
        stored_offsets = [entry.get("offset") for entry in values["columns"]]
        offsets = [column.offset for column in space.columns]
        if (stored_offsets != offsets or values.get("size") != space.size
                or values.get("slots") != space.slots):
            raise ConfigError(f"invalid feature space data: stored offsets {stored_offsets}, size "
                              f"{values.get('size')} and slots {values.get('slots')} do not match "
                              f"the columns (offsets {offsets}, size {space.size}, slots {space.slots})")
        return space


def _table_name(kind: str) -> str:
    if kind not in TABLE_NAMES:
        raise ConfigError(f"kind must be 'user' or 'interest', got {kind!r}")
    return TABLE_NAMES[kind]


def _check_names(table: pd.DataFrame, columns: Sequence[str], table_name: str) -> list[str]:
    """Return the named columns after checking that each is in the table once."""
    if isinstance(columns, str):
        raise ConfigError(f"columns must be a list of column names, got the string {columns!r}")
    names = list(columns)
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ConfigError(f"feature columns named more than once: {repeated}")

    available = [str(label) for label in table.columns]
    for name in names:
        if name not in available:
            listed = ", ".join(repr(label) for label in available) or "none"
            raise ConfigError(f"feature column {name!r} not found in the {table_name}. "
                              f"Available columns: {listed}")
    return names


def _column(table: pd.DataFrame, label: object, table_name: str) -> pd.Series:
    matches = [position for position, name in enumerate(table.columns) if str(name) == str(label)]
    if len(matches) > 1:
        raise ConfigError(f"column {str(label)!r} appears {len(matches)} times in the {table_name}; "
                          "rename the duplicates")
    return table.iloc[:, matches[0]]


def _choose_columns(table: pd.DataFrame, max_values: int, table_name: str) -> list[FeatureColumn]:
    """Fit every usable column of a table, logging why each other column is skipped."""
    chosen = []
    for label in table.columns:
        name = str(label)
        if table.index.name is not None and name == str(table.index.name):
            logger.info("%s: skipped column %r because it repeats the ID index", table_name, name)
            continue

        series = _column(table, label, table_name)
        column = _fit_column(name, series, max_values, table_name, automatic=True)
        if column is not None:
            chosen.append(column)
    return chosen


def _fit_column(name: str, series: pd.Series, max_values: int, table_name: str,
                automatic: bool = False) -> FeatureColumn | None:
    """Fit one column; in automatic mode return None for a column to skip."""
    if _is_numeric(series):
        return _fit_numeric(name, series, table_name, automatic)
    return _fit_text(name, series, max_values, table_name, automatic)


def _is_numeric(series: pd.Series) -> bool:
    # Bool counts as numeric, so a True/False column becomes a flag; a categorical never does.
    return (pd.api.types.is_numeric_dtype(series.dtype)
            and not isinstance(series.dtype, pd.CategoricalDtype))


def _numbers(series: pd.Series) -> np.ndarray:
    """Parse a column as float64, with NaN for missing, non-numeric and infinite cells."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    parsed = pd.to_numeric(series, errors="coerce")
    numbers = np.asarray(parsed.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64).copy()
    numbers[~np.isfinite(numbers)] = np.nan
    return numbers


def _fit_numeric(name: str, series: pd.Series, table_name: str, automatic: bool) -> FeatureColumn | None:
    numbers = _numbers(series)
    present = numbers[~np.isnan(numbers)]
    distinct = np.unique(present)
    if not _enough_values(name, len(distinct), table_name, automatic):
        return None

    if np.isin(distinct, (0.0, 1.0)).all():
        return FeatureColumn(name, "flag", [])
    mean = float(present.mean()) if len(present) else 0.0
    std = float(present.std()) if len(present) else 1.0
    edges = np.unique(np.quantile(present, np.arange(1, NUMERIC_BINS) / NUMERIC_BINS))
    edges = [float(edge) for edge in edges if present.min() < edge <= present.max()]
    return FeatureColumn(name, "numeric", [], mean=mean, std=std if std > 0 else 1.0,
                         edges=edges, slots=2 if edges else 1)


def _enough_values(name: str, distinct: int, table_name: str, automatic: bool) -> bool:
    """Report whether a column has at least 2 distinct values; only automatic mode skips it."""
    if distinct >= 2:
        return True
    if automatic:
        logger.info("%s: skipped column %r because it has %d distinct non-missing values",
                    table_name, name, distinct)
        return False
    logger.warning("%s: feature column %r has %d distinct non-missing values, so it adds no "
                   "information", table_name, name, distinct)
    return True


def _fit_text(name: str, series: pd.Series, max_values: int, table_name: str,
              automatic: bool) -> FeatureColumn | None:
    codes, texts = _factorize_text(series)
    counts = np.bincount(codes[codes >= 0], minlength=len(texts))
    present = int(counts.sum())
    cell_counts = pd.Series(counts).groupby(texts).sum()
    if not _enough_values(name, len(cell_counts), table_name, automatic):
        return None

    with_separator = int(counts[texts.str.contains(SEPARATOR, regex=False).to_numpy(dtype=bool)].sum())
    if present and with_separator * 2 >= present:
        tokens = _tokenize(texts)
        value_counts = pd.Series(counts[tokens["cell"].to_numpy()]).groupby(tokens["token"].to_numpy()).sum()
        per_cell = np.bincount(tokens["cell"].to_numpy(), minlength=len(texts))
        slots = int(min(max(per_cell.max(initial=0), 1), MAX_TOKENS))
        kind = "multi"
    else:
        value_counts = cell_counts
        slots = 1
        kind = "categorical"

    values = _select_values(name, value_counts, present, max_values, table_name, automatic)
    if values is None:
        return None
    return FeatureColumn(name, kind, values, slots=slots)


def _select_values(name: str, value_counts: pd.Series, present: int, max_values: int,
                   table_name: str, automatic: bool) -> list[str] | None:
    """Return the known values in text order, or None for a column that automatic mode skips."""
    distinct = len(value_counts)
    if automatic and distinct > max_values:
        logger.info("%s: skipped column %r because it has %d distinct values, more than max_values=%d",
                    table_name, name, distinct, max_values)
        return None
    if automatic and distinct * 2 > present:
        logger.info("%s: skipped column %r because its %d distinct values are more than half of its "
                    "%d non-missing rows, so it is nearly unique per row", table_name, name, distinct,
                    present)
        return None

    if distinct > max_values:
        # Keep the most frequent values; ties go to the value that sorts first as text.
        ranked = sorted(value_counts.items(), key=lambda item: (-item[1], item[0]))
        value_counts = value_counts[[value for value, _ in ranked[:max_values]]]
        logger.info("%s: feature column %r keeps its %d most frequent of %d distinct values; the others "
                    "map to its unknown bucket", table_name, name, max_values, distinct)
    return sorted(str(value) for value in value_counts.index)


def _cell_text(value: object) -> str:
    # A whole float such as 3.0 reads as "3", so a code stored as float matches the same code as text.
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _factorize_text(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Return each cell's code (-1 for missing) and the text of each distinct cell."""
    codes, uniques = pd.factorize(series)
    if pd.api.types.infer_dtype(uniques, skipna=False) == "string":
        # Cells that are all text need no conversion, which saves a Python loop over the distinct cells.
        return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)
    texts = pd.Series([_cell_text(value) for value in uniques], dtype=object)
    return codes, texts


def _tokenize(texts: pd.Series) -> pd.DataFrame:
    """Split cells on SEPARATOR into one row per (cell, token), in order, without repeats in a cell.

    Spaces around tokens are stripped and empty tokens dropped. ``cell`` is the
    position of the cell in ``texts``, and ``position`` the token's place in it.
    """
    exploded = texts.str.split(SEPARATOR, regex=False).explode()
    tokens = pd.DataFrame({"cell": np.asarray(exploded.index, dtype=np.int64),
                           "token": exploded.astype(object).str.strip().to_numpy(dtype=object)})
    tokens = tokens[tokens["token"].notna() & (tokens["token"] != "")]
    tokens = tokens.drop_duplicates(["cell", "token"]).reset_index(drop=True)
    tokens["position"] = tokens.groupby("cell").cumcount().to_numpy(dtype=np.int64)
    return tokens


def _encode_column(column: FeatureColumn, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Encode one column into ids and weights of shape ``(len(series), column.slots)``."""
    if column.kind == "numeric":
        numbers = _numbers(series)
        scaled = np.clip((numbers - column.mean) / column.std, -NUMERIC_CLIP, NUMERIC_CLIP)
        ids, weights = _single_slot(column.offset, np.nan_to_num(scaled, nan=0.0))
        if not column.edges:
            return ids, weights
        bins = np.searchsorted(np.asarray(column.edges), numbers, side="left")
        bin_ids = np.where(np.isnan(numbers), column.offset + 1, column.offset + 2 + bins)
        return (np.concatenate([ids, bin_ids.astype(np.int64)[:, None]], axis=1),
                np.concatenate([weights, np.ones_like(weights)], axis=1))
    if column.kind == "flag":
        return _single_slot(column.offset, np.nan_to_num(_numbers(series), nan=0.0))
    if column.kind == "categorical":
        return _encode_categorical(column, series)
    return _encode_multi(column, series)


def _single_slot(feature_id: int, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.full((len(weight), 1), feature_id, dtype=np.int64)
    return ids, weight.astype(np.float32).reshape(-1, 1)


def _encode_categorical(column: FeatureColumn, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    codes, texts = _factorize_text(series)
    positions = pd.Index(column.values, dtype=object).get_indexer(texts.to_numpy(dtype=object))

    # Position -1 (unseen value) lands on the unknown bucket at offset; the appended last entry
    # is the id of missing cells, whose code is -1.
    lookup = np.append(column.offset + 1 + positions, column.offset).astype(np.int64)
    ids = lookup[codes].reshape(-1, 1)
    return ids, np.ones(ids.shape, dtype=np.float32)


def _encode_multi(column: FeatureColumn, series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Encode a multi-valued column, working once per distinct cell and then gathering rows.

    The first ``slots`` distinct tokens of a cell share weight 1 equally. Known
    tokens take the first slots, and the share of unknown tokens goes to the
    unknown bucket in the next slot. So a missing or empty cell, or one with
    only unknown tokens, gets the unknown bucket with weight 1 in its first slot.
    """
    codes, texts = _factorize_text(series)
    cells = len(texts)
    tokens = _tokenize(texts)
    tokens = tokens[tokens["position"] < column.slots]
    cell = tokens["cell"].to_numpy()
    positions = pd.Index(column.values, dtype=object).get_indexer(tokens["token"].to_numpy(dtype=object))
    known = positions >= 0

    total = np.bincount(cell, minlength=cells)
    known_total = np.bincount(cell[known], minlength=cells)
    share = 1.0 / np.maximum(total, 1)

    # One extra row at the end contains the pattern of missing cells, which have code -1.
    ids = np.zeros((cells + 1, column.slots), dtype=np.int64)
    weights = np.zeros((cells + 1, column.slots), dtype=np.float32)
    known_cell = cell[known]
    known_slot = pd.Series(known_cell).groupby(known_cell).cumcount().to_numpy()
    ids[known_cell, known_slot] = column.offset + 1 + positions[known]
    weights[known_cell, known_slot] = share[known_cell]

    unknown_weight = np.append(np.where(total > 0, (total - known_total) * share, 1.0), 1.0)
    unknown_rows = np.flatnonzero(unknown_weight > 0)
    unknown_slot = np.append(known_total, 0)[unknown_rows]
    ids[unknown_rows, unknown_slot] = column.offset
    weights[unknown_rows, unknown_slot] = unknown_weight[unknown_rows]
    return ids[codes], weights[codes]


def _column_from_dict(entry: Mapping) -> FeatureColumn:
    values = entry["values"]
    if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
        raise ValueError(f"column {entry.get('name')!r}: values must be a list of text")
    for key in ("name", "kind"):
        if not isinstance(entry[key], str):
            raise ValueError(f"column {key} must be text, got {entry[key]!r}")
    for key in ("offset", "slots"):
        if isinstance(entry[key], bool) or not isinstance(entry[key], int):
            raise ValueError(f"column {entry['name']!r}: {key} must be an integer, got {entry[key]!r}")
    edges = entry.get("edges", [])
    if not isinstance(edges, list) or not all(isinstance(edge, (int, float)) for edge in edges):
        raise ValueError(f"column {entry['name']!r}: edges must be a list of numbers")
    return FeatureColumn(entry["name"], entry["kind"], list(values), mean=float(entry["mean"]),
                         std=float(entry["std"]), offset=entry["offset"], slots=entry["slots"],
                         edges=[float(edge) for edge in edges])
