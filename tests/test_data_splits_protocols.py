"""Tests of the leave-n-out and time splits, and of splitting a dataset with a report."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adrec import ConfigError, InteractionData
from adrec.data import leave_n_out_split, split_data, time_split
from conftest import two_group_frame


def _frame(users: list[str], interests: list[str], timestamps: list[int] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame({"user_id": users, "interest_id": interests,
                          "frequency": np.arange(1.0, len(users) + 1)})
    if timestamps is not None:
        frame["timestamp"] = np.array(timestamps, dtype=np.int64)
    return frame


def _check_partition(train: np.ndarray, test: np.ndarray, n_rows: int) -> None:
    assert np.intersect1d(train, test).size == 0
    assert np.sort(np.concatenate([train, test])).tolist() == list(range(n_rows))


def test_leave_n_out_holds_n_per_user():
    users = np.repeat(np.arange(4), [5, 3, 1, 2])

    train, test = leave_n_out_split(users, seed=0, n=2)

    _check_partition(train, test, len(users))
    held = np.bincount(users[test], minlength=4)
    # min_train=1 keeps one row per user: 5 rows -> 2 out, 3 -> 2, 1 -> 0, 2 -> 1.
    assert held.tolist() == [2, 2, 0, 1]
    assert set(users[train]) == {0, 1, 2, 3}


def test_leave_n_out_fraction_rounds_per_user():
    users = np.repeat(np.arange(3), [10, 7, 2])

    train, test = leave_n_out_split(users, seed=1, fraction=0.2)

    _check_partition(train, test, len(users))
    assert np.bincount(users[test], minlength=3).tolist() == [2, 1, 0]


def test_leave_n_out_same_seed_same_split():
    users = np.random.default_rng(0).integers(0, 30, 500)

    first = leave_n_out_split(users, seed=5, fraction=0.3)
    second = leave_n_out_split(users, seed=5, fraction=0.3)
    other = leave_n_out_split(users, seed=6, fraction=0.3)

    assert first[1].tolist() == second[1].tolist()
    assert first[1].tolist() != other[1].tolist()


def test_leave_n_out_option_errors():
    with pytest.raises(ConfigError, match="exactly one"):
        leave_n_out_split(np.zeros(3, dtype=np.int64), seed=0)
    with pytest.raises(ConfigError, match="exactly one"):
        leave_n_out_split(np.zeros(3, dtype=np.int64), seed=0, n=1, fraction=0.1)
    with pytest.raises(ConfigError, match=">= 1"):
        leave_n_out_split(np.zeros(3, dtype=np.int64), seed=0, n=0)


@settings(deadline=None, max_examples=60)
@given(users=st.lists(st.integers(0, 12), min_size=0, max_size=200),
       fraction=st.floats(0.0, 0.95), seed=st.integers(0, 2**32 - 1))
def test_leave_n_out_invariants_property(users, fraction, seed):
    users = np.array(users, dtype=np.int64)

    train, test = leave_n_out_split(users, seed=seed, fraction=fraction)

    _check_partition(train, test, len(users))
    # Every user keeps a training row, so no held-out user is unknown to the model.
    assert set(users[test]) <= set(users[train])


def test_time_split_by_fraction_and_ties():
    timestamps = np.array([10, 20, 30, 30, 40, 50], dtype=np.int64)

    train, test = time_split(timestamps, fraction=0.5)

    _check_partition(train, test, 6)
    # The cutoff falls on 30, and both rows at 30 go to the held-out part.
    assert test.tolist() == [2, 3, 4, 5]
    assert timestamps[train].max() < timestamps[test].min()


def test_time_split_by_cutoff():
    timestamps = np.array([5, 15, 25], dtype=np.int64)

    train, test = time_split(timestamps, cutoff=15)

    assert train.tolist() == [0]
    assert test.tolist() == [1, 2]


def test_time_split_without_timestamps_explains():
    with pytest.raises(ConfigError, match="needs timestamps"):
        time_split(None, fraction=0.1)


@settings(deadline=None, max_examples=60)
@given(timestamps=st.lists(st.integers(0, 50), min_size=0, max_size=100),
       fraction=st.floats(0.0, 0.95))
def test_time_split_invariants_property(timestamps, fraction):
    timestamps = np.array(timestamps, dtype=np.int64)

    train, test = time_split(timestamps, fraction=fraction)

    _check_partition(train, test, len(timestamps))
    if len(train) and len(test):
        assert timestamps[train].max() < timestamps[test].min()


def test_split_data_reports_cold_rows():
    # u3 and z occur once each, in rows that a time split holds out.
    frame = _frame(["u1", "u1", "u2", "u2", "u3", "u1"], ["x", "y", "x", "y", "x", "z"],
                   [1, 2, 3, 4, 5, 6])
    data = InteractionData.from_frame(frame)

    train, test, report = split_data(data, "time", test_fraction=0.34)

    assert len(train) + len(test) == 6
    assert report.test_rows == 2
    assert report.cold_users == 1
    assert report.cold_interests == 1
    assert report.cold_rows == 2
    assert report.cutoff == 5
    assert "u3" not in train.users
    assert "u3" in test.users


def test_split_data_random_same_seed():
    data = InteractionData.from_frame(two_group_frame())

    first = split_data(data, "random", test_fraction=0.2, seed=4)
    second = split_data(data, "random", test_fraction=0.2, seed=4)

    pd.testing.assert_frame_equal(first[1].to_frame(), second[1].to_frame())
    together = pd.concat([first[0].to_frame(), first[1].to_frame()])
    assert sorted(map(tuple, together.to_numpy().tolist())) == \
        sorted(map(tuple, data.to_frame().to_numpy().tolist()))


def test_split_data_unknown_method():
    data = InteractionData.from_frame(_frame(["a", "b"], ["x", "y"]))

    with pytest.raises(ConfigError, match="unknown split method 'weekly'"):
        split_data(data, "weekly")


def _timed_data() -> InteractionData:
    frame = _frame(["a", "a", "b", "b"], ["x", "y", "x", "y"], [100, 200, 300, 400])
    return InteractionData.from_frame(frame)


@pytest.mark.parametrize(("options", "message"), [
    ({"method": "random", "n": 2}, "leave-n-out split only"),
    ({"method": "random", "cutoff": 300}, "time split only"),
    ({"method": "leave-n-out", "n": 1, "test_fraction": 0.2}, "not both"),
    ({"method": "time", "cutoff": 300, "test_fraction": 0.2}, "not both"),
])
def test_split_data_rejects_unused_options(options, message):
    with pytest.raises(ConfigError, match=message):
        split_data(_timed_data(), **options)


def test_split_data_cutoff_after_every_row():
    with pytest.raises(ConfigError, match="no test rows.*from 1970-01-01 00:01:40 to 1970-01-01 00:06:40"):
        split_data(_timed_data(), "time", cutoff=10_000)


def test_split_data_accepts_iso_cutoff():
    frame = _frame(["a", "a", "b"], ["x", "y", "x"], [1704067200, 1706745600, 1709251200])
    data = InteractionData.from_frame(frame)

    _, test, report = split_data(data, "time", cutoff="2024-02-01")

    assert report.cutoff == 1706745600
    assert len(test) == 2


def test_split_data_invalid_cutoff_text():
    with pytest.raises(ConfigError, match="invalid cutoff 'soon'"):
        split_data(_timed_data(), "time", cutoff="soon")
