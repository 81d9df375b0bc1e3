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
            f"torch {torch.__version__} ({torch.get_num_threads()} "
            f"thread{'s' if torch.get_num_threads() != 1 else ''})")


def markdown_table(rows: list[dict], columns: list[str]) -> str:
    """Format rows as a Markdown table with the given columns."""
    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:.4f}"
        return str(value)

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
    return "\n".join(lines)


RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTION_START = "<!-- section: {} -->"
SECTION_END = "<!-- end of section: {} -->"


def write_section(title: str, body: str, path: Path = RESULTS) -> Path:
    """Replace (or append) one benchmark's section of the results page, keeping the others.

    Each benchmark script owns one section, so scripts can be rerun one at a time.
    """
    start, end = SECTION_START.format(title), SECTION_END.format(title)
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    section = f"{start}\n## {title}\n\n{body.strip()}\n{end}"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text, encoding="utf-8")
    return path
