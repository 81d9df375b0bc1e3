"""Bulk exports for ad platforms: every user's recommendations, every interest's audience, embeddings.

Each export streams chunks from the recommender into one Parquet or CSV file
(chosen by the file's extension), so memory is bounded by one chunk. The file is
written under a temporary name and renamed when complete, so a crash leaves no
half-written file under the final name.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from tqdm.auto import tqdm

from adrec.atomic import atomic_file
from adrec.errors import ConfigError
from adrec.recommendation import Recommender

logger = logging.getLogger(__name__)

EXPORT_KINDS = ("recommendations", "audiences", "embeddings")
EXPORT_SUFFIXES = (".parquet", ".csv")
EMBEDDING_CHUNK_ROWS = 65536


def export_format(path: str | Path) -> str:
    """Return ``parquet`` or ``csv`` from the file's extension.

    Raises:
        ConfigError: the extension is neither.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in EXPORT_SUFFIXES:
        raise ConfigError(f"{path}: unsupported export file type "
                          f"{repr(suffix) if suffix else '(no extension)'}; name the file .parquet "
                          "or .csv")
    return suffix[1:]


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path, total: int | None = None,
                 unit: str = "rows", progress: bool | None = None) -> int:
    """Write frames of equal columns to one Parquet or CSV file atomically and return the row count.

    ``total`` and ``unit`` describe the progress bar, which advances by each
    frame's ``len`` unless the frame carries ``attrs["units"]``.
    """
    path = Path(path)
    fmt = export_format(path)
    show = sys.stderr.isatty() if progress is None else progress
    rows = 0
    with atomic_file(path) as temporary, open(temporary, "wb") as handle, \
            tqdm(total=total, unit=unit, desc=f"exporting {path.name}", disable=not show,
                 file=sys.stderr) as bar:
        writer = None
        try:
            for frame in frames:
                if fmt == "parquet":
                    table = pa.Table.from_pandas(frame, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(handle, table.schema)
                    writer.write_table(table)
                else:
                    handle.write(frame.to_csv(index=False, header=rows == 0,
                                              lineterminator="\n").encode("utf-8"))
                rows += len(frame)
                bar.update(frame.attrs.get("units", len(frame)))
        finally:
            # The writer ends the Parquet file; on failure the temporary file is discarded anyway.
            if writer is not None:
                writer.close()
        if writer is None and fmt == "parquet":
            raise ConfigError(f"{path}: nothing to export, because the model has no rows of this "
                              "kind; check the model bundle")
    logger.info("wrote %s rows to %s", f"{rows:,}", path)
    return rows


def _counted(frames: Iterator[pd.DataFrame], key: str) -> Iterator[pd.DataFrame]:
    """Mark each frame with the number of distinct ``key`` values it covers, for the progress bar."""
    for frame in frames:
        frame.attrs["units"] = frame[key].nunique()
        yield frame


def export_recommendations(recommender: Recommender, path: str | Path, k: int = 20,
                           progress: bool | None = None) -> int:
    """Write every user's top ``k`` interests not engaged with yet; return the row count."""
    frames = _counted(recommender.recommend_batches(k=k), "user_id")
    return write_frames(frames, path, total=len(recommender.users), unit="users", progress=progress)


def export_audiences(recommender: Recommender, path: str | Path, k: int = 1000,
                     progress: bool | None = None) -> int:
    """Write every interest's ``k`` likeliest users who have not engaged with it; return the row count."""
    frames = _counted(recommender.audience_batches(k=k), "interest_id")
    return write_frames(frames, path, total=len(recommender.interests), unit="interests",
                        progress=progress)


def embedding_frames(recommender: Recommender) -> Iterator[pd.DataFrame]:
    """Yield the user, then the interest vectors: ``kind``, ``id``, ``bias`` (if any), ``e0``..."""
    model = recommender.model
    # Hybrid models' vectors include their attribute parts, so their dot products hold.
    with torch.no_grad():
        sides = (("user", recommender.users, *model.user_vectors()),
                 ("interest", recommender.interests, *model.interest_vectors()))
    for kind, vocabulary, vectors, bias in sides:
        weights = vectors.detach().cpu().numpy()
        biases = None if bias is None else bias.detach().cpu().numpy()
        for start in range(0, len(vocabulary), EMBEDDING_CHUNK_ROWS):
            stop = min(start + EMBEDDING_CHUNK_ROWS, len(vocabulary))
            frame = pd.DataFrame({"kind": np.full(stop - start, kind),
                                  "id": vocabulary.ids[start:stop]})
            if biases is not None:
                frame["bias"] = biases[start:stop]
            columns = [f"e{i}" for i in range(weights.shape[1])]
            block = pd.DataFrame(weights[start:stop], columns=columns)
            yield pd.concat([frame, block], axis=1)


def export_embeddings(recommender: Recommender, path: str | Path,
                      progress: bool | None = None) -> int:
    """Write every user and interest vector with its ID; return the row count."""
    return write_frames(embedding_frames(recommender), path,
                        total=len(recommender.users) + len(recommender.interests), progress=progress)
