"""Handlers of the ``adrec`` subcommands: call the library, then print the result."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from adrec.atomic import atomic_directory, atomic_file
from adrec.cli.output import emit, frame_records
from adrec.data import InteractionData, load_data, load_sample, split_data
from adrec.data.split import COLD_SPLIT_COLUMNS
from adrec.data.synthetic import SyntheticSpec, write_synthetic
from adrec.errors import ConfigError, UnknownIDError
from adrec.evaluation import evaluate
from adrec.evaluation.cold_start import evaluate_cold_start
from adrec.export import export_audiences, export_embeddings, export_format, export_recommendations
from adrec.models import ModelConfig
from adrec.persistence import check_bundle_destination
from adrec.recommendation import Recommender, reference_configs
from adrec.training import TrainConfig, distributed

# (ModelConfig field, command-line option) pairs.
MODEL_OPTIONS = (("dim", "dim"), ("kind", "model_kind"), ("layers", "layers"),
                 ("activation", "activation"), ("dropout", "dropout"), ("attributes", "attributes"),
                 ("user_columns", "user_columns"), ("interest_columns", "interest_columns"),
                 ("max_attribute_values", "max_attribute_values"), ("user_id_dropout", "user_id_dropout"),
                 ("interest_id_dropout", "interest_id_dropout"))
TRAINING_OPTIONS = ("objective", "backend", "threads", "epochs", "batch_size", "optimizer",
                    "learning_rate", "l2", "confidence_weight", "unobserved_weight",
                    "validation_fraction", "patience", "target_transform", "refit", "seed", "device")


def say(text: str = "") -> None:
    """Print a line for people on stdout."""
    print(text, flush=True)


def configs_from_arguments(arguments: argparse.Namespace) -> tuple[ModelConfig, TrainConfig]:
    """Build the model and training configs from the defaults, ``--reference`` and explicit options."""
    model, training = reference_configs() if arguments.reference else (ModelConfig(), TrainConfig())
    model_changes = {name: getattr(arguments, option) for name, option in MODEL_OPTIONS
                     if getattr(arguments, option, None) is not None}
    if arguments.no_bias:
        model_changes["use_bias"] = False
    if getattr(arguments, "no_product", False):
        model_changes["use_product"] = False
    training_changes = {name: getattr(arguments, name) for name in TRAINING_OPTIONS
                        if getattr(arguments, name) is not None}
    try:
        return (dataclasses.replace(model, **model_changes),
                dataclasses.replace(training, **training_changes))
    except TypeError as error:
        raise ConfigError(str(error)) from error


def metrics_table(recommender: Recommender) -> pd.DataFrame:
    """Return the validation RMSE of a fit beside the global-mean and bias-only baselines."""
    metrics = recommender.metrics
    rows = []
    if metrics.get("validation_rmse_target") is not None and metrics["target_transform"] != "none":
        rows.append({"scale": f"{metrics['target_transform']}(frequency)",
                     "model_rmse": metrics["validation_rmse_target"],
                     "global_mean_rmse": metrics["baseline_global_mean_rmse_target"],
                     "bias_only_rmse": metrics.get("baseline_bias_only_rmse_target")})
    if metrics.get("validation_rmse") is not None:
        rows.append({"scale": "frequency", "model_rmse": metrics["validation_rmse"],
                     "global_mean_rmse": metrics["baseline_global_mean_rmse"],
                     "bias_only_rmse": metrics.get("baseline_bias_only_rmse")})
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["improvement"] = 1 - frame["model_rmse"] / frame["global_mean_rmse"]
        frame = frame.dropna(axis=1, how="all")
    return frame


def baseline_verdicts(recommender: Recommender) -> list[str]:
    """Say plainly which baselines the fit does not beat on its validation rows."""
    metrics = recommender.metrics
    suffix = "_target" if metrics.get("target_transform", "none") != "none" else ""
    checks = [("RMSE", f"validation_rmse{suffix}", f"baseline_global_mean_rmse{suffix}",
               "the global mean", True),
              ("RMSE", f"validation_rmse{suffix}", f"baseline_bias_only_rmse{suffix}",
               "user and interest biases alone", True),
              ("NDCG@10", "validation_ndcg@10", "baseline_most_popular_ndcg@10",
               "most-popular ranking", False)]
    verdicts = []
    for metric, ours_key, theirs_key, name, lower_is_better in checks:
        ours, theirs = metrics.get(ours_key), metrics.get(theirs_key)
        if ours is None or theirs is None:
            continue
        if (ours >= theirs) if lower_is_better else (ours <= theirs):
            hint = ("; --objective ials trains for ranking" if metric == "NDCG@10"
                    and recommender.predicts_frequency else "")
            verdicts.append(f"the model does not beat {name} on validation {metric} "
                            f"({ours:.4f} against {theirs:.4f}){hint}")
    return verdicts


def ranking_table(recommender: Recommender) -> pd.DataFrame:
    """Return the validation ranking metrics beside most-popular ranking."""
    metrics = recommender.metrics
    rows = []
    for name, label in (("ndcg@10", "NDCG@10"), ("recall@20", "recall@20")):
        if metrics.get(f"validation_{name}") is not None:
            rows.append({"metric": label, "model": metrics[f"validation_{name}"],
                         "most_popular": metrics.get(f"baseline_most_popular_{name}")})
    return pd.DataFrame(rows)


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
        say(f"  note: the validation figures were still improving at the last epoch; a larger "
            f"--epochs (now {limit}) or --learning-rate may give a better model")
    if metrics.get("refit_epochs"):
        say(f"Refitted on all {metrics['train_rows'] + metrics['validation_rows']:,} rows for "
            f"{metrics['refit_epochs']} epochs; the figures below are from the validated run.")
    table = metrics_table(recommender)
    if not table.empty:
        emit(table, "table", title="Validation RMSE (lower is better; improvement is the "
                                   "relative reduction against the global mean):")
    ranking = ranking_table(recommender)
    if not ranking.empty:
        emit(ranking, "table", title="Validation ranking, training interests excluded "
                                     "(higher is better):")
    for verdict in baseline_verdicts(recommender):
        say(f"  note: {verdict}")


def load_data_from_arguments(arguments: argparse.Namespace) -> InteractionData:
    """Load ``arguments.data`` with the data options of the command line."""
    return load_data(
        arguments.data, users=arguments.users, interests=arguments.interests,
        user_col=arguments.user_col, interest_col=arguments.interest_col,
        frequency_col=arguments.frequency_col, timestamp_col=arguments.timestamp_col,
        events=arguments.events, duplicates=arguments.duplicates, encoding=arguments.encoding,
    )


def run_demo(arguments: argparse.Namespace) -> None:
    """Train both model kinds on the embedded sample and show one user's history and recommendations.

    A frequency model (MSE) predicts how often the user engages with each interest
    in the history; a ranking model (implicit-feedback ALS) chooses the recommendations.
    """
    started = time.perf_counter()
    out = Path(arguments.out) if arguments.out else None
    if out is not None:
        if out.exists() and not out.is_dir():
            raise ConfigError(f"--out {out} is an existing file; give a folder for the two bundles")
        check_bundle_destination(out / "frequency")
        check_bundle_destination(out / "ranking")
    data = load_sample()
    # Check the user before training, so an unknown ID fails in a second instead of after training.
    data.users.index_of(arguments.user)
    print_data_report(data)

    # The sample contains heavy-tailed engagement counts, which log1p suits; the rest is default.
    say("\n1. Frequency model: MSE on log1p counts, predicts how often a user engages.")
    frequency_model = Recommender(ModelConfig(), TrainConfig(target_transform="log1p")).fit(
        data, progress=arguments.progress)
    print_fit_summary(frequency_model)
    say()
    emit(frequency_model.history(arguments.user, arguments.k), "table",
         title=f"User {arguments.user}: most frequented interests, actual and predicted")

    say("\n2. Ranking model: implicit-feedback ALS, ranks the interests a user has not engaged "
        "with.")
    ranking_model = Recommender(ModelConfig(), TrainConfig(objective="ials",
                                                           target_transform="log1p")).fit(
        data, progress=arguments.progress)
    print_fit_summary(ranking_model)
    say()
    emit(ranking_model.recommend(arguments.user, arguments.k), "table",
         title=f"User {arguments.user}: recommended interests not engaged with yet")

    if out is not None:
        frequency_model.save(out / "frequency")
        ranking_model.save(out / "ranking")
        say(f"\nSaved the model bundles to {out / 'frequency'} (history and predicted frequencies) "
            f"and {out / 'ranking'} (recommendations)")
    else:
        # Saving exercises the bundle writer, so a broken installation shows up here.
        with tempfile.TemporaryDirectory() as folder:
            frequency_model.save(Path(folder) / "frequency")
            ranking_model.save(Path(folder) / "ranking")
    say(f"\nDemo finished in {time.perf_counter() - started:.1f} s. Next: adrec train DATA "
        "--objective ials --out models/ads, then adrec recommend models/ads USER.")


def run_train(arguments: argparse.Namespace) -> None:
    """Load data, train, and save the bundle; the checkpoint is removed once it is saved."""
    model_config, train_config = configs_from_arguments(arguments)
    out = Path(arguments.out)
    check_bundle_destination(out)
    if distributed.launched_by_torchrun():
        try:
            _run_train_distributed(arguments, model_config, train_config, out)
        finally:
            distributed.shutdown()
        return
    data = load_data_from_arguments(arguments)
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


def _run_train_distributed(arguments: argparse.Namespace, model_config: ModelConfig,
                           train_config: TrainConfig, out: Path) -> None:
    """Train as one of several processes started by torchrun; process 0 saves and reports."""
    if train_config.objective != "mse":
        raise ConfigError(f"distributed training runs the mse objective; train {train_config.objective} "
                          "in one process (it is not launched by torchrun)")
    world = distributed.init_from_environment(train_config.device)
    data = load_data_from_arguments(arguments)
    # Only process 0 writes the checkpoint and the bundle, and prints.
    checkpoint = None
    if world.is_main:
        checkpoint = Path(arguments.checkpoint) if arguments.checkpoint \
            else out.with_name(out.name + ".checkpoint.safetensors")
    recommender = Recommender(model_config, train_config).fit(
        data, init_from=arguments.init_from, checkpoint_path=checkpoint,
        progress=arguments.progress if world.is_main else False)
    if not world.is_main:
        return
    recommender.metrics["distributed_processes"] = world.size
    recommender.save(out)
    if not arguments.checkpoint:
        checkpoint.unlink(missing_ok=True)
    if arguments.format == "table":
        say(f"Trained in {world.size} processes.")
        print_fit_summary(recommender)
        say(f"Saved the model bundle to {out}")
    else:
        emit(recommender.info(), arguments.format)


def run_history(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    beside = "actual and predicted" if recommender.predicts_frequency \
        else "actual frequency and the ranking model's score"
    emit(recommender.history(arguments.user, arguments.k), arguments.format,
         title=f"User {arguments.user}: most frequented interests, {beside}")


def run_recommend(arguments: argparse.Namespace) -> None:
    if arguments.attribute and not arguments.fallback:
        raise ConfigError("--attribute only applies with --fallback, to describe a user the model "
                          "does not know; add --fallback or drop --attribute")
    recommender = Recommender.load(arguments.model)
    if not arguments.fallback and arguments.user not in recommender.users:
        raise UnknownIDError("user", arguments.user, len(recommender.users),
                             hint="pass --fallback for the most popular interests instead")
    result = recommender.recommend(arguments.user, arguments.k,
                                   exclude_seen=not arguments.include_seen,
                                   fallback=arguments.fallback,
                                   attributes=attribute_map(arguments.attribute) or None)
    if "fallback" in result.attrs:
        print(f"adrec: note: fallback {result.attrs['fallback']}: {result.attrs['reason']}",
              file=sys.stderr)
        if arguments.format == "json":
            # JSON readers get the flag in the document itself, beside the list.
            emit({"fallback": result.attrs["fallback"], "reason": result.attrs["reason"],
                  "recommendations": frame_records(result)}, "json")
        else:
            source = "scored from attributes" if result.attrs["fallback"] == "attributes" \
                else "popular interests"
            emit(result, arguments.format, title=f"User {arguments.user}: {source} (fallback)")
        return
    listing = "ranked interests" if arguments.include_seen else \
        "recommended interests not engaged with yet"
    emit(result, arguments.format, title=f"User {arguments.user}: {listing}")


def run_audience(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    if arguments.attribute:
        if arguments.interest in recommender.interests:
            raise ConfigError(f"interest {arguments.interest!r} is known to the model; --attribute "
                              "describes a new interest, so drop it")
        result = recommender.audience_new_interest(attribute_map(arguments.attribute), arguments.k)
        reason = f"interest {arguments.interest!r} is new, {result.attrs['reason']}"
        print(f"adrec: note: fallback attributes: {reason}", file=sys.stderr)
        if arguments.format == "json":
            emit({"fallback": "attributes", "reason": reason, "audience": frame_records(result)},
                 "json")
            return
        emit(result, arguments.format,
             title=f"New interest {arguments.interest}: the users most likely to engage")
        return
    result = recommender.audience(arguments.interest, arguments.k,
                                  exclude_engaged=not arguments.include_engaged)
    who = "users" if arguments.include_engaged else "users who have not engaged with it yet"
    emit(result, arguments.format,
         title=f"Interest {arguments.interest}: audience, the {who} most likely to engage")


def run_similar(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    if arguments.users:
        result = recommender.similar_users(arguments.id, arguments.k)
        title = f"User {arguments.id}: most similar users (cosine of embeddings)"
    else:
        result = recommender.similar_interests(arguments.id, arguments.k)
        title = f"Interest {arguments.id}: most similar interests (cosine of embeddings)"
    emit(result, arguments.format, title=title)


def run_export(arguments: argparse.Namespace) -> None:
    export_format(arguments.out)  # reject a bad extension before loading the model
    recommender = Recommender.load(arguments.model)
    started = time.perf_counter()
    if arguments.kind == "recommendations":
        rows = export_recommendations(recommender, arguments.out, arguments.k or 20,
                                      progress=arguments.progress)
    elif arguments.kind == "audiences":
        rows = export_audiences(recommender, arguments.out, arguments.k or 1000,
                                progress=arguments.progress)
    else:
        rows = export_embeddings(recommender, arguments.out, progress=arguments.progress)
    say(f"Wrote {rows:,} rows of {arguments.kind} to {arguments.out} in "
        f"{time.perf_counter() - started:.1f} s.")


def run_predict(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    if arguments.attribute:
        if arguments.user in recommender.users:
            raise ConfigError(f"user {arguments.user!r} is known to the model; --attribute "
                              "describes a new user, so drop it")
        value = float(recommender.predict_new_user(attribute_map(arguments.attribute),
                                                      [arguments.interest])[0])
        reason = f"user {arguments.user!r} is new, scored from its attributes"
        print(f"adrec: note: fallback attributes: {reason}", file=sys.stderr)
    else:
        value = recommender.predict(arguments.user, arguments.interest)
        reason = None
    row = pd.DataFrame([{"user_id": arguments.user, "interest_id": arguments.interest,
                         recommender.score_column: value}])
    if reason is not None and arguments.format == "json":
        emit({"fallback": "attributes", "reason": reason, "predictions": frame_records(row)},
             "json")
        return
    if arguments.format == "table":
        # A ranking model's output is a score for ordering interests, not a frequency.
        say(f"{value:.4f}" if recommender.predicts_frequency
            else f"{value:.4f} (ranking score, not a frequency)")
    else:
        emit(row, arguments.format)


def run_info(arguments: argparse.Namespace) -> None:
    recommender = Recommender.load(arguments.model)
    info = recommender.info()
    emit(info, arguments.format)
    if arguments.format == "table":
        table = metrics_table(recommender)
        if not table.empty:
            emit(table, "table", title="\nValidation RMSE (lower is better):",
                 stream=sys.stdout)
        ranking = ranking_table(recommender)
        if not ranking.empty:
            emit(ranking, "table", title="\nValidation ranking, training interests excluded "
                                         "(higher is better):", stream=sys.stdout)


def run_split(arguments: argparse.Namespace) -> None:
    """Split a dataset and write OUT/train and OUT/test as CSV folders."""
    out = Path(arguments.out)
    check_output_path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"{out} already exists and is not an empty folder; choose a new folder")
    data = load_data_from_arguments(arguments)
    train, test, report = split_data(data, arguments.method, test_fraction=arguments.test_fraction,
                                     seed=arguments.seed, n=arguments.n, cutoff=arguments.cutoff)
    write_split(out, train, test)

    summary = report.to_dict()
    if arguments.format != "table":
        emit(summary, arguments.format)
        return
    share = report.test_rows / len(data)
    say(f"Split {len(data):,} rows ({arguments.method}): {report.train_rows:,} for training in "
        f"{out / 'train'}, {report.test_rows:,} ({share:.1%}) held out in {out / 'test'}.")
    if report.cutoff is not None:
        moment = pd.Timestamp(report.cutoff, unit="s", tz="UTC")
        say(f"  Cutoff: {moment:%Y-%m-%d %H:%M:%S} UTC ({report.cutoff}); rows at or after it are "
            "held out, ties included.")
    if arguments.method in COLD_SPLIT_COLUMNS:
        side = arguments.method.removeprefix("cold-")
        say(f"  {report.cold_users:,} of the {report.test_users:,} held-out users and "
            f"{report.cold_interests:,} of the {report.test_interests:,} held-out interests do not "
            "occur in the training part. A hybrid model scores them from their attributes.")
        say(f"Next: adrec train {out / 'train'} --model hybrid --out MODEL, then adrec evaluate "
            f"MODEL {out / 'test'} --cold {side}")
        return
    elif report.cold_rows:
        say(f"  note: {report.cold_rows:,} held-out rows have a user or interest that is not in "
            f"the training part ({report.cold_users:,} distinct users and "
            f"{report.cold_interests:,} distinct interests). A model trained on that part cannot "
            "score them, so adrec evaluate counts them separately.")
    say(f"Next: adrec train {out / 'train'} --out MODEL, then adrec evaluate MODEL {out / 'test'}")


def attribute_map(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """Return the ``--attribute NAME=VALUE`` pairs as a mapping; a repeated name raises ConfigError."""
    attributes: dict[str, str] = {}
    for name, value in pairs:
        if name in attributes:
            raise ConfigError(f"--attribute {name} is given twice ({attributes[name]!r} and "
                              f"{value!r}); give each attribute once")
        attributes[name] = value
    return attributes


def check_output_path(path: Path) -> None:
    """Raise :class:`ConfigError` before any work when a folder above ``path`` is a file."""
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"cannot write {path}: {parent} is a file, not a folder")


def write_split(out: Path, train: InteractionData, test: InteractionData) -> None:
    """Write the two parts as dataset folders, all at once or not at all."""
    def attributes(table: pd.DataFrame, id_column: str) -> pd.DataFrame:
        return table.rename_axis(id_column).reset_index()

    with atomic_directory(out) as folder:
        # Both parts get the attribute tables: evaluating cold start reads the held-out
        # users' and interests' attributes from the test folder.
        for name, part in (("train", train), ("test", test)):
            (folder / name).mkdir()
            part.to_frame().to_csv(folder / name / "frequency.csv", index=False)
            if len(part.user_attributes.columns):
                attributes(part.user_attributes, "user_id").to_csv(folder / name / "users.csv",
                                                                   index=False)
            if len(part.interest_attributes.columns):
                attributes(part.interest_attributes, "interest_id").to_csv(
                    folder / name / "interests.csv", index=False)


def run_evaluate(arguments: argparse.Namespace) -> None:
    """Evaluate a bundle on held-out rows beside the baselines; print and optionally save JSON."""
    if arguments.json:
        check_output_path(Path(arguments.json))
    recommender = Recommender.load(arguments.model)
    test = load_data_from_arguments(arguments)
    if arguments.cold:
        report = evaluate_cold_start(recommender, test, arguments.cold, ks=tuple(arguments.k),
                                     relevant_min=arguments.relevant_min)
    else:
        report = evaluate(recommender, test, ks=tuple(arguments.k),
                          relevant_min=arguments.relevant_min, baselines=not arguments.no_baselines)
    if arguments.json:
        with atomic_file(Path(arguments.json)) as temporary:
            temporary.write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")

    if arguments.format == "json":
        emit(report.to_dict(), "json")
        return
    counts = report.counts
    if arguments.cold:
        side = arguments.cold
        summary = (f"Held-out rows: {counts['test_rows']:,}; scored from attributes: "
                   f"{counts['scored_rows']:,}, of {counts[f'new_{side}']:,} new {side}; "
                   f"{side} ranked: {counts[f'new_{side}_with_relevant']:,}.")
    else:
        summary = (f"Held-out rows: {counts['test_rows']:,}; scored: {counts['scored_rows']:,}; "
                   f"with an unknown user or interest: {counts['unknown_rows']:,} (distinct "
                   f"unknown users: {counts['unknown_users']:,}, interests: "
                   f"{counts['unknown_interests']:,}). Users ranked: {counts['users_ranked']:,}.")
    comments = [f"note: {note}" for note in report.notes] + report.verdicts
    if arguments.format == "csv":
        # stdout carries the table, so the sentences go to stderr.
        emit(report.to_frame(), "csv")
        for line in [summary, *comments]:
            print(f"adrec: {line}", file=sys.stderr)
        return

    say(summary)
    title = "Model and baselines" if len(report.rows) > 1 else "Model"
    emit(report.to_frame(), "table", title=f"{title} (RMSE and MAE: lower is better; ranking "
                                           "metrics: higher is better):")
    for line in comments:
        say(f"  {line}")
    if arguments.json:
        say(f"Wrote {arguments.json}")


def run_generate(arguments: argparse.Namespace) -> None:
    """Write a synthetic dataset folder and print what it holds."""
    out = Path(arguments.out)
    check_output_path(out)
    if out.exists():
        raise ConfigError(f"{out} already exists; choose a new folder")
    spec = SyntheticSpec(rows=arguments.rows, users=arguments.users, interests=arguments.interests,
                         segments=arguments.segments, affinity=arguments.affinity,
                         seed=arguments.seed)
    started = time.perf_counter()
    progress = sys.stderr.isatty() if arguments.progress is None else arguments.progress
    report = write_synthetic(out, spec, progress=progress)
    if arguments.format != "table":
        emit(report.to_dict(), arguments.format)
        return
    say(f"Wrote {report.rows:,} rows ({report.users_with_rows:,} users, "
        f"{report.interests_with_rows:,} interests; {report.in_segment_share:.0%} of rows in the "
        f"user's own segment) to {out} in {time.perf_counter() - started:.1f} s.")
    say(f"Next: adrec split {out} SPLITS, or adrec train {out} --out MODEL")


def run_serve(arguments: argparse.Namespace) -> None:
    """Load the bundle and serve it with uvicorn until interrupted."""
    import torch
    import uvicorn

    from adrec.server import check_exposure, create_app

    token = arguments.admin_token or os.environ.get("ADREC_ADMIN_TOKEN") or None
    if not arguments.quiet:
        # One line per request and per error, with the IDs in the path or body.
        logging.getLogger("adrec.server").setLevel(logging.INFO)
    check_exposure(arguments.host, token)
    torch.set_num_threads(arguments.torch_threads)
    app = create_app(arguments.model, admin_token=token)
    identity = app.state.holder.current.identity
    print(f"adrec: serving {arguments.model} (bundle {identity['bundle_hash']}, "
          f"{identity['users']:,} users, {identity['interests']:,} interests) on "
          f"http://{arguments.host}:{arguments.port}", file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="warning",
                    access_log=False)
    except SystemExit as stop:
        # uvicorn exits with its own codes when it cannot start, for example on a port in use.
        if stop.code not in (0, None):
            raise ConfigError(f"the server could not start on {arguments.host}:{arguments.port} "
                              "(see the message above); choose another --port") from None
    print("adrec: server stopped", file=sys.stderr)
