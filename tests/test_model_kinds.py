"""The same contract for every model kind, and cold start from attributes for the hybrid model."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

import adrec
import adrec.data.sample
from adrec.data.split import split_data
from adrec.errors import ConfigError, UnknownIDError
from adrec.evaluation import BiasOnly, evaluate_cold_start
from adrec.models import DeepFactorization, HybridFactorization, MatrixFactorization
from conftest import run_adrec

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
    info = hybrid.info()
    assert "age_band (categorical)" in info["attribute_columns"]["user"]
    assert info["attribute_columns"]["interest"] == "category (categorical)"
    assert "layers" not in info["model"]


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


def test_unseen_attribute_value_is_named(hybrid: adrec.Recommender):
    frame = hybrid.recommend_new_user({"age_band": "999", "gender": "female"}, 5)
    assert "age_band=999 (not seen in training)" in frame.attrs["reason"]
    assert "gender=female," not in frame.attrs["reason"]
    assert frame.attrs["reason"].endswith("gender=female")


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


def test_id_dropout_per_side():
    model = adrec.ModelConfig(kind="hybrid", dim=8, user_id_dropout=0.5, interest_id_dropout=0.0)
    recommender = adrec.Recommender(model, adrec.TrainConfig(epochs=1, seed=0)).fit(
        adrec.load_sample(), progress=False)
    towers = recommender.model
    towers.train()
    rows = torch.arange(50)
    with torch.no_grad():
        users = [towers.user_tower(rows)[0] for _ in range(2)]
        interests = [towers.interest_tower(rows)[0] for _ in range(2)]
    towers.eval()
    assert not torch.equal(users[0], users[1])
    assert torch.equal(interests[0], interests[1])


def test_feature_sum_training_equals_scoring(hybrid: adrec.Recommender):
    tower = hybrid.model.user_tower
    ids, weights = tower.feature_ids[:40], tower.feature_weights[:40]
    trained = tower.from_features(ids, weights)  # grad enabled: the dense product
    with torch.no_grad():
        scored = tower.from_features(ids, weights)  # embedding_bag
    assert torch.allclose(trained[0].detach(), scored[0], atol=1e-5)
    assert torch.allclose(trained[1].detach(), scored[1], atol=1e-5)


def test_new_rows_add_the_mean_id_part(hybrid: adrec.Recommender):
    tower = hybrid.model.user_tower
    ids, weights = tower.feature_ids[:5], tower.feature_weights[:5]
    with torch.no_grad():
        vectors, biases = tower.new_rows(ids, weights)
        attribute_vectors, attribute_biases = tower.from_features(ids, weights)
    assert torch.allclose(vectors, attribute_vectors + tower.embedding.weight.mean(dim=0))
    assert torch.allclose(biases, attribute_biases + tower.bias.weight.mean())


def test_gram_sum_of_squares_equals_the_grid(hybrid: adrec.Recommender):
    model = hybrid.model
    users, interests = torch.arange(0, model.n_users, 3), torch.arange(0, model.n_interests, 2)
    with torch.no_grad():
        grid = model.score_all(users)[:, interests]
        expected = float(grid.double().pow(2).sum())
        assert float(model.squared_score_sum(users, interests)) == pytest.approx(expected,
                                                                                 rel=1e-4)


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
    ({"kind": "hybrid", "user_id_dropout": 1.0}, "user_id_dropout"),
    ({"kind": "hybrid", "interest_id_dropout": -0.1}, "interest_id_dropout"),
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
    # A table column the model does not embed cannot describe a new user on its own.
    with pytest.raises(ConfigError, match="uses none of the given user attributes"):
        fitted.recommend_new_user({"device": "mobile"}, 5)
    mixed = fitted.recommend_new_user({"device": "mobile", "region": "capital"}, 5)
    assert "(the model does not use device)" in mixed.attrs["reason"]
    # Through recommend, such a user falls back to the popular interests of the segment.
    assert fitted.recommend("ghost", 5, fallback=True,
                            attributes={"device": "mobile"}).attrs["fallback"] == "popular"


# ----------------------------------------------------------------- cold-start evaluation


@pytest.fixture(scope="module")
def cold_split(tmp_path_factory) -> tuple:
    train, test, _ = split_data(adrec.load_sample(), "cold-users", test_fraction=0.1, seed=0)
    training = adrec.TrainConfig(epochs=4, target_transform="log1p", seed=0)
    model = adrec.Recommender(adrec.ModelConfig(kind="hybrid", dim=8), training).fit(
        train, progress=False)
    return model, train, test


def test_cold_users_report(cold_split):
    model, train, test = cold_split
    report = evaluate_cold_start(model, test, "users")
    names = [row["model"] for row in report.rows]
    assert names == ["adrec", "global mean", "interest bias", "interest mean", "most popular"]
    assert report.counts["new_users"] == len(test.users)
    assert report.counts["scored_rows"] == len(test)
    assert all(np.isfinite(row["ndcg@10"]) for row in report.rows if "ndcg@10" in row)

    # The interest-bias fallback is the global mean plus each interest's bias, in the
    # input's units, fitted on the model's stored rows.
    stored = model.interactions
    bias = BiasOnly().fit(stored["user_index"], stored["interest_index"], stored["frequency"],
                          len(model.users), len(model.interests))
    frame = test.to_frame()
    predicted = bias.mean + bias.interest_bias[model.interests.indices_of(frame["interest_id"])]
    expected = float(np.sqrt(np.mean((predicted - frame["frequency"].to_numpy()) ** 2)))
    assert report.rows[2]["rmse"] == pytest.approx(expected)

    # The interest mean is the global mean plus each interest's mean residual, shrunk by 10 rows.
    residual = stored["frequency"].to_numpy() - bias.mean
    sums = np.bincount(stored["interest_index"], residual, len(model.interests))
    counts = np.bincount(stored["interest_index"], minlength=len(model.interests))
    interest_mean = sums / (counts + 10.0)
    predicted = bias.mean + interest_mean[model.interests.indices_of(frame["interest_id"])]
    expected = float(np.sqrt(np.mean((predicted - frame["frequency"].to_numpy()) ** 2)))
    assert report.rows[3]["rmse"] == pytest.approx(expected)


def test_cold_evaluation_needs_new_entities_and_attributes(cold_split):
    model, train, _ = cold_split
    with pytest.raises(ConfigError, match="split with --method cold-users"):
        evaluate_cold_start(model, train, "users")
    with pytest.raises(ConfigError, match="unknown side"):
        evaluate_cold_start(model, train, "pairs")
    plain = adrec.Recommender(adrec.ModelConfig(dim=4), adrec.TrainConfig(epochs=1)).fit(
        train, progress=False)
    with pytest.raises(ConfigError, match="train a hybrid model"):
        evaluate_cold_start(plain, train, "users")


def test_cli_cold_evaluation(cold_split, tmp_path):
    model, _, test = cold_split
    model.save(tmp_path / "model")
    frame = test.to_frame()
    frame.to_csv(tmp_path / "frequency.csv", index=False)
    test.user_attributes.rename_axis("user_id").reset_index().to_csv(tmp_path / "users.csv",
                                                                     index=False)
    done = run_adrec("evaluate", tmp_path / "model", tmp_path, "--cold", "users", "--format", "json",
                     cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["settings"]["side"] == "users"
    assert document["counts"]["new_users"] == len(test.users)


@pytest.mark.slow
@pytest.mark.realdata
def test_movielens_cold_users(movielens_path):
    data = adrec.load_data(movielens_path)
    train, test, _ = split_data(data, "cold-users", test_fraction=0.1, seed=0)
    training = adrec.TrainConfig(epochs=3, seed=0)
    model = adrec.Recommender(adrec.ModelConfig(kind="hybrid", dim=16), training).fit(
        train, progress=False)
    assert {column.name for column in model.user_features.columns} == {"age", "gender", "occupation"}
    report = evaluate_cold_start(model, test, "users")
    assert report.counts["new_users"] in (94, 95)
    model_row, mean_row = report.rows[0], report.rows[1]
    # Attributes must at least beat predicting the global mean for everyone.
    assert model_row["rmse"] < mean_row["rmse"]


def test_cli_hybrid_train_and_cold_start(tmp_path):
    sample = adrec.data.sample.sample_data_path()
    done = run_adrec("train", sample, "--model", "hybrid", "--dim", "8", "--epochs", "2",
                     "--target-transform", "log1p", "--user-id-dropout", "0.2",
                     "--interest-id-dropout", "0.1", "--out", tmp_path / "model", cwd=tmp_path,
                     timeout=600)
    assert done.returncode == 0, done.stderr
    settings = adrec.Recommender.load(tmp_path / "model").model_config
    assert (settings.user_id_dropout, settings.interest_id_dropout) == (0.2, 0.1)

    done = run_adrec("recommend", tmp_path / "model", "new-user", "-k", "3", "--fallback",
                     "--attribute", "age_band=25-34", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "fallback attributes" in done.stderr
    assert "scored from attributes" in done.stdout

    done = run_adrec("audience", tmp_path / "model", "NEW-SPORT", "-k", "3", "--attribute",
                     "category=Sports", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "fallback attributes: interest 'NEW-SPORT' is new" in done.stderr

    done = run_adrec("predict", tmp_path / "model", "new-user", "AUT-01", "--attribute",
                     "gender=female", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout.strip()) >= 0

    done = run_adrec("info", tmp_path / "model", "--format", "json", cwd=tmp_path, timeout=300)
    info = json.loads(done.stdout)
    assert info["model"]["kind"] == "hybrid"
    assert "region (categorical)" in info["attribute_columns"]["user"]

    done = run_adrec("train", sample, "--model", "deep", "--layers", "0", "--out",
                     tmp_path / "bad", cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "argument --layers: must be at least 1, got 0" in done.stderr


@pytest.fixture(scope="module")
def typed_hybrid(tmp_path_factory) -> adrec.Recommender:
    """A hybrid model whose users table has a numeric column and a 0/1 flag."""
    folder = tmp_path_factory.mktemp("typed")
    generator = np.random.default_rng(0)
    users = pd.DataFrame({"user_id": [f"u{index}" for index in range(60)],
                          "age": generator.integers(18, 70, 60),
                          "premium": generator.integers(0, 2, 60)})
    interests = pd.DataFrame({"interest_id": [f"i{index}" for index in range(12)],
                              "category": ["news", "sport", "travel"] * 4})
    pairs = pd.DataFrame({"user_id": generator.choice(users["user_id"], 400),
                          "interest_id": generator.choice(interests["interest_id"], 400),
                          "frequency": generator.integers(1, 9, 400)})
    pairs.drop_duplicates(["user_id", "interest_id"]).to_csv(folder / "frequency.csv", index=False)
    users.to_csv(folder / "users.csv", index=False)
    interests.to_csv(folder / "interests.csv", index=False)
    model = adrec.ModelConfig(kind="hybrid", dim=4)
    return adrec.Recommender(model, adrec.TrainConfig(epochs=2, seed=0)).fit(
        adrec.load_data(folder), progress=False)


@pytest.mark.parametrize(("attributes", "message"), [
    ({"age": "abc"}, "'age' is numeric, got 'abc'"),
    ({"age": "inf"}, "'age' is numeric"),
    ({"premium": "yes"}, "'premium' is numeric, got 'yes'"),
    ({"premium": "2"}, "'premium' is a 0/1 flag, got '2'"),
])
def test_new_user_numbers_are_checked(typed_hybrid: adrec.Recommender, attributes, message):
    assert {column.kind for column in typed_hybrid.user_features.columns} >= {"numeric", "flag"}
    with pytest.raises(ConfigError, match=message):
        typed_hybrid.recommend_new_user(attributes, 3)


def test_new_user_numbers_accepted(typed_hybrid: adrec.Recommender):
    frame = typed_hybrid.recommend_new_user({"age": "31", "premium": 1}, 3)
    assert len(frame) == 3
    assert frame.attrs["fallback"] == "attributes"
    missing = typed_hybrid.recommend_new_user({"age": "", "premium": "0"}, 3)
    assert len(missing) == 3


def test_cli_attribute_given_twice(cold_split, tmp_path):
    model, _, _ = cold_split
    model.save(tmp_path / "model")
    done = run_adrec("recommend", tmp_path / "model", "new-user", "--fallback", "--attribute",
                     "gender=female", "--attribute", "gender=male", cwd=tmp_path, timeout=300)
    assert done.returncode == 2
    assert "--attribute gender is given twice" in done.stderr


def test_cli_new_entity_json_is_flagged(cold_split, tmp_path):
    model, _, _ = cold_split
    model.save(tmp_path / "model")
    done = run_adrec("predict", tmp_path / "model", "new-user", "AUT-01", "--attribute",
                     "age_band=25-34", "--format", "json", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["fallback"] == "attributes"
    assert document["predictions"][0]["interest_id"] == "AUT-01"

    done = run_adrec("audience", tmp_path / "model", "NEW-SPORT", "-k", "3", "--attribute",
                     "category=Sports", "--format", "json", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["fallback"] == "attributes"
    assert len(document["audience"]) == 3


def test_cli_cold_evaluation_from_split_folders(tmp_path):
    sample = adrec.data.sample.sample_data_path()
    done = run_adrec("split", sample, tmp_path / "splits", "--method", "cold-users", "--seed", "0",
                     cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "splits" / "test" / "users.csv").exists()
    assert (tmp_path / "splits" / "test" / "interests.csv").exists()

    done = run_adrec("train", tmp_path / "splits" / "train", "--model", "hybrid", "--dim", "8",
                     "--epochs", "2", "--target-transform", "log1p", "--out", tmp_path / "model",
                     cwd=tmp_path, timeout=600)
    assert done.returncode == 0, done.stderr
    done = run_adrec("evaluate", tmp_path / "model", tmp_path / "splits" / "test", "--cold", "users",
                     "--format", "json", cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["counts"]["new_users"] > 0
    assert document["counts"]["new_users_without_attributes"] == 0


def test_cold_evaluation_needs_attribute_rows(cold_split):
    model, _, test = cold_split
    bare = dataclasses.replace(test, user_attributes=pd.DataFrame())
    with pytest.raises(ConfigError, match="put users.csv beside the test frequency.csv"):
        evaluate_cold_start(model, bare, "users")


def test_squared_score_sum_matches_grid(fitted: adrec.Recommender):
    model = fitted.model
    users, interests = torch.arange(0, model.n_users, 3), torch.arange(0, model.n_interests, 2)
    with torch.no_grad():
        expected = float(model.score_all(users)[:, interests].double().pow(2).sum())
        assert float(model.squared_score_sum(users, interests)) == pytest.approx(expected,
                                                                                 rel=1e-4)
