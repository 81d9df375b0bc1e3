"""Synthetic frequency data at any size, streamed to Parquet, for scale tests and benchmarks.

The generator plants a structure that a model can recover and a benchmark can
check. Users and interests fall into segments. A user's rows go to interests of
their own segment with probability ``affinity`` and to any interest otherwise,
each draw weighted by interest popularity, which follows a power law. User
activity (rows per user) follows a power law too, so a few users and a few
interests carry much of the data, as in real ad logs. Frequencies are
``1 + Poisson(rate)``, with a higher rate within the user's segment and a
low-rank term from latent user and interest vectors.

Users are generated in fixed blocks, each with its own random stream derived
from the seed, so memory is bounded by one block and the same seed gives the
same files (with the same NumPy and pyarrow versions).
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from adrec.atomic import atomic_directory
from adrec.errors import ConfigError

logger = logging.getLogger(__name__)

USERS_PER_BLOCK = 8192
MAX_DRAW_ROUNDS = 8
LATENT_DIM = 8
# The log-data window that timestamps are spread over, ending at a fixed date so files are reproducible.
TIME_WINDOW_SECONDS = 90 * 24 * 3600
TIME_WINDOW_END = 1_735_689_600  # 2025-01-01 00:00:00 UTC
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("female", "male", "unknown")
REGIONS = ("north", "south", "east", "west", "central")


@dataclass
class SyntheticSpec:
    """Sizes and shape of a synthetic dataset.

    Attributes:
        rows: target number of (user, interest) rows. The result has slightly
            fewer, because repeated draws of a pair within a user are merged.
        users: number of users.
        interests: number of interests.
        segments: number of user and interest segments (the planted structure).
        affinity: share of a user's draws that go to their own segment.
        activity_exponent: power-law exponent of user activity (0 is uniform).
        popularity_exponent: power-law exponent of interest popularity.
        seed: seed of every random choice.
    """

    rows: int
    users: int
    interests: int
    segments: int = 20
    affinity: float = 0.7
    activity_exponent: float = 0.8
    popularity_exponent: float = 0.9
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("rows", "users", "interests", "segments"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if self.segments > min(self.users, self.interests):
            raise ConfigError(f"segments ({self.segments}) must not exceed the number of users "
                              f"({self.users}) or interests ({self.interests})")
        if self.rows > self.users * self.interests // 2:
            raise ConfigError(f"{self.rows:,} rows do not fit {self.users:,} users x "
                              f"{self.interests:,} interests at under 50% density; add users or "
                              "interests")
        if not 0.0 <= self.affinity <= 1.0:
            raise ConfigError(f"affinity must be in [0, 1], got {self.affinity!r}")
        for name in ("activity_exponent", "popularity_exponent"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass
class SyntheticReport:
    """Summary of the folder :func:`write_synthetic` wrote."""

    path: str
    rows: int
    users_with_rows: int
    interests_with_rows: int
    in_segment_share: float

    def to_dict(self) -> dict:
        """Return the report as JSON-ready data."""
        return asdict(self)


def _power_law_weights(size: int, exponent: float, generator: np.random.Generator) -> np.ndarray:
    """Return weights proportional to rank^-exponent, assigned to positions in random order."""
    weights = np.arange(1, size + 1, dtype=np.float64) ** -exponent
    return generator.permutation(weights / weights.sum())


def _rows_per_user(spec: SyntheticSpec, generator: np.random.Generator) -> np.ndarray:
    """Draw each user's number of rows: power-law activity, at least 1, at most half the catalogue."""
    weights = _power_law_weights(spec.users, spec.activity_exponent, generator)
    cap = max(1, spec.interests // 2)
    counts = np.minimum(np.maximum(np.round(weights * spec.rows), 1), cap).astype(np.int64)
    # Capping the heaviest users loses rows; give them back to the users below the cap.
    for _ in range(5):
        missing = spec.rows - int(counts.sum())
        room = counts < cap
        if missing <= 0 or not room.any():
            break
        extra = np.floor(missing * weights[room] / weights[room].sum()).astype(np.int64)
        counts[room] = np.minimum(counts[room] + extra, cap)
    return counts


def _padded_ids(prefix: str, indices: np.ndarray, width: int) -> pa.Array:
    """Format indices as zero-padded text IDs, such as u0000042, with Arrow's string kernels."""
    digits = pc.utf8_lpad(pc.cast(pa.array(indices), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(pa.scalar(prefix), digits, "")


class _World:
    """The planted structure: segments, popularity, latent vectors."""

    def __init__(self, spec: SyntheticSpec):
        generator = np.random.default_rng([spec.seed, 0])
        self.spec = spec
        self.user_segment = generator.integers(0, spec.segments, spec.users)
        self.interest_segment = np.arange(spec.interests) % spec.segments
        generator.shuffle(self.interest_segment)
        self.popularity = _power_law_weights(spec.interests, spec.popularity_exponent, generator)
        self.rows_per_user = _rows_per_user(spec, generator)
        scale = 1.0 / math.sqrt(LATENT_DIM)
        self.user_vectors = generator.normal(0, scale, (spec.users, LATENT_DIM)).astype(np.float32)
        self.interest_vectors = generator.normal(0, scale, (spec.interests, LATENT_DIM)).astype(np.float32)

        # Cumulative popularity over all interests, and within each segment, for inverse-CDF draws.
        self.global_cdf = np.cumsum(self.popularity)
        self.segment_members = [np.flatnonzero(self.interest_segment == s) for s in range(spec.segments)]
        self.segment_cdfs = [np.cumsum(self.popularity[m]) / self.popularity[m].sum()
                             for m in self.segment_members]

    def _draw(self, users: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Draw one interest per entry of ``users``: own segment or anywhere, weighted by popularity."""
        spec = self.spec
        interests = np.empty(len(users), dtype=np.int64)
        own = generator.random(len(users)) < spec.affinity
        anywhere = np.flatnonzero(~own)
        draws = generator.random(len(anywhere)) * self.global_cdf[-1]
        interests[anywhere] = np.minimum(np.searchsorted(self.global_cdf, draws), spec.interests - 1)
        segments = self.user_segment[users]
        for segment in np.unique(segments[own]):
            rows = np.flatnonzero(own & (segments == segment))
            members, cdf = self.segment_members[segment], self.segment_cdfs[segment]
            picks = np.minimum(np.searchsorted(cdf, generator.random(len(rows))), len(members) - 1)
            interests[rows] = members[picks]
        return interests

    def block(self, first_user: int, last_user: int) -> dict[str, np.ndarray]:
        """Generate the rows of users ``first_user`` to ``last_user - 1``, one row per distinct pair."""
        spec = self.spec
        generator = np.random.default_rng([spec.seed, 1, first_user])
        block_users = np.arange(first_user, last_user)
        target = self.rows_per_user[first_user:last_user]

        # Repeated draws of a pair merge into one row, so users short of their row count draw
        # again. A few rounds bring nearly every user to the target.
        keys = np.empty(0, dtype=np.int64)
        for _ in range(MAX_DRAW_ROUNDS):
            have = np.bincount(keys // spec.interests - first_user, minlength=len(block_users))
            missing = target - have
            if not missing.any():
                break
            users = np.repeat(block_users, missing)
            keys = np.union1d(keys, users * spec.interests + self._draw(users, generator))
        users, interests = keys // spec.interests, keys % spec.interests

        in_segment = self.user_segment[users] == self.interest_segment[interests]
        affinity = np.einsum("ij,ij->i", self.user_vectors[users], self.interest_vectors[interests])
        rate = np.exp(0.5 + 1.2 * in_segment + 1.5 * affinity)
        frequency = 1 + generator.poisson(rate)
        timestamp = TIME_WINDOW_END - generator.integers(0, TIME_WINDOW_SECONDS, len(users))
        return {"users": users, "interests": interests, "frequency": frequency,
                "timestamp": timestamp, "in_segment": in_segment}


def write_synthetic(path: str | Path, spec: SyntheticSpec, progress: bool | None = None) -> SyntheticReport:
    """Write ``frequency.parquet``, ``users.parquet`` and ``interests.parquet`` into folder ``path``.

    The folder appears whole or not at all. ``adrec.load_data(path)`` reads it.
    Memory is bounded by one block of users; rows are streamed to the file.
    """
    world = _World(spec)
    user_width = len(str(spec.users - 1))
    interest_width = len(str(spec.interests - 1))
    schema = pa.schema([("user_id", pa.string()), ("interest_id", pa.string()),
                        ("frequency", pa.int64()), ("timestamp", pa.int64())])
    rows = 0
    in_segment = 0
    users_with_rows = 0
    interest_seen = np.zeros(spec.interests, dtype=bool)
    blocks = range(0, spec.users, USERS_PER_BLOCK)

    with atomic_directory(path) as folder:
        with pq.ParquetWriter(folder / "frequency.parquet", schema) as writer:
            bar = tqdm(blocks, desc="generating", unit="block", disable=progress is False)
            for first in bar:
                part = world.block(first, min(first + USERS_PER_BLOCK, spec.users))
                table = pa.table({
                    "user_id": _padded_ids("u", part["users"], user_width),
                    "interest_id": _padded_ids("i", part["interests"], interest_width),
                    "frequency": pa.array(part["frequency"]),
                    "timestamp": pa.array(part["timestamp"]),
                }, schema=schema)
                writer.write_table(table)
                rows += len(part["users"])
                in_segment += int(part["in_segment"].sum())
                users_with_rows += len(np.unique(part["users"]))
                interest_seen[part["interests"]] = True
            bar.close()

        _write_attributes(folder, world, user_width, interest_width)

    report = SyntheticReport(path=str(path), rows=rows, users_with_rows=users_with_rows,
                             interests_with_rows=int(interest_seen.sum()),
                             in_segment_share=in_segment / rows if rows else 0.0)
    logger.info("wrote %s: %d rows, %d users, %d interests", path, rows, users_with_rows,
                report.interests_with_rows)
    return report


def _write_attributes(folder: Path, world: _World, user_width: int, interest_width: int) -> None:
    """Write the users table (age band, gender, region tied to the segment) and the interests table."""
    spec = world.spec
    generator = np.random.default_rng([spec.seed, 2])
    segment = world.user_segment
    # Attributes follow the segment most of the time, so they carry signal for models that use them.
    age = np.where(generator.random(spec.users) < 0.6, segment % len(AGE_BANDS),
                   generator.integers(0, len(AGE_BANDS), spec.users))
    region = np.where(generator.random(spec.users) < 0.6, segment % len(REGIONS),
                      generator.integers(0, len(REGIONS), spec.users))
    gender = generator.integers(0, len(GENDERS), spec.users)
    users = pa.table({
        "user_id": _padded_ids("u", np.arange(spec.users), user_width),
        "age_band": pa.array(np.array(AGE_BANDS, dtype=object)[age]),
        "gender": pa.array(np.array(GENDERS, dtype=object)[gender]),
        "region": pa.array(np.array(REGIONS, dtype=object)[region]),
    })
    pq.write_table(users, folder / "users.parquet")

    interest_ids = _padded_ids("i", np.arange(spec.interests), interest_width)
    interests = pa.table({
        "interest_id": interest_ids,
        "name": pc.binary_join_element_wise(pa.scalar("Interest "), interest_ids, ""),
        "category": pa.array([f"segment {s:02d}" for s in world.interest_segment]),
    })
    pq.write_table(interests, folder / "interests.parquet")
