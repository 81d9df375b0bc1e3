"""Bulk exports read back from real files, and the CLI commands for targeting and export."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.errors import ConfigError
from adrec.export import export_audiences, export_embeddings, export_recommendations, write_frames
from conftest import run_adrec


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    training = adrec.TrainConfig(objective="ials", epochs=3, target_transform="log1p")
    path = tmp_path_factory.mktemp("export") / "model"
    adrec.Recommender(adrec.ModelConfig(dim=8), training).fit(adrec.load_sample(),
                                                              progress=False).save(path)
    return path


@pytest.fixture(scope="module")
def model(bundle: Path) -> adrec.Recommender:
    return adrec.Recommender.load(bundle)


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype={"user_id": str, "interest_id": str, "id": str})
    return pd.read_parquet(path)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_recommendations_export_matches_library(model: adrec.Recommender, tmp_path: Path, suffix: str):
    path = tmp_path / f"recommendations{suffix}"
    rows = export_recommendations(model, path, k=5, progress=False)
    exported = _read(path)
    assert rows == len(exported) == 5 * len(model.users)
    expected = model.recommend_many(list(model.users.ids), k=5)
    assert exported["user_id"].tolist() == expected["user_id"].tolist()
    assert exported["interest_id"].tolist() == expected["interest_id"].tolist()
    np.testing.assert_allclose(exported["score"], expected["score"], rtol=1e-5)


def test_audiences_export_matches_library(model: adrec.Recommender, tmp_path: Path):
    path = tmp_path / "audiences.parquet"
    export_audiences(model, path, k=10, progress=False)
    exported = _read(path)
    assert exported["interest_id"].nunique() == len(model.interests)
    first = exported[exported["interest_id"] == "AUT-01"]
    assert first["user_id"].tolist() == model.audience("AUT-01", 10)["user_id"].tolist()


def test_embeddings_export_holds_every_vector(model: adrec.Recommender, tmp_path: Path):
    path = tmp_path / "embeddings.csv"
    export_embeddings(model, path, progress=False)
    exported = _read(path)
    users = exported[exported["kind"] == "user"]
    assert users["id"].tolist() == list(model.users.ids)
    vectors = users[[f"e{i}" for i in range(8)]].to_numpy()
    np.testing.assert_allclose(vectors, model.model.user_embedding.weight.detach().numpy(), rtol=1e-5)
    assert (exported["kind"] == "interest").sum() == len(model.interests)


def test_failed_export_leaves_no_file(tmp_path: Path):
    path = tmp_path / "out.parquet"

    def frames():
        yield pd.DataFrame({"a": [1, 2]})
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError, match="disk gone"):
        write_frames(frames(), path, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_unknown_extension(model: adrec.Recommender, tmp_path: Path):
    with pytest.raises(ConfigError, match="name the file .parquet or .csv"):
        export_embeddings(model, tmp_path / "out.json", progress=False)


def test_cli_export_and_targeting(bundle: Path, tmp_path: Path):
    out = tmp_path / "recommendations.csv"
    done = run_adrec("export", bundle, "recommendations", out, "-k", "3", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "Wrote 6,000 rows" in done.stdout
    assert len(pd.read_csv(out)) == 6000

    done = run_adrec("audience", bundle, "AUT-01", "-k", "4", "--format", "csv", cwd=tmp_path,
                     timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(pd.read_csv(pd.io.common.StringIO(done.stdout))) == 4

    done = run_adrec("similar", bundle, "6", "--users", "-k", "2", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "most similar users" in done.stdout


def test_cli_fallback_flags_and_strict_fails(bundle: Path, tmp_path: Path):
    done = run_adrec("recommend", bundle, "ghost", "-k", "3", "--fallback", "--attribute",
                     "region=capital", cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "fallback popular: unknown user 'ghost'" in done.stderr
    assert "users with region=capital" in done.stderr

    done = run_adrec("recommend", bundle, "ghost", "-k", "2", "--fallback", "--format", "json",
                     cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["fallback"] == "popular"
    assert "unknown user 'ghost'" in document["reason"]
    assert len(document["recommendations"]) == 2

    done = run_adrec("recommend", bundle, "ghost", cwd=tmp_path, timeout=120)
    assert done.returncode == 3
    assert "unknown user ID 'ghost'" in done.stderr

    done = run_adrec("recommend", bundle, "6", "--attribute", "region=capital", cwd=tmp_path,
                     timeout=120)
    assert done.returncode == 2
    assert "add --fallback" in done.stderr


def test_cli_unknown_user_suggests_fallback(bundle: Path, tmp_path: Path):
    done = run_adrec("recommend", bundle, "ghost", cwd=tmp_path, timeout=120)
    assert done.returncode == 3
    assert "pass --fallback" in done.stderr


def test_info_shows_settings_used(bundle: Path, tmp_path: Path):
    trained = tmp_path / "mse"
    adrec.Recommender(adrec.ModelConfig(dim=4), adrec.TrainConfig(epochs=2)).fit(
        adrec.load_sample(), progress=False).save(trained)
    info = adrec.Recommender.load(trained).info()["training"]
    assert info["backend"] == "fast"
    assert info["optimizer"] == "sgd"
    assert info["learning_rate"] > 0


def test_unwritable_destination_names_the_file(bundle: Path, tmp_path: Path):
    # /proc takes no new files, even for root.
    done = run_adrec("export", bundle, "embeddings", "/proc/adrec-export.parquet", cwd=tmp_path,
                     timeout=120)
    assert done.returncode == 1
    assert "cannot write /proc/adrec-export.parquet" in done.stderr
    assert ".tmp" not in done.stderr
