"""Scoring devices: moving a fitted model, and the errors for devices this machine lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import adrec
from adrec.errors import ConfigError


@pytest.fixture(scope="module")
def fitted() -> adrec.Recommender:
    training = adrec.TrainConfig(epochs=3, target_transform="log1p")
    return adrec.Recommender(adrec.ModelConfig(dim=8), training).fit(adrec.load_sample(),
                                                                      progress=False)


def test_cpu_device_keeps_scores(fitted: adrec.Recommender):
    user = fitted.users.ids[0]
    before = fitted.recommend(user, 5)
    assert fitted.to("cpu") is fitted
    assert fitted.device == torch.device("cpu")
    assert fitted.recommend(user, 5).equals(before)


def test_unavailable_cuda_is_rejected(fitted: adrec.Recommender, tmp_path: Path):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        fitted.to("cuda")
    fitted.save(tmp_path / "model")
    with pytest.raises(ConfigError, match="CUDA is not available"):
        adrec.Recommender.load(tmp_path / "model", device="cuda")


def test_invalid_device_is_rejected(fitted: adrec.Recommender):
    with pytest.raises(ConfigError, match="invalid device 'gpu0'"):
        fitted.to("gpu0")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_scores_match_cpu(fitted: adrec.Recommender, tmp_path: Path):
    user = fitted.users.ids[0]
    expected = fitted.recommend(user, 5)
    fitted.save(tmp_path / "model")
    on_gpu = adrec.Recommender.load(tmp_path / "model", device="cuda")
    actual = on_gpu.recommend(user, 5)
    assert actual["interest_id"].tolist() == expected["interest_id"].tolist()
    on_gpu.save(tmp_path / "again")
    assert adrec.Recommender.load(tmp_path / "again").device == torch.device("cpu")
