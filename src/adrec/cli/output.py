"""Printing results as tables for people, or CSV and JSON for scripts."""

from __future__ import annotations

import json
import math
import sys
from typing import TextIO

import numpy as np
import pandas as pd

FORMATS = ("table", "csv", "json")


def _json_default(value):
    """Convert numpy scalars and other stragglers for ``json.dumps``."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _clean_for_json(value):
    """Replace NaN and infinities, which JSON cannot carry, with null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean_for_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_for_json(v) for v in value]
    return value


def frame_records(frame: pd.DataFrame) -> list[dict]:
    """Return a frame's rows as dicts of plain Python values, IDs staying strings."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    return _clean_for_json(json.loads(json.dumps(records, default=_json_default)))


def format_table(frame: pd.DataFrame) -> str:
    """Render a frame as an aligned text table, without the index."""
    if frame.empty:
        return "(no rows)"
    formatted = frame.copy()
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(lambda v: "" if pd.isna(v) else f"{v:,.3f}")
        else:
            # Missing attributes (an ID absent from the users or interests table) print empty.
            formatted[column] = formatted[column].astype(object).where(formatted[column].notna(), "")
    with pd.option_context("display.max_colwidth", 48, "display.width", 200):
        return formatted.to_string(index=False)


def format_mapping(mapping: dict, indent: int = 0) -> str:
    """Render nested key/value data as indented lines."""
    lines = []
    pad = "  " * indent
    for key, value in mapping.items():
        if isinstance(value, dict):
            lines.append(f"{pad}{key}:")
            lines.append(format_mapping(value, indent + 1))
        elif isinstance(value, float):
            lines.append(f"{pad}{key}: {value:.6g}")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"{pad}{key}: {len(value)} entries")
        else:
            lines.append(f"{pad}{key}: {value}")
    return "\n".join(line for line in lines if line)


def emit(result: pd.DataFrame | dict, fmt: str, *, title: str | None = None,
         stream: TextIO | None = None) -> None:
    """Write a frame or a mapping to ``stream`` (stdout) in ``fmt``."""
    stream = stream or sys.stdout
    if fmt == "json":
        payload = frame_records(result) if isinstance(result, pd.DataFrame) \
            else _clean_for_json(json.loads(json.dumps(result, default=_json_default)))
        stream.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    elif fmt == "csv":
        if isinstance(result, pd.DataFrame):
            result.to_csv(stream, index=False, lineterminator="\n")
        else:
            flat = pd.json_normalize(_clean_for_json(
                json.loads(json.dumps(result, default=_json_default))), sep=".")
            flat.T.reset_index().set_axis(["key", "value"], axis=1).to_csv(
                stream, index=False, lineterminator="\n")
    else:
        if title:
            stream.write(f"{title}\n")
        text = format_table(result) if isinstance(result, pd.DataFrame) else format_mapping(result)
        stream.write(text + "\n")
    stream.flush()
