"""Audiences, similar interests and users, and the popular fallback for unknown users."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.errors import ConfigError, UnknownIDError


@pytest.fixture(scope="module")
def fitted() -> adrec.Recommender:
    training = adrec.TrainConfig(epochs=5, target_transform="log1p")
    return adrec.Recommender(adrec.ModelConfig(dim=8), training).fit(adrec.load_sample(),
                                                                      progress=False)


def _engaged_users(recommender: adrec.Recommender, interest_id: str) -> set[str]:
    rows = recommender.interactions
    index = recommender.interests.index_of(interest_id)
    users = rows.loc[rows["interest_index"] == index, "user_index"].to_numpy()
    return set(recommender.users.ids[users])


def test_audience_matches_brute_force(fitted: adrec.Recommender):
    interest = "AUT-01"
    audience = fitted.audience(interest, k=25)

    engaged = _engaged_users(fitted, interest)
    candidates = [user for user in fitted.users.ids if user not in engaged]
    predicted = fitted.predict_pairs(candidates, [interest] * len(candidates))
    order = np.lexsort((fitted.users.indices_of(candidates), -predicted))[:25]
    assert audience["user_id"].tolist() == [candidates[i] for i in order]
    np.testing.assert_allclose(audience["predicted_frequency"], predicted[order], rtol=1e-5)
    assert audience["rank"].tolist() == list(range(1, 26))
    assert not engaged & set(audience["user_id"])


def test_audience_can_include_engaged(fitted: adrec.Recommender):
    audience = fitted.audience("AUT-01", k=len(fitted.users), exclude_engaged=False)
    assert len(audience) == len(fitted.users)
    assert audience["predicted_frequency"].is_monotonic_decreasing


def test_audience_batches_equal_single_calls(fitted: adrec.Recommender):
    interests = list(fitted.interests.ids[:5])
    batches = list(fitted.audience_batches(interests, k=7, batch_size=2))
    assert len(batches) == 3
    combined = np.concatenate([frame["user_id"].to_numpy() for frame in batches])
    single = np.concatenate([fitted.audience(i, k=7)["user_id"].to_numpy() for i in interests])
    assert combined.tolist() == single.tolist()


def test_audience_rejects_unknown_interest(fitted: adrec.Recommender):
    with pytest.raises(UnknownIDError, match="'no-such'"):
        fitted.audience("no-such")


def _cosines(vectors: np.ndarray, row: int) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1)
    return vectors @ vectors[row] / (norms * norms[row])


def test_similar_interests_by_cosine(fitted: adrec.Recommender):
    vectors = fitted.model.interest_embedding.weight.detach().double().numpy()
    row = fitted.interests.index_of("AUT-01")
    cosines = _cosines(vectors, row)
    cosines[row] = -np.inf
    expected = fitted.interests.ids[np.argsort(-cosines, kind="stable")[:10]]

    similar = fitted.similar_interests("AUT-01", k=10)
    assert similar["interest_id"].tolist() == expected.tolist()
    assert "AUT-01" not in similar["interest_id"].tolist()
    assert similar["similarity"].between(-1, 1).all()
    assert "name" in similar.columns


def test_similar_users_by_cosine(fitted: adrec.Recommender):
    vectors = fitted.model.user_embedding.weight.detach().double().numpy()
    row = fitted.users.index_of("6")
    cosines = _cosines(vectors, row)
    similar = fitted.similar_users("6", k=5)
    np.testing.assert_allclose(similar["similarity"],
                               cosines[fitted.users.indices_of(similar["user_id"])], rtol=1e-5)
    assert "6" not in similar["user_id"].tolist()
    assert similar["similarity"].is_monotonic_decreasing


def test_unknown_user_raises_without_fallback(fitted: adrec.Recommender):
    with pytest.raises(UnknownIDError):
        fitted.recommend("ghost", 5)


def test_fallback_popular_overall(fitted: adrec.Recommender):
    result = fitted.recommend("ghost", 5, fallback=True)
    counts = fitted.interactions["interest_index"].value_counts()
    expected = fitted.interests.ids[counts.index[:5]]
    assert result["interest_id"].tolist() == expected.tolist()
    assert result.attrs["fallback"] == "popular"
    assert "unknown user 'ghost'" in result.attrs["reason"]


def test_fallback_popular_within_segment(fitted: adrec.Recommender):
    result = fitted.recommend("ghost", 5, fallback=True, attributes={"region": "capital"})
    members = np.flatnonzero(fitted.user_attributes["region"].to_numpy() == "capital")
    rows = fitted.interactions[fitted.interactions["user_index"].isin(members)]
    top = rows["interest_index"].value_counts().iloc[:5]
    assert result["engaged_users"].tolist() == top.to_list()
    assert f"{len(members):,} users with region=capital" in result.attrs["reason"]


def test_fallback_empty_segment_uses_everyone(fitted: adrec.Recommender):
    result = fitted.recommend("ghost", 3, fallback=True, attributes={"region": "atlantis"})
    assert "no user has region=atlantis" in result.attrs["reason"]
    assert len(result) == 3


def test_fallback_rejects_unknown_attribute(fitted: adrec.Recommender):
    with pytest.raises(ConfigError, match="unknown user attribute 'shoe_size'"):
        fitted.recommend("ghost", 3, fallback=True, attributes={"shoe_size": "9"})


def test_known_user_ignores_fallback(fitted: adrec.Recommender):
    assert fitted.recommend("6", 5, fallback=True).equals(fitted.recommend("6", 5))


def test_category_filter_keeps_only_those_categories(fitted: adrec.Recommender):
    chosen = fitted.recommend("6", 50, categories=["Sports", "Travel"])
    assert len(chosen) > 0
    assert set(chosen["category"]) <= {"Sports", "Travel"}
    everything = fitted.recommend("6", len(fitted.interests))
    expected = everything[everything["category"].isin(["Sports", "Travel"])].head(50)
    assert chosen["interest_id"].tolist() == expected["interest_id"].tolist()


def test_unknown_category_is_named(fitted: adrec.Recommender):
    with pytest.raises(ConfigError, match="unknown category 'Sprots'.*such as"):
        fitted.recommend("6", 5, categories=["Sports", "Sprots"])


@pytest.mark.parametrize("user", ["6", "ghost"])
def test_recommend_columns_equal_the_frame(fitted: adrec.Recommender, user: str):
    columns, notes = fitted.recommend_columns(user, 7, fallback=True, exclude=["AUT-01"])
    frame = fitted.recommend(user, 7, fallback=True, exclude=["AUT-01"])
    assert list(columns) == list(frame.columns)
    for name, values in columns.items():
        assert list(values) == frame[name].tolist()
    assert notes == frame.attrs
    assert ("fallback" in notes) == (user == "ghost")


def test_multi_valued_categories_match_each_part():
    frame = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3"], "interest_id": ["a", "b", "c", "d"],
                          "frequency": [1.0, 2.0, 3.0, 1.0]})
    interests = pd.DataFrame({"name": ["A", "B", "C", "D"],
                              "category": ["Comedy|Romance", "Drama", "Comedy", None]},
                             index=pd.Index(["a", "b", "c", "d"], name="interest_id"))
    data = adrec.InteractionData.from_frame(frame, interest_attributes=interests)
    fitted = adrec.Recommender(adrec.ModelConfig(dim=2),
                               adrec.TrainConfig(epochs=1, validation_fraction=0.0)).fit(
        data, progress=False)
    chosen = fitted.recommend("u3", 10, categories=["Comedy"])
    assert set(chosen["interest_id"]) == {"a", "c"}
    assert set(fitted.recommend("u3", 10, categories=["Romance", "Drama"])["interest_id"]) == {"a", "b"}
