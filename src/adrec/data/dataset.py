"""The dataset object: interactions as index arrays, plus the vocabularies and attribute tables."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from adrec.data.tables import INTEREST_COLUMN_NAMES, USER_COLUMN_NAMES, find_column, id_column_as_text
from adrec.data.validation import DataReport
from adrec.data.vocabulary import Vocabulary
from adrec.errors import DataValidationError

logger = logging.getLogger(__name__)


@dataclass
class InteractionData:
    """Frequency data ready for training: one row per observed (user, interest) pair.

    Attributes:
        users: vocabulary of the users that have at least one row.
        interests: vocabulary of the interests that have at least one row.
        user_index: ``int64`` array, the user of each row.
        interest_index: ``int64`` array, the interest of each row.
        frequency: ``float64`` array, the observed frequency of each row (>= 0).
        timestamp: ``int64`` Unix seconds per row, or None.
        user_attributes: the users table indexed by user ID (may list users
            without rows); empty when no table was given.
        interest_attributes: the interests table indexed by interest ID.
        report: what loading found.
        name: a short name of the source, for summaries.
    """

    users: Vocabulary
    interests: Vocabulary
    user_index: np.ndarray
    interest_index: np.ndarray
    frequency: np.ndarray
    timestamp: np.ndarray | None = None
    user_attributes: pd.DataFrame = field(default_factory=pd.DataFrame)
    interest_attributes: pd.DataFrame = field(default_factory=pd.DataFrame)
    report: DataReport = field(default_factory=DataReport)
    name: str = "data"

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        user_attributes: pd.DataFrame | None = None,
        interest_attributes: pd.DataFrame | None = None,
        report: DataReport | None = None,
        name: str = "data",
    ) -> InteractionData:
        """Build the dataset from a clean frame with ``user_id``, ``interest_id``, ``frequency``.

        The frame must already be validated (see
        :func:`adrec.data.validation.clean_frequency_table`): one row per pair,
        text IDs, finite frequencies >= 0.
        """
        report = report if report is not None else DataReport()
        users, user_index = Vocabulary.from_values(frame["user_id"], "user")
        interests, interest_index = Vocabulary.from_values(frame["interest_id"], "interest")
        timestamp = frame["timestamp"].to_numpy(np.int64) if "timestamp" in frame else None

        data = cls(
            users=users,
            interests=interests,
            user_index=user_index,
            interest_index=interest_index,
            frequency=frame["frequency"].to_numpy(np.float64),
            timestamp=timestamp,
            user_attributes=user_attributes if user_attributes is not None else pd.DataFrame(),
            interest_attributes=(interest_attributes if interest_attributes is not None
                                 else pd.DataFrame()),
            report=report,
            name=name,
        )
        data._check_coverage()
        return data

    def __len__(self) -> int:
        return len(self.frequency)

    def __repr__(self) -> str:
        return (f"InteractionData(name={self.name!r}, rows={len(self):,}, users={self.n_users:,}, "
                f"interests={self.n_interests:,})")

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_interests(self) -> int:
        return len(self.interests)

    def _check_coverage(self) -> None:
        """Count sparse users and interests and IDs missing from the attribute tables."""
        report = self.report
        report.pairs = len(self)
        report.users = self.n_users
        report.interests = self.n_interests

        user_rows = np.bincount(self.user_index, minlength=self.n_users)
        interest_rows = np.bincount(self.interest_index, minlength=self.n_interests)
        report.single_row_users = int((user_rows == 1).sum())
        report.single_row_interests = int((interest_rows == 1).sum())
        if report.single_row_users:
            report.warn(
                f"{report.single_row_users:,} users have a single row: when it falls in the "
                "validation part, the model has not seen them in training"
            )
        if report.single_row_interests:
            report.warn(
                f"{report.single_row_interests:,} interests have a single row, so their "
                "embeddings are poorly estimated"
            )

        for kind, vocabulary, table in (("user", self.users, self.user_attributes),
                                        ("interest", self.interests, self.interest_attributes)):
            # Skip only when no table was given: a table with only an ID column has an
            # index but no columns, and its IDs are still checked.
            if len(table.columns) == 0 and len(table.index) == 0:
                continue
            absent = ~pd.Index(vocabulary.ids).isin(table.index)
            missing = int(absent.sum())
            setattr(report, f"{kind}s_missing_from_table", missing)
            if missing:
                example = vocabulary.ids[int(np.argmax(absent))]
                report.warn(
                    f"{missing:,} of {len(vocabulary):,} {kind} IDs in the frequency table are "
                    f"not in the {kind}s table (for example {example!r}); their attributes are "
                    "shown as empty"
                )

        if len(self.interest_attributes.columns) or len(self.interest_attributes):
            unused = int((~self.interest_attributes.index.isin(pd.Index(self.interests.ids))).sum())
            report.interests_without_rows = unused
            if unused:
                report.warn(f"{unused:,} interests in the interests table have no rows in the "
                            "frequency table, so the model cannot score or recommend them")

    def to_frame(self) -> pd.DataFrame:
        """Return the rows with external IDs: ``user_id``, ``interest_id``, ``frequency``, ``timestamp``.

        The ``timestamp`` column is present only when the data has timestamps.
        """
        frame = pd.DataFrame({
            "user_id": self.users.ids[self.user_index],
            "interest_id": self.interests.ids[self.interest_index],
            "frequency": self.frequency,
        })
        if self.timestamp is not None:
            frame["timestamp"] = self.timestamp
        return frame

    def take(self, rows: np.ndarray) -> InteractionData:
        """Return the selected rows as a new dataset whose vocabularies hold only their IDs.

        Used to hold out test rows: a user or interest that occurs only in the
        held-out part is then unknown to a model trained on the rest.
        """
        report = DataReport(sources=list(self.report.sources),
                            duplicate_policy=self.report.duplicate_policy,
                            event_log=self.report.event_log)
        report.rows_read = len(rows)
        frame = self.to_frame().iloc[np.asarray(rows)].reset_index(drop=True)
        return InteractionData.from_frame(frame, user_attributes=self.user_attributes,
                                          interest_attributes=self.interest_attributes,
                                          report=report, name=self.name)

    def summary(self) -> dict:
        """Return sizes and frequency statistics as JSON-ready data."""
        frequency = self.frequency
        density = len(self) / max(1, self.n_users * self.n_interests)
        return {
            "name": self.name,
            "rows": len(self),
            "users": self.n_users,
            "interests": self.n_interests,
            "density": density,
            "frequency_min": float(frequency.min()) if len(self) else None,
            "frequency_median": float(np.median(frequency)) if len(self) else None,
            "frequency_mean": float(frequency.mean()) if len(self) else None,
            "frequency_max": float(frequency.max()) if len(self) else None,
            "has_timestamp": self.timestamp is not None,
            "user_attribute_columns": [str(c) for c in self.user_attributes.columns],
            "interest_attribute_columns": [str(c) for c in self.interest_attributes.columns],
            "report": self.report.to_dict(),
        }


def attribute_table(frame: pd.DataFrame, path: Path, kind: str, id_col: str | None = None,
                    preferred_col: str | None = None) -> pd.DataFrame:
    """Index a users or interests table by its ID column, as text.

    The ID column is ``id_col`` if given. Otherwise it is ``preferred_col`` (the
    frequency table's ID column name) when the table has that column, and else
    it is found by name (``user_id``, ``interest_id``, ``item_id``, ``id``, ...).

    Columns whose every value is a number become numeric. A column with a
    leading zero in any value stays text, because it is a code such as a postal
    code, and so do all other columns.
    Duplicated IDs are an error.
    """
    candidates = (USER_COLUMN_NAMES if kind == "user" else INTEREST_COLUMN_NAMES) + ("id",)
    option = "--user-col" if kind == "user" else "--interest-col"
    if id_col is None and preferred_col is not None and preferred_col in frame.columns:
        id_col = preferred_col
    column = find_column(frame, id_col, candidates, role=f"{kind} ID", option=option, path=path)

    table = frame.drop(columns=[column]).copy()
    ids = id_column_as_text(frame[column], path, column, frame.attrs.get("header_lines"))
    table.index = pd.Index(ids.to_numpy(), dtype=object, name=f"{kind}_id")
    if not table.index.is_unique:
        duplicated = table.index[table.index.duplicated()]
        raise DataValidationError(
            f"{path}: {len(duplicated):,} {kind} IDs appear more than once in column {column!r}, "
            f"for example {duplicated[0]!r}; each {kind} needs exactly one row"
        )

    for name in table.columns:
        values = table[name]
        if pd.api.types.is_numeric_dtype(values):
            continue
        text = values.astype(str)
        numbers = pd.to_numeric(text, errors="coerce")
        # A leading zero marks a code (postal code, segment code), which must stay text.
        has_code = text.str.match(r"^-?0\d").any()
        if len(values) and not numbers.isna().any() and not has_code:
            table[name] = numbers
        else:
            table[name] = values.astype(object)
    return table
