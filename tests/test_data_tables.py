"""Tests of reading frequency tables: file formats, encodings, delimiters and column detection."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec import DataValidationError

PLAIN_TABLE = "user_id,interest_id,frequency\n007,café,1\n7,Café,2\n用户,用户,0\n007,Café,4\n"
# The same rows with an ID in the last column, where a stray carriage return would end up.
ID_LAST_TABLE = "frequency,user_id,interest_id\n1,007,café\n2,7,Café\n0,用户,用户\n4,007,Café\n"


def pair_frequencies(data: adrec.InteractionData) -> dict[tuple[str, str], float]:
    """Map each (user ID, interest ID) pair of ``data`` to its frequency."""
    frame = data.to_frame()
    return {(user, interest): frequency for user, interest, frequency in
            zip(frame["user_id"], frame["interest_id"], frame["frequency"], strict=True)}


def test_csv_loads(write_file):
    path = write_file("plain.csv", PLAIN_TABLE)

    data = adrec.load_data(path)

    assert len(data) == 4
    assert pair_frequencies(data) == {("007", "café"): 1.0, ("7", "Café"): 2.0, ("用户", "用户"): 0.0,
                                      ("007", "Café"): 4.0}


def test_tsv_loads(write_file):
    path = write_file("plain.tsv", PLAIN_TABLE.replace(",", "\t"))

    data = adrec.load_data(path)

    assert pair_frequencies(data) == pair_frequencies(adrec.load_data(write_file("p.csv", PLAIN_TABLE)))


def test_parquet_loads(tmp_path):
    path = tmp_path / "plain.parquet"
    pd.DataFrame({"user_id": ["007", "7"], "interest_id": ["café", "用户"],
                  "frequency": [1.5, 2.0]}).to_parquet(path)

    data = adrec.load_data(path)

    assert pair_frequencies(data) == {("007", "café"): 1.5, ("7", "用户"): 2.0}


def test_gzipped_csv_loads(write_file):
    # The bytes of a compressed file contain ';', '|' and tabs at random, so twenty
    # different tables make sure the delimiter is sniffed from the decompressed text.
    for seed in range(20):
        generator = np.random.default_rng(seed)
        users = generator.integers(0, 50, 100)
        interests = generator.integers(0, 20, 100)
        lines = ["user_id,interest_id,frequency"]
        lines += [f"u{user},i{interest},1" for user, interest in zip(users, interests, strict=True)]
        text = "\n".join(lines) + "\n"
        path = write_file(f"table{seed}.csv.gz", gzip.compress(text.encode("utf-8"), mtime=0))

        data = adrec.load_data(path)

        assert data.report.rows_read == 100, f"table {seed}"
        assert float(data.frequency.sum()) == 100.0, f"table {seed}"


@pytest.mark.parametrize("damage", ["not_gzip", "truncated", "bad_checksum"])
def test_broken_gzip_rejected(write_file, damage):
    rows = "".join(f"u{row},i{row % 7},{row}\n" for row in range(2_000))
    packed = gzip.compress(("user_id,interest_id,frequency\n" + rows).encode("utf-8"), mtime=0)
    if damage == "not_gzip":
        packed = b"user_id,interest_id,frequency\n"
    elif damage == "truncated":
        packed = packed[: len(packed) // 2]
    else:
        # The CRC-32 of the content is stored in the 4 bytes before the 4-byte length.
        packed = packed[:-8] + bytes([packed[-8] ^ 0xFF]) + packed[-7:]
    path = write_file("broken.csv.gz", packed)

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert "broken.csv.gz" in str(caught.value)
    assert "gzip" in str(caught.value)


def test_bom_and_crlf_identical(write_file):
    plain = adrec.load_data(write_file("plain.csv", ID_LAST_TABLE))
    variants = {
        "bom": "\ufeff" + ID_LAST_TABLE,
        "crlf": ID_LAST_TABLE.replace("\n", "\r\n"),
        "bom_crlf": "\ufeff" + ID_LAST_TABLE.replace("\n", "\r\n"),
    }

    for name, text in variants.items():
        data = adrec.load_data(write_file(f"{name}.csv", text))

        pd.testing.assert_frame_equal(data.to_frame(), plain.to_frame(), obj=name)
        assert data.users.ids.tolist() == plain.users.ids.tolist(), name
        assert data.interests.ids.tolist() == plain.interests.ids.tolist(), name


def test_bom_explicit_column_found(write_file):
    path = write_file("bom.csv", "\ufeff" + PLAIN_TABLE)

    data = adrec.load_data(path, user_col="user_id", interest_col="interest_id",
                           frequency_col="frequency")

    assert data.users.ids.tolist() == ["007", "7", "用户"]


def test_ids_survive_exactly(write_file):
    path = write_file("ids.csv", PLAIN_TABLE)

    data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["007", "7", "用户"]
    assert data.interests.ids.tolist() == ["café", "Café", "用户"]


def test_padded_ids_survive(write_file):
    path = write_file("padded.csv", "user_id,interest_id,frequency\n 7,a ,1\n7,a,2\n")

    data = adrec.load_data(path)

    assert data.users.ids.tolist() == [" 7", "7"]
    assert data.interests.ids.tolist() == ["a ", "a"]


def test_text_like_missing_ids_survive(write_file):
    path = write_file("na.csv", "user_id,interest_id,frequency\nNA,null,1\nnan,None,2\n")

    data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["NA", "nan"]
    assert data.interests.ids.tolist() == ["null", "None"]


def test_parquet_integer_ids_text(tmp_path):
    path = tmp_path / "integers.parquet"
    pd.DataFrame({"user_id": np.array([6, 60], dtype=np.int64),
                  "interest_id": np.array([1, 2], dtype=np.int32),
                  "frequency": [1, 2]}).to_parquet(path)

    data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["6", "60"]
    assert data.interests.ids.tolist() == ["1", "2"]
    assert type(data.users.ids[0]) is str
    assert data.users.index_of("6") == 0


@pytest.mark.parametrize("column", ["user_id", "interest_id"])
def test_parquet_float_ids_rejected(tmp_path, column):
    frame = pd.DataFrame({"user_id": ["6", "7"], "interest_id": ["a", "b"], "frequency": [1, 2]})
    frame[column] = [6.0, 7.0]
    path = tmp_path / "floats.parquet"
    frame.to_parquet(path)

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert f"'{column}'" in str(caught.value)
    assert "floats.parquet" in str(caught.value)


def test_parquet_missing_id_rejected(tmp_path):
    path = tmp_path / "nullable.parquet"
    pd.DataFrame({"user_id": pd.array([6, None], dtype="Int64"), "interest_id": ["a", "b"],
                  "frequency": [1, 2]}).to_parquet(path)

    with pytest.raises(DataValidationError, match="'user_id' is empty at row 2"):
        adrec.load_data(path)


def test_unreadable_parquet_rejected(write_file):
    path = write_file("broken.parquet", "user_id,interest_id,frequency\n1,a,1\n")

    with pytest.raises(DataValidationError, match="not a readable Parquet file"):
        adrec.load_data(path)


def test_non_utf8_names_encoding_option(write_file):
    path = write_file("latin.csv", "user_id,interest_id,frequency\n1,café,2\n", encoding="latin-1")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert "--encoding" in str(caught.value)
    assert "latin.csv" in str(caught.value)


def test_encoding_argument_decodes(write_file):
    path = write_file("latin.csv", "user_id,interest_id,frequency\n1,café,2\n", encoding="latin-1")

    data = adrec.load_data(path, encoding="latin-1")

    assert data.interests.ids.tolist() == ["café"]


@pytest.mark.parametrize("delimiter", [";", "|", "\t"])
def test_delimiter_sniffed(write_file, delimiter):
    text = PLAIN_TABLE.replace(",", delimiter)
    path = write_file("delimited.csv", text)

    data = adrec.load_data(path)

    assert pair_frequencies(data)[("007", "Café")] == 4.0
    assert data.users.ids.tolist() == ["007", "7", "用户"]


def test_trailing_delimiter_keeps_columns(write_file):
    path = write_file("trailing.csv", "user_id,interest_id,frequency\nu1,a,2,\nu2,b,3,\n")

    # pandas warns about the empty field after the last delimiter of each row.
    with pytest.warns(pd.errors.ParserWarning):
        data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["u1", "u2"]
    assert data.interests.ids.tolist() == ["a", "b"]
    assert data.frequency.tolist() == [2.0, 3.0]


def test_extra_field_warns_not_shifts(write_file):
    path = write_file("wide.csv", "user_id,interest_id,frequency\nu1,a,2,9\nu2,b,3,9\n")

    with pytest.warns(pd.errors.ParserWarning):
        data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["u1", "u2"]
    assert data.interests.ids.tolist() == ["a", "b"]


@pytest.mark.parametrize(
    "header",
    [
        "userID\tartistID\tweight",
        "user,item,count",
        "customer_id,segment_id,clicks",
        "User ID,Interest ID,Frequency",
        "visitor_id,topic,views",
        "uid,iid,plays",
        "member_id,audience_id,impressions",
    ],
)
def test_columns_detected(write_file, header):
    delimiter = "\t" if "\t" in header else ","
    rows = [delimiter.join(["u1", "x", "3"]), delimiter.join(["u2", "y", "5"])]
    path = write_file("detected.csv", "\n".join([header, *rows]) + "\n")

    data = adrec.load_data(path)

    assert data.users.ids.tolist() == ["u1", "u2"]
    assert data.interests.ids.tolist() == ["x", "y"]
    assert data.frequency.tolist() == [3.0, 5.0]


def test_columns_detected_in_any_order(write_file):
    path = write_file("reordered.csv", "clicks,segment_id,customer_id\n3,x,u1\n5,y,u2\n")

    data = adrec.load_data(path)

    assert pair_frequencies(data) == {("u1", "x"): 3.0, ("u2", "y"): 5.0}


def test_explicit_columns_used(write_file):
    path = write_file("custom.csv", "who,what,how_many,note\nu1,x,3,hello\nu2,y,5,bye\n")

    data = adrec.load_data(path, user_col="who", interest_col="what", frequency_col="how_many")

    assert pair_frequencies(data) == {("u1", "x"): 3.0, ("u2", "y"): 5.0}


def test_explicit_columns_override_detection(write_file):
    text = "user_id,interest_id,count,score,other_user\nu1,x,3,0.5,v1\nu2,y,5,0.25,v2\n"
    path = write_file("override.csv", text)

    data = adrec.load_data(path, user_col="other_user", frequency_col="score")

    assert pair_frequencies(data) == {("v1", "x"): 0.5, ("v2", "y"): 0.25}


@pytest.mark.parametrize(
    ("option", "keyword"),
    [("--user-col", "user_col"), ("--interest-col", "interest_col"),
     ("--frequency-col", "frequency_col")],
)
def test_misnamed_column_lists_columns(write_file, option, keyword):
    path = write_file("named.csv", "customer,segment,clicks\nu1,x,3\n")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path, **{keyword: "no_such_column"})

    message = str(caught.value)
    assert "'no_such_column'" in message
    assert option in message
    for column in ("customer", "segment", "clicks"):
        assert f"'{column}'" in message


def test_missing_user_column_lists_columns(write_file):
    path = write_file("anonymous.csv", "who,interest_id,frequency\nu1,x,3\n")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert "--user-col" in str(caught.value)
    assert "'who'" in str(caught.value)


def test_same_user_interest_column_rejected(write_file):
    path = write_file("same.csv", "user_id,interest_id,frequency\nu1,x,3\n")

    with pytest.raises(DataValidationError, match="both 'user_id'"):
        adrec.load_data(path, interest_col="user_id")


def test_unknown_extra_columns_rejected(write_file):
    path = write_file("extra.csv", "user_id,interest_id,amount\nu1,x,3\n")

    with pytest.raises(DataValidationError) as caught:
        adrec.load_data(path)

    assert "--frequency-col" in str(caught.value)
    assert "--events" in str(caught.value)
    assert "'amount'" in str(caught.value)


def test_event_log_counted(write_file):
    text = ("user,interest,timestamp\n"
            "u1,x,100\nu1,x,300\nu1,y,200\nu2,x,50\nu1,x,200\n")
    path = write_file("events.csv", text)

    data = adrec.load_data(path)

    assert pair_frequencies(data) == {("u1", "x"): 3.0, ("u1", "y"): 1.0, ("u2", "x"): 1.0}
    assert data.timestamp.tolist() == [300, 200, 50]
    assert data.report.event_log is True
    assert data.report.rows_read == 5
    assert data.report.duplicate_rows == 2


def test_event_log_without_timestamp(write_file):
    path = write_file("clicks.csv", "user_id,interest_id\nu1,x\nu1,x\nu2,y\n")

    data = adrec.load_data(path)

    assert pair_frequencies(data) == {("u1", "x"): 2.0, ("u2", "y"): 1.0}
    assert data.timestamp is None


def test_event_log_ignores_error_policy(write_file):
    path = write_file("clicks.csv", "user_id,interest_id\nu1,x\nu1,x\n")

    data = adrec.load_data(path, duplicates="error")

    assert pair_frequencies(data) == {("u1", "x"): 2.0}


def test_events_flag_forces_counting(write_file):
    path = write_file("counts.csv", "user_id,interest_id,count\nu1,x,7\nu1,x,9\nu2,y,4\n")

    data = adrec.load_data(path, events=True)

    assert pair_frequencies(data) == {("u1", "x"): 2.0, ("u2", "y"): 1.0}
    assert data.report.event_log is True


def test_events_flag_accepts_extra_columns(write_file):
    path = write_file("extra.csv", "user_id,interest_id,amount\nu1,x,3\nu1,x,8\n")

    data = adrec.load_data(path, events=True)

    assert pair_frequencies(data) == {("u1", "x"): 2.0}
