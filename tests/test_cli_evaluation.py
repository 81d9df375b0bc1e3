"""End-to-end tests of ``adrec split`` and ``adrec evaluate`` on files written here."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from adrec.cli.main import main
from conftest import run_adrec, write_two_group_folder

TIMEOUT_S = 180
TRAIN_OPTIONS = ("--epochs", "30", "--dim", "8", "--lr", "0.05", "--seed", "1")


@pytest.fixture(scope="module")
def split_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-group dataset split per user (2 rows each) and a model trained on the training part."""
    root = tmp_path_factory.mktemp("split")
    (root / "data").mkdir()
    write_two_group_folder(root / "data")
    split = run_adrec("split", "data", "splits", "--method", "leave-n-out", "-n", "2", "--seed", "3",
                      cwd=root, timeout=TIMEOUT_S)
    assert split.returncode == 0, split.stderr
    trained = run_adrec("train", "splits/train", "--out", "model", *TRAIN_OPTIONS, cwd=root,
                        timeout=TIMEOUT_S)
    assert trained.returncode == 0, trained.stderr
    return root


def test_split_writes_disjoint_parts_that_cover_the_data(split_folder: Path):
    original = pd.read_csv(split_folder / "data" / "frequency.csv", dtype={"user_id": str})
    train = pd.read_csv(split_folder / "splits" / "train" / "frequency.csv", dtype={"user_id": str})
    test = pd.read_csv(split_folder / "splits" / "test" / "frequency.csv", dtype={"user_id": str})

    key = ["user_id", "interest_id"]
    assert len(train.merge(test, on=key)) == 0
    together = pd.concat([train, test]).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(together[key + ["frequency"]],
                                  original.sort_values(key).reset_index(drop=True)[key + ["frequency"]],
                                  check_dtype=False)
    assert test.groupby("user_id").size().eq(2).all()
    # IDs keep their leading zeros, and the attribute tables travel with the training part.
    assert train["user_id"].str.len().eq(4).all()
    assert (split_folder / "splits" / "train" / "interests.csv").exists()


def test_split_same_seed_same_files(split_folder: Path, tmp_path: Path):
    again = run_adrec("split", split_folder / "data", "again", "--method", "leave-n-out", "-n", "2",
                      "--seed", "3", cwd=tmp_path, timeout=TIMEOUT_S)

    assert again.returncode == 0, again.stderr
    for part in ("train", "test"):
        assert (tmp_path / "again" / part / "frequency.csv").read_bytes() == \
            (split_folder / "splits" / part / "frequency.csv").read_bytes()


def test_evaluate_prints_table_and_writes_json(split_folder: Path):
    result = run_adrec("evaluate", "model", "splits/test", "-k", "3,5", "--json", "report.json",
                       cwd=split_folder, timeout=TIMEOUT_S)

    assert result.returncode == 0, result.stderr
    for model in ("adrec", "global mean", "bias only", "most popular"):
        assert model in result.stdout
    assert "ndcg@3" in result.stdout
    assert "ndcg@5" in result.stdout
    report = json.loads((split_folder / "report.json").read_text())
    assert [row["model"] for row in report["rows"]] == ["adrec", "global mean", "bias only",
                                                         "most popular"]
    assert report["counts"]["unknown_rows"] == 0
    assert report["settings"]["ks"] == [3, 5]
    assert any(line.strip() == verdict for verdict in report["verdicts"]
               for line in result.stdout.splitlines())


def test_evaluate_json_format_on_stdout(split_folder: Path, capsys):
    code = main(["evaluate", str(split_folder / "model"), str(split_folder / "splits" / "test"),
                 "--format", "json", "--no-baselines"])

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["model"] for row in report["rows"]] == ["adrec"]


def test_split_time_without_timestamps_fails_clearly(split_folder: Path, capsys):
    code = main(["split", str(split_folder / "data"), str(split_folder / "never"), "--method", "time"])

    assert code == 2
    assert "needs timestamps" in capsys.readouterr().err
    assert not (split_folder / "never").exists()


def test_split_time_with_iso_cutoff(tmp_path: Path, capsys):
    frame = pd.DataFrame({"user_id": ["a", "a", "b", "b"], "interest_id": ["x", "y", "x", "y"],
                          "frequency": [1, 2, 3, 4],
                          "timestamp": ["2024-01-01", "2024-02-01", "2024-03-01", "2024-04-01"]})
    frame.to_csv(tmp_path / "events.csv", index=False)

    code = main(["split", str(tmp_path / "events.csv"), str(tmp_path / "out"), "--method", "time",
                 "--cutoff", "2024-02-15"])

    assert code == 0
    test = pd.read_csv(tmp_path / "out" / "test" / "frequency.csv")
    assert test["frequency"].tolist() == [3, 4]
    # User b engaged only after the cutoff, so both of its rows are cold.
    output = capsys.readouterr().out
    assert "2 held-out rows have a user or interest that is not in the training part (1 distinct " \
        "users and 0 distinct interests)" in output
    assert "Cutoff: 2024-02-15 00:00:00 UTC (1707955200)" in output


def test_split_refuses_non_empty_destination(split_folder: Path, capsys):
    code = main(["split", str(split_folder / "data"), str(split_folder / "splits")])

    assert code == 2
    assert "not an empty folder" in capsys.readouterr().err


def test_split_bad_cutoff(split_folder: Path, capsys):
    code = main(["split", str(split_folder / "data"), str(split_folder / "other"), "--method", "time",
                 "--cutoff", "next tuesday"])

    assert code == 2
    assert "invalid cutoff 'next tuesday'" in capsys.readouterr().err


def test_evaluate_json_below_a_file_fails_first(split_folder: Path, capsys):
    blocker = split_folder / "blocker"
    blocker.write_text("not a folder\n")

    code = main(["evaluate", str(split_folder / "model"), str(split_folder / "splits" / "test"),
                 "--json", str(blocker / "report.json")])

    captured = capsys.readouterr()
    assert code == 2
    assert "is a file, not a folder" in captured.err
    assert "Held-out rows" not in captured.out


def test_split_below_a_file_fails_clearly(split_folder: Path, capsys):
    (split_folder / "plain").write_text("x\n")

    code = main(["split", str(split_folder / "data"), str(split_folder / "plain" / "sub")])

    assert code == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_split_rejects_fraction_outside_range(split_folder: Path, capsys):
    with pytest.raises(SystemExit) as raised:
        main(["split", str(split_folder / "data"), str(split_folder / "x"), "--test-fraction", "1.5"])

    assert raised.value.code == 2
    assert "--test-fraction: must be between 0 and 1" in capsys.readouterr().err
