"""Measure how much a new user's demographics can lower rating error, without any model.

On each seeded `cold-users` split of MovieLens 100K, the held-out users' ratings are
predicted from the training rows in three ways:

- interest bias: the global mean plus the interest bias fitted beside user biases (the
  fallback of `adrec evaluate --cold users`);
- interest mean: the global mean plus each interest's shrunk mean residual, with no user
  biases subtracted, which suits users whose bias is unknown;
- interest mean plus a group bias: the mean residual of the training users who share the
  new user's value of an attribute (gender, age band, occupation, or all three), shrunk.

The gap between the interest bias and the best group bias estimates what a bias learned
from these attributes gains. The hybrid model (benchmarks/model_kinds.py) also learns
interactions between attributes and interests.

    python benchmarks/attribute_signal.py [--seeds 0,1,2,3,4]
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import pandas as pd
from common import data_root, machine_description, markdown_table, write_section

import adrec
from adrec.data.split import split_data
from adrec.evaluation.baselines import BiasOnly

# Shrinkage, in rows, of an interest's mean residual and of a group's mean residual.
INTEREST_SHRINKAGE = 10.0
GROUP_SHRINKAGE = 200.0
AGE_BANDS = [0, 18, 25, 35, 45, 50, 56, 200]


def _groups(users: pd.DataFrame) -> dict[str, pd.Series]:
    """Return each grouping of users by attributes, as a group label per user ID."""
    age_band = pd.cut(users["age"].astype(float), AGE_BANDS, labels=False).astype(str)
    gender, occupation = users["gender"].astype(str), users["occupation"].astype(str)
    return {"gender": gender, "age band": age_band, "occupation": occupation,
            "gender, age band and occupation": gender + "/" + age_band + "/" + occupation}


def measure(data, seed: int) -> dict:
    """Return the RMSE of each prediction on the held-out users of one split."""
    train, test, _ = split_data(data, "cold-users", test_fraction=0.1, seed=seed)
    train_rows, test_rows = train.to_frame(), test.to_frame()
    test_rows = test_rows[test_rows["interest_id"].isin(set(train_rows["interest_id"]))]
    mean = float(train_rows["frequency"].mean())
    actual = test_rows["frequency"].to_numpy(np.float64)

    def rmse(predicted) -> float:
        return float(np.sqrt(np.mean((np.asarray(predicted, np.float64) - actual) ** 2)))

    bias = BiasOnly().fit(train.user_index, train.interest_index, train.frequency, train.n_users,
                          train.n_interests)
    interest_bias = pd.Series(bias.interest_bias, index=train.interests.ids)
    result = {"seed": seed, "new users": test_rows["user_id"].nunique(),
              "interest bias": rmse(bias.mean + test_rows["interest_id"].map(interest_bias))}

    sums = (train_rows["frequency"] - mean).groupby(train_rows["interest_id"]).agg(["sum", "count"])
    interest_mean = sums["sum"] / (sums["count"] + INTEREST_SHRINKAGE)
    result["interest mean"] = rmse(mean + test_rows["interest_id"].map(interest_mean))

    residual = train_rows["frequency"] - mean - train_rows["interest_id"].map(interest_mean)
    test_base = mean + test_rows["interest_id"].map(interest_mean)
    for name, group in _groups(data.user_attributes).items():
        sums = residual.groupby(train_rows["user_id"].map(group).to_numpy()).agg(["sum", "count"])
        group_bias = sums["sum"] / (sums["count"] + GROUP_SHRINKAGE)
        offset = test_rows["user_id"].map(group).map(group_bias).fillna(0.0)
        result[f"+ {name} bias"] = rmse(test_base + offset)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the cold-user splits")
    arguments = parser.parse_args()
    seeds = [int(seed) for seed in arguments.seeds.split(",")]

    data = adrec.load_data(data_root() / "ml-100k")
    rows = [measure(data, seed) for seed in seeds]
    columns = [name for name in rows[0] if name not in ("seed", "new users")]
    summary = {"seed": "mean"}
    summary.update({name: statistics.mean(row[name] for row in rows) for name in columns})
    best = min(columns[1:], key=lambda name: summary[name])
    gain = summary["interest bias"] - summary[best]

    body = "\n".join([
        f"Machine: {machine_description()}. Command: `python benchmarks/attribute_signal.py "
        f"--seeds {arguments.seeds}`. MovieLens 100K, 10% of users held out entirely; RMSE on "
        "their ratings, from rules fitted on the training rows alone (no model). The "
        f"interest mean shrinks by {INTEREST_SHRINKAGE:g} rows and a group bias by "
        f"{GROUP_SHRINKAGE:g} rows.", "",
        markdown_table(rows + [summary], ["seed", "new users", *columns]), "",
        f"The best rule, interest mean {best}, is {gain:.4f} below the interest-bias fallback "
        f"on average: {summary['interest bias'] - summary['interest mean']:.4f} from leaving "
        f"out the user-bias adjustment and {summary['interest mean'] - summary[best]:.4f} from "
        "the group bias.",
    ])
    print(body)
    print(f"wrote {write_section('What demographics tell about new users', body)}")


if __name__ == "__main__":
    main()
