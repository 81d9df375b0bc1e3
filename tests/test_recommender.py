"""Contract tests of the recommender facade: external IDs, seen interests, persistence."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec import BundleError, ConfigError, ModelConfig, Recommender, TrainConfig, UnknownIDError
from adrec.data import InteractionData
from conftest import two_group_frame

FAST = TrainConfig(epochs=60, batch_size=32, learning_rate=0.05, l2=0.001, patience=10)


def _data(frame: pd.DataFrame | None = None) -> InteractionData:
    frame = two_group_frame() if frame is None else frame
    interests = pd.DataFrame({"name": [f"Interest {i}" for i in sorted(frame.interest_id.unique())],
                              "category": [f"group {i[0]}" for i in sorted(frame.interest_id.unique())]},
                             index=pd.Index(sorted(frame.interest_id.unique()), dtype=object))
    return InteractionData.from_frame(frame, interest_attributes=interests)


@pytest.fixture(scope="module")
def fitted() -> Recommender:
    return Recommender(ModelConfig(dim=8), FAST).fit(_data(), progress=False)


@pytest.fixture(scope="module")
def data() -> InteractionData:
    return _data()


def test_top_recommendation_is_missing_group_interest(fitted):
    frame = two_group_frame()
    hits = 0
    users = sorted(frame.user_id.unique())
    for user in users:
        group = "a" if user.startswith("0") else "b"
        engaged = set(frame.loc[frame.user_id == user, "interest_id"])
        missing = {f"{group}{i:02d}" for i in range(6)} - engaged
        top = fitted.recommend(user, k=1)["interest_id"].iloc[0]
        hits += top in missing
    assert hits / len(users) >= 0.9


def test_recommend_excludes_every_engaged_interest(fitted, data):
    frame = data.to_frame()
    for user in ["0000", "0007", "1003"]:
        engaged = set(frame.loc[frame.user_id == user, "interest_id"])
        recommended = set(fitted.recommend(user, k=50)["interest_id"])
        assert not recommended & engaged
        assert len(recommended) == data.n_interests - len(engaged)


def test_recommend_excludes_validation_rows(fitted):
    validation = fitted.interactions[fitted.interactions["validation"]]
    assert len(validation) > 0
    row = validation.iloc[0]
    user = fitted.users.id_of(int(row.user_index))
    interest = fitted.interests.id_of(int(row.interest_index))
    assert interest not in set(fitted.recommend(user, k=100)["interest_id"])
    assert interest in set(fitted.history(user, k=None)["interest_id"])


def test_recommend_include_seen_ranks_all_interests(fitted, data):
    result = fitted.recommend("0000", k=100, exclude_seen=False)
    assert len(result) == data.n_interests


def test_recommend_is_sorted_best_first(fitted):
    result = fitted.recommend("1005", k=5, exclude_seen=False)
    scores = result["predicted_frequency"].to_numpy()
    assert np.all(np.diff(scores) <= 0)
    assert list(result["rank"]) == [1, 2, 3, 4, 5]


def test_recommend_k_beyond_catalogue_returns_what_exists(fitted, data):
    engaged = fitted.history("0001", k=None)
    assert len(fitted.recommend("0001", k=10_000)) == data.n_interests - len(engaged)


def test_recommend_k_zero_returns_no_rows(fitted):
    assert len(fitted.recommend("0001", k=0)) == 0


def test_recommend_shows_interest_attributes(fitted):
    result = fitted.recommend("0000", k=3)
    for interest, name, category in zip(result["interest_id"], result["name"], result["category"],
                                        strict=True):
        assert name == f"Interest {interest}"
        assert category == f"group {interest[0]}"


def test_batch_recommendations_equal_single_calls(fitted):
    batch = fitted.recommend_many(["0000", "1002"], k=3, exclude_seen=False)
    for user in ["0000", "1002"]:
        single = fitted.recommend(user, k=3, exclude_seen=False)
        rows = batch[batch.user_id == user].reset_index(drop=True)
        assert list(rows["interest_id"]) == list(single["interest_id"])
        assert np.allclose(rows["predicted_frequency"], single["predicted_frequency"])


def test_predict_pairs_equal_single_predictions(fitted):
    users, interests = ["0000", "1001", "0003"], ["a01", "b02", "b05"]
    batch = fitted.predict_pairs(users, interests)
    for value, user, interest in zip(batch, users, interests, strict=True):
        assert value == pytest.approx(fitted.predict(user, interest))


def test_predictions_match_recommendation_scores(fitted):
    result = fitted.recommend("0002", k=3, exclude_seen=False)
    for interest, score in zip(result["interest_id"], result["predicted_frequency"], strict=True):
        assert fitted.predict("0002", interest) == pytest.approx(score)


def test_predictions_stay_within_training_range(fitted, data):
    predictions = fitted.predict_pairs(["0000"] * 12, [f"{g}{i:02d}" for g in "ab" for i in range(6)])
    assert predictions.min() >= data.frequency.min()
    assert predictions.max() <= data.frequency.max()


def test_history_sorted_by_actual_frequency(fitted, data):
    history = fitted.history("0004", k=None)
    frame = data.to_frame()
    expected = frame[frame.user_id == "0004"].set_index("interest_id")["frequency"]
    assert len(history) == len(expected)
    assert np.all(np.diff(history["frequency"].to_numpy()) <= 0)
    for interest, frequency in zip(history["interest_id"], history["frequency"], strict=True):
        assert expected[interest] == frequency
    assert set(history["part"]) <= {"train", "validation"}


def test_history_k_limits_rows(fitted):
    assert len(fitted.history("0004", k=2)) == 2


def test_unknown_user_raises_with_id(fitted):
    with pytest.raises(UnknownIDError, match="'nobody'") as caught:
        fitted.recommend("nobody")
    assert isinstance(caught.value, KeyError)
    assert caught.value.kind == "user"


def test_unknown_interest_raises_with_id(fitted):
    with pytest.raises(UnknownIDError, match="'zz'"):
        fitted.predict("0000", "zz")


def test_id_type_is_not_coerced(fitted):
    with pytest.raises(UnknownIDError):
        fitted.recommend(0)


def test_unfitted_recommender_raises():
    with pytest.raises(ConfigError, match="not fitted"):
        Recommender().recommend("0000")


def test_save_load_gives_identical_scores(fitted, tmp_path):
    fitted.save(tmp_path / "bundle")
    loaded = Recommender.load(tmp_path / "bundle")
    for user in ["0000", "1009"]:
        before, after = fitted.recommend(user, k=5), loaded.recommend(user, k=5)
        assert list(before["interest_id"]) == list(after["interest_id"])
        assert np.array_equal(before["predicted_frequency"], after["predicted_frequency"])
        pd.testing.assert_frame_equal(fitted.history(user), loaded.history(user))
    assert loaded.metrics == pytest.approx(fitted.metrics)
    assert loaded.model_config == fitted.model_config


def test_ids_survive_save_and_load(tmp_path):
    frame = pd.DataFrame({
        "user_id": ["007", "7", "Ünïcode", "007", "7", "Ünïcode", "007"],
        "interest_id": ["0001", "0001", "0001", "Café", "Café", "x y", "x y"],
        "frequency": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    })
    recommender = Recommender(ModelConfig(dim=2), TrainConfig(epochs=2, validation_fraction=0.0))
    recommender.fit(InteractionData.from_frame(frame), progress=False)
    recommender.save(tmp_path / "bundle")
    loaded = Recommender.load(tmp_path / "bundle")
    assert list(loaded.users.ids) == ["007", "7", "Ünïcode"]
    assert list(loaded.interests.ids) == ["0001", "Café", "x y"]
    assert set(loaded.history("007")["interest_id"]) == {"0001", "Café", "x y"}


def test_save_is_atomic_and_replaces_old_bundle(fitted, tmp_path):
    path = tmp_path / "bundle"
    fitted.save(path)
    fitted.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_bundle_contains_no_pickle(fitted, tmp_path):
    fitted.save(tmp_path / "bundle")
    names = sorted(p.name for p in (tmp_path / "bundle").iterdir())
    assert names == ["interactions.parquet", "interests.parquet", "manifest.json",
                     "users.parquet", "weights.safetensors"]
    for path in (tmp_path / "bundle").iterdir():
        assert not path.read_bytes().startswith(b"\x80"), path.name


def test_truncated_weights_are_rejected(fitted, tmp_path):
    path = fitted.save(tmp_path / "bundle")
    weights = path / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-10])
    with pytest.raises(BundleError, match="truncated"):
        Recommender.load(path)


def test_corrupted_file_is_rejected(fitted, tmp_path):
    path = fitted.save(tmp_path / "bundle")
    parquet = path / "interactions.parquet"
    content = bytearray(parquet.read_bytes())
    content[len(content) // 2] ^= 0xFF
    parquet.write_bytes(bytes(content))
    with pytest.raises(BundleError, match="checksum"):
        Recommender.load(path)


def test_unsupported_format_version_is_rejected(fitted, tmp_path):
    path = fitted.save(tmp_path / "bundle")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 999
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="999"):
        Recommender.load(path)


def test_garbage_manifest_is_rejected(fitted, tmp_path):
    path = fitted.save(tmp_path / "bundle")
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(BundleError, match="corrupted manifest"):
        Recommender.load(path)


def test_missing_bundle_is_rejected(tmp_path):
    with pytest.raises(BundleError, match="no model bundle"):
        Recommender.load(tmp_path / "absent")


def test_init_from_bundle_copies_embeddings_by_id(fitted, tmp_path):
    path = fitted.save(tmp_path / "bundle")
    warm = Recommender(ModelConfig(dim=8), TrainConfig(epochs=1, learning_rate=1e-9, l2=0.0))
    warm.fit(_data(), init_from=path, progress=False)
    for user in ["0000", "1004"]:
        old = fitted.model.user_embedding.weight[fitted.users.index_of(user)]
        new = warm.model.user_embedding.weight[warm.users.index_of(user)]
        assert np.allclose(old.detach().numpy(), new.detach().numpy(), atol=1e-5)


def test_init_from_model_of_other_size_raises(fitted):
    with pytest.raises(ConfigError, match="dim=8"):
        Recommender(ModelConfig(dim=4), TrainConfig(epochs=1)).fit(_data(), init_from=fitted,
                                                                   progress=False)


def test_fit_is_reproducible():
    first = Recommender(ModelConfig(dim=4), TrainConfig(epochs=3)).fit(_data(), progress=False)
    second = Recommender(ModelConfig(dim=4), TrainConfig(epochs=3)).fit(_data(), progress=False)
    assert first.metrics["validation_rmse"] == second.metrics["validation_rmse"]
    assert first.recommend("0000", 3).equals(second.recommend("0000", 3))


def test_metrics_include_global_mean_baseline(fitted):
    metrics = fitted.metrics
    assert metrics["validation_rmse"] < metrics["baseline_global_mean_rmse"]
    assert metrics["validation_rows"] + metrics["train_rows"] == len(_data())


def test_reference_configs_match_reference_design():
    model, training = adrec.reference_configs()
    assert (model.dim, model.use_bias) == (100, False)
    assert (training.optimizer, training.l2, training.epochs) == ("adamax", 0.0, 30)


def test_save_rejects_non_bundle_destination(fitted, tmp_path):
    data_folder = tmp_path / "data"
    data_folder.mkdir()
    (data_folder / "frequency.csv").write_text("user_id,interest_id,frequency\n1,a,2\n")
    with pytest.raises(BundleError, match="not a model bundle"):
        fitted.save(data_folder)
    assert (data_folder / "frequency.csv").is_file()


def test_default_config_learns_small_dataset():
    recommender = Recommender().fit(_data(), progress=False)
    frame = two_group_frame()
    hits = 0
    for user in sorted(frame.user_id.unique()):
        group = "a" if user.startswith("0") else "b"
        top = recommender.recommend(user, k=1)["interest_id"].iloc[0]
        hits += top.startswith(group)
    assert hits / frame.user_id.nunique() >= 0.9
