"""Handlers of the ``adrec`` subcommands: call the library, then print the result."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from adrec.cli.output import emit
from adrec.data import InteractionData, load_data, load_sample
from adrec.errors import ConfigError
from adrec.models import ModelConfig
from adrec.persistence import check_bundle_destination
from adrec.recommendation import Recommender, reference_configs
from adrec.training import TrainConfig

MODEL_OPTIONS = {"dim": "dim"}
TRAINING_OPTIONS = ("epochs", "batch_size", "optimizer", "learning_rate", "l2",
                    "validation_fraction", "patience", "target_transform", "seed", "device")


def say(text: str = "") -> None:
    """Print a line for people on stdout."""
    print(text, flush=True)


def configs_from_arguments(arguments: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Build the model and training configs from the defaults, ``--reference`` and explicit options."""
    model, training = reference_configs() if arguments.reference else (ModelConfig(), TrainConfig())
    model_changes = {"dim": arguments.dim} if arguments.dim is not None else {}
    if arguments.no_bias:
        model_changes["use_bias"] = False
    training_changes = {name: getattr(arguments, name) for name in TRAINING_OPTIONS
                        if getattr(arguments, name) is not None}
    try:
        return (dataclasses.replace(model, **model_changes),
                dataclasses.replace(training, **training_changes))
    except TypeError as error:
        raise ConfigError(str(error)) from error


def metrics_table(recommender: Recommender) -> pd.DataFrame:
    """Return the validation figures of a fit beside the global-mean baseline."""
    metrics = recommender.metrics
    rows = []
    if metrics.get("validation_rmse_target") is not None and metrics["target_transform"] != "none":
        rows.append({"scale": f"{metrics['target_transform']}(frequency)",
                     "model_rmse": metrics["validation_rmse_target"],
                     "global_mean_rmse": metrics["baseline_global_mean_rmse_target"]})
    if metrics.get("validation_rmse") is not None:
        rows.append({"scale": "frequency", "model_rmse": metrics["validation_rmse"],
                     "global_mean_rmse": metrics["baseline_global_mean_rmse"]})
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["improvement"] = 1 - frame["model_rmse"] / frame["global_mean_rmse"]
    return frame


def print_data_report(data: InteractionData, notes: bool = True) -> None:
    """Print sizes and, unless ``notes`` is false, the loading warnings of a dataset."""
    summary = data.summary()
    say(f"Data: {summary['name']}: {summary['rows']:,} rows, {summary['users']:,} users, "
        f"{summary['interests']:,} interests, density {summary['density']:.4f}, frequency "
        f"{summary['frequency_min']:g} to {summary['frequency_max']:g} "
        f"(median {summary['frequency_median']:g})")
    for warning in data.report.warnings if notes else []:
        say(f"  note: {warning}")


def print_fit_summary(recommender: Recommender) -> None:
    """Print the best epoch and the validation RMSE against the baseline."""
    metrics = recommender.metrics
    stopped = ", stopped early" if metrics.get("stopped_early") else ""
    say(f"Trained {metrics['epochs_run']} epochs in {metrics['fit_seconds']:.1f} s{stopped}; "
        f"best epoch {metrics['best_epoch']}.")
    limit = recommender.train_config.epochs
    if metrics.get("validation_rows") and metrics["best_epoch"] == limit and limit > 1:
        say(f"  note: the validation loss was still falling at the last epoch; a larger "
            f"--epochs (now {limit}) or --learning-rate may give a better model")
    table = metrics_table(recommender)
    if not table.empty:
        emit(table, "table", title="Validation RMSE (lower is better; improvement is the "
                                   "relative reduction against the global mean):")


def run_demo(arguments: argparse.Namespace) -> None:
    """Train on the embedded sample and show one user's history and recommendations."""
    started = time.perf_counter()
    if arguments.out:
        check_bundle_destination(Path(arguments.out))
    data = load_sample()
    # Check the user before training, so an unknown ID fails in a second instead of after training.
    data.users.index_of(arguments.user)
    print_data_report(data)

    # The sample contains heavy-tailed engagement counts, which log1p suits; the rest is default.
    training = TrainConfig(target_transform="log1p")
    recommender = Recommender(ModelConfig(), training).fit(data, progress=arguments.progress)
    print_fit_summary(recommender)

    say()
    emit(recommender.history(arguments.user, arguments.k), "table",
         title=f"User {arguments.user}: most frequented interests, actual and predicted")
    say()
    emit(recommender.recommend(arguments.user, arguments.k), "table",
         title=f"User {arguments.user}: recommended interests not engaged with yet")

    if arguments.out:
        recommender.save(arguments.out)
        say(f"\nSaved the model bundle to {arguments.out}")
    else:
        with tempfile.TemporaryDirectory() as folder:
            recommender.save(Path(folder) / "bundle")
    say(f"\nDemo finished in {time.perf_counter() - started:.1f} s. Next: "
        "adrec train DATA --out models/ads, then adrec recommend models/ads USER.")


def run_train(arguments: argparse.Namespace) -> None:
    """Load data, train, and save the bundle; the checkpoint is removed once it is saved."""
    model_config, train_config = configs_from_arguments(arguments)
    out = Path(arguments.out)
    check_bundle_destination(out)
    data = load_data(
        arguments.data, users=arguments.users, interests=arguments.interests,
        user_col=arguments.user_col, interest_col=arguments.interest_col,
        frequency_col=arguments.frequency_col, timestamp_col=arguments.timestamp_col,
        events=arguments.events, duplicates=arguments.duplicates, encoding=arguments.encoding,
    )
    human = arguments.format == "table"
    if human:
        print_data_report(data, notes=not arguments.quiet)
    elif not arguments.quiet:
        # stdout carries the machine-readable result, so notes go to stderr.
        for warning in data.report.warnings:
            print(f"adrec: note: {warning}", file=sys.stderr)

    checkpoint = Path(arguments.checkpoint) if arguments.checkpoint \
        else out.with_name(out.name + ".checkpoint.safetensors")
    try:
        recommender = Recommender(model_config, train_config).fit(
            data, init_from=arguments.init_from, checkpoint_path=checkpoint,
            progress=arguments.progress)
    except KeyboardInterrupt:
        if checkpoint.exists():
            print(f"adrec: training interrupted; the best weights so far are in {checkpoint} "
                  "(safetensors, by index), no bundle was saved", file=sys.stderr)
        raise
    recommender.save(out)
    if not arguments.checkpoint:
        checkpoint.unlink(missing_ok=True)

    if human:
        print_fit_summary(recommender)
        say(f"Saved the model bundle to {out}")
    else:
        emit(recommender.info(), arguments.format)


def run_history(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    emit(recommender.history(arguments.user, arguments.k), arguments.format,
         title=f"User {arguments.user}: most frequented interests, actual and predicted")


def run_recommend(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    result = recommender.recommend(arguments.user, arguments.k,
                                   exclude_seen=not arguments.include_seen)
    listing = "ranked interests" if arguments.include_seen else \
        "recommended interests not engaged with yet"
    emit(result, arguments.format, title=f"User {arguments.user}: {listing}")


def run_predict(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    value = recommender.predict(arguments.user, arguments.interest)
    if arguments.format == "table":
        say(f"{value:.4f}")
    else:
        emit(pd.DataFrame([{"user_id": arguments.user, "interest_id": arguments.interest,
                            recommender.score_column: value}]), arguments.format)


def run_info(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    info = recommender.info()
    emit(info, arguments.format)
    if arguments.format == "table":
        table = metrics_table(recommender)
        if not table.empty:
            emit(table, "table", title="\nValidation RMSE (lower is better):",
                 stream=sys.stdout)
