"""Measure top-k latency for one user and throughput for all users, and write them to RESULTS.md.

A synthetic dataset (`adrec generate`) with a large catalogue is trained with the
ranking objective for a few epochs, then:

1. `Recommender.recommend(user, k=20)` for random users, one call at a time, in-process,
   DataFrame with names included: median and 99th percentile latency. The same for the
   index-level step alone: scores of all interests, seen ones excluded, top 20.
2. `Recommender.recommend_batches(k=20)` over every user: users per second.

    python benchmarks/scoring.py [--users 100000] [--interests 50000] [--rows 2000000]
    python benchmarks/scoring.py --data DIR      # a folder written by adrec generate
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from common import machine_description, markdown_table, write_section

import adrec
from adrec.data.synthetic import SyntheticSpec, write_synthetic
from adrec.recommendation import top_k

K = 20
LATENCY_CALLS = 500


def resource_gb() -> float:
    """Return the peak resident memory of this process so far, in GB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--interests", type=int, default=50_000)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--data", type=Path, help="a synthetic data folder (default: generate one)")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    if arguments.data is not None:
        data = adrec.load_data(arguments.data)
    else:
        with tempfile.TemporaryDirectory() as folder:
            spec = SyntheticSpec(rows=arguments.rows, users=arguments.users,
                                 interests=arguments.interests, seed=0)
            write_synthetic(Path(folder) / "data", spec, progress=False)
            data = adrec.load_data(Path(folder) / "data")
    training = adrec.TrainConfig(objective="ials", target_transform="log1p", epochs=arguments.epochs,
                                 refit=False)
    started = time.perf_counter()
    recommender = adrec.Recommender(train_config=training).fit(data, progress=False)
    fit_seconds = time.perf_counter() - started
    print(f"fitted {recommender} in {fit_seconds:.1f} s", flush=True)

    generator = np.random.default_rng(0)
    sample = generator.choice(len(recommender.users), LATENCY_CALLS, replace=False)
    user_ids = recommender.users.ids[sample]
    recommender.recommend(user_ids[0], k=K)  # warm-up

    facade = []
    for user in user_ids:
        started = time.perf_counter()
        recommender.recommend(user, k=K)
        facade.append((time.perf_counter() - started) * 1000)
    index_level = []
    for user in sample:
        started = time.perf_counter()
        seen = recommender.engaged_rows(int(user))["interest_index"].to_numpy()
        top_k(recommender._score_user(int(user)), K, seen)
        index_level.append((time.perf_counter() - started) * 1000)

    memory_before = resource_gb()
    started = time.perf_counter()
    rows = sum(len(frame) for frame in recommender.recommend_batches(k=K))
    all_seconds = time.perf_counter() - started
    per_second = len(recommender.users) / all_seconds
    memory_after = resource_gb()

    table = [
        {"measure": "recommend(user, k=20), DataFrame with names", "median_ms": statistics.median(facade),
         "p99_ms": percentile(facade, 0.99)},
        {"measure": "index level: scores, seen excluded, top 20", "median_ms": statistics.median(index_level),
         "p99_ms": percentile(index_level, 0.99)},
    ]
    body = "\n".join([
        f"Machine: {machine_description()}.",
        "Command: `python benchmarks/scoring.py "
        + (f"--data {arguments.data}" if arguments.data else f"--users {arguments.users} --interests "
           f"{arguments.interests} --rows {arguments.rows}") + "`. Synthetic data from `adrec generate` "
        f"({len(data):,} rows), ranking objective, {arguments.epochs} epochs ({fit_seconds:.1f} s).",
        "",
        f"Latency over {LATENCY_CALLS} random users, one call at a time, in-process:",
        "",
        markdown_table(table, ["measure", "median_ms", "p99_ms"]),
        "",
        f"All {len(recommender.users):,} users, top {K} each, `recommend_batches` (1,024 users per "
        f"batch): {all_seconds:.1f} s, {per_second:,.0f} users per second, {rows:,} rows. Peak "
        f"resident memory of the process: {memory_before:.2f} GB before, {memory_after:.2f} GB "
        "after.",
    ])
    path = write_section("Scoring", body)
    print(body)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
