"""Measure the core figures and write them to RESULTS.md.

1. Wall time of `adrec demo` (a fresh process, set-up excluded), the validation RMSE of
   its frequency model beside the global-mean baseline, and the validation NDCG@10 of its
   ranking model beside most-popular ranking.
2. MovieLens 100K, seeded 90/10 test splits: test RMSE of the default configuration and of
   the reference configuration (dimension 100, no biases, MSE, Adamax, 30 epochs).
3. Last.fm 2K with log1p targets: validation RMSE on the log1p scale beside the baseline,
   and the top artists recommended to one user.

    python benchmarks/core_figures.py [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data import random_split
from adrec.evaluation import rating_errors


def measure_demo() -> dict:
    """Run `adrec demo` in a new process and read its figures from the saved bundle."""
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, "-m", "adrec", "demo", "--out", f"{folder}/m"],
                                   capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - started
        metrics = json.loads(Path(folder, "m", "frequency", "manifest.json").read_text())["metrics"]
        ranking = json.loads(Path(folder, "m", "ranking", "manifest.json").read_text())["metrics"]
    assert re.search(r"Validation RMSE", completed.stdout)
    return {"seconds": seconds, **metrics,
            "ranking_ndcg@10": ranking["validation_ndcg@10"],
            "ranking_most_popular_ndcg@10": ranking["baseline_most_popular_ndcg@10"]}


def measure_movielens(seeds: list[int]) -> list[dict]:
    """Return the test RMSE of the default and reference configurations per seed."""
    data = adrec.load_data(data_root() / "ml-100k")
    rows = []
    for name, (model, training) in (("default", (adrec.ModelConfig(), adrec.TrainConfig())),
                                    ("reference", adrec.reference_configs())):
        for seed in seeds:
            train_rows, test_rows = random_split(len(data), 0.1, seed=seed)
            started = time.perf_counter()
            recommender = adrec.Recommender(model, training).fit(data.take(train_rows),
                                                                 progress=False)
            errors = rating_errors(recommender, data.take(test_rows))
            rows.append({"configuration": name, "seed": seed, "test_rmse": errors["rmse"],
                         "unscored_test_rows": errors["unknown_rows"],
                         "best_epoch": recommender.metrics["best_epoch"],
                         "fit_seconds": time.perf_counter() - started})
            print(rows[-1], flush=True)
    return rows


def measure_lastfm() -> tuple[dict, list[str]]:
    """Fit on Last.fm 2K with log1p targets; return the metrics and user 2's top artists."""
    data = adrec.load_data(data_root() / "lastfm-2k")
    recommender = adrec.Recommender(train_config=adrec.TrainConfig(target_transform="log1p"))
    recommender.fit(data, progress=False)
    top = recommender.recommend("2", k=10)
    return recommender.metrics, [f"{row.name} ({row.category})" for row in top.itertuples()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    seeds = [int(seed) for seed in arguments.seeds.split(",")]

    demo = measure_demo()
    print("demo", demo, flush=True)
    movielens = measure_movielens(seeds)
    lastfm, artists = measure_lastfm()

    summary = []
    for name in ("default", "reference"):
        values = [row["test_rmse"] for row in movielens if row["configuration"] == name]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        summary.append({"configuration": name, "mean_test_rmse": statistics.mean(values),
                        "stdev": spread, "seeds": len(values)})

    page = [
        f"Machine: {machine_description()}.",
        "Command: `python benchmarks/core_figures.py --seeds " + arguments.seeds + "`.",
        "",
        "### adrec demo",
        "",
        f"- Wall time of `python -m adrec demo` (a new process, set-up excluded): "
        f"{demo['seconds']:.1f} s.",
        f"- Validation RMSE: {demo['validation_rmse_target']:.4f} on the log1p scale against "
        f"{demo['baseline_global_mean_rmse_target']:.4f} for the global mean; "
        f"{demo['validation_rmse']:.3f} against {demo['baseline_global_mean_rmse']:.3f} on the "
        "frequency scale (frequency model).",
        f"- Validation NDCG@10 of the ranking model: {demo['ranking_ndcg@10']:.4f} against "
        f"{demo['ranking_most_popular_ndcg@10']:.4f} for most-popular ranking.",
        "",
        "### MovieLens 100K, seeded 90/10 test splits",
        "",
        "Each fit keeps 10% of its training rows for validation and early stopping, and the "
        "default configuration then refits on all of its training rows for the best epoch "
        "count; the test rows are never seen in training.",
        "",
        markdown_table(summary, ["configuration", "mean_test_rmse", "stdev", "seeds"]),
        "",
        markdown_table(movielens, ["configuration", "seed", "test_rmse", "unscored_test_rows",
                                   "best_epoch", "fit_seconds"]),
        "",
        "### Last.fm 2K, log1p listening counts",
        "",
        f"- Validation RMSE on the log1p scale: {lastfm['validation_rmse_target']:.4f} against "
        f"{lastfm['baseline_global_mean_rmse_target']:.4f} for the global mean "
        f"(best epoch {lastfm['best_epoch']}, {lastfm['fit_seconds']:.1f} s).",
        "- Top 10 artists recommended to user 2 (name, most used tag): " + "; ".join(artists) + ".",
        "",
    ]
    path = write_section("Core figures", "\n".join(page))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
