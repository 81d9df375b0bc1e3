"""Run adrec and the reference libraries on identical seeded splits and write the table.

The seeds choose the test splits; every adrec model keeps its configuration's own
training seed, so "default" means the configuration a user gets.

MovieLens 100K, random 90/10 splits: rating error (RMSE, MAE) on the test rows
whose user and interest occur in training, and ranking of every movie per user
with the training movies excluded, test movies rated 4 or 5 relevant.
Last.fm 2K, 20% of each user's artists held out: ranking, every held-out artist
relevant.

Models: adrec's default (MSE), its reference configuration and its
implicit-feedback ALS objective. Surprise's SVD, SVD++, BaselineOnly and
KNNBaseline. implicit's ALS and BPR. The global mean, bias-only and most-popular
baselines.

On Last.fm, implicit's ALS and adrec's ALS each get the same tuning budget: a
small grid scored on a validation split carved from the training part (20% of
each user's training artists), then a refit on the whole training part.

    pip install -e .[benchmarks]
    python benchmarks/compare_libraries.py [--seeds 0,1,2,3,4] [--datasets movielens,lastfm]
"""

from __future__ import annotations

import os

# implicit warns when the BLAS library runs its own threads; it must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import dataclasses
import logging
import statistics
import time
from collections.abc import Callable

import numpy as np
from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data import leave_n_out_split, random_split
from adrec.evaluation import BiasOnly, evaluate_ranking, popularity_scores

KS = (10, 20)
LASTFM_HOLDOUT = 0.2


@dataclasses.dataclass
class Task:
    """One seeded split in the training part's index space."""

    train: adrec.InteractionData
    test_users: np.ndarray
    test_interests: np.ndarray
    test_frequency: np.ndarray
    relevant_min: float | None

    @property
    def n_users(self) -> int:
        return self.train.n_users

    @property
    def n_interests(self) -> int:
        return self.train.n_interests

    def ranking(self, score_users: Callable[[np.ndarray], np.ndarray]) -> dict:
        """NDCG, recall and the rest at each k, training interests excluded."""
        relevant = np.ones(len(self.test_frequency), bool) if self.relevant_min is None \
            else self.test_frequency >= self.relevant_min
        return evaluate_ranking(score_users, (self.train.user_index, self.train.interest_index),
                                (self.test_users[relevant], self.test_interests[relevant]),
                                self.n_users, self.n_interests, ks=KS)

    def rating(self, predict: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> dict:
        """RMSE and MAE on the test rows whose user and interest occur in training."""
        predicted = np.asarray(predict(self.test_users, self.test_interests), dtype=np.float64)
        errors = predicted - self.test_frequency
        return {"rmse": float(np.sqrt(np.mean(errors ** 2))), "mae": float(np.mean(np.abs(errors)))}


def make_task(data: adrec.InteractionData, train_rows: np.ndarray, test_rows: np.ndarray,
              relevant_min: float | None) -> Task:
    """Re-index the training rows and map the test rows onto them, dropping unknown ones."""
    train = data.take(train_rows)
    test = data.take(test_rows).to_frame()
    users = train.users.indices_of(test["user_id"], strict=False)
    interests = train.interests.indices_of(test["interest_id"], strict=False)
    known = (users >= 0) & (interests >= 0)
    return Task(train, users[known], interests[known], test["frequency"].to_numpy()[known],
                relevant_min)


# ----------------------------------------------------------------------------- adrec models

def run_adrec(task: Task, model_config, train_config, rating: bool) -> dict:
    recommender = adrec.Recommender(model_config, train_config).fit(task.train, progress=False)
    result = {"fit_seconds": recommender.metrics["fit_seconds"]}
    if rating and recommender.predicts_frequency:
        result.update(task.rating(recommender.predict_indices))
    result.update(task.ranking(recommender._score_users))
    return result


def run_baselines(task: Task, rating: bool) -> list[tuple[str, str, dict]]:
    train = task.train
    rows = []
    if rating:
        started = time.perf_counter()
        mean = float(train.frequency.mean())
        rows.append(("baseline", "global mean", {
            **task.rating(lambda u, i: np.full(len(u), mean)),
            "fit_seconds": time.perf_counter() - started}))
        started = time.perf_counter()
        bias = BiasOnly().fit(train.user_index, train.interest_index, train.frequency,
                              train.n_users, train.n_interests)
        rows.append(("baseline", "bias only", {**task.rating(bias.predict),
                                               **task.ranking(lambda u: _bias_scores(bias, u)),
                                               "fit_seconds": time.perf_counter() - started}))
    started = time.perf_counter()
    popularity = popularity_scores(train.interest_index, train.n_interests)
    seconds = time.perf_counter() - started
    rows.append(("baseline", "most popular", {
        **task.ranking(lambda u: np.broadcast_to(popularity, (len(u), len(popularity)))),
        "fit_seconds": seconds}))
    return rows


def _bias_scores(bias: BiasOnly, users: np.ndarray) -> np.ndarray:
    return bias.mean + bias.user_bias[users][:, None] + bias.interest_bias[None, :]


# ------------------------------------------------------------------------------- Surprise

def run_surprise(task: Task, name: str, seed: int) -> dict:
    """Fit a Surprise algorithm on the training rows; SVD-like models are also ranked."""
    import surprise

    train = task.train
    frame = train.to_frame()
    frame["user_id"] = train.user_index.astype(str)
    frame["interest_id"] = train.interest_index.astype(str)
    low, high = float(train.frequency.min()), float(train.frequency.max())
    dataset = surprise.Dataset.load_from_df(frame[["user_id", "interest_id", "frequency"]],
                                            surprise.Reader(rating_scale=(low, high)))
    trainset = dataset.build_full_trainset()
    algorithms = {
        "SVD": lambda: surprise.SVD(random_state=seed),
        "SVD++": lambda: surprise.SVDpp(random_state=seed, cache_ratings=True),
        "BaselineOnly": lambda: surprise.BaselineOnly(verbose=False),
        "KNNBaseline": lambda: surprise.KNNBaseline(
            sim_options={"name": "pearson_baseline", "user_based": False}, verbose=False),
    }
    started = time.perf_counter()
    algorithm = algorithms[name]()
    algorithm.fit(trainset)
    seconds = time.perf_counter() - started

    # Surprise's inner ids differ from ours; map our indices to them once.
    user_inner = np.array([trainset.to_inner_uid(str(u)) for u in range(train.n_users)])
    item_inner = np.array([trainset.to_inner_iid(str(i)) for i in range(train.n_interests)])

    def estimate(user: int, interest: int) -> float:
        value = algorithm.estimate(int(user_inner[user]), int(item_inner[interest]))
        # Neighbourhood models return (estimate, details).
        return float(value[0] if isinstance(value, tuple) else value)

    def predict(users, interests):
        return np.array([estimate(u, i) for u, i in zip(users, interests, strict=True)]).clip(low, high)

    result = {"fit_seconds": seconds, **task.rating(predict)}
    if name in ("SVD", "BaselineOnly"):
        mean = trainset.global_mean
        user_bias = algorithm.bu[user_inner] if name == "SVD" else algorithm.bu[user_inner]
        item_bias = algorithm.bi[item_inner]
        if name == "SVD":
            user_factors, item_factors = algorithm.pu[user_inner], algorithm.qi[item_inner]

            def score_users(users):
                return (mean + user_bias[users][:, None] + item_bias[None, :]
                        + user_factors[users] @ item_factors.T)
        else:
            def score_users(users):
                return mean + user_bias[users][:, None] + item_bias[None, :]
        result.update(task.ranking(score_users))
    return result


# ------------------------------------------------------------------------------- implicit

def implicit_matrix(task_train: adrec.InteractionData, values: np.ndarray):
    from scipy import sparse

    return sparse.csr_matrix((values.astype(np.float32),
                              (task_train.user_index, task_train.interest_index)),
                             shape=(task_train.n_users, task_train.n_interests))


def run_implicit(task: Task, name: str, seed: int, values: np.ndarray, **params) -> dict:
    """Fit implicit's ALS or BPR on a user x interest matrix of ``values``; rank with its factors."""
    from implicit.cpu.als import AlternatingLeastSquares
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    matrix = implicit_matrix(task.train, values)
    started = time.perf_counter()
    if name == "ALS":
        model = AlternatingLeastSquares(random_state=seed, **params)
    else:
        model = BayesianPersonalizedRanking(random_state=seed, **params)
    model.fit(matrix, show_progress=False)
    seconds = time.perf_counter() - started
    user_factors, item_factors = np.asarray(model.user_factors), np.asarray(model.item_factors)
    return {"fit_seconds": seconds,
            **task.ranking(lambda users: user_factors[users] @ item_factors.T)}


# ------------------------------------------------------------------------------ protocols

def movielens(seeds: list[int], skip_slow: bool) -> list[dict]:
    data = adrec.load_data(data_root() / "ml-100k")
    return [row for seed in seeds for row in movielens_seed(data, seed, skip_slow)]


def movielens_seed(data: adrec.InteractionData, seed: int, skip_slow: bool) -> list[dict]:
    """Run every model on one seeded 90/10 split of MovieLens 100K."""
    rows = []
    train_rows, test_rows = random_split(len(data), 0.1, seed)
    task = make_task(data, train_rows, test_rows, relevant_min=4.0)
    reference_model, reference_training = adrec.reference_configs()
    runs = [
        ("adrec", "default (MSE)", lambda: run_adrec(task, adrec.ModelConfig(),
                                                     adrec.TrainConfig(), True)),
        ("adrec", "reference", lambda: run_adrec(task, reference_model, reference_training, True)),
        ("adrec", "ials", lambda: run_adrec(task, adrec.ModelConfig(),
                                            adrec.TrainConfig(objective="ials"), False)),
        ("Surprise", "SVD", lambda: run_surprise(task, "SVD", seed)),
        ("Surprise", "BaselineOnly", lambda: run_surprise(task, "BaselineOnly", seed)),
        ("Surprise", "KNNBaseline", lambda: run_surprise(task, "KNNBaseline", seed)),
        ("implicit", "ALS (64 factors)", lambda: run_implicit(
            task, "ALS", seed, task.train.frequency, factors=64)),
        ("implicit", "BPR (64 factors)", lambda: run_implicit(
            task, "BPR", seed, np.ones(len(task.train)), factors=64)),
    ]
    if not skip_slow:
        runs.insert(4, ("Surprise", "SVD++", lambda: run_surprise(task, "SVD++", seed)))
    for library, model, run in runs:
        rows.append({"dataset": "MovieLens 100K", "library": library, "model": model,
                     "seed": seed, **run()})
        print(_progress_line(rows[-1]), flush=True)
    for library, model, result in run_baselines(task, rating=True):
        rows.append({"dataset": "MovieLens 100K", "library": library, "model": model,
                     "seed": seed, **result})
        print(_progress_line(rows[-1]), flush=True)
    return rows


ALS_GRID = ({"regularization": 0.01, "alpha": 1.0}, {"regularization": 0.1, "alpha": 1.0},
            {"regularization": 1.0, "alpha": 1.0}, {"regularization": 0.01, "alpha": 10.0})
IALS_GRID = ({"l2": 0.3, "confidence_weight": 0.3}, {"l2": 0.3, "confidence_weight": 1.0},
             {"l2": 1.0, "confidence_weight": 1.0}, {"l2": 1.0, "confidence_weight": 3.0})


def lastfm(seeds: list[int]) -> list[dict]:
    data = adrec.load_data(data_root() / "lastfm-2k")
    return [row for seed in seeds for row in lastfm_seed(data, seed)]


def lastfm_seed(data: adrec.InteractionData, seed: int) -> list[dict]:
    """Run every ranking model on one seeded per-user holdout of Last.fm 2K."""
    rows = []
    train_rows, test_rows = leave_n_out_split(data.user_index, seed, fraction=LASTFM_HOLDOUT)
    task = make_task(data, train_rows, test_rows, relevant_min=None)
    inner_train, inner_test = leave_n_out_split(task.train.user_index, seed + 1000,
                                                fraction=LASTFM_HOLDOUT)
    tuning = make_task(task.train, inner_train, inner_test, relevant_min=None)
    log_counts = np.log1p(task.train.frequency)

    def tuned_implicit():
        trials = [run_implicit(tuning, "ALS", seed, np.log1p(tuning.train.frequency), factors=64,
                               **params) for params in ALS_GRID]
        best = ALS_GRID[int(np.argmax([trial["ndcg@10"] for trial in trials]))]
        final = run_implicit(task, "ALS", seed, log_counts, factors=64, **best)
        return _with_tuning_time(final, trials, best)

    def tuned_adrec():
        base = adrec.TrainConfig(objective="ials", target_transform="log1p")
        trials = [run_adrec(tuning, adrec.ModelConfig(), dataclasses.replace(base, **params), False)
                  for params in IALS_GRID]
        best = IALS_GRID[int(np.argmax([trial["ndcg@10"] for trial in trials]))]
        final = run_adrec(task, adrec.ModelConfig(), dataclasses.replace(base, **best), False)
        return _with_tuning_time(final, trials, best)

    reference_model, reference_training = adrec.reference_configs()
    runs = [
        ("adrec", "ials (defaults)", lambda: run_adrec(
            task, adrec.ModelConfig(),
            adrec.TrainConfig(objective="ials", target_transform="log1p"), False)),
        ("adrec", "ials (tuned, 4 points)", tuned_adrec),
        ("adrec", "reference (log1p)", lambda: run_adrec(
            task, reference_model,
            dataclasses.replace(reference_training, target_transform="log1p"), False)),
        ("adrec", "default MSE (log1p)", lambda: run_adrec(
            task, adrec.ModelConfig(), adrec.TrainConfig(target_transform="log1p"), False)),
        ("implicit", "ALS (tuned, 4 points)", tuned_implicit),
        ("implicit", "BPR (64 factors)", lambda: run_implicit(
            task, "BPR", seed, np.ones(len(task.train)), factors=64)),
    ]
    for library, model, run in runs:
        rows.append({"dataset": "Last.fm 2K", "library": library, "model": model,
                     "seed": seed, **run()})
        print(_progress_line(rows[-1]), flush=True)
    for library, model, result in run_baselines(task, rating=False):
        rows.append({"dataset": "Last.fm 2K", "library": library, "model": model,
                     "seed": seed, **result})
        print(_progress_line(rows[-1]), flush=True)
    return rows


def _with_tuning_time(final: dict, trials: list[dict], chosen: dict) -> dict:
    """Count the grid's fits in the fit time and record the chosen setting."""
    seconds = final["fit_seconds"] + sum(trial["fit_seconds"] for trial in trials)
    return {**final, "fit_seconds": seconds, "chosen": str(chosen)}


def _progress_line(row: dict) -> str:
    figures = " ".join(f"{key}={row[key]:.4f}" for key in ("rmse", "ndcg@10", "recall@20",
                                                           "fit_seconds") if row.get(key) is not None)
    return f"{row['dataset']} seed {row['seed']}: {row['library']} {row['model']}: {figures}"


def summarize(rows: list[dict], metrics: tuple[str, ...]) -> list[dict]:
    """Mean and spread over seeds per (dataset, library, model), in first-seen order."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault((row["dataset"], row["library"], row["model"]), []).append(row)
    summary = []
    for (_, library, model), members in groups.items():
        line = {"library": library, "model": model, "seeds": len(members)}
        for metric in (*metrics, "fit_seconds"):
            values = [m[metric] for m in members if m.get(metric) is not None]
            if values:
                spread = statistics.stdev(values) if len(values) > 1 else 0.0
                line[metric] = f"{statistics.mean(values):.4f} ± {spread:.4f}" \
                    if metric != "fit_seconds" else f"{statistics.mean(values):.1f}"
            else:
                line[metric] = "n/a"
        summary.append(line)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4")
    parser.add_argument("--datasets", default="movielens,lastfm")
    parser.add_argument("--skip-slow", action="store_true", help="leave out Surprise's SVD++")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    seeds = [int(seed) for seed in arguments.seeds.split(",")]
    datasets = arguments.datasets.split(",")

    parts = [f"Machine: {machine_description()}.",
             f"Command: `python benchmarks/compare_libraries.py --seeds {arguments.seeds} "
             f"--datasets {arguments.datasets}{' --skip-slow' if arguments.skip_slow else ''}`. "
             "Figures are the mean ± standard deviation over the seeds; fit_seconds is the mean "
             "fit time, tuning included where a model is tuned.", ""]
    if "movielens" in datasets:
        rows = movielens(seeds, arguments.skip_slow)
        columns = ["library", "model", "seeds", "rmse", "mae", "ndcg@10", "recall@20", "fit_seconds"]
        parts += ["### MovieLens 100K: random 90/10 splits", "",
                  "RMSE and MAE on the test ratings whose user and movie occur in training. "
                  "Ranking: every movie ranked per user, training movies excluded, test movies "
                  "rated 4 or 5 relevant. adrec's ials outputs scores, so it has no RMSE; "
                  "Surprise's SVD++ and KNNBaseline are scored for RMSE only.", "",
                  markdown_table(summarize(rows, ("rmse", "mae", "ndcg@10", "recall@20")), columns),
                  ""]
    if "lastfm" in datasets:
        rows = lastfm(seeds)
        columns = ["library", "model", "seeds", "ndcg@10", "recall@20", "precision@10",
                   "fit_seconds"]
        parts += ["### Last.fm 2K: 20% of each user's artists held out", "",
                  "Every artist ranked per user, training artists excluded, every held-out artist "
                  "relevant. Tuned models chose from 4 settings on a validation split of the "
                  "training part, then were refitted on the whole training part.", "",
                  markdown_table(summarize(rows, ("ndcg@10", "recall@20", "precision@10")), columns),
                  ""]
    path = write_section("Reference libraries on identical splits", "\n".join(parts))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
