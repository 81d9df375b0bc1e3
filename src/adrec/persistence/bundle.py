"""The model bundle: a folder with weights, vocabularies, engaged pairs and a manifest.

Layout of a bundle folder::

    manifest.json          format version, configs, metrics, data summary, versions,
                           and the size and SHA-256 of every other file
    weights.safetensors    the model's tensors
    users.parquet          user IDs in index order, with their attributes
    interests.parquet      interest IDs in index order, with their attributes
    interactions.parquet   every engaged (user index, interest index, frequency) row

Nothing in it is pickled: loading reads JSON, safetensors and Parquet only, so
it cannot execute code. The whole folder is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from adrec._version import __version__
from adrec.atomic import atomic_directory
from adrec.errors import BundleError

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = "adrec-model-bundle"
BUNDLE_FORMAT_VERSION = 1
MANIFEST = "manifest.json"
WEIGHTS = "weights.safetensors"
USERS = "users.parquet"
INTERESTS = "interests.parquet"
INTERACTIONS = "interactions.parquet"


@dataclass
class BundleContents:
    """Everything a bundle stores, in memory.

    Attributes:
        manifest: JSON-ready metadata (configs, metrics, summaries).
        weights: the model's state dict.
        users: ``user_id`` column in index order, plus attribute columns.
        interests: ``interest_id`` column in index order, plus attribute columns.
        interactions: ``user_index``, ``interest_index``, ``frequency`` and
            ``validation`` (bool) columns, plus ``timestamp`` when known.
    """

    manifest: dict
    weights: dict[str, torch.Tensor]
    users: pd.DataFrame
    interests: pd.DataFrame
    interactions: pd.DataFrame
    checksums: dict = field(default_factory=dict)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame with text columns as Arrow strings, so IDs round-trip exactly."""
    columns = {}
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            columns[str(name)] = pa.array(values.to_numpy())
        else:
            columns[str(name)] = pa.array(
                [None if (isinstance(v, float) and np.isnan(v)) or v is None else str(v)
                 for v in values], type=pa.string())
    pq.write_table(pa.table(columns), path)


def check_bundle_destination(path: str | Path) -> None:
    """Raise :class:`BundleError` unless ``path`` is absent, an empty folder or a model bundle.

    Saving a bundle replaces whatever is at ``path`` as a whole, so a data folder
    or a file given there by mistake would be deleted.
    """
    path = Path(path)
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise BundleError(f"{path}: {parent} is a file, so no folder can be created "
                                  "there; choose another destination")
            if not os.access(parent, os.W_OK | os.X_OK):
                raise BundleError(f"{path}: {parent} is not writable; choose another destination")
            break
    if not path.exists():
        return
    if path.is_dir() and ((path / MANIFEST).is_file() or not any(path.iterdir())):
        return
    kind = "a folder that is not a model bundle" if path.is_dir() else "a file"
    raise BundleError(f"{path}: the destination is {kind}, which saving the bundle would replace. "
                      "Choose a new folder, an empty folder or an existing model bundle")


def save_bundle(path: str | Path, contents: BundleContents) -> Path:
    """Write a bundle folder atomically and return its path.

    An existing bundle at ``path`` is replaced only after the new one is
    completely written.
    """
    path = Path(path)
    check_bundle_destination(path)
    with atomic_directory(path) as folder:
        weights = {name: tensor.detach().cpu().contiguous() for name, tensor in contents.weights.items()}
        save_file(weights, str(folder / WEIGHTS), metadata={"format": BUNDLE_FORMAT})
        _write_parquet(contents.users, folder / USERS)
        _write_parquet(contents.interests, folder / INTERESTS)
        _write_parquet(contents.interactions, folder / INTERACTIONS)

        manifest = dict(contents.manifest)
        manifest.update({
            "format": BUNDLE_FORMAT,
            "format_version": BUNDLE_FORMAT_VERSION,
            "adrec_version": __version__,
            "torch_version": torch.__version__,
            "python_version": platform.python_version(),
            "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "files": {
                name: {"bytes": (folder / name).stat().st_size, "sha256": _sha256(folder / name)}
                for name in (WEIGHTS, USERS, INTERESTS, INTERACTIONS)
            },
        })
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                       encoding="utf-8")
    logger.info("saved model bundle to %s", path)
    return path


def read_manifest(path: str | Path) -> dict:
    """Read and check a bundle's manifest without loading the rest.

    Raises:
        BundleError: not a bundle, unreadable manifest, or unsupported version.
    """
    path = Path(path)
    if not path.exists():
        raise BundleError(f"{path}: no model bundle here; train one with 'adrec train DATA --out {path}'")
    if not path.is_dir():
        raise BundleError(f"{path}: a model bundle is a folder, but this is a file")
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{path}: not a model bundle ({MANIFEST} is missing)")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{manifest_path}: corrupted manifest ({error}); retrain or restore "
                          "the bundle from a backup") from error
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(f"{manifest_path}: not an adrec model bundle manifest")
    version = manifest.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"{path}: bundle format version {version!r} is not supported by adrec {__version__} "
            f"(which reads version {BUNDLE_FORMAT_VERSION}); use the adrec version that wrote it "
            f"({manifest.get('adrec_version', 'unknown')}) or retrain"
        )
    return manifest


def bundle_hash(manifest: dict) -> str:
    """Return a short identity of a bundle: a hash over the checksums of its files."""
    files = manifest.get("files", {})
    joined = "".join(f"{name}:{files[name]['sha256']}" for name in sorted(files))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def load_bundle(path: str | Path, verify: bool = True) -> BundleContents:
    """Load a bundle folder, checking every file's size and checksum first.

    Raises:
        BundleError: a file is missing, truncated, corrupted or unreadable.
    """
    path = Path(path)
    manifest = read_manifest(path)
    files = manifest.get("files")
    for name in (WEIGHTS, USERS, INTERESTS, INTERACTIONS):
        file_path = path / name
        expected = files.get(name) if isinstance(files, dict) else None
        if not (isinstance(expected, dict) and isinstance(expected.get("bytes"), int)
                and isinstance(expected.get("sha256"), str)):
            raise BundleError(f"{path / MANIFEST}: no valid size and checksum for {name}; the "
                              "manifest is damaged, retrain or restore the bundle")
        if not file_path.is_file():
            raise BundleError(f"{path}: {name} is missing; the bundle is incomplete, retrain or "
                              "restore it")
        size = file_path.stat().st_size
        if size != expected["bytes"]:
            raise BundleError(f"{file_path}: {size:,} bytes instead of {expected['bytes']:,}; "
                              "the file is truncated or was replaced, retrain or restore it")
        if verify and _sha256(file_path) != expected["sha256"]:
            raise BundleError(f"{file_path}: checksum mismatch; the file is corrupted, retrain or "
                              "restore it")

    try:
        weights = load_file(str(path / WEIGHTS))
        users = pq.read_table(path / USERS).to_pandas()
        interests = pq.read_table(path / INTERESTS).to_pandas()
        interactions = pq.read_table(path / INTERACTIONS).to_pandas()
    except (SafetensorError, pa.ArrowException, OSError) as error:
        raise BundleError(f"{path}: cannot read the bundle files ({error})") from error
    return BundleContents(manifest=manifest, weights=weights, users=users, interests=interests,
                          interactions=interactions)
