"""Measure training throughput, memory and accuracy of adrec's two MSE backends and the reference libraries.

Four measurements, written as one section of RESULTS.md:

1. Load and train at scale, in a child process so its peak memory is its own: a
   synthetic table (`adrec generate`) loaded with `adrec.load_data` and trained
   with the default (fast) backend for a fixed number of epochs, early stopping
   off: load time, seconds and rows per second per epoch, peak resident memory.
2. Throughput of one epoch on the first rows of that table, side by side: adrec's
   fast backend, adrec's PyTorch loop (autograd through nn.Embedding, Adamax,
   batches of 1,024), Surprise SVD (one SGD epoch) and implicit ALS (one iteration).
3. Accuracy on MovieLens 100K, seeded random 90/10 test splits: the fast backend
   against the PyTorch loop, test RMSE and fit time with default settings.
4. Time to a target validation RMSE on MovieLens 100K for both backends.

    python benchmarks/training.py [--data DIR] [--rows 20000000] [--epochs 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data.split import random_split
from adrec.data.synthetic import SyntheticSpec, write_synthetic
from adrec.evaluation import rating_errors
from adrec.models import ModelConfig, build_model
from adrec.training import SGDTrainer, TrainConfig, Trainer, TrainingArrays

SUBSET_ROWS = 1_000_000
TARGET_RMSE = 0.93


def scale_run(path: Path, epochs: int) -> dict:
    """Load ``path`` and train the default model for ``epochs`` epochs; runs in a child process."""
    started = time.perf_counter()
    data = adrec.load_data(path)
    load_seconds = time.perf_counter() - started
    training = TrainConfig(epochs=epochs, patience=0, refit=False, target_transform="log1p")
    recommender = adrec.Recommender(ModelConfig(), training).fit(data, progress=False)
    seconds = [record["seconds"] for record in recommender.history_]
    train_seconds = [record["train_seconds"] for record in recommender.history_]
    train_rows = recommender.metrics["train_rows"]
    return {"rows": len(data), "users": data.n_users, "interests": data.n_interests,
            "train_rows": train_rows, "load_seconds": load_seconds,
            "epoch_seconds": statistics.median(seconds),
            "train_pass_seconds": statistics.median(train_seconds),
            "rows_per_second": train_rows / statistics.median(train_seconds),
            "total_seconds": time.perf_counter() - started,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6}


def one_epoch_throughput(data: adrec.InteractionData) -> list[dict]:
    """Rows per second of one training epoch for each implementation, on the same rows."""
    targets = np.log1p(data.frequency).astype(np.float32)
    arrays = TrainingArrays(data.user_index, data.interest_index, targets)
    rows = []
    for backend, trainer_class in (("fast", SGDTrainer), ("torch", Trainer)):
        model = build_model(ModelConfig(), data.n_users, data.n_interests, float(targets.mean()))
        model.reset_parameters(0.1, __import__("torch").Generator().manual_seed(0))
        config = TrainConfig(backend=backend, epochs=1, patience=0, threads=None)
        started = time.perf_counter()
        trainer_class(config, progress=False).fit(model, arrays)
        seconds = time.perf_counter() - started
        name = "adrec fast backend (SGD kernel)" if backend == "fast" \
            else "adrec PyTorch loop (Adamax, batch 1,024)"
        rows.append({"implementation": name, "rows": len(arrays), "epoch_seconds": seconds,
                     "rows_per_second": len(arrays) / seconds})

    try:
        import surprise
        frame = data.to_frame()
        reader = surprise.Reader(rating_scale=(0, float(targets.max())))
        trainset = surprise.Dataset.load_from_df(
            frame[["user_id", "interest_id"]].assign(target=targets), reader).build_full_trainset()
        started = time.perf_counter()
        surprise.SVD(n_factors=64, n_epochs=1, random_state=0).fit(trainset)
        seconds = time.perf_counter() - started
        rows.append({"implementation": "Surprise SVD, 64 factors (one SGD epoch)", "rows": len(arrays),
                     "epoch_seconds": seconds, "rows_per_second": len(arrays) / seconds})
    except ImportError:
        logging.warning("Surprise is not installed; pip install -e '.[benchmarks]'")
    try:
        import implicit
        import scipy.sparse as sparse
        matrix = sparse.csr_matrix((targets, (data.user_index, data.interest_index)),
                                   shape=(data.n_users, data.n_interests))
        model = implicit.als.AlternatingLeastSquares(factors=64, iterations=1, random_state=0)
        started = time.perf_counter()
        model.fit(matrix, show_progress=False)
        seconds = time.perf_counter() - started
        rows.append({"implementation": "implicit ALS, 64 factors (one iteration, all pairs)",
                     "rows": len(arrays), "epoch_seconds": seconds,
                     "rows_per_second": len(arrays) / seconds})
    except ImportError:
        logging.warning("implicit is not installed; pip install -e '.[benchmarks]'")
    return rows


def movielens_accuracy(seeds: list[int]) -> tuple[list[dict], list[dict]]:
    """Test RMSE and fit time of both backends on seeded splits; seconds to TARGET_RMSE."""
    data = adrec.load_data(data_root() / "ml-100k")
    results, to_target = [], []
    for backend in ("fast", "torch"):
        errors, seconds, reach = [], [], []
        for seed in seeds:
            train_rows, test_rows = random_split(len(data), 0.1, seed)
            started = time.perf_counter()
            recommender = adrec.Recommender(ModelConfig(), TrainConfig(backend=backend)).fit(
                data.take(train_rows), progress=False)
            seconds.append(time.perf_counter() - started)
            errors.append(rating_errors(recommender, data.take(test_rows))["rmse"])
            elapsed = 0.0
            for record in recommender.history_:
                elapsed += record["seconds"]
                if record["validation_rmse"] <= TARGET_RMSE:
                    reach.append(elapsed)
                    break
        results.append({"backend": backend, "test_rmse": f"{np.mean(errors):.4f} ± {np.std(errors):.4f}",
                        "per_seed": ", ".join(f"{e:.4f}" for e in errors),
                        "fit_seconds": statistics.median(seconds)})
        to_target.append({"backend": backend, "target": TARGET_RMSE,
                          "seconds_to_target": statistics.median(reach) if reach else None,
                          "runs_reaching_it": f"{len(reach)} of {len(seeds)}"})
    return results, to_target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="a synthetic table folder (default: generate one)")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--interests", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--scale-run", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if arguments.scale_run:
        print(json.dumps(scale_run(arguments.scale_run, arguments.epochs)))
        return

    with tempfile.TemporaryDirectory() as folder:
        path = arguments.data
        if path is None:
            path = Path(folder) / "synthetic"
            write_synthetic(path, SyntheticSpec(rows=arguments.rows, users=arguments.users,
                                                interests=arguments.interests), progress=False)
        child = subprocess.run([sys.executable, __file__, "--scale-run", str(path), "--epochs",
                                str(arguments.epochs)], capture_output=True, text=True, check=True)
        scale = json.loads(child.stdout.strip().splitlines()[-1])
        print(scale, flush=True)

        data = adrec.load_data(path)
        subset = data.take(np.arange(min(SUBSET_ROWS, len(data))))
        del data
        throughput = one_epoch_throughput(subset)
        print(throughput, flush=True)

    seeds = [int(seed) for seed in arguments.seeds.split(",")]
    accuracy, to_target = movielens_accuracy(seeds)
    print(accuracy, to_target, flush=True)

    body = "\n".join([
        f"Machine: {machine_description()}. Command: `python benchmarks/training.py` "
        f"(`--epochs {arguments.epochs}`). One run; the rows below were measured side by side.", "",
        f"### Load and train at scale: {scale['rows']:,} rows, {scale['users']:,} users, "
        f"{scale['interests']:,} interests, dimension 64, {arguments.epochs} epochs", "",
        markdown_table([scale], ["train_rows", "load_seconds", "epoch_seconds", "train_pass_seconds",
                                 "rows_per_second", "total_seconds", "peak_gb"]), "",
        "Rows per second are training rows over the median training pass; an epoch also "
        "computes the validation RMSE. Total seconds cover loading, 10 epochs and the "
        "validation figures; peak memory is the resident set of that whole process.", "",
        f"### One epoch over the first {len(subset):,} rows of the same table", "",
        markdown_table(throughput, ["implementation", "rows", "epoch_seconds", "rows_per_second"]), "",
        "implicit's ALS iteration solves for every user and interest over all pairs; its rows "
        "per second are not SGD steps, shown for scale.", "",
        f"### MovieLens 100K, seeds {arguments.seeds}: default settings of each backend", "",
        markdown_table(accuracy, ["backend", "test_rmse", "per_seed", "fit_seconds"]), "",
        markdown_table(to_target, ["backend", "target", "seconds_to_target", "runs_reaching_it"]),
    ])
    print(f"wrote {write_section('Training throughput', body)}")


if __name__ == "__main__":
    main()
