"""Tests of the cold-users and cold-interests splits, which hold out whole users or interests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.data import sample_data_path, split_data
from adrec.data.split import cold_split
from adrec.errors import ConfigError
from conftest import run_adrec

TIMEOUT_S = 180
# Each cold method and the InteractionData index it holds out whole.
COLD_METHODS = [("cold-users", "user_index"), ("cold-interests", "interest_index")]


@pytest.fixture(scope="module")
def sample() -> adrec.InteractionData:
    """The embedded sample, loaded once for this module."""
    return adrec.load_sample()


def ids_with_rows(part: adrec.InteractionData, column: str) -> set[str]:
    """Return the user or interest IDs that have rows in ``part``."""
    return set(part.to_frame()[column])


@pytest.mark.parametrize("method, index_name", COLD_METHODS)
def test_cold_split_parts_share_no_ids(sample, method, index_name):
    train, test, _ = split_data(sample, method, seed=0)
    column = index_name.replace("_index", "_id")

    assert ids_with_rows(test, column)
    assert ids_with_rows(train, column).isdisjoint(ids_with_rows(test, column))


@pytest.mark.parametrize("method, index_name", COLD_METHODS)
def test_cold_split_keeps_every_row_once(sample, method, index_name):
    train, test, report = split_data(sample, method, seed=0)
    key = ["user_id", "interest_id"]

    together = pd.concat([train.to_frame(), test.to_frame()]).sort_values(key)
    original = sample.to_frame().sort_values(key)
    assert len(train) + len(test) == len(sample)
    assert not together.duplicated(key).any()
    pd.testing.assert_frame_equal(together[key + ["frequency"]].reset_index(drop=True),
                                  original[key + ["frequency"]].reset_index(drop=True))
    assert report.train_rows == len(train)
    assert report.test_rows == len(test)


@pytest.mark.parametrize("method, index_name", COLD_METHODS)
@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_cold_split_holds_out_fraction_of_ids(sample, method, index_name, fraction):
    n_present = len(np.unique(getattr(sample, index_name)))
    _, test, _ = split_data(sample, method, test_fraction=fraction, seed=0)
    held_out = len(np.unique(getattr(test, index_name)))

    assert held_out == round(n_present * fraction)


@pytest.mark.parametrize("method, index_name", COLD_METHODS)
def test_cold_split_report_all_cold(sample, method, index_name):
    _, _, report = split_data(sample, method, seed=0)

    if method == "cold-users":
        assert report.cold_users == report.test_users
        assert report.cold_users > 0
    else:
        assert report.cold_interests == report.test_interests
        assert report.cold_interests > 0
    assert report.cold_rows == report.test_rows


@pytest.mark.parametrize("method, index_name", COLD_METHODS)
def test_cold_split_same_seed_same_rows(sample, method, index_name):
    first_train, first_test, _ = split_data(sample, method, seed=7)
    again_train, again_test, _ = split_data(sample, method, seed=7)
    other_train, other_test, _ = split_data(sample, method, seed=8)
    column = index_name.replace("_index", "_id")

    pd.testing.assert_frame_equal(first_test.to_frame(), again_test.to_frame())
    pd.testing.assert_frame_equal(first_train.to_frame(), again_train.to_frame())
    assert ids_with_rows(first_test, column) != ids_with_rows(other_test, column)


def test_cold_split_rows_sorted_int64():
    entity_index = np.array([2, 0, 1, 2, 1, 0, 3, 3, 3])
    train_rows, test_rows = cold_split(entity_index, 0.25, seed=0)

    assert train_rows.dtype == np.int64
    assert test_rows.dtype == np.int64
    assert np.all(np.diff(train_rows) > 0)
    assert np.all(np.diff(test_rows) > 0)
    assert len(np.unique(entity_index[test_rows])) == 1


def test_cold_split_small_fraction_holds_out_one():
    entity_index = np.repeat(np.arange(5), 3)
    train_rows, test_rows = cold_split(entity_index, 0.01, seed=0)

    assert len(np.unique(entity_index[test_rows])) == 1
    assert len(np.unique(entity_index[train_rows])) == 4


def test_cold_split_keeps_one_for_training():
    entity_index = np.repeat(np.arange(3), 2)
    train_rows, test_rows = cold_split(entity_index, 0.99, seed=0)

    assert len(np.unique(entity_index[train_rows])) == 1
    assert len(np.unique(entity_index[test_rows])) == 2


def test_cold_split_single_user_rejected():
    with pytest.raises(ConfigError, match="at least 2 users"):
        cold_split(np.zeros(4, dtype=np.int64), 0.5, seed=0, entity="user")


def test_cold_users_rejects_n(sample):
    with pytest.raises(ConfigError, match="leave-n-out split only, not to the cold-users split"):
        split_data(sample, "cold-users", n=2)


def test_cold_interests_rejects_cutoff(sample):
    with pytest.raises(ConfigError, match="time split only, not to the cold-interests split"):
        split_data(sample, "cold-interests", cutoff=0)


def test_cli_split_cold_users_writes_parts(tmp_path: Path):
    result = run_adrec("split", sample_data_path(), "out", "--method", "cold-users", "--seed", "4",
                       cwd=tmp_path, timeout=TIMEOUT_S)

    assert result.returncode == 0, result.stderr
    assert "held-out users" in result.stdout
    original = pd.read_csv(sample_data_path() / "frequency.csv", dtype=str)
    train = pd.read_csv(tmp_path / "out" / "train" / "frequency.csv", dtype={"user_id": str})
    test = pd.read_csv(tmp_path / "out" / "test" / "frequency.csv", dtype={"user_id": str})
    assert len(train) + len(test) == len(original)
    assert set(train["user_id"]).isdisjoint(test["user_id"])
    assert test["user_id"].nunique() == round(original["user_id"].nunique() * 0.1)
    assert (tmp_path / "out" / "train" / "users.csv").exists()


@pytest.mark.realdata
def test_movielens_cold_users_tenth(movielens_path: Path):
    movielens = adrec.load_data(movielens_path)
    train, test, report = split_data(movielens, "cold-users", test_fraction=0.1, seed=0)
    test_users = ids_with_rows(test, "user_id")

    assert len(test_users) in (94, 95)
    assert test_users.isdisjoint(ids_with_rows(train, "user_id"))
    assert report.cold_users == len(test_users)
    assert len(train) + len(test) == len(movielens)
