"""Tests of dataset layouts, attribute tables, the coverage report and the embedded sample."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import adrec
from adrec import DataValidationError
from conftest import two_group_frame

FREQUENCY = "user_id,interest_id,frequency\n007,a,1\n7,b,2\n8,a,3\n8,b,1\n"


@pytest.fixture(scope="module")
def sample() -> adrec.InteractionData:
    """The embedded sample, loaded once for this module."""
    return adrec.load_sample()


def test_folder_with_tables(two_group_folder):
    data = adrec.load_data(two_group_folder)

    expected = two_group_frame()
    assert len(data) == len(expected)
    assert data.users.ids.tolist() == list(dict.fromkeys(expected["user_id"]))
    assert data.name == two_group_folder.name
    assert [Path(source).name for source in data.report.sources] == [
        "frequency.csv", "users.csv", "interests.csv"]


def test_folder_attributes_joined(two_group_folder):
    data = adrec.load_data(two_group_folder)

    assert data.user_attributes.loc["0000", "segment"] == 0
    assert data.user_attributes.loc["1019", "segment"] == 1
    assert data.interest_attributes.loc["b03", "name"] == "Interest b03"
    assert data.interest_attributes.loc["a00", "category"] == "group a"
    assert data.user_attributes.index.name == "user_id"
    assert data.interest_attributes.index.name == "interest_id"


def test_folder_attributes_cover_ids(two_group_folder):
    data = adrec.load_data(two_group_folder)

    assert set(data.user_attributes.index) == set(data.users.ids)
    assert set(data.interest_attributes.index) == set(data.interests.ids)
    assert data.report.users_missing_from_table == 0
    assert data.report.interests_missing_from_table == 0
    assert data.report.warnings == []


def test_attribute_ids_are_text(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("users.csv", "user_id,city\n007,Lyon\n7,Oslo\n8,Kyiv\n")

    data = adrec.load_data(tmp_path)

    assert data.user_attributes.index.tolist() == ["007", "7", "8"]
    assert data.user_attributes.loc["007", "city"] == "Lyon"
    assert data.user_attributes.loc["7", "city"] == "Oslo"


def test_missing_attribute_ids_counted(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("users.csv", "user_id,city\n7,Oslo\n99,Rome\n")
    write_file("interests.csv", "interest_id,name\na,Alpha\nc,Gamma\n")

    data = adrec.load_data(tmp_path)

    assert data.report.users_missing_from_table == 2
    assert data.report.interests_missing_from_table == 1
    assert any("2 of 3 user IDs" in text for text in data.report.warnings)
    assert any("1 of 2 interest IDs" in text for text in data.report.warnings)


def test_id_only_table_checked(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("users.csv", "user_id\n007\n7\n")

    data = adrec.load_data(tmp_path)

    assert data.user_attributes.index.tolist() == ["007", "7"]
    assert data.report.users_missing_from_table == 1


def test_no_tables_no_missing_counts(write_file):
    path = write_file("frequency.csv", FREQUENCY)

    data = adrec.load_data(path)

    assert data.user_attributes.empty
    assert data.interest_attributes.empty
    assert data.report.users_missing_from_table == 0
    assert data.report.interests_missing_from_table == 0


def test_duplicated_attribute_ids_rejected(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("interests.csv", "interest_id,name\na,Alpha\nb,Beta\na,Again\n")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(tmp_path)

    assert "interests.csv" in str(caught.value)
    assert "'a'" in str(caught.value)
    assert "'interest_id'" in str(caught.value)


def test_attribute_column_types(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("users.csv", "user_id,postal_code,age,score,band\n"
                            "007,01234,30,1.5,10\n7,99501,41,2,09\n8,75001,25,0.25,12\n")

    data = adrec.load_data(tmp_path)

    table = data.user_attributes
    assert table.loc["007", "postal_code"] == "01234"
    assert table["postal_code"].tolist() == ["01234", "99501", "75001"]
    assert not pd.api.types.is_numeric_dtype(table["postal_code"])
    assert pd.api.types.is_numeric_dtype(table["age"])
    assert table.loc["7", "age"] == 41
    assert table.loc["8", "score"] == 0.25
    assert table.loc["7", "band"] == "09"


def test_attribute_mixed_column_text(write_file, tmp_path):
    write_file("frequency.csv", FREQUENCY)
    write_file("users.csv", "user_id,age\n007,30\n7,unknown\n8,\n")

    data = adrec.load_data(tmp_path)

    assert data.user_attributes["age"].tolist() == ["30", "unknown", ""]


def test_single_row_ids_counted(write_file):
    path = write_file("sparse.csv", "user_id,interest_id,frequency\n"
                                    "u1,a,1\nu1,b,1\nu2,a,1\nu3,a,2\nu3,c,1\n")

    data = adrec.load_data(path)

    assert data.report.single_row_users == 1
    assert data.report.single_row_interests == 2
    assert any(text.startswith("1 users have a single row") for text in data.report.warnings)
    assert any(text.startswith("2 interests have a single row") for text in data.report.warnings)


def test_report_counts_sizes(write_file):
    path = write_file("sizes.csv", FREQUENCY)

    data = adrec.load_data(path)

    assert data.report.pairs == 4
    assert data.report.users == 3
    assert data.report.interests == 2
    assert data.report.rows_read == 4


def test_folder_with_parquet(tmp_path):
    pd.DataFrame({"user": ["u1", "u2", "u1"], "item": ["a", "b", "b"],
                  "count": [1, 2, 3]}).to_parquet(tmp_path / "interactions.parquet")

    data = adrec.load_data(tmp_path)

    assert len(data) == 3
    assert data.frequency.tolist() == [1.0, 2.0, 3.0]
    assert data.report.sources == [str(tmp_path / "interactions.parquet")]


def test_folder_with_tsv(write_file, tmp_path):
    write_file("events.tsv", "user_id\tinterest_id\nu1\ta\nu1\ta\n")

    data = adrec.load_data(tmp_path)

    assert data.frequency.tolist() == [2.0]


def test_single_file_path(write_file):
    path = write_file("clicks_may.csv", FREQUENCY)

    data = adrec.load_data(path)

    assert len(data) == 4
    assert data.name == "clicks_may"
    assert data.report.sources == [str(path)]


def test_single_file_with_tables(write_file):
    path = write_file("clicks.csv", FREQUENCY)
    users = write_file("people.csv", "user_id,city\n007,Lyon\n")
    interests = write_file("topics.csv", "interest_id,name\na,Alpha\nb,Beta\n")

    data = adrec.load_data(path, users=users, interests=interests)

    assert data.user_attributes.loc["007", "city"] == "Lyon"
    assert data.interest_attributes.loc["b", "name"] == "Beta"
    assert data.report.users_missing_from_table == 2


def test_folder_without_table_rejected(write_file, tmp_path):
    write_file("users.csv", "user_id,city\n7,Oslo\n")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(tmp_path)

    message = str(caught.value)
    assert str(tmp_path) in message
    assert "frequency.csv" in message
    assert "interactions.csv" in message
    assert "u.data" in message
    assert "user_artists.dat" in message


def test_missing_path_rejected(tmp_path):
    path = tmp_path / "does-not-exist"

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert str(path) in str(caught.value)
    assert "no such file or folder" in str(caught.value)


def test_sample_sizes(sample):
    assert 1_900 <= sample.n_users <= 2_100
    assert 230 <= sample.n_interests <= 270
    assert 75_000 <= len(sample) <= 85_000
    assert sample.name == "adrec-sample"


def test_sample_user_six_history(sample):
    rows = int((sample.user_index == sample.users.index_of("6")).sum())

    assert rows >= 20


def test_sample_interest_attributes(sample):
    table = sample.interest_attributes.reindex(sample.interests.ids)

    assert table["name"].notna().all()
    assert (table["name"].astype(str).str.len() > 0).all()
    assert table["category"].notna().all()
    assert (table["category"].astype(str).str.len() > 0).all()


def test_sample_no_missing_ids(sample):
    assert sample.report.users_missing_from_table == 0
    assert sample.report.interests_missing_from_table == 0
    assert not any("not in the" in text for text in sample.report.warnings)
    assert sample.report.duplicate_rows == 0
