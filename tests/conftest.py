"""Shared fixtures: small synthetic datasets and the location of the real datasets.

The real datasets (MovieLens 100K, Last.fm HetRec 2K) are found in $ADREC_DATA,
by default ../shared/data beside the repository. Tests marked ``realdata`` are
skipped when the files are absent, unless ADREC_REQUIRE_DATA=1 (as in CI), which
turns a missing dataset into a failure.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPOSITORY = Path(__file__).resolve().parent.parent
DATA_ROOT = Path(os.environ.get("ADREC_DATA", REPOSITORY.parent / "shared" / "data"))
REQUIRE_DATA = os.environ.get("ADREC_REQUIRE_DATA") == "1"


def _dataset(name: str, marker_file: str) -> Path:
    path = DATA_ROOT / name
    if not (path / marker_file).is_file():
        message = f"{name} not found at {path} (set ADREC_DATA to the folder holding it)"
        if REQUIRE_DATA:
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def movielens_path() -> Path:
    """Folder of MovieLens 100K (u.data, u.item, u.user)."""
    return _dataset("ml-100k", "u.data")


@pytest.fixture(scope="session")
def lastfm_path() -> Path:
    """Folder of Last.fm HetRec 2K (user_artists.dat, artists.dat)."""
    return _dataset("lastfm-2k", "user_artists.dat")


def two_group_frame(users_per_group: int = 20, interests_per_group: int = 6,
                    seed: int = 0) -> pd.DataFrame:
    """Build frequency rows where two user groups prefer disjoint interest groups.

    Every user engages often (frequency 6 to 9) with all interests of their own
    group but one, and rarely (frequency 1) with half of the other group's
    interests. A model that learns the structure ranks the one missing
    interest of the user's own group first among the interests not engaged with.
    User IDs start with the group digit ("0003" is in group a, "1003" in group b);
    interest IDs with the group letter ("a02", "b05").
    """
    generator = np.random.default_rng(seed)
    rows = []
    groups = [[f"{prefix}{i:02d}" for i in range(interests_per_group)] for prefix in ("a", "b")]
    for group, interests in enumerate(groups):
        others = groups[1 - group]
        for user in range(users_per_group):
            user_id = f"{group}{user:03d}"
            held_out = interests[user % interests_per_group]
            for interest in interests:
                if interest != held_out:
                    rows.append((user_id, interest, float(generator.integers(6, 10))))
            for interest in generator.permutation(others)[: interests_per_group // 2]:
                rows.append((user_id, str(interest), 1.0))
    return pd.DataFrame(rows, columns=["user_id", "interest_id", "frequency"])


@pytest.fixture()
def two_group_folder(tmp_path: Path) -> Path:
    """A dataset folder with frequency.csv, users.csv and interests.csv of two user groups."""
    return write_two_group_folder(tmp_path)


@pytest.fixture()
def write_file(tmp_path: Path):
    """Return a function that writes a file under tmp_path byte for byte and returns its path.

    Text is encoded with the given encoding and no newline translation, so
    ``"\\r\\n"`` in the text reaches the file as CRLF.
    """

    def write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
        return path

    return write


def write_two_group_folder(folder: Path) -> Path:
    """Write the files of ``two_group_folder`` (frequency, users and interests CSVs) into ``folder``."""
    frame = two_group_frame()
    frame.to_csv(folder / "frequency.csv", index=False)
    users = sorted(frame["user_id"].unique())
    pd.DataFrame({"user_id": users, "segment": [u[0] for u in users]}).to_csv(
        folder / "users.csv", index=False)
    interests = sorted(frame["interest_id"].unique())
    pd.DataFrame({"interest_id": interests, "name": [f"Interest {i}" for i in interests],
                  "category": ["group " + i[0] for i in interests]}).to_csv(
        folder / "interests.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def two_group_module_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ``two_group_folder`` dataset written once per test module, for tests that only read it."""
    return write_two_group_folder(tmp_path_factory.mktemp("two_group"))


def run_adrec(*args: str | Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """Run ``python -m adrec ARGS`` and return the finished process with text output."""
    environment = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run([sys.executable, "-m", "adrec", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          env=environment, check=False)
