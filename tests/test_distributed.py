"""Data-parallel training: two local processes on gloo, launched by torchrun, against one process."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import adrec

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _train(data: Path, out: Path, processes: int, *options: str) -> dict:
    command = [sys.executable, "-m", "adrec", "train", str(data), "--out", str(out), "--format",
               "json", *options]
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(processes),
                   "--master-addr", "127.0.0.1", "--master-port", str(_free_port()), "-m",
                   *command[2:]]
    env = {"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("distributed") / "frequency.csv"
    adrec.load_sample().to_frame().to_csv(path, index=False)
    return path


@pytest.mark.parametrize("backend", ["fast", "torch"])
def test_two_processes_match_one_process(sample_csv: Path, tmp_path: Path, backend: str):
    options = ("--backend", backend, "--target-transform", "log1p", "--epochs", "40")
    single = _train(sample_csv, tmp_path / "single", 1, *options)
    double = _train(sample_csv, tmp_path / "double", 2, *options)

    single_rmse = single["metrics"]["validation_rmse_target"]
    double_rmse = double["metrics"]["validation_rmse_target"]
    assert double["metrics"]["distributed_processes"] == 2
    assert abs(double_rmse - single_rmse) <= 0.01 * single_rmse

    # The bundle of a distributed run is an ordinary bundle.
    model = adrec.Recommender.load(tmp_path / "double")
    assert sorted(p.name for p in (tmp_path / "double").iterdir()) == \
        sorted(p.name for p in (tmp_path / "single").iterdir())
    assert len(model.recommend(model.users.ids[0], 5)) == 5


@pytest.mark.realdata
def test_two_processes_on_movielens(movielens_path: Path, tmp_path: Path):
    single = _train(movielens_path, tmp_path / "single", 1)
    double = _train(movielens_path, tmp_path / "double", 2)
    single_rmse = single["metrics"]["validation_rmse"]
    double_rmse = double["metrics"]["validation_rmse"]
    assert abs(double_rmse - single_rmse) <= 0.01 * single_rmse
