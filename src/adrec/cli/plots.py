"""PNG plots of command results, drawn with matplotlib's Agg canvas so that no window ever opens."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from adrec.atomic import atomic_file
from adrec.evaluation.selection import TuneResult, TuneRun

FIGURE_SIZE = (13.0, 5.0)
DPI = 110
# Beyond this many runs the learning-curve legend would cover the curves, so it is left out.
MAX_LEGEND_RUNS = 24


def _run_label(run: TuneRun, several_l2: bool) -> str:
    """Return the legend label of a run: its size, and its L2 weight when the grid has several."""
    return f"dim={run.dim}, l2={run.l2:g}" if several_l2 else f"dim={run.dim}"


def _metric_values(runs: list[TuneRun], name: str) -> list[float]:
    """Return one metric per run, NaN where it is missing, so that matplotlib leaves a gap."""
    return [float("nan") if run.metrics.get(name) is None else float(run.metrics[name]) for run in runs]


def _draw_sizes(axes, result: TuneResult) -> None:
    """Draw the criterion (and the training RMSE for RMSE runs) against the embedding size."""
    l2_values = sorted({run.l2 for run in result.runs})
    several_l2 = len(l2_values) > 1
    ranking = result.higher_is_better

    for color_index, l2 in enumerate(l2_values):
        color = f"C{color_index}"
        runs = sorted((run for run in result.runs if run.l2 == l2), key=lambda run: run.dim)
        dims = [run.dim for run in runs]
        suffix = f", l2={l2:g}" if several_l2 else ""
        if ranking:
            axes.plot(dims, _metric_values(runs, result.criterion), "o-", color=color,
                      label=f"validation NDCG@10{suffix}")
            continue
        axes.plot(dims, _metric_values(runs, result.criterion), "o-", color=color,
                  label=f"validation{suffix}")
        axes.plot(dims, _metric_values(runs, result.criterion.replace("validation", "train")), "s--",
                  color=color, alpha=0.6, label=f"training{suffix}")

    chosen = result.best_run
    axes.plot([chosen.dim], [chosen.score(result.criterion)], marker="*", markersize=18,
              color="crimson", linestyle="none", zorder=5,
              label=f"chosen: {_run_label(chosen, several_l2)}")
    axes.set_xscale("log", base=2)
    axes.set_xticks(sorted({run.dim for run in result.runs}))
    axes.set_xticklabels([str(dim) for dim in sorted({run.dim for run in result.runs})])
    axes.set_xlabel("embedding size (log2 scale)")
    if ranking:
        axes.set_ylabel("validation NDCG@10 (higher is better)")
        axes.set_title("Validation NDCG@10 by embedding size")
    else:
        scale = "log1p scale" if result.criterion.endswith("_target") else "input's units"
        axes.set_ylabel(f"RMSE, {scale} (lower is better)")
        axes.set_title("Training and validation RMSE by embedding size")
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize="small")


def _draw_curves(axes, result: TuneResult) -> None:
    """Draw each run's validation curve per epoch, the chosen run thicker."""
    several_l2 = len({run.l2 for run in result.runs}) > 1
    key = "validation_ndcg" if result.higher_is_better else "validation_rmse"

    for index, run in enumerate(result.runs):
        epochs = [record["epoch"] for record in run.history]
        values = [float("nan") if record.get(key) is None else record[key] for record in run.history]
        chosen = index == result.best
        axes.plot(epochs, values, marker=".", linewidth=2.8 if chosen else 1.2,
                  label=_run_label(run, several_l2) + (" (chosen)" if chosen else ""))

    axes.set_xlabel("epoch")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if result.higher_is_better:
        axes.set_ylabel("validation NDCG@10")
    else:
        transform = result.best_run.metrics.get("target_transform", "none")
        # Epoch records hold the RMSE of the training target, which is log(1 + frequency) for log1p.
        scale = "frequency" if transform == "none" else f"{transform}(frequency)"
        axes.set_ylabel(f"validation RMSE of {scale}")
    axes.set_title("Learning curves")
    axes.grid(True, alpha=0.3)
    if len(result.runs) <= MAX_LEGEND_RUNS:
        axes.legend(fontsize="x-small", ncol=2 if len(result.runs) > 8 else 1)


def plot_tuning(result: TuneResult, path: str | Path) -> Path:
    """Write a two-panel PNG of a search atomically and return its path.

    The left panel shows the criterion against the embedding size with the
    chosen run starred. For RMSE runs it also shows the training RMSE. The
    right panel shows every run's validation curve per epoch.
    """
    figure = Figure(figsize=FIGURE_SIZE, dpi=DPI)
    FigureCanvasAgg(figure)
    sizes_axes, curves_axes = figure.subplots(1, 2)

    _draw_sizes(sizes_axes, result)
    _draw_curves(curves_axes, result)
    figure.tight_layout()

    path = Path(path)
    with atomic_file(path) as temporary:
        # The temporary name ends in .tmp, so the format is named explicitly.
        figure.savefig(temporary, format="png")
    return path
