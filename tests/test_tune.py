"""Tests of the embedding-size search: the library's ``tune`` and the ``adrec tune`` command.

The library tests train real models on the first 6,000 rows of the embedded
sample for 4 epochs, a fraction of a second per run. The command tests run the
real program in a subprocess on the same rows written to a CSV file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import adrec
from adrec.cli.plots import plot_tuning
from adrec.evaluation import TuneResult, tune
from conftest import run_adrec

SUBSET_ROWS = 6000
EPOCHS = 4
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUBPROCESS_TIMEOUT_S = 180
CLI_DIMS = (4, 8, 16)


@pytest.fixture(scope="module")
def sample_subset() -> adrec.InteractionData:
    """The first rows of the embedded sample: 163 users, 251 interests."""
    return adrec.load_sample().take(np.arange(SUBSET_ROWS))


@pytest.fixture(scope="module")
def rmse_result(sample_subset) -> TuneResult:
    """A search over three sizes with the MSE objective."""
    return tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=EPOCHS), [4, 8, 16],
                progress=False)


@pytest.fixture(scope="module")
def subset_csv(sample_subset, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample subset written as a frequency CSV file."""
    path = tmp_path_factory.mktemp("tune_data") / "frequency.csv"
    sample_subset.to_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cli_run(subset_csv: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run ``adrec tune`` once with ``--out`` and return the process, the output folder and the bundle."""
    work = tmp_path_factory.mktemp("tune_cli")
    out_dir = work / "tuning" / "nested"
    bundle = work / "chosen"
    dims = ",".join(str(dim) for dim in CLI_DIMS)
    process = run_adrec("tune", subset_csv, "--dims", dims, "--epochs", str(EPOCHS),
                        "--out-dir", out_dir, "--out", bundle, "--no-progress",
                        cwd=work, timeout=SUBPROCESS_TIMEOUT_S)
    return process, out_dir, bundle


def check_png(path: Path) -> None:
    """Assert that ``path`` is a PNG that PIL decodes to a picture of a plausible size."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    with Image.open(path) as image:
        image.load()
        width, height = image.size
        assert image.format == "PNG"
    assert width >= 800
    assert height >= 300
    assert width > height


# ---------------------------------------------------------------------------- library


def test_tune_log1p_judged_on_log_scale(sample_subset, tmp_path: Path):
    training = adrec.TrainConfig(epochs=EPOCHS, target_transform="log1p")

    result = tune(sample_subset, adrec.ModelConfig(), training, [4, 16], progress=False)

    assert result.criterion == "validation_rmse_target"
    scores = [run.metrics["validation_rmse_target"] for run in result.runs]
    assert result.best == int(np.argmin(scores))
    frame = result.to_frame()
    assert {"train_rmse_target", "validation_rmse_target"} <= set(frame.columns)
    plot_tuning(result, tmp_path / "log.png")
    check_png(tmp_path / "log.png")


def test_tune_one_run_per_dim(rmse_result: TuneResult):
    assert [run.dim for run in rmse_result.runs] == [4, 8, 16]
    assert rmse_result.skipped == []
    assert rmse_result.criterion == "validation_rmse"
    for run in rmse_result.runs:
        assert len(run.history) == EPOCHS
        assert run.seconds > 0
        assert run.metrics["validation_rmse"] > 0


def test_tune_chooses_lowest_rmse(rmse_result: TuneResult):
    scores = [run.metrics["validation_rmse"] for run in rmse_result.runs]
    assert rmse_result.best == int(np.argmin(scores))
    assert not rmse_result.higher_is_better

    chosen = rmse_result.best_recommender
    assert chosen.model_config.dim == rmse_result.best_run.dim
    assert chosen.metrics["validation_rmse"] == rmse_result.best_run.metrics["validation_rmse"]


def test_tune_frame_and_dict(rmse_result: TuneResult):
    frame = rmse_result.to_frame()
    assert list(frame.columns) == ["dim", "l2", "best_epoch", "train_rmse", "validation_rmse",
                                   "validation_ndcg@10", "fit_seconds", "chosen"]
    assert frame["chosen"].tolist() == [index == rmse_result.best for index in range(3)]

    payload = json.loads(json.dumps(rmse_result.to_dict()))
    assert "best_recommender" not in payload
    assert payload["best"] == rmse_result.best
    assert payload["chosen"]["dim"] == rmse_result.best_run.dim
    assert len(payload["runs"]) == 3
    assert payload["settings"]["dims"] == [4, 8, 16]
    assert payload["settings"]["training"]["epochs"] == EPOCHS


def test_tune_l2_grid_order(sample_subset):
    result = tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=2), [4, 8],
                  l2_values=[0.01, 0.2], progress=False)
    assert [(run.dim, run.l2) for run in result.runs] == [(4, 0.01), (4, 0.2), (8, 0.01), (8, 0.2)]
    scores = [run.metrics["validation_rmse"] for run in result.runs]
    assert result.best == int(np.argmin(scores))


def test_tune_same_seed_same_runs(sample_subset):
    config = adrec.TrainConfig(epochs=2, seed=3)
    first = tune(sample_subset, adrec.ModelConfig(), config, [4], progress=False)
    second = tune(sample_subset, adrec.ModelConfig(), config, [4], progress=False)
    assert first.runs[0].metrics["validation_rmse"] == second.runs[0].metrics["validation_rmse"]


def test_tune_time_budget_skips_later_runs(sample_subset):
    seen = []
    result = tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=2), [4, 8, 16],
                  time_budget=1e-3, progress=False, on_run=seen.append)
    default_l2 = adrec.TrainConfig().effective_l2
    assert [run.dim for run in result.runs] == [4]
    assert result.skipped == [(8, default_l2), (16, default_l2)]
    assert result.best == 0
    assert seen == result.runs


def test_tune_on_run_in_grid_order(sample_subset):
    seen = []
    result = tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=1), [8, 4],
                  progress=False, on_run=seen.append)
    assert [run.dim for run in seen] == [8, 4]
    assert seen == result.runs


def test_tune_ials_chooses_highest_ndcg(sample_subset):
    result = tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=EPOCHS, objective="ials"),
                  [4, 8, 16], progress=False)
    scores = [run.metrics["validation_ndcg@10"] for run in result.runs]
    assert result.criterion == "validation_ndcg@10"
    assert result.higher_is_better
    assert result.best == int(np.argmax(scores))
    assert result.best_run.metrics["objective"] == "ials"
    assert all(record["validation_ndcg"] is not None for record in result.best_run.history)
    assert json.loads(json.dumps(result.to_dict()))["criterion"] == "validation_ndcg@10"


@pytest.mark.parametrize(("dims", "options", "fragment"), [
    ([], {}, "no embedding sizes"),
    ([8, 0], {}, "got 0"),
    ([8, 8], {}, "distinct"),
    ([8], {"l2_values": [0.1, -1.0]}, "l2 must be"),
    ([8], {"l2_values": []}, "no L2 weights"),
    ([8], {"time_budget": 0.0}, "time budget"),
])
def test_tune_invalid_grid(sample_subset, dims, options, fragment):
    with pytest.raises(adrec.ConfigError, match=fragment):
        tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=1), dims, progress=False,
             **options)


def test_tune_needs_validation_rows(sample_subset):
    with pytest.raises(adrec.ConfigError, match="validation rows"):
        tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=1, validation_fraction=0.0),
             [8], progress=False)


def test_plot_tuning_writes_png(rmse_result: TuneResult, tmp_path: Path):
    path = plot_tuning(rmse_result, tmp_path / "plots" / "tune.png")
    check_png(path)
    assert [entry.name for entry in path.parent.iterdir()] == ["tune.png"]


def test_plot_tuning_ials_png(sample_subset, tmp_path: Path):
    result = tune(sample_subset, adrec.ModelConfig(), adrec.TrainConfig(epochs=2, objective="ials"),
                  [4, 8], l2_values=[0.1, 0.3], progress=False)
    check_png(plot_tuning(result, tmp_path / "tune.png"))


# ---------------------------------------------------------------------------- command


def test_cli_tune_exit_code(cli_run):
    process, _, _ = cli_run
    assert process.returncode == 0, process.stderr
    assert "Runs (* marks the chosen run):" in process.stdout
    for position in range(1, len(CLI_DIMS) + 1):
        assert f"run {position}/{len(CLI_DIMS)}: dim=" in process.stderr


def test_cli_tune_writes_png(cli_run):
    process, out_dir, _ = cli_run
    assert process.returncode == 0, process.stderr
    check_png(out_dir / "tune.png")


def test_cli_tune_json_matches_output(cli_run):
    process, out_dir, _ = cli_run
    assert process.returncode == 0, process.stderr
    payload = json.loads((out_dir / "tune.json").read_text(encoding="utf-8"))
    match = re.search(r"^Chosen: dim=(\d+), l2=([0-9.e-]+), with the lowest validation RMSE \(([0-9.]+) ",
                      process.stdout, re.MULTILINE)
    assert match, process.stdout

    assert payload["criterion"] == "validation_rmse"
    assert [run["dim"] for run in payload["runs"]] == list(CLI_DIMS)
    assert payload["chosen"]["dim"] == int(match.group(1))
    assert math.isclose(payload["chosen"]["l2"], float(match.group(2)))
    assert math.isclose(payload["chosen"]["validation_rmse"], float(match.group(3)), abs_tol=1e-4)
    scores = [run["metrics"]["validation_rmse"] for run in payload["runs"]]
    assert payload["best"] == int(np.argmin(scores))
    assert payload["skipped"] == []


def test_cli_tune_marks_chosen_row(cli_run):
    process, out_dir, _ = cli_run
    assert process.returncode == 0, process.stderr
    chosen_dim = json.loads((out_dir / "tune.json").read_text(encoding="utf-8"))["chosen"]["dim"]
    marked = [line for line in process.stdout.splitlines() if line.rstrip().endswith("*")]
    assert len(marked) == 1
    assert int(marked[0].split()[0]) == chosen_dim


def test_cli_tune_bundle_has_chosen_dim(cli_run):
    process, out_dir, bundle = cli_run
    assert process.returncode == 0, process.stderr
    payload = json.loads((out_dir / "tune.json").read_text(encoding="utf-8"))
    recommender = adrec.Recommender.load(bundle)
    assert recommender.model_config.dim == payload["chosen"]["dim"]
    assert math.isclose(recommender.metrics["validation_rmse"], payload["chosen"]["validation_rmse"])


def test_cli_tune_time_budget_json(subset_csv: Path, tmp_path: Path):
    process = run_adrec("tune", subset_csv, "--dims", "4,8,16", "--l2", "0.05,0.1", "--epochs", "1",
                        "--time-budget", "0.001", "--out-dir", tmp_path / "out", "--format", "json",
                        cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT_S)
    assert process.returncode == 0, process.stderr
    payload = json.loads(process.stdout)
    assert [(run["dim"], run["l2"]) for run in payload["runs"]] == [(4, 0.05)]
    assert [(item["dim"], item["l2"]) for item in payload["skipped"]] == \
        [(4, 0.1), (8, 0.05), (8, 0.1), (16, 0.05), (16, 0.1)]
    assert "Skipped 5 runs after the 0.001 s time budget" in process.stderr
    assert json.loads((tmp_path / "out" / "tune.json").read_text(encoding="utf-8")) == payload


@pytest.mark.parametrize(("dims", "fragment"), [
    ("8,x", "'x'"),
    ("0", "invalid embedding size 0"),
    ("8,,16", "''"),
    ("16,16", "16 is listed twice"),
])
def test_cli_tune_bad_dims(write_file, tmp_path: Path, dims: str, fragment: str):
    data = write_file("frequency.csv", "user_id,interest_id,frequency\n1,a,2\n")
    process = run_adrec("tune", data, "--dims", dims, "--out-dir", tmp_path / "out",
                        cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT_S)
    assert process.returncode == 2
    assert "--dims" in process.stderr
    assert fragment in process.stderr
    assert not (tmp_path / "out").exists()


def test_cli_tune_out_dir_is_file(write_file, tmp_path: Path):
    data = write_file("frequency.csv", "user_id,interest_id,frequency\n1,a,2\n")
    blocker = write_file("taken", "not a folder")
    process = run_adrec("tune", data, "--dims", "4", "--out-dir", blocker,
                        cwd=tmp_path, timeout=SUBPROCESS_TIMEOUT_S)
    assert process.returncode == 2
    assert f"--out-dir {blocker} is an existing file" in process.stderr
    assert blocker.read_text() == "not a folder"
