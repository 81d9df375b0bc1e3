"""Tests of batched recommendations: the same results as one user at a time, in bounded batches."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import adrec
from conftest import two_group_frame


@pytest.fixture(scope="module", params=["mse", "ials"])
def fitted(request) -> adrec.Recommender:
    data = adrec.InteractionData.from_frame(two_group_frame(users_per_group=25))
    training = adrec.TrainConfig(objective=request.param, epochs=8, seed=2)
    return adrec.Recommender(adrec.ModelConfig(dim=8), training).fit(data, progress=False)


def test_batches_match_single_user(fitted: adrec.Recommender):
    users = list(fitted.users.ids[:12])

    batched = pd.concat(fitted.recommend_batches(users, k=5, batch_size=5), ignore_index=True)

    for user in users:
        mine = batched[batched["user_id"] == user].reset_index(drop=True)
        single = fitted.recommend(user, k=5)
        assert mine["interest_id"].tolist() == single["interest_id"].tolist()
        assert mine["rank"].tolist() == single["rank"].tolist()
        np.testing.assert_allclose(mine[fitted.score_column], single[fitted.score_column], rtol=1e-5,
                                   atol=1e-6)


def test_batch_size_does_not_change_result(fitted: adrec.Recommender):
    small = pd.concat(fitted.recommend_batches(k=4, batch_size=3), ignore_index=True)
    large = pd.concat(fitted.recommend_batches(k=4, batch_size=1000), ignore_index=True)

    pd.testing.assert_frame_equal(small, large)
    assert small["user_id"].nunique() == len(fitted.users)


def test_batches_exclude_seen_unless_asked(fitted: adrec.Recommender):
    user = fitted.users.ids[0]
    seen = set(fitted.history(user, k=None)["interest_id"])

    excluded = next(fitted.recommend_batches([user], k=len(fitted.interests)))
    included = next(fitted.recommend_batches([user], k=len(fitted.interests), exclude_seen=False))

    assert not seen & set(excluded["interest_id"])
    assert len(excluded) == len(fitted.interests) - len(seen)
    assert len(included) == len(fitted.interests)


def test_batches_unknown_user_raises(fitted: adrec.Recommender):
    with pytest.raises(adrec.UnknownIDError):
        next(fitted.recommend_batches(["nobody"], k=3))
