"""Tests of the synthetic data generator and the ``adrec generate`` command."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import adrec
from adrec import ConfigError
from adrec.cli.main import main
from adrec.data import split_data
from adrec.data.synthetic import SyntheticSpec, write_synthetic
from adrec.evaluation import evaluate

SPEC = SyntheticSpec(rows=30_000, users=3_000, interests=400, segments=8, seed=3)


@pytest.fixture(scope="module")
def synthetic_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic") / "data"
    write_synthetic(folder, SPEC, progress=False)
    return folder


@pytest.fixture(scope="module")
def frequency(synthetic_folder: Path) -> pd.DataFrame:
    return pd.read_parquet(synthetic_folder / "frequency.parquet")


def test_rows_close_to_target(frequency: pd.DataFrame):
    assert 0.85 * SPEC.rows <= len(frequency) <= SPEC.rows


def test_pairs_distinct_and_ids_text(frequency: pd.DataFrame):
    assert not frequency.duplicated(["user_id", "interest_id"]).any()
    assert frequency["user_id"].str.fullmatch(r"u\d{4}").all()
    assert frequency["interest_id"].str.fullmatch(r"i\d{3}").all()
    assert (frequency["frequency"] >= 1).all()


def test_activity_and_popularity_skewed(frequency: pd.DataFrame):
    users = frequency["user_id"].value_counts().to_numpy()
    interests = frequency["interest_id"].value_counts().to_numpy()

    # Uniform data would give the top 1% of users 1% of the rows.
    assert users[: len(users) // 100].sum() / users.sum() > 0.04
    assert interests[: len(interests) // 100].sum() / interests.sum() > 0.04


def test_segments_planted(synthetic_folder: Path, frequency: pd.DataFrame):
    users = pd.read_parquet(synthetic_folder / "users.parquet")
    interests = pd.read_parquet(synthetic_folder / "interests.parquet")
    assert set(users.columns) == {"user_id", "age_band", "gender", "region"}
    assert set(interests.columns) == {"interest_id", "name", "category"}
    assert len(users) == SPEC.users
    assert len(interests) == SPEC.interests

    # A user's segment is the category of most of their interests.
    merged = frequency.merge(interests, on="interest_id")
    top_share = merged.groupby("user_id")["category"].agg(lambda c: c.value_counts().iloc[0] / len(c))
    assert top_share.mean() > 3 / SPEC.segments


def test_same_seed_same_files(synthetic_folder: Path, tmp_path: Path):
    write_synthetic(tmp_path / "again", SPEC, progress=False)
    write_synthetic(tmp_path / "other", SyntheticSpec(**{**SPEC.__dict__, "seed": 4}), progress=False)

    again = pd.read_parquet(tmp_path / "again" / "frequency.parquet")
    other = pd.read_parquet(tmp_path / "other" / "frequency.parquet")
    pd.testing.assert_frame_equal(again, pd.read_parquet(synthetic_folder / "frequency.parquet"))
    assert not other.equals(again)


def test_loads_and_ranking_model_finds_structure(synthetic_folder: Path):
    data = adrec.load_data(synthetic_folder)
    train, test, _ = split_data(data, "leave-n-out", test_fraction=0.2, seed=0)
    ranking = adrec.TrainConfig(objective="ials", target_transform="log1p", epochs=10)

    report = evaluate(adrec.Recommender(adrec.ModelConfig(dim=16), ranking).fit(train, progress=False),
                      test, ks=(10,))

    assert data.timestamp is not None
    assert list(data.user_attributes.columns) == ["age_band", "gender", "region"]
    popular = next(row for row in report.rows if row["model"] == "most popular")
    assert report.model_row["ndcg@10"] > popular["ndcg@10"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"rows": 0}, "rows must be a positive integer"),
    ({"segments": 5000}, "must not exceed"),
    ({"rows": 10_000_000}, "do not fit"),
    ({"affinity": 1.5}, "affinity must be in"),
])
def test_invalid_spec_rejected(changes, message):
    with pytest.raises(ConfigError, match=message):
        SyntheticSpec(**{**SPEC.__dict__, **changes})


def test_cli_generate_and_refuse_existing(tmp_path: Path, capsys):
    out = tmp_path / "gen"

    first = main(["generate", str(out), "--rows", "2000", "--users", "300", "--interests", "50"])
    second = main(["generate", str(out), "--rows", "2000", "--users", "300", "--interests", "50"])

    captured = capsys.readouterr()
    assert first == 0
    assert "Wrote" in captured.out
    assert {p.name for p in out.iterdir()} == {"frequency.parquet", "users.parquet",
                                               "interests.parquet"}
    assert second == 2
    assert "already exists" in captured.err
