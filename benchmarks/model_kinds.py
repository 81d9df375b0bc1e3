"""Compare the model kinds on warm splits, and measure cold start; write the figures to RESULTS.md.

1. Cold users: seeded splits that hold out 10% of the users entirely (`cold-users`). A
   hybrid model trained on the rest scores each held-out user from the users table
   alone. Reported: RMSE on their rows (MSE objective) beside the interest-bias fallback
   (interest bias + global mean), and NDCG@10 of their rankings (MSE and ials objectives)
   beside most-popular ranking. On MovieLens 100K (age, gender, occupation; 19 genre
   flags) and on the embedded sample.
2. Cold interests: the same with 10% of the interests held out, ranking each one's
   audience, beside the user-bias fallback and the most active users.
3. Warm: seeded 90/10 random splits of MovieLens 100K; test RMSE and NDCG@10 of the mf,
   hybrid and deep models, with their fit time.

    python benchmarks/model_kinds.py [--seeds 0,1,2,3,4] [--warm-seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data import random_split
from adrec.data.split import split_data
from adrec.evaluation import evaluate
from adrec.evaluation.cold_start import evaluate_cold_start

DIM = 32


# New interests need interest ID dropout, which the defaults leave off for the sake of new users.
COLD_MODEL_SETTINGS = {"users": {}, "interests": {"interest_id_dropout": 0.3}}


def _fit(data, kind: str, objective: str, seed: int, model: dict | None = None,
         **training) -> tuple[adrec.Recommender, float]:
    started = time.perf_counter()
    config = adrec.TrainConfig(objective=objective, seed=seed, **training)
    recommender = adrec.Recommender(adrec.ModelConfig(kind=kind, dim=DIM, **(model or {})),
                                    config).fit(data, progress=False)
    return recommender, time.perf_counter() - started


def _row(report, name: str) -> dict:
    return next(row for row in report.rows if row["model"] == name)


def measure_cold(name: str, data, side: str, seeds: list[int], training: dict) -> list[dict]:
    """Return per-seed cold-start figures of hybrid models on one data set."""
    fallback = "interest bias" if side == "users" else "user bias"
    popular = "most popular" if side == "users" else "most active users"
    rows = []
    for seed in seeds:
        train, test, _ = split_data(data, f"cold-{side}", test_fraction=0.1, seed=seed)
        settings = COLD_MODEL_SETTINGS[side]
        frequency_model, frequency_seconds = _fit(train, "hybrid", "mse", seed, settings,
                                                  **training)
        ranking_model, ranking_seconds = _fit(train, "hybrid", "ials", seed, settings, **training)
        frequency = evaluate_cold_start(frequency_model, test, side)
        ranking = evaluate_cold_start(ranking_model, test, side)
        rows.append({
            "data": name, "side": side, "seed": seed,
            f"new_{side}": frequency.counts[f"new_{side}"],
            "hybrid_rmse": _row(frequency, "adrec")["rmse"],
            "fallback_rmse": _row(frequency, fallback)["rmse"],
            "hybrid_mse_ndcg@10": _row(frequency, "adrec")["ndcg@10"],
            "hybrid_ials_ndcg@10": _row(ranking, "adrec")["ndcg@10"],
            "popular_ndcg@10": _row(ranking, popular)["ndcg@10"],
            "fit_seconds": frequency_seconds + ranking_seconds,
        })
        print(rows[-1], flush=True)
    return rows


def measure_warm(data, seeds: list[int]) -> list[dict]:
    """Return per-seed test figures of every model kind on random 90/10 splits."""
    rows = []
    for seed in seeds:
        train_rows, test_rows = random_split(len(data), 0.1, seed=seed)
        train, test = data.take(train_rows), data.take(test_rows)
        for kind in adrec.MODEL_KINDS:
            recommender, seconds = _fit(train, kind, "mse", seed)
            report = evaluate(recommender, test, ks=(10,))
            rows.append({"kind": kind, "seed": seed, "test_rmse": _row(report, "adrec")["rmse"],
                         "ndcg@10": _row(report, "adrec")["ndcg@10"],
                         "fit_seconds": seconds,
                         "backend": recommender.info()["training"].get("backend")})
            print(rows[-1], flush=True)
    return rows


def _mean(rows: list[dict], key: str) -> str:
    values = [row[key] for row in rows]
    if len(values) == 1:
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def summarize_cold(rows: list[dict]) -> list[dict]:
    table = []
    for name, side in dict.fromkeys((row["data"], row["side"]) for row in rows):
        part = [row for row in rows if row["data"] == name and row["side"] == side]
        margins = [row["fallback_rmse"] - row["hybrid_rmse"] for row in part]
        table.append({
            "data": name, "held out": f"10% of {side}", "seeds": len(part),
            "hybrid RMSE": _mean(part, "hybrid_rmse"),
            "fallback RMSE": _mean(part, "fallback_rmse"),
            "RMSE gain": f"{statistics.mean(margins):.4f}",
            "hybrid (mse) NDCG@10": _mean(part, "hybrid_mse_ndcg@10"),
            "hybrid (ials) NDCG@10": _mean(part, "hybrid_ials_ndcg@10"),
            "popular NDCG@10": _mean(part, "popular_ndcg@10"),
            "fit s (both)": f"{statistics.mean(row['fit_seconds'] for row in part):.0f}",
        })
    return table


def cold_verdicts(rows: list[dict]) -> list[str]:
    """Say per data set and side on how many seeds the hybrid beats each fallback."""
    lines = []
    for name, side in dict.fromkeys((row["data"], row["side"]) for row in rows):
        part = [row for row in rows if row["data"] == name and row["side"] == side]
        rmse_wins = sum(row["hybrid_rmse"] < row["fallback_rmse"] for row in part)
        ndcg_wins = sum(row["hybrid_ials_ndcg@10"] > row["popular_ndcg@10"] for row in part)
        popular = "most popular" if side == "users" else "most active users"
        lines.append(f"- {name}, new {side}: the hybrid's RMSE is below the fallback's on "
                     f"{rmse_wins} of {len(part)} seeds, and its (ials) NDCG@10 above "
                     f"{popular} on {ndcg_wins} of {len(part)}.")
    return lines


def summarize_warm(rows: list[dict]) -> list[dict]:
    table = []
    for kind in dict.fromkeys(row["kind"] for row in rows):
        part = [row for row in rows if row["kind"] == kind]
        table.append({"model": kind, "backend": part[0]["backend"], "seeds": len(part),
                      "test RMSE": _mean(part, "test_rmse"), "NDCG@10": _mean(part, "ndcg@10"),
                      "fit s": f"{statistics.mean(row['fit_seconds'] for row in part):.1f}"})
    return table


def _compare(ours: str, theirs: str, *, lower_is_better: bool) -> str:
    """Compare two "mean ± stdev" cells: better or NOT better, and whether within the spread."""
    mean, other = float(ours.split()[0]), float(theirs.split()[0])
    better = mean < other if lower_is_better else mean > other
    word = "better" if better else "NOT better"
    spreads = [float(cell.split()[-1]) for cell in (ours, theirs) if "±" in cell]
    if spreads and abs(mean - other) < max(spreads):
        word += " (by less than a standard deviation over the seeds)"
    return word


def warm_verdicts(table: list[dict]) -> list[str]:
    """Say plainly whether each model kind beats mf on warm users."""
    mf = next(row for row in table if row["model"] == "mf")
    lines = []
    for row in table:
        if row is mf:
            continue
        rmse = _compare(row["test RMSE"], mf["test RMSE"], lower_is_better=True)
        ndcg = _compare(row["NDCG@10"], mf["NDCG@10"], lower_is_better=False)
        lines.append(f"- {row['model']} is {rmse} than mf on warm test RMSE and {ndcg} on "
                     "NDCG@10.")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the cold-user splits")
    parser.add_argument("--interest-seeds", default="0,1,2", help="seeds of the cold-interest splits")
    parser.add_argument("--warm-seeds", default="0,1,2", help="seeds of the warm splits")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    seeds = [int(seed) for seed in arguments.seeds.split(",")]
    interest_seeds = [int(seed) for seed in arguments.interest_seeds.split(",")]
    warm_seeds = [int(seed) for seed in arguments.warm_seeds.split(",")]

    movielens = adrec.load_data(data_root() / "ml-100k")
    sample = adrec.load_sample()
    cold = (measure_cold("MovieLens 100K", movielens, "users", seeds, {})
            + measure_cold("sample", sample, "users", seeds, {"target_transform": "log1p"})
            + measure_cold("MovieLens 100K", movielens, "interests", interest_seeds, {}))
    warm = summarize_warm(measure_warm(movielens, warm_seeds))

    body = "\n".join([
        f"Machine: {machine_description()}. Command: `python benchmarks/model_kinds.py "
        f"--seeds {arguments.seeds} --interest-seeds {arguments.interest_seeds} --warm-seeds "
        f"{arguments.warm_seeds}`. Models of dimension {DIM}, other settings at their defaults "
        "(the sample with log1p targets; for new interests, interest ID dropout 0.3). "
        "Mean ± standard deviation over the seeds.", "",
        "**Cold start.** The held-out users (interests) have no row in training; the hybrid "
        "model scores them from the users (interests) table alone. RMSE is on their rows "
        "(lower is better); the fallback is the interest bias plus the global mean for new "
        "users, the user bias plus the global mean for new interests. NDCG@10 ranks all "
        "interests for each new user (each new interest's audience among all users); "
        "the baseline is most-popular interests (most active users). RMSE gain is the "
        "fallback's RMSE minus the hybrid's.", "",
        markdown_table(summarize_cold(cold), ["data", "held out", "seeds", "hybrid RMSE",
                                              "fallback RMSE", "RMSE gain",
                                              "hybrid (mse) NDCG@10", "hybrid (ials) NDCG@10",
                                              "popular NDCG@10", "fit s (both)"]), "",
        *cold_verdicts(cold), "",
        "**Warm users**, MovieLens 100K, 90/10 random splits: every test row's user and "
        "interest are in training. NDCG@10 ranks the interests a user has not rated in "
        "training.", "",
        markdown_table(warm, ["model", "backend", "seeds", "test RMSE", "NDCG@10", "fit s"]), "",
        *warm_verdicts(warm),
    ])
    print(body)
    print(f"wrote {write_section('Model kinds and cold start', body)}")


if __name__ == "__main__":
    main()
