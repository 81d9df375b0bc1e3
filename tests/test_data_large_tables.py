"""Loading paths made for large logs: categorical IDs, repeated-pair checks and text timestamps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.errors import DataValidationError


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "user_id": ["007", "7", "007", "Ünï", "007"],
        "interest_id": ["a", "a", "b", "a", "a"],
        "frequency": [1, 2, 3, 4, 5],
        "timestamp": [1_700_000_000, 1_700_000_001, 1_700_000_002, 1_700_000_003, 1_700_000_004],
    })


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_repeated_pair_is_summed(tmp_path: Path, suffix: str):
    path = tmp_path / f"frequency{suffix}"
    frame = _frame()
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)

    data = adrec.load_data(path)

    assert len(data) == 4
    assert data.report.duplicate_rows == 1
    assert sorted(data.users.ids) == ["007", "7", "Ünï"]
    rows = data.to_frame().set_index(["user_id", "interest_id"])
    assert rows.loc[("007", "a"), "frequency"] == 6
    assert rows.loc[("007", "a"), "timestamp"] == 1_700_000_004


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_repeated_pair_error_names_it(tmp_path: Path, suffix: str):
    path = tmp_path / f"frequency{suffix}"
    frame = _frame()
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    with pytest.raises(DataValidationError, match=r"\('007', 'a'\) appears more than once"):
        adrec.load_data(path, duplicates="error")


def test_iso_timestamps_in_csv(tmp_path: Path):
    path = tmp_path / "frequency.csv"
    path.write_text("user,interest,count,timestamp\nu1,i1,3,2023-11-14T22:13:20\n"
                    "u2,i1,1,2024-05-31T12:00:00\n", encoding="utf-8")
    data = adrec.load_data(path)
    assert data.timestamp.tolist() == [1_700_000_000, 1_717_156_800]


def test_whole_second_csv_timestamps(tmp_path: Path):
    path = tmp_path / "frequency.csv"
    path.write_text("user,interest,count,timestamp\nu1,i1,3,1700000000\nu2,i1,1,-5\n",
                    encoding="utf-8")
    data = adrec.load_data(path)
    assert data.timestamp.dtype == np.int64
    assert data.timestamp.tolist() == [1_700_000_000, -5]


def test_text_frequencies_parsed_once_per_value(tmp_path: Path):
    path = tmp_path / "frequency.csv"
    path.write_text("user,interest,count\nu1,i1, 3\nu2,i1,3\nu3,i1,oops\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match=r"'oops', which is not a number"):
        adrec.load_data(path)
    path.write_text("user,interest,count\nu1,i1, 3\nu2,i1,3\nu3,i1,2.5\n", encoding="utf-8")
    assert adrec.load_data(path).frequency.tolist() == [3.0, 3.0, 2.5]
