"""Loading a dataset from a file or a folder: generic tables and the known public layouts.

A folder is recognised as

* MovieLens 100K when it has ``u.data`` (ratings become frequencies, ``u.item``
  gives titles and genres, ``u.user`` age, gender, occupation and postal code);
* Last.fm HetRec 2K when it has ``user_artists.dat`` (listening counts are the
  frequencies, ``artists.dat`` gives names, and the most used tag of each artist
  in ``user_taggedartists.dat`` becomes its category);
* otherwise a folder with a ``frequency`` table and optional ``users`` and
  ``interests`` tables, each as CSV, TSV or Parquet.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from adrec.data.dataset import InteractionData, attribute_table
from adrec.data.tables import TABLE_SUFFIXES, read_table, release_free_memory, resolve_frequency_columns
from adrec.data.validation import DEFAULT_DUPLICATE_POLICY, DataReport, clean_frequency_table
from adrec.errors import DataValidationError

logger = logging.getLogger(__name__)

FREQUENCY_TABLE_NAMES = ("frequency", "frequencies", "interactions", "events", "engagements")
USER_TABLE_NAMES = ("users", "user")
INTEREST_TABLE_NAMES = ("interests", "interest", "items")

MOVIELENS_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)


def find_table(folder: Path, stems: tuple[str, ...]) -> Path | None:
    """Return the first file in ``folder`` named ``<stem><suffix>`` for a known stem and suffix."""
    for stem in stems:
        for suffix in TABLE_SUFFIXES:
            candidate = folder / f"{stem}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def detect_layout(path: Path) -> str:
    """Name the layout of a dataset path: ``file``, ``movielens-100k``, ``lastfm-2k`` or ``folder``."""
    if path.is_file():
        return "file"
    if not path.is_dir():
        raise DataValidationError(f"{path}: no such file or folder")
    if (path / "u.data").is_file():
        return "movielens-100k"
    if (path / "user_artists.dat").is_file():
        return "lastfm-2k"
    if find_table(path, FREQUENCY_TABLE_NAMES) is not None:
        return "folder"
    names = ", ".join(f"{stem}.csv" for stem in FREQUENCY_TABLE_NAMES[:3])
    raise DataValidationError(
        f"{path}: no frequency table found; expected one of {names} (or .tsv/.parquet), "
        "a MovieLens 100K folder (u.data) or a Last.fm 2K folder (user_artists.dat)"
    )


def load_data(
    path: str | Path,
    *,
    users: str | Path | None = None,
    interests: str | Path | None = None,
    user_col: str | None = None,
    interest_col: str | None = None,
    frequency_col: str | None = None,
    timestamp_col: str | None = None,
    events: bool = False,
    duplicates: str = DEFAULT_DUPLICATE_POLICY,
    encoding: str = "utf-8-sig",
) -> InteractionData:
    """Load frequency data from a file or folder into an :class:`InteractionData`.

    Args:
        path: a frequency table file, or a folder (see the module docs for the
            layouts recognised).
        users: a users table, overriding the one found in the folder.
        interests: an interests table, overriding the one found in the folder.
        user_col: the user ID column, when automatic detection is wrong.
        interest_col: the interest ID column.
        frequency_col: the frequency column.
        timestamp_col: the timestamp column (optional).
        events: count each row as one engagement instead of reading a frequency column.
        duplicates: how to combine repeated (user, interest) pairs: ``sum``,
            ``mean``, ``last`` or ``error``.
        encoding: text encoding of CSV/TSV files.

    Raises:
        DataValidationError: the input cannot be used; the message gives the place and the reason.
    """
    path = Path(path)
    layout = detect_layout(path)
    if layout == "movielens-100k":
        return load_movielens_100k(path)
    if layout == "lastfm-2k":
        return load_lastfm_2k(path)

    if layout == "folder":
        frequency_path = find_table(path, FREQUENCY_TABLE_NAMES)
        users = users if users is not None else find_table(path, USER_TABLE_NAMES)
        interests = interests if interests is not None else find_table(path, INTEREST_TABLE_NAMES)
        name = path.resolve().name
    else:
        frequency_path = path
        name = path.stem

    report = DataReport(sources=[str(Path(frequency_path).resolve())])
    raw = read_table(frequency_path, encoding=encoding, categorical_text=True)
    columns = resolve_frequency_columns(
        raw, frequency_path, user_col=user_col, interest_col=interest_col,
        frequency_col=frequency_col, timestamp_col=timestamp_col, events=events,
    )
    clean = clean_frequency_table(raw, columns, frequency_path, report, duplicates)

    user_table = interest_table = None
    if users is not None:
        report.sources.append(str(Path(users).resolve()))
        user_table = attribute_table(read_table(users, encoding=encoding), Path(users), "user",
                                     preferred_col=columns.user)
    if interests is not None:
        report.sources.append(str(Path(interests).resolve()))
        interest_table = attribute_table(read_table(interests, encoding=encoding), Path(interests),
                                         "interest", preferred_col=columns.interest)
    logger.info("loaded %s rows from %s", f"{len(clean):,}", frequency_path)
    data = InteractionData.from_frame(clean, user_attributes=user_table,
                                      interest_attributes=interest_table, report=report, name=name)
    del raw, clean
    release_free_memory()
    return data


def load_movielens_100k(folder: Path) -> InteractionData:
    """Load the MovieLens 100K files: ratings as frequencies, movies as interests."""
    ratings_path = folder / "u.data"
    report = DataReport(sources=[str(ratings_path)])
    raw = read_table(ratings_path, names=["user_id", "item_id", "rating", "timestamp"], sep="\t")
    columns = resolve_frequency_columns(raw, ratings_path, user_col="user_id", interest_col="item_id",
                                        frequency_col="rating", timestamp_col="timestamp")
    clean = clean_frequency_table(raw, columns, ratings_path, report, "error")

    interest_table = None
    items_path = folder / "u.item"
    if items_path.is_file():
        report.sources.append(str(items_path))
        flag_columns = [f"genre_{genre}" for genre in MOVIELENS_GENRES]
        items = read_table(items_path, sep="|", encoding="latin-1",
                           names=["item_id", "name", "release_date", "video_release_date",
                                  "url", *flag_columns])
        flags = items[flag_columns].apply(pd.to_numeric, errors="coerce").fillna(0).astype("int8")
        genres = flags.apply(
            lambda row: "|".join(g for g, flag in zip(MOVIELENS_GENRES, row, strict=True) if flag), axis=1)
        items = pd.concat([items[["item_id", "name"]].assign(category=genres,
                                                               release_date=items["release_date"]),
                           flags], axis=1)
        interest_table = attribute_table(items, items_path, "interest", id_col="item_id")

    user_table = None
    users_path = folder / "u.user"
    if users_path.is_file():
        report.sources.append(str(users_path))
        people = read_table(users_path, sep="|",
                            names=["user_id", "age", "gender", "occupation", "zip_code"])
        user_table = attribute_table(people, users_path, "user", id_col="user_id")

    return InteractionData.from_frame(clean, user_attributes=user_table,
                                      interest_attributes=interest_table, report=report,
                                      name="movielens-100k")


def load_lastfm_2k(folder: Path) -> InteractionData:
    """Load the Last.fm HetRec 2K files: listening counts as frequencies, artists as interests."""
    counts_path = folder / "user_artists.dat"
    report = DataReport(sources=[str(counts_path)])
    raw = read_table(counts_path, sep="\t")
    columns = resolve_frequency_columns(raw, counts_path, user_col="userID", interest_col="artistID",
                                        frequency_col="weight")
    clean = clean_frequency_table(raw, columns, counts_path, report, "error")

    interest_table = None
    artists_path = folder / "artists.dat"
    if artists_path.is_file():
        report.sources.append(str(artists_path))
        artists = read_table(artists_path, sep="\t")[["id", "name", "url"]]
        top_tags = _lastfm_top_tags(folder, report)
        if top_tags is not None:
            artists = artists.merge(top_tags, how="left", left_on="id", right_index=True)
            artists["category"] = artists["category"].fillna("")
        interest_table = attribute_table(artists, artists_path, "interest", id_col="id")

    return InteractionData.from_frame(clean, interest_attributes=interest_table, report=report,
                                      name="lastfm-2k")


def _lastfm_top_tags(folder: Path, report: DataReport) -> pd.Series | None:
    """Return each artist's most used tag (ties go to the lower tag ID), indexed by artist ID."""
    taggings_path = folder / "user_taggedartists.dat"
    tags_path = folder / "tags.dat"
    if not (taggings_path.is_file() and tags_path.is_file()):
        return None
    report.sources.extend([str(taggings_path), str(tags_path)])

    taggings = read_table(taggings_path, sep="\t")[["artistID", "tagID"]]
    tags = read_table(tags_path, sep="\t", encoding="latin-1").set_index("tagID")["tagValue"]
    counts = taggings.value_counts().rename("uses").reset_index()
    counts["tag_number"] = pd.to_numeric(counts["tagID"], errors="coerce")
    counts = counts.sort_values(["artistID", "uses", "tag_number"], ascending=[True, False, True])
    best = counts.drop_duplicates("artistID").set_index("artistID")["tagID"]
    return best.map(tags).rename("category")
