"""Tests of loading the real public datasets: MovieLens 100K and Last.fm HetRec 2K.

Expected values were read from the raw files: the row counts match each
dataset's README, and the titles, names and tags were looked up with grep and pandas.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import adrec

pytestmark = pytest.mark.realdata


@pytest.fixture(scope="module")
def movielens(movielens_path: Path) -> adrec.InteractionData:
    """MovieLens 100K, loaded once for this module."""
    return adrec.load_data(movielens_path)


@pytest.fixture(scope="module")
def lastfm(lastfm_path: Path) -> adrec.InteractionData:
    """Last.fm HetRec 2K, loaded once for this module."""
    return adrec.load_data(lastfm_path)


def test_movielens_sizes(movielens):
    assert len(movielens) == 100_000
    assert movielens.n_users == 943
    assert movielens.n_interests == 1_682
    assert movielens.name == "movielens-100k"


def test_movielens_ratings_and_times(movielens, movielens_path):
    raw = pd.read_csv(movielens_path / "u.data", sep="\t", header=None,
                      names=["user", "item", "rating", "time"])

    assert movielens.frequency.sum() == raw["rating"].sum()
    assert movielens.frequency.min() == 1.0
    assert movielens.frequency.max() == 5.0
    assert movielens.timestamp.tolist()[:3] == raw["time"].tolist()[:3]
    assert movielens.report.duplicate_rows == 0


def test_movielens_first_row(movielens):
    first = movielens.to_frame().iloc[0]

    # The first line of u.data is "196	242	3	881250949".
    assert first["user_id"] == "196"
    assert first["interest_id"] == "242"
    assert first["frequency"] == 3.0
    assert first["timestamp"] == 881250949


def test_movielens_latin1_titles(movielens):
    titles = movielens.interest_attributes["name"]

    # u.item stores these accented letters as single Latin-1 bytes (0xE9, 0xE8).
    assert titles.loc["543"] == "Misérables, Les (1995)"
    assert titles.loc["1104"] == "C'est arrivé près de chez vous (1992)"
    assert titles.loc["1"] == "Toy Story (1995)"
    assert not titles.str.contains("\ufffd").any()


def test_movielens_genres(movielens):
    categories = movielens.interest_attributes["category"]

    assert categories.loc["1"] == "Animation|Children's|Comedy"
    assert categories.loc["543"] == "Drama|Musical"
    assert movielens.interest_attributes.loc["1", "genre_Comedy"] == 1
    assert movielens.interest_attributes.loc["1", "genre_Drama"] == 0


def test_movielens_user_attributes(movielens):
    users = movielens.user_attributes

    assert pd.api.types.is_numeric_dtype(users["age"])
    assert users.loc["1", "age"] == 24
    assert users.loc["1", "occupation"] == "technician"
    assert users.loc["1", "gender"] == "M"


def test_movielens_zip_codes_text(movielens):
    zip_codes = movielens.user_attributes["zip_code"]

    assert not pd.api.types.is_numeric_dtype(zip_codes)
    assert zip_codes.loc["9"] == "01002"
    assert zip_codes.loc["74"] == "T8H1N"
    assert zip_codes.loc["1"] == "85711"


def test_movielens_tables_cover_ids(movielens):
    assert movielens.report.users_missing_from_table == 0
    assert movielens.report.interests_missing_from_table == 0
    assert len(movielens.user_attributes) == 943
    assert len(movielens.interest_attributes) == 1_682


def test_lastfm_sizes(lastfm):
    assert len(lastfm) == 92_834
    assert lastfm.n_users == 1_892
    assert lastfm.n_interests == 17_632
    assert lastfm.name == "lastfm-2k"


def test_lastfm_counts(lastfm):
    # The first data line of user_artists.dat is "2	51	13883".
    first = lastfm.to_frame().iloc[0]

    assert first["user_id"] == "2"
    assert first["interest_id"] == "51"
    assert first["frequency"] == 13_883.0
    assert lastfm.frequency.min() == 1.0
    assert lastfm.frequency.max() == 352_698.0
    assert lastfm.timestamp is None


def test_lastfm_artist_names(lastfm):
    names = lastfm.interest_attributes["name"]

    assert names.loc["289"] == "Britney Spears"
    assert names.loc["227"] == "The Beatles"
    # artists.dat is UTF-8: "ö" and "ó" are two-byte sequences there.
    assert names.loc["1098"] == "Björk"
    assert names.loc["418"] == "Sigur Rós"
    assert names.loc["295"] == "Beyoncé"


def test_lastfm_known_categories(lastfm):
    categories = lastfm.interest_attributes["category"]

    # Tag counts in user_taggedartists.dat: The Beatles "classic rock" 85 times, "rock" 67;
    # Britney Spears "pop" 108, "dance" 64; Björk "electronic" 54, "alternative" 46.
    assert categories.loc["227"] == "classic rock"
    assert categories.loc["289"] == "pop"
    assert categories.loc["1098"] == "electronic"


def test_lastfm_categories_match_raw(lastfm, lastfm_path):
    taggings = pd.read_csv(lastfm_path / "user_taggedartists.dat", sep="\t", dtype=str)
    tags = pd.read_csv(lastfm_path / "tags.dat", sep="\t", dtype=str, encoding="latin-1")
    tag_names = dict(zip(tags["tagID"], tags["tagValue"], strict=True))
    categories = lastfm.interest_attributes["category"]

    for artist in ["51", "89", "154", "289", "292", "418", "1803"]:
        counts = taggings.loc[taggings["artistID"] == artist, "tagID"].value_counts()
        best = counts[counts == counts.max()].index
        # Ties go to the lower tag ID.
        expected = tag_names[min(best, key=int)]
        assert categories.loc[artist] == expected, artist


def test_lastfm_untagged_artist_empty(lastfm, lastfm_path):
    taggings = pd.read_csv(lastfm_path / "user_taggedartists.dat", sep="\t", dtype=str)
    tagged = set(taggings["artistID"])
    untagged = [artist for artist in lastfm.interests.ids if artist not in tagged]

    assert len(untagged) > 0
    assert (lastfm.interest_attributes.loc[untagged, "category"] == "").all()


def test_lastfm_tables_cover_ids(lastfm):
    assert lastfm.report.interests_missing_from_table == 0
    assert len(lastfm.interest_attributes) == 17_632
    assert lastfm.user_attributes.empty
