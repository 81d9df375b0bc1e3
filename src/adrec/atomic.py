"""Atomic file and folder writes: a reader sees the old content or the new, never half of one."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_directory(path: Path) -> None:
    """Flush a directory entry to disk where the platform allows it."""
    with contextlib.suppress(OSError):
        descriptor = os.open(path, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it over ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                                 dir=path.parent)
    except OSError as error:
        # Name the file the caller asked for, not the temporary one beside it.
        raise OSError(error.errno, f"cannot write {path}: {error.strerror}; choose a folder "
                                   "you can write to") from error
    os.close(descriptor)
    temporary_path = Path(temporary)
    try:
        yield temporary_path
        # mkstemp creates the file private (0600); give it the mode a plain open() would.
        os.chmod(temporary_path, 0o666 & ~_current_umask())
        with open(temporary_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary_path, path)
        _fsync_directory(path.parent)
    finally:
        temporary_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; swap it in for ``path`` only if the block succeeds.

    An existing folder at ``path`` is replaced. Between the two renames there is
    a moment when ``path`` does not exist, but never one when it is half written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield temporary
        # mkdtemp creates the folder private (0700). Give it and its files the usual modes,
        # so that another account, such as a model server, can read the result.
        mask = _current_umask()
        os.chmod(temporary, 0o777 & ~mask)
        for child in sorted(temporary.rglob("*")):
            if child.is_dir():
                os.chmod(child, 0o777 & ~mask)
                continue
            os.chmod(child, 0o666 & ~mask)
            with open(child, "rb") as handle:
                os.fsync(handle.fileno())
        if path.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            retired.rmdir()
            os.replace(path, retired)
            os.replace(temporary, path)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(temporary, path)
        _fsync_directory(path.parent)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
