"""Tests of the random split and of taking a subset of rows as a new dataset."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adrec import ConfigError, InteractionData
from adrec.data import random_split


@pytest.fixture()
def small_data() -> InteractionData:
    """Six rows: user u3 and interest z occur only in the last row."""
    frame = pd.DataFrame({
        "user_id": ["u1", "u1", "u2", "u2", "u1", "u3"],
        "interest_id": ["x", "y", "x", "y", "w", "z"],
        "frequency": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        "timestamp": np.array([10, 20, 30, 40, 50, 60], dtype=np.int64),
    })
    users = pd.DataFrame({"city": ["Lyon", "Oslo", "Kyiv"]},
                         index=pd.Index(["u1", "u2", "u3"], name="user_id"))
    return InteractionData.from_frame(frame, user_attributes=users, name="small")


def test_split_disjoint():
    train, validation = random_split(1_000, 0.2, seed=3)

    assert np.intersect1d(train, validation).size == 0


def test_split_covers_all_rows():
    train, validation = random_split(1_000, 0.2, seed=3)

    assert np.concatenate([train, validation]).size == 1_000
    assert np.union1d(train, validation).tolist() == list(range(1_000))


def test_split_sizes_and_order():
    train, validation = random_split(1_000, 0.2, seed=3)

    assert validation.size == 200
    assert train.size == 800
    assert (np.diff(train) > 0).all()
    assert (np.diff(validation) > 0).all()
    assert train.dtype == np.int64
    assert validation.dtype == np.int64


def test_split_same_seed_same():
    first = random_split(500, 0.3, seed=11)
    second = random_split(500, 0.3, seed=11)

    assert first[0].tolist() == second[0].tolist()
    assert first[1].tolist() == second[1].tolist()


def test_split_other_seed_differs():
    first = random_split(500, 0.3, seed=11)
    second = random_split(500, 0.3, seed=12)

    assert first[1].tolist() != second[1].tolist()


def test_split_zero_fraction_empty():
    train, validation = random_split(50, 0.0, seed=0)

    assert validation.size == 0
    assert train.tolist() == list(range(50))


def test_split_small_fraction_one_row():
    train, validation = random_split(10, 0.01, seed=0)

    assert validation.size == 1
    assert train.size == 9


def test_split_leaves_training_row():
    train, validation = random_split(2, 0.9, seed=0)

    assert train.size == 1
    assert validation.size == 1


def test_split_no_rows():
    train, validation = random_split(0, 0.2, seed=0)

    assert train.size == 0
    assert validation.size == 0


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5, math.nan])
def test_split_bad_fraction_rejected(fraction):
    with pytest.raises(ConfigError, match="fraction must be in"):
        random_split(10, fraction, seed=0)


def test_split_bad_fraction_value_error():
    with pytest.raises(ValueError):
        random_split(10, 2.0, seed=0)


@settings(deadline=None)
@given(n_rows=st.integers(0, 300), fraction=st.floats(0.0, 0.99), seed=st.integers(0, 2**32 - 1))
def test_split_invariants_property(n_rows, fraction, seed):
    train, validation = random_split(n_rows, fraction, seed=seed)

    assert np.intersect1d(train, validation).size == 0
    assert np.sort(np.concatenate([train, validation])).tolist() == list(range(n_rows))
    if n_rows > 1:
        assert train.size >= 1


def test_take_rebuilds_vocabularies(small_data):
    part = small_data.take(np.array([0, 1, 2, 3]))

    assert part.users.ids.tolist() == ["u1", "u2"]
    assert part.interests.ids.tolist() == ["x", "y"]
    assert "u3" not in part.users
    assert "z" not in part.interests
    assert "w" not in part.interests


def test_take_keeps_rows(small_data):
    rows = np.array([5, 1, 3])

    part = small_data.take(rows)

    expected = small_data.to_frame().iloc[rows].reset_index(drop=True)
    pd.testing.assert_frame_equal(part.to_frame(), expected)


def test_take_indices_contiguous(small_data):
    part = small_data.take(np.array([4, 5]))

    assert part.users.ids.tolist() == ["u1", "u3"]
    assert part.user_index.tolist() == [0, 1]
    assert part.interest_index.tolist() == [0, 1]
    assert part.timestamp.tolist() == [50, 60]


def test_take_keeps_attributes(small_data):
    part = small_data.take(np.array([0]))

    assert part.user_attributes.loc["u3", "city"] == "Kyiv"
    assert part.name == "small"
    assert part.report.rows_read == 1
    assert part.report.pairs == 1


def test_take_split_parts(small_data):
    train, validation = random_split(len(small_data), 0.5, seed=1)

    parts = [small_data.take(train), small_data.take(validation)]

    assert len(parts[0]) + len(parts[1]) == len(small_data)
    for part in parts:
        assert part.user_index.max() < part.n_users
        assert part.interest_index.max() < part.n_interests
