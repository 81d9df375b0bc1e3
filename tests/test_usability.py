"""Tests of behaviour a user meets at the edges: table matching, timestamps, options, files."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

import adrec
from adrec.cli.main import main


def test_attribute_tables_match_frequency_id_columns(tmp_path):
    pd.DataFrame({"cust": ["001", "002", "001"], "seg": ["S1", "S1", "S2"],
                  "clicks": [3, 4, 5]}).to_csv(tmp_path / "frequency.csv", index=False)
    pd.DataFrame({"cust": ["001", "002"], "region": ["north", "south"]}).to_csv(
        tmp_path / "users.csv", index=False)
    pd.DataFrame({"seg": ["S1", "S2"], "name": ["One", "Two"]}).to_csv(
        tmp_path / "interests.csv", index=False)

    data = adrec.load_data(tmp_path, user_col="cust", interest_col="seg")

    assert data.user_attributes.loc["002", "region"] == "south"
    assert data.interest_attributes.loc["S2", "name"] == "Two"


def test_duplicates_last_follows_timestamps(tmp_path):
    path = tmp_path / "frequency.csv"
    path.write_text("user_id,interest_id,frequency,timestamp\n"
                    "u,a,50,2024-03-01\nu,a,7,2024-02-01\nu,b,1,2024-01-01\n")

    frame = adrec.load_data(path, duplicates="last").to_frame().set_index("interest_id")

    assert frame.loc["a", "frequency"] == 50
    assert frame.loc["a", "timestamp"] == int(pd.Timestamp("2024-03-01", tz="UTC").timestamp())


def test_event_log_counting_is_reported(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,interest_id\nu,a\nu,a\nu,b\n")

    data = adrec.load_data(path)

    assert any("counted 3 events" in warning for warning in data.report.warnings)


def test_verbose_flag_after_subcommand(two_group_folder, tmp_path, capsys):
    code = main(["train", str(two_group_folder), "--out", str(tmp_path / "m"), "--epochs", "1",
                 "-v", "--no-progress"])

    assert code == 0
    assert "epoch=1" in capsys.readouterr().err


def test_out_below_a_file_exits_2(two_group_folder, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")

    code = main(["train", str(two_group_folder), "--out", str(tmp_path / "afile" / "m")])

    assert code == 2
    assert "is a file" in capsys.readouterr().err


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_bundle_is_readable_by_others(two_group_folder, tmp_path):
    previous = os.umask(0o022)
    try:
        assert main(["train", str(two_group_folder), "--out", str(tmp_path / "m"),
                     "--epochs", "1", "--no-progress"]) == 0
    finally:
        os.umask(previous)

    assert stat.S_IMODE((tmp_path / "m").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "m" / "weights.safetensors").stat().st_mode) == 0o644


def test_missing_attributes_print_empty(tmp_path, capsys):
    pd.DataFrame({"user_id": ["1", "1", "2", "2"], "interest_id": ["a", "b", "a", "c"],
                  "frequency": [1, 2, 3, 4]}).to_csv(tmp_path / "frequency.csv", index=False)
    pd.DataFrame({"interest_id": ["a", "b"], "name": ["Alpha", "Beta"]}).to_csv(
        tmp_path / "interests.csv", index=False)
    assert main(["train", str(tmp_path), "--out", str(tmp_path / "m"), "--epochs", "1",
                 "--validation-fraction", "0", "--no-progress"]) == 0
    capsys.readouterr()

    assert main(["recommend", str(tmp_path / "m"), "1"]) == 0

    output = capsys.readouterr().out
    assert "nan" not in output.lower()
    assert " c" in output


def test_unused_interests_and_columns_reported(tmp_path):
    pd.DataFrame({"cust": ["1", "2"], "seg": ["a", "a"], "clicks": [1, 2]}).to_csv(
        tmp_path / "frequency.csv", index=False)
    pd.DataFrame({"seg": ["a", "b"], "name": ["A", "B"]}).to_csv(
        tmp_path / "interests.csv", index=False)

    report = adrec.load_data(tmp_path, user_col="cust", interest_col="seg").report

    assert report.interests_without_rows == 1
    assert report.columns == {"user": "cust", "interest": "seg", "frequency": "clicks",
                              "timestamp": None}
