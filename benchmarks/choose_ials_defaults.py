"""Measure candidate defaults of the implicit-feedback ALS objective and add them to DEFAULTS.md.

Two datasets of different kinds are used. MovieLens 100K has ratings, split at
random 90/10 with a seed, and test movies rated 4 or 5 are relevant. Last.fm 2K has
listening counts, trained as log1p targets, and 20% of each user's artists are held
out, all relevant. Every candidate is
scored by NDCG@10 over all interests with the training interests excluded. The
chosen default maximizes the smaller of the two datasets' shares of their own
best NDCG@10, so that it suits both kinds of data.

    python benchmarks/choose_ials_defaults.py
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path

from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data import split_data
from adrec.evaluation import evaluate

DEFAULTS = Path(__file__).resolve().parent / "DEFAULTS.md"
L2_VALUES = (0.1, 0.3, 1.0)
CONFIDENCE_WEIGHTS = (0.3, 1.0, 3.0)


def datasets() -> list[tuple[str, adrec.InteractionData, adrec.InteractionData, str, float | None]]:
    """Return (name, train, test, target transform, relevant_min) per dataset."""
    movielens = adrec.load_data(data_root() / "ml-100k")
    ml_train, ml_test, _ = split_data(movielens, "random", test_fraction=0.1, seed=0)
    lastfm = adrec.load_data(data_root() / "lastfm-2k")
    lf_train, lf_test, _ = split_data(lastfm, "leave-n-out", test_fraction=0.2, seed=0)
    return [("MovieLens 100K", ml_train, ml_test, "none", 4.0),
            ("Last.fm 2K", lf_train, lf_test, "log1p", None)]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    rows = []
    for name, train, test, transform, relevant_min in datasets():
        for l2, confidence_weight in itertools.product(L2_VALUES, CONFIDENCE_WEIGHTS):
            config = adrec.TrainConfig(objective="ials", target_transform=transform, l2=l2,
                                       confidence_weight=confidence_weight)
            started = time.perf_counter()
            recommender = adrec.Recommender(train_config=config).fit(train, progress=False)
            report = evaluate(recommender, test, ks=(10,), relevant_min=relevant_min, baselines=False)
            rows.append({"dataset": name, "l2": l2, "confidence_weight": confidence_weight,
                         "ndcg@10": report.model_row["ndcg@10"],
                         "best_epoch": recommender.metrics["best_epoch"],
                         "seconds": round(time.perf_counter() - started, 1)})
            print(rows[-1], flush=True)

    best = {name: max(r["ndcg@10"] for r in rows if r["dataset"] == name)
            for name in {r["dataset"] for r in rows}}
    for row in rows:
        row["share_of_best"] = row["ndcg@10"] / best[row["dataset"]]
    settings = list(itertools.product(L2_VALUES, CONFIDENCE_WEIGHTS))
    worst_share = {s: min(r["share_of_best"] for r in rows if (r["l2"], r["confidence_weight"]) == s)
                   for s in settings}
    chosen = max(settings, key=lambda s: worst_share[s])
    defaults = adrec.TrainConfig(objective="ials")
    default_setting = (defaults.effective_l2, defaults.confidence_weight)
    body = "\n".join([
        f"Machine: {machine_description()}.",
        "Command: `python benchmarks/choose_ials_defaults.py`. MovieLens 100K: seeded random 90/10 "
        "split, test movies rated 4 or 5 relevant. Last.fm 2K: log1p targets, 20% of each user's "
        "artists held out. NDCG@10 over all interests, training interests excluded.",
        "",
        markdown_table(rows, ["dataset", "l2", "confidence_weight", "ndcg@10", "share_of_best",
                              "best_epoch", "seconds"]),
        "",
        f"The setting whose worse dataset comes closest to that dataset's best is l2 {chosen[0]}, "
        f"confidence weight {chosen[1]} (worst share {worst_share[chosen]:.3f}). The library's "
        f"defaults are l2 {defaults.effective_l2}, confidence weight {defaults.confidence_weight} "
        f"(worst share {worst_share.get(default_setting, float('nan')):.3f}).",
    ])
    write_section("Implicit-feedback ALS defaults", body, path=DEFAULTS)
    print(f"wrote {DEFAULTS}")


if __name__ == "__main__":
    main()
