"""Tests of frequency validation: bad cells, duplicated pairs, timestamps and input immutability."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec import DataValidationError
from adrec.data.tables import FrequencyColumns
from adrec.data.validation import DUPLICATE_POLICIES, DataReport, clean_frequency_table

HEADER = "user_id,interest_id,frequency\n"
COLUMNS = FrequencyColumns(user="user_id", interest="interest_id", frequency="frequency",
                           timestamp=None)


def unix_seconds(*args: int) -> int:
    """Return the Unix time of a UTC date-time given as year, month, day[, hour, ...]."""
    return int(datetime(*args, tzinfo=timezone.utc).timestamp())


def load_error(path: Path, **options) -> str:
    """Load ``path`` expecting a DataValidationError, and return its message."""
    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path, **options)
    return str(caught.value)


@pytest.mark.parametrize("value", ["n/a", "abc", "NaN", "", "inf", "-inf", "-3", "1,5"])
def test_bad_frequency_named(write_file, value):
    cell = f'"{value}"' if "," in value else value
    path = write_file("bad_frequency.csv", f"{HEADER}u1,x,2\nu2,y,{cell}\nu3,z,1\n")

    message = load_error(path)

    assert "bad_frequency.csv" in message
    assert "'frequency'" in message
    assert "data row 2" in message
    assert "line 3" in message
    assert repr(value) in message


@pytest.mark.parametrize(
    ("value", "problem"),
    [("n/a", "not a number"), ("abc", "not a number"), ("NaN", "missing"), ("", "missing"),
     ("inf", "infinite"), ("-3", "negative")],
)
def test_bad_frequency_problem(write_file, value, problem):
    path = write_file("bad_frequency.csv", f"{HEADER}u1,x,{value}\n")

    message = load_error(path)

    assert problem in message


def test_bad_frequency_counts_more_rows(write_file):
    path = write_file("many.csv", f"{HEADER}u1,x,abc\nu2,y,def\nu3,z,ghi\n")

    message = load_error(path)

    assert "'abc'" in message
    assert "2 more rows" in message


@pytest.mark.parametrize(("row", "column"), [(",x,1", "'user_id'"), ("u2,,1", "'interest_id'")])
def test_empty_id_named(write_file, row, column):
    path = write_file("empty_id.csv", f"{HEADER}u1,x,2\n{row}\n")

    message = load_error(path)

    assert "empty_id.csv" in message
    assert column in message
    assert "data row 2" in message
    assert "line 3" in message


def test_empty_file_rejected(write_file):
    path = write_file("nothing.csv", "")

    message = load_error(path)

    assert "nothing.csv" in message
    assert "empty" in message


def test_blank_file_rejected(write_file):
    path = write_file("blank.csv", "\n\n")

    message = load_error(path)

    assert "blank.csv" in message
    assert "no columns" in message


def test_header_only_rejected(write_file):
    path = write_file("header.csv", HEADER)

    message = load_error(path)

    assert "header.csv" in message
    assert "no data rows" in message


def test_zero_frequency_kept(write_file):
    path = write_file("zeros.csv", f"{HEADER}u1,x,0\nu1,y,0.0\nu2,x,3\n")

    data = adrec.load_data(path)

    assert len(data) == 3
    assert data.frequency.tolist() == [0.0, 0.0, 3.0]


def test_frequency_whitespace_accepted(write_file):
    path = write_file("spaced.csv", f"{HEADER}u1,x, 4 \nu2,x,2.5\n")

    data = adrec.load_data(path)

    assert data.frequency.tolist() == [4.0, 2.5]


@pytest.mark.parametrize(("policy", "merged"), [("sum", 15.0), ("mean", 5.0), ("last", 9.0)])
def test_duplicates_merged(write_file, policy, merged):
    path = write_file("repeats.csv", f"{HEADER}u1,x,2\nu2,y,1\nu1,x,4\nu1,x,9\n")

    data = adrec.load_data(path, duplicates=policy)

    frame = data.to_frame()
    assert frame.values.tolist() == [["u1", "x", merged], ["u2", "y", 1.0]]
    assert data.report.duplicate_rows == 2
    assert data.report.duplicate_policy == policy
    assert data.report.rows_read == 4


@pytest.mark.parametrize("policy", ["sum", "mean", "last"])
def test_duplicates_warned(write_file, policy):
    path = write_file("repeats.csv", f"{HEADER}u1,x,2\nu2,y,1\nu1,x,4\nu1,x,9\n")

    data = adrec.load_data(path, duplicates=policy)

    duplicate_warnings = [text for text in data.report.warnings if "repeated" in text]
    assert len(duplicate_warnings) == 1
    assert "2 rows" in duplicate_warnings[0]
    assert policy in duplicate_warnings[0]


def test_duplicates_error_names_pair(write_file):
    path = write_file("repeats.csv", f"{HEADER}u2,y,1\nu1,x,2\nu1,x,4\n")

    message = load_error(path, duplicates="error")

    assert "repeats.csv" in message
    assert "('u1', 'x')" in message
    assert "data row 2" in message
    assert "line 3" in message


def test_no_duplicates_no_warning(write_file):
    path = write_file("unique.csv", f"{HEADER}u1,x,2\nu1,y,4\nu2,x,1\nu2,y,1\n")

    data = adrec.load_data(path, duplicates="error")

    assert data.report.duplicate_rows == 0
    assert data.report.warnings == []


def test_unknown_policy_rejected(write_file):
    path = write_file("unique.csv", f"{HEADER}u1,x,2\n")

    message = load_error(path, duplicates="max")

    assert "'max'" in message
    for policy in DUPLICATE_POLICIES:
        assert policy in message


def test_unix_timestamps_read(write_file):
    path = write_file("times.csv", "user_id,interest_id,frequency,timestamp\n"
                                   "u1,x,1,1700000000\nu2,x,1,1700000100\n")

    data = adrec.load_data(path)

    assert data.timestamp.tolist() == [1700000000, 1700000100]
    assert data.timestamp.dtype == np.int64


def test_iso_timestamps_converted(write_file):
    path = write_file("dates.csv", "user_id,interest_id,frequency,date\n"
                                   "u1,x,1,2024-01-02\nu2,x,1,2024-05-31T12:30:00\n")

    data = adrec.load_data(path)

    assert data.timestamp.tolist() == [unix_seconds(2024, 1, 2), unix_seconds(2024, 5, 31, 12, 30)]


def test_duplicates_keep_latest_unix(write_file):
    path = write_file("times.csv", "user_id,interest_id,frequency,timestamp\n"
                                   "u1,x,1,500\nu1,x,2,900\nu1,x,3,100\n")

    data = adrec.load_data(path)

    assert data.timestamp.tolist() == [900]
    assert data.frequency.tolist() == [6.0]


def test_duplicates_keep_latest_iso(write_file):
    path = write_file("dates.csv", "user_id,interest_id,frequency,timestamp\n"
                                   "u1,x,1,2024-03-01\nu1,x,2,2024-01-15\nu2,x,1,2023-12-31\n")

    data = adrec.load_data(path, duplicates="last")

    assert data.timestamp.tolist() == [unix_seconds(2024, 3, 1), unix_seconds(2023, 12, 31)]
    assert data.frequency.tolist() == [1.0, 1.0]


def test_bad_timestamp_named(write_file):
    path = write_file("dates.csv", "user_id,interest_id,frequency,timestamp\n"
                                   "u1,x,1,2024-03-01\nu2,x,2,yesterday\n")

    message = load_error(path)

    assert "dates.csv" in message
    assert "'timestamp'" in message
    assert "data row 2" in message
    assert "'yesterday'" in message


def test_clean_leaves_frame_unchanged():
    frame = pd.DataFrame({
        "user_id": ["u1", "u2", "u1", "u1"],
        "interest_id": ["x", "y", "x", "z"],
        "frequency": [" 2", "3", "4 ", "0"],
        "timestamp": ["2024-01-02", "2024-01-01", "2024-01-03", "2024-01-04"],
    }, index=[10, 20, 30, 40])
    before = frame.copy(deep=True)
    columns = FrequencyColumns("user_id", "interest_id", "frequency", "timestamp")

    clean = clean_frequency_table(frame, columns, Path("frame"), DataReport())

    pd.testing.assert_frame_equal(frame, before)
    assert clean is not frame
    assert clean["frequency"].tolist() == [6.0, 3.0, 0.0]


def test_clean_numeric_frame():
    frame = pd.DataFrame({"user_id": np.array([1, 2, 1], dtype=np.int64),
                          "interest_id": ["x", "x", "x"],
                          "frequency": np.array([1, 2, 3], dtype=np.int64)})
    report = DataReport()

    clean = clean_frequency_table(frame, COLUMNS, Path("frame"), report)

    assert clean.values.tolist() == [["1", "x", 4.0], ["2", "x", 2.0]]
    assert report.duplicate_rows == 1


def test_clean_rejects_numeric_nan():
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "interest_id": ["x", "y"],
                          "frequency": [1.0, np.nan]})

    with pytest.raises(DataValidationError, match="'frequency' at row 2 has nan"):
        clean_frequency_table(frame, COLUMNS, Path("frame"), DataReport())


def test_clean_rejects_numeric_negative():
    frame = pd.DataFrame({"user_id": ["u1", "u2"], "interest_id": ["x", "y"],
                          "frequency": [1.0, -0.5]})

    with pytest.raises(DataValidationError, match="negative"):
        clean_frequency_table(frame, COLUMNS, Path("frame"), DataReport())
