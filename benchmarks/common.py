"""Helpers shared by the benchmark scripts: dataset paths, machine description, result pages."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch

REPOSITORY = Path(__file__).resolve().parent.parent


def data_root() -> Path:
    """Return the folder of the real datasets: $ADREC_DATA, else ../shared/data beside the repo."""
    return Path(os.environ.get("ADREC_DATA", REPOSITORY.parent / "shared" / "data"))


def machine_description() -> str:
    """Describe the machine a benchmark ran on, for the results page."""
    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, Python {platform.python_version()}, "
            f"torch {torch.__version__} ({torch.get_num_threads()} threads)")


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Format rows as a Markdown table with the given columns."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
