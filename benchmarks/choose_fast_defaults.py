"""Measure candidate defaults of the fast (SGD kernel) backend and add them to DEFAULTS.md.

Each candidate (learning rate, L2, bias L2) is fitted with the fast backend on the
training part of seeded 90/10 test splits and scored on the held-out 10%, beside the
torch backend's defaults on the same splits. MovieLens 100K is judged by test RMSE;
the sample, trained on log1p targets, by test RMSE on the log1p scale.

    python benchmarks/choose_fast_defaults.py [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import statistics
import time
from pathlib import Path

from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data.split import random_split
from adrec.evaluation import rating_errors

DEFAULTS = Path(__file__).resolve().parent / "DEFAULTS.md"
LEARNING_RATES = (0.005, 0.01, 0.02)
BIAS_L2 = (0.02, 0.1)


def datasets() -> list[tuple[str, adrec.InteractionData, str, tuple[float, ...]]]:
    """Return each dataset with its target transform and the L2 values to try."""
    return [("ml-100k", adrec.load_data(data_root() / "ml-100k"), "none", (0.05, 0.1, 0.2)),
            ("sample", adrec.load_sample(), "log1p", (0.02, 0.05, 0.1))]


def score(data, transform: str, seeds: list[int], **settings) -> dict:
    """Fit one candidate on every seeded split; return its settings with mean test RMSE and time."""
    errors, seconds = [], []
    scale = "log1p" if transform == "log1p" else "raw"
    for seed in seeds:
        train_rows, test_rows = random_split(len(data), 0.1, seed)
        training = adrec.TrainConfig(target_transform=transform, **settings)
        started = time.perf_counter()
        recommender = adrec.Recommender(adrec.ModelConfig(), training).fit(data.take(train_rows),
                                                                           progress=False)
        seconds.append(time.perf_counter() - started)
        errors.append(rating_errors(recommender, data.take(test_rows), scale=scale)["rmse"])
    row = dict(settings)
    row.update(test_rmse=statistics.mean(errors), fit_seconds=statistics.mean(seconds))
    print(row, flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(seed) for seed in arguments.seeds.split(",")]

    parts = [f"Machine: {machine_description()}. Command: `python benchmarks/choose_fast_defaults.py "
             f"--seeds {arguments.seeds}`. Mean test RMSE over the seeded 90/10 splits, on the "
             "scale each dataset is trained on.", ""]
    for name, data, transform, l2_values in datasets():
        rows = [score(data, transform, seeds, backend="fast", learning_rate=rate, l2=l2,
                      bias_l2=bias_l2)
                for rate, l2, bias_l2 in itertools.product(LEARNING_RATES, l2_values, BIAS_L2)]
        rows.sort(key=lambda row: row["test_rmse"])
        rows.append({**score(data, transform, seeds, backend="fast"), "backend": "fast defaults"})
        rows.append({**score(data, transform, seeds, backend="torch"), "backend": "torch defaults"})
        parts += [f"### {name} (target transform: {transform})", "",
                  markdown_table(rows, ["backend", "learning_rate", "l2", "bias_l2", "test_rmse",
                                        "fit_seconds"]), ""]
    write_section("Fast backend defaults", "\n".join(parts), path=DEFAULTS)
    print(f"wrote {DEFAULTS}")


if __name__ == "__main__":
    main()
