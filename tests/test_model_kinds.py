"""The same contract for every model kind, and cold start from attributes for the hybrid model."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import adrec
from adrec.errors import ConfigError, UnknownIDError
from adrec.models import DeepFactorization, HybridFactorization, MatrixFactorization

KINDS = {
    "mf": {},
    "hybrid": {},
    "deep": {"layers": (16, 8), "dropout": 0.1},
    "deep-attributes": {"kind": "deep", "layers": (16,), "attributes": True, "activation": "sigmoid"},
}


def _fit(name: str, objective: str = "mse") -> adrec.Recommender:
    settings = {"kind": name, **KINDS[name]}
    model = adrec.ModelConfig(dim=8, **settings)
    training = adrec.TrainConfig(objective=objective, epochs=4, target_transform="log1p", seed=3)
    return adrec.Recommender(model, training).fit(adrec.load_sample(), progress=False)


@pytest.fixture(scope="module", params=list(KINDS))
def fitted(request) -> adrec.Recommender:
    return _fit(request.param)


def test_model_class_matches_kind(fitted: adrec.Recommender):
    expected = {"mf": MatrixFactorization, "hybrid": HybridFactorization, "deep": DeepFactorization}
    assert isinstance(fitted.model, expected[fitted.model_config.kind])
    assert np.isfinite(fitted.metrics["validation_rmse"])


def test_batch_equals_single(fitted: adrec.Recommender):
    users = list(fitted.users.ids[:12])
    batch = fitted.recommend_many(users, k=5)
    for user in users:
        single = fitted.recommend(user, 5)
        rows = batch[batch["user_id"] == user]
        assert rows["interest_id"].tolist() == single["interest_id"].tolist()
        np.testing.assert_allclose(rows["predicted_frequency"], single["predicted_frequency"],
                                   rtol=1e-5)


def test_sorted_non_negative_and_seen_excluded(fitted: adrec.Recommender):
    user = fitted.users.ids[0]
    chosen = fitted.recommend(user, 10)
    values = chosen["predicted_frequency"].to_numpy()
    assert np.all(np.diff(values) <= 1e-9)
    assert np.all(values >= 0)
    seen = set(fitted.history(user, None)["interest_id"])
    assert not seen & set(chosen["interest_id"])


def test_pairs_agree_with_scores_of_all_interests(fitted: adrec.Recommender):
    user = fitted.users.ids[5]
    everything = fitted.recommend(user, len(fitted.interests), exclude_seen=False)
    predicted = fitted.predict_pairs([user] * len(everything), everything["interest_id"].tolist())
    np.testing.assert_allclose(predicted, everything["predicted_frequency"], rtol=1e-5, atol=1e-6)


def test_audience_and_similar(fitted: adrec.Recommender):
    interest = fitted.interests.ids[0]
    audience = fitted.audience(interest, 10)
    assert len(audience) == 10
    assert np.all(np.diff(audience["predicted_frequency"].to_numpy()) <= 1e-9)
    similar = fitted.similar_interests(interest, 5)
    assert interest not in set(similar["interest_id"])
    assert np.all(np.diff(similar["similarity"].to_numpy()) <= 1e-9)


def test_unknown_ids(fitted: adrec.Recommender):
    with pytest.raises(UnknownIDError):
        fitted.recommend("nobody-here", 5)
    with pytest.raises(UnknownIDError):
        fitted.predict_pairs([fitted.users.ids[0]], ["no-such-interest"])


def test_save_load_identical_scores(fitted: adrec.Recommender, tmp_path):
    fitted.save(tmp_path / "bundle")
    loaded = adrec.Recommender.load(tmp_path / "bundle")
    assert loaded.model_config == fitted.model_config
    users = list(fitted.users.ids[:20])
    first = fitted.recommend_many(users, k=8)
    second = loaded.recommend_many(users, k=8)
    assert first["interest_id"].tolist() == second["interest_id"].tolist()
    np.testing.assert_array_equal(first["predicted_frequency"], second["predicted_frequency"])
    # No pickle: the manifest is plain JSON, the weights safetensors.
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["model"]["kind"] == fitted.model_config.kind
    assert ("features" in manifest) == fitted.model_config.uses_attributes


# ----------------------------------------------------------------- cold start


@pytest.fixture(scope="module")
def hybrid() -> adrec.Recommender:
    return _fit("hybrid")


def test_hybrid_chooses_attribute_columns(hybrid: adrec.Recommender):
    users = {column.name for column in hybrid.user_features.columns}
    interests = {column.name for column in hybrid.interest_features.columns}
    assert {"age_band", "gender", "region"} <= users
    assert "category" in interests
    assert "name" not in interests  # one value per interest: an ID, not an attribute
    assert hybrid.info()["features"]["user"]


def test_new_user_from_attributes(hybrid: adrec.Recommender):
    young = hybrid.recommend("new-user", 10, fallback=True,
                             attributes={"age_band": "18-24", "gender": "female"})
    assert young.attrs["fallback"] == "attributes"
    assert "age_band=18-24" in young.attrs["reason"]
    assert np.all(young["predicted_frequency"] >= 0)

    direct = hybrid.recommend_new_user({"age_band": "18-24", "gender": "female"}, 10)
    assert direct["interest_id"].tolist() == young["interest_id"].tolist()
    predicted = hybrid.predict_new_user({"age_band": "18-24", "gender": "female"},
                                        direct["interest_id"].tolist())
    np.testing.assert_allclose(predicted, direct["predicted_frequency"], rtol=1e-6)

    # Different attributes give different scores; unseen values use the unknown bucket.
    older = hybrid.predict_new_user({"age_band": "65+", "gender": "male"}, direct["interest_id"].tolist())
    assert not np.allclose(predicted, older)
    unseen = hybrid.recommend_new_user({"age_band": "no-such-band"}, 5)
    assert len(unseen) == 5


def test_new_user_without_attributes_gets_popular(hybrid: adrec.Recommender):
    frame = hybrid.recommend("new-user", 5, fallback=True)
    assert frame.attrs["fallback"] == "popular"


def test_new_user_attribute_errors(hybrid: adrec.Recommender):
    with pytest.raises(ConfigError, match="unknown user attribute 'shoe'"):
        hybrid.recommend_new_user({"shoe": "9"}, 5)


def test_new_interest_audience(hybrid: adrec.Recommender):
    audience = hybrid.audience_new_interest({"category": "Sports"}, 20)
    assert audience.attrs["fallback"] == "attributes"
    assert len(audience) == 20
    values = hybrid.predict_new_interest({"category": "Sports"}, audience["user_id"].tolist())
    np.testing.assert_allclose(values, audience["predicted_frequency"], rtol=1e-6)


def test_mf_cannot_score_new_users():
    model = _fit("mf")
    with pytest.raises(ConfigError, match="train a hybrid model"):
        model.recommend_new_user({"age_band": "18-24"}, 5)


def test_cold_start_survives_save_and_load(hybrid: adrec.Recommender, tmp_path):
    hybrid.save(tmp_path / "hybrid")
    loaded = adrec.Recommender.load(tmp_path / "hybrid")
    attributes = {"age_band": "25-34", "region": "capital"}
    first = hybrid.recommend_new_user(attributes, 10)
    second = loaded.recommend_new_user(attributes, 10)
    assert first["interest_id"].tolist() == second["interest_id"].tolist()


def test_id_dropout_only_while_training(hybrid: adrec.Recommender):
    users = torch.arange(10)
    hybrid.model.eval()
    with torch.no_grad():
        first, second = hybrid.model.user_tower(users)[0], hybrid.model.user_tower(users)[0]
    assert torch.equal(first, second)


# ----------------------------------------------------------------- training options


def test_ranking_objective_trains_hybrid_and_deep():
    for name in ("hybrid", "deep"):
        model = _fit(name, objective="ials")
        assert model.score_column == "score"
        assert model.metrics["validation_ndcg@10"] is not None
        assert model.history_[0]["validation_ndcg"] is not None
        assert "score" in model.recommend(model.users.ids[0], 5).columns


@pytest.mark.parametrize(("settings", "message"), [
    ({"kind": "deep", "layers": (0,)}, "layer sizes"),
    ({"kind": "deep", "activation": "swish"}, "unknown activation"),
    ({"kind": "hybrid", "id_dropout": 1.0}, "id_dropout"),
    ({"kind": "mf", "attributes": True}, "mf model uses no attributes"),
])
def test_invalid_model_settings(settings, message):
    with pytest.raises(ConfigError, match=message):
        adrec.ModelConfig(**settings)


def test_fast_backend_refuses_other_kinds():
    recommender = adrec.Recommender(adrec.ModelConfig(kind="hybrid", dim=4),
                                    adrec.TrainConfig(backend="fast", epochs=1))
    with pytest.raises(ConfigError, match="fast backend trains the mf model only"):
        recommender.fit(adrec.load_sample(), progress=False)


def test_named_columns_are_used(tmp_path):
    model = adrec.ModelConfig(kind="hybrid", dim=4, user_columns=["region"], interest_columns=[])
    fitted = adrec.Recommender(model, adrec.TrainConfig(epochs=1)).fit(adrec.load_sample(),
                                                                       progress=False)
    assert [column.name for column in fitted.user_features.columns] == ["region"]
    assert len(fitted.interest_features) == 0
    with pytest.raises(ConfigError, match="cannot score a new interest"):
        fitted.audience_new_interest({"category": "Sports"})
