"""End-to-end runs of the ``adrec`` command on MovieLens 100K and Last.fm 2K.

Each dataset is trained once per module by the real program in a subprocess.
The tests then query the bundle and compare its output with the raw files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_adrec as run_conftest_adrec

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

TRAIN_TIMEOUT_S = 1800
QUERY_TIMEOUT_S = 180


def run_adrec(*args: str | Path, cwd: Path, timeout: float = QUERY_TIMEOUT_S
              ) -> subprocess.CompletedProcess:
    """Run ``python -m adrec ARGS`` with this module's default timeout."""
    return run_conftest_adrec(*args, cwd=cwd, timeout=timeout)


def query_json(*args: str | Path, cwd: Path):
    """Run an ``adrec`` query with ``--format json`` and return the parsed output."""
    process = run_adrec(*args, "--format", "json", cwd=cwd)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def train_bundle(data: Path, work: Path, *options: str) -> Path:
    """Train on ``data`` with the real program and return the bundle folder."""
    out = work / "model"
    process = run_adrec("train", data, "--out", out, *options, cwd=work, timeout=TRAIN_TIMEOUT_S)
    assert process.returncode == 0, process.stderr
    assert "Saved the model bundle to" in process.stdout
    assert not out.with_name(out.name + ".checkpoint.safetensors").exists()
    return out


# -------------------------------------------------------------------------- MovieLens


@pytest.fixture(scope="module")
def movielens_bundle(movielens_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained on MovieLens 100K with default settings."""
    return train_bundle(movielens_path, tmp_path_factory.mktemp("movielens"))


@pytest.fixture(scope="module")
def movielens_ratings(movielens_path: Path) -> pd.DataFrame:
    """u.data as text IDs and numeric ratings, read without adrec."""
    ratings = pd.read_csv(movielens_path / "u.data", sep="\t", header=None, dtype=str,
                          names=["user_id", "item_id", "rating", "timestamp"])
    return ratings.assign(rating=ratings["rating"].astype(float))


@pytest.fixture(scope="module")
def movielens_titles(movielens_path: Path) -> dict[str, str]:
    """Movie ID to title, from u.item."""
    items = pd.read_csv(movielens_path / "u.item", sep="|", header=None, dtype=str,
                        encoding="latin-1", usecols=[0, 1], names=["item_id", "title"])
    return dict(zip(items["item_id"], items["title"], strict=True))


def test_movielens_recommend_user_1(movielens_bundle: Path, movielens_ratings: pd.DataFrame,
                                    movielens_titles: dict[str, str]):
    rated = set(movielens_ratings.loc[movielens_ratings["user_id"] == "1", "item_id"])

    rows = query_json("recommend", movielens_bundle, "1", "-k", "20", cwd=movielens_bundle.parent)

    assert len(rows) == 20
    movies = [row["interest_id"] for row in rows]
    assert len(set(movies)) == 20
    assert set(movies).isdisjoint(rated)
    for row in rows:
        assert row["name"] == movielens_titles[row["interest_id"]]


def test_movielens_history_user_1(movielens_bundle: Path, movielens_ratings: pd.DataFrame):
    own = movielens_ratings[movielens_ratings["user_id"] == "1"]
    expected = dict(zip(own["item_id"], own["rating"], strict=True))

    rows = query_json("history", movielens_bundle, "1", "-k", "1000", cwd=movielens_bundle.parent)

    assert {row["interest_id"]: row["frequency"] for row in rows} == expected
    ratings = [row["frequency"] for row in rows]
    assert ratings == sorted(ratings, reverse=True)


def test_movielens_metrics(movielens_bundle: Path):
    info = query_json("info", movielens_bundle, cwd=movielens_bundle.parent)
    metrics = info["metrics"]

    assert metrics["validation_rmse"] < metrics["baseline_global_mean_rmse"]
    assert metrics["validation_rmse"] < 0.95
    assert info["users"] == 943
    assert info["interests"] == 1682


# ---------------------------------------------------------------------------- Last.fm


@pytest.fixture(scope="module")
def lastfm_bundle(lastfm_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundle trained on Last.fm 2K on log(1 + listening count)."""
    return train_bundle(lastfm_path, tmp_path_factory.mktemp("lastfm"),
                        "--target-transform", "log1p")


def test_lastfm_recommend_user_2(lastfm_bundle: Path, lastfm_path: Path):
    counts = pd.read_csv(lastfm_path / "user_artists.dat", sep="\t", dtype=str)
    listened = set(counts.loc[counts["userID"] == "2", "artistID"])
    artists = pd.read_csv(lastfm_path / "artists.dat", sep="\t", dtype=str, usecols=["id", "name"],
                          keep_default_na=False)
    names = dict(zip(artists["id"], artists["name"], strict=True))

    rows = query_json("recommend", lastfm_bundle, "2", cwd=lastfm_bundle.parent)

    assert len(rows) == 20
    assert {row["interest_id"] for row in rows}.isdisjoint(listened)
    for row in rows:
        assert row["name"] == names[row["interest_id"]]


def test_lastfm_metrics(lastfm_bundle: Path):
    info = query_json("info", lastfm_bundle, cwd=lastfm_bundle.parent)
    metrics = info["metrics"]

    assert info["training"]["target_transform"] == "log1p"
    assert metrics["validation_rmse_target"] < metrics["baseline_global_mean_rmse_target"]
