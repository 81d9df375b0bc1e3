"""The ``adrec tune`` subcommand: one model per embedding size, the best kept, and a plot."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from adrec.atomic import atomic_file
from adrec.cli.commands import (
    check_output_path,
    configs_from_arguments,
    load_data_from_arguments,
    print_data_report,
    say,
)
from adrec.cli.output import FORMATS, emit
from adrec.errors import ConfigError
from adrec.evaluation.selection import NDCG_CRITERION, TuneResult, TuneRun, selection_criterion, tune
from adrec.persistence import check_bundle_destination

RESULT_FILE = "tune.json"
PLOT_FILE = "tune.png"

DESCRIPTION = """\
Train one model per embedding size (and per L2 weight when --l2 lists several), all
with the same seed and validation rows, and choose the run with the lowest validation
RMSE. Models trained with the ials objective output ranking scores, so for them the
highest validation NDCG@10 wins. Prints one row per run, writes OUT_DIR/tune.json
(every run, the choice and the settings) and OUT_DIR/tune.png (RMSE against embedding
size, and each run's learning curve), and with --out saves the chosen model as a bundle.

examples:
  adrec tune data/ --dims 8,16,32,64,128,256 --out-dir tuning/
  adrec tune data/ --dims 16,32,64 --l2 0.05,0.1 --out-dir tuning/ --out models/ads
  adrec tune data/ --dims 8,16,32,64,128,256 --time-budget 600 --epochs 20 --out-dir tuning/
"""


def dim_list(text: str) -> list[int]:
    """Parse ``--dims``, distinct positive integers separated by commas, or raise argparse's usage error."""
    dims = []
    for part in text.split(","):
        part = part.strip()
        try:
            dim = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid embedding size {part!r} in {text!r}; give positive integers separated "
                "by commas, such as 8,16,32") from None
        if dim < 1:
            raise argparse.ArgumentTypeError(
                f"invalid embedding size {dim} in {text!r}; every size must be at least 1")
        if dim in dims:
            raise argparse.ArgumentTypeError(f"embedding size {dim} is listed twice in {text!r}")
        dims.append(dim)
    return dims


def l2_list(text: str) -> list[float]:
    """Parse the tune ``--l2``, distinct finite numbers >= 0 separated by commas."""
    values = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid L2 weight {part!r} in {text!r}; give numbers >= 0 separated by commas, "
                "such as 0.05,0.1") from None
        if not (math.isfinite(value) and value >= 0):
            raise argparse.ArgumentTypeError(
                f"invalid L2 weight {part!r} in {text!r}; every weight must be a finite number >= 0")
        if value in values:
            raise argparse.ArgumentTypeError(f"L2 weight {part} is listed twice in {text!r}")
        values.append(value)
    return values


def positive_seconds(text: str) -> float:
    """Parse ``--time-budget``, a finite number of seconds > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, got {text!r}")
    return value


def add_tune_parser(subcommands, add_data_options, add_training_options) -> None:
    """Register ``adrec tune`` on the subcommand parsers.

    The parser uses argparse's ``resolve`` conflict handler, so the tune
    ``--dims`` and list-valued ``--l2`` replace the single-valued ``--dim`` and
    ``--l2`` that ``add_training_options`` adds.
    """
    parser = subcommands.add_parser(
        "tune", help="train one model per embedding size and keep the best",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        conflict_handler="resolve")
    parser.add_argument("data", metavar="DATA", help="dataset folder or frequency table file")
    add_data_options(parser)
    add_training_options(parser)

    group = parser.add_argument_group("search")
    group.add_argument("--dims", "--dim", type=dim_list, required=True, metavar="SIZES",
                       help="embedding sizes to try, separated by commas, such as 8,16,32,64, run "
                            "in the order given")
    group.add_argument("--l2", type=l2_list, dest="l2_values", metavar="WEIGHTS",
                       help="L2 penalty weights to cross with the sizes, separated by commas "
                            "(default: the weight adrec train uses with the same options)")
    group.add_argument("--out-dir", required=True, metavar="DIR",
                       help="folder for tune.json and tune.png, created if missing")
    group.add_argument("--out", metavar="BUNDLE", help="also save the chosen model as a bundle folder")
    group.add_argument("--time-budget", type=positive_seconds, metavar="SECONDS",
                       help="start no new run after this many seconds. A run already started "
                            "finishes (default: no limit)")
    group.add_argument("--format", choices=FORMATS, default="table",
                       help="output format of the runs: an aligned table for people, csv or json "
                            "for scripts (default: table)")
    # configs_from_arguments reads the single-valued dim and l2, which the grid replaces.
    parser.set_defaults(handler=run_tune, dim=None, l2=None)


def prepare_out_dir(path: Path) -> Path:
    """Create the output folder if it is missing, or raise :class:`ConfigError` if the path is a file."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out-dir {path} is an existing file, not a folder; give a folder path")
    check_output_path(path)
    path.mkdir(parents=True, exist_ok=True)
    return path


def _describe_metric(run: TuneRun, criterion: str) -> str:
    """Return ``name=value`` of the criterion for a progress line."""
    value = run.score(criterion)
    return f"{criterion}={'n/a' if value is None else f'{value:.4f}'}"


def _progress_printer(total: int, criterion: str, quiet: bool):
    """Return an ``on_run`` callback that writes one line per finished run to stderr."""
    finished = 0

    def report(run: TuneRun) -> None:
        nonlocal finished
        finished += 1
        if quiet:
            return
        print(f"adrec: run {finished}/{total}: dim={run.dim} l2={run.l2:g}: "
              f"{_describe_metric(run, criterion)}, best epoch {run.metrics.get('best_epoch')}, "
              f"{run.seconds:.1f} s", file=sys.stderr, flush=True)

    return report


def _choice_sentence(result: TuneResult) -> str:
    """Return the sentence that names the chosen run and the rule behind the choice."""
    chosen = result.best_run
    value = chosen.score(result.criterion)
    run = f"Chosen: dim={chosen.dim}, l2={chosen.l2:g}"
    if result.criterion == NDCG_CRITERION:
        return (f"{run}, with the highest validation NDCG@10 ({value:.4f}). ials models output "
                "ranking scores, not frequencies, so NDCG@10 decides.")
    scale = "on the log1p scale the model trains on" if result.criterion.endswith("_target") \
        else "in the input's units"
    return f"{run}, with the lowest validation RMSE ({value:.4f} {scale})."


def _skipped_sentence(result: TuneResult, budget: float | None) -> str | None:
    """Return the sentence that lists the runs the time budget skipped, or None."""
    if not result.skipped:
        return None
    runs = ", ".join(f"dim={dim} l2={l2:g}" for dim, l2 in result.skipped)
    count = len(result.skipped)
    return f"Skipped {count} run{'' if count == 1 else 's'} after the {budget:g} s time budget: {runs}."


def _print_result(result: TuneResult, arguments: argparse.Namespace, files: list[Path]) -> None:
    """Print the runs in the chosen format.

    With csv and json, stdout carries only the data, and the sentences go to stderr.
    """
    frame = result.to_frame()
    lines = [_choice_sentence(result), _skipped_sentence(result, arguments.time_budget),
             _still_improving_sentence(result),
             f"Wrote {' and '.join(str(path) for path in files)}."]
    if arguments.out:
        lines.append(f"Saved the chosen model bundle to {arguments.out}.")
    lines = [line for line in lines if line]

    if arguments.format == "table":
        frame["chosen"] = frame["chosen"].map({True: "*", False: ""})
        emit(frame, "table", title="\nRuns (* marks the chosen run):")
        for line in lines:
            say(line)
        return

    emit(frame if arguments.format == "csv" else result.to_dict(), arguments.format)
    if not arguments.quiet:
        for line in lines:
            print(f"adrec: {line}", file=sys.stderr)


def _still_improving_sentence(result: TuneResult) -> str | None:
    """Warn when runs were still improving at the epoch limit, which makes sizes hard to compare."""
    limit = result.settings["training"]["epochs"]
    improving = [run for run in result.runs if run.metrics.get("best_epoch") == limit]
    if not improving or limit <= 1:
        return None
    sizes = ", ".join(f"dim={run.dim}" for run in improving)
    return (f"Note: {len(improving)} of {len(result.runs)} runs ({sizes}) were still improving at "
            f"the last epoch ({limit}), so the sizes are compared before convergence; a larger "
            "--epochs makes the comparison fairer.")


def write_result(result: TuneResult, path: Path) -> Path:
    """Write ``result.to_dict()`` as JSON atomically and return the path."""
    with atomic_file(path) as temporary, open(temporary, "w", encoding="utf-8") as handle:
        emit(result.to_dict(), "json", stream=handle)
    return path


def run_tune(arguments: argparse.Namespace) -> None:
    """Load data, run the search, print the runs, write tune.json and tune.png, and save the choice."""
    # matplotlib takes a moment to import, so only this command pays for it.
    from adrec.cli.plots import plot_tuning

    model_config, train_config = configs_from_arguments(arguments)
    out_dir = prepare_out_dir(Path(arguments.out_dir))
    if arguments.out:
        check_bundle_destination(Path(arguments.out))

    data = load_data_from_arguments(arguments)
    if arguments.format == "table":
        print_data_report(data, notes=not arguments.quiet)
    l2_count = 1 if arguments.l2_values is None else len(arguments.l2_values)
    total = len(arguments.dims) * l2_count
    criterion = selection_criterion(train_config)

    result = tune(data, model_config, train_config, arguments.dims, l2_values=arguments.l2_values,
                  time_budget=arguments.time_budget, progress=arguments.progress,
                  on_run=_progress_printer(total, criterion, arguments.quiet))

    files = [write_result(result, out_dir / RESULT_FILE), plot_tuning(result, out_dir / PLOT_FILE)]
    if arguments.out:
        result.best_recommender.save(arguments.out)
    _print_result(result, arguments, files)
