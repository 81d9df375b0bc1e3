"""Tests of FeatureSpace: column choice, feature ids and weights, errors and serialisation."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.data.features import MAX_TOKENS, FeatureColumn, FeatureSpace
from adrec.errors import ConfigError

OCCUPATIONS = [f"job{i:02d}" for i in range(20)]


def users_table(rows: int = 400, seed: int = 0) -> pd.DataFrame:
    """A users table shaped like MovieLens: int age, M/F gender, 20 occupations, nearly unique zip codes."""
    generator = np.random.default_rng(seed)
    table = pd.DataFrame({
        "age": generator.integers(7, 74, rows),
        "gender": generator.choice(["M", "F"], rows),
        "occupation": generator.choice(OCCUPATIONS, rows),
        "zip_code": [f"{code:05d}" for code in generator.permutation(100_000)[:rows]],
    }, index=pd.Index([str(i) for i in range(1, rows + 1)], name="user_id"))
    table.loc[table.index[:40], "zip_code"] = "10001"
    return table


def items_table() -> pd.DataFrame:
    """An interests table shaped like MovieLens: unique names, a multi-valued category, genre flags."""
    categories = ["Animation|Comedy", "Comedy", "Drama", "Action|Thriller", "Comedy|Drama|Romance",
                  "Action|Adventure|Sci-Fi", "Drama|War", "Thriller"] * 10
    genres = ["Action", "Adventure", "Animation", "Comedy", "Drama", "Romance", "Sci-Fi", "Thriller", "War"]
    table = pd.DataFrame({"name": [f"Movie {i} (1995)" for i in range(len(categories))],
                          "category": categories},
                         index=pd.Index([str(i) for i in range(1, len(categories) + 1)], name="interest_id"))
    for genre in genres:
        table[f"genre_{genre}"] = [int(genre in cell.split("|")) for cell in categories]
    table["genre_unknown"] = np.zeros(len(table), dtype=np.int8)
    return table


def column(space: FeatureSpace, name: str) -> FeatureColumn:
    return next(c for c in space.columns if c.name == name)


def slot_of(space: FeatureSpace, name: str) -> int:
    start = 0
    for entry in space.columns:
        if entry.name == name:
            return start
        start += entry.slots
    raise KeyError(name)


def test_fit_chooses_user_columns(caplog):
    caplog.set_level(logging.INFO, logger="adrec.data.features")
    space = FeatureSpace.fit(users_table(), kind="user")

    assert [c.name for c in space.columns] == ["age", "gender", "occupation"]
    assert column(space, "age").kind == "numeric"
    assert column(space, "gender").kind == "categorical"
    assert column(space, "gender").values == ["F", "M"]
    assert column(space, "occupation").values == OCCUPATIONS
    assert "'zip_code' because it has 361 distinct values" in caplog.text
    # age: the scaled value, a missing-value bucket and 8 quantile bins.
    assert len(column(space, "age").edges) == 7
    assert space.size == 1 + (2 + 8) + 3 + 21
    assert space.slots == 4
    assert len(space) == 3


def test_fit_chooses_item_columns(caplog):
    caplog.set_level(logging.INFO, logger="adrec.data.features")
    space = FeatureSpace.fit(items_table(), kind="interest")
    kinds = {c.name: c.kind for c in space.columns}

    assert "name" not in kinds
    assert "genre_unknown" not in kinds
    assert kinds["category"] == "multi"
    assert column(space, "category").slots == 3
    assert column(space, "category").values == ["Action", "Adventure", "Animation", "Comedy", "Drama",
                                                "Romance", "Sci-Fi", "Thriller", "War"]
    assert all(kinds[f"genre_{g}"] == "flag" for g in ("Action", "Comedy", "War"))
    assert "'name'" in caplog.text
    assert "'genre_unknown'" in caplog.text


def test_fit_skips_nearly_unique_column(caplog):
    caplog.set_level(logging.INFO, logger="adrec.data.features")
    space = FeatureSpace.fit(users_table(), max_values=1000)

    assert "zip_code" not in [c.name for c in space.columns]
    assert "nearly unique" in caplog.text


def test_offsets_are_consecutive():
    space = FeatureSpace.fit(users_table())
    offsets = [c.offset for c in space.columns]

    assert offsets == [1, 11, 14]  # age takes 10 ids: value, missing bucket, 8 bins
    assert space.size == column(space, "occupation").offset + 21


def test_index_and_id_column_are_not_features():
    table = users_table()
    with_id = table.assign(user_id=np.arange(len(table)))
    space = FeatureSpace.fit(with_id)

    assert "user_id" not in [c.name for c in space.columns]


def test_numeric_scaling_and_clipping():
    table = pd.DataFrame({"spend": [1.0, 2.0, 3.0, 4.0, np.nan]})
    space = FeatureSpace.fit(table)
    spend = column(space, "spend")

    assert spend.kind == "numeric"
    assert spend.mean == pytest.approx(2.5)
    assert spend.std == pytest.approx(np.std([1.0, 2.0, 3.0, 4.0]))

    ids, weights = space.encode(pd.DataFrame({"spend": [4.0, 1000.0, -1000.0, np.nan, "3", "abc"]}))
    expected_first = (4.0 - 2.5) / np.std([1.0, 2.0, 3.0, 4.0])
    assert ids[:, 0].tolist() == [spend.offset] * 6
    assert weights[0, 0] == pytest.approx(expected_first)
    assert weights[1, 0] == pytest.approx(5.0)
    assert weights[2, 0] == pytest.approx(-5.0)
    assert weights[3, 0] == 0.0
    assert weights[4, 0] == pytest.approx((3.0 - 2.5) / np.std([1.0, 2.0, 3.0, 4.0]))
    assert weights[5, 0] == 0.0


def test_numeric_quantile_bins():
    table = pd.DataFrame({"age": np.arange(10, 90)})
    age = column(FeatureSpace.fit(table), "age")
    space = FeatureSpace.fit(table)
    assert len(age.edges) == 7
    assert age.slots == 2

    ids, weights = space.encode(pd.DataFrame({"age": [10, 89, 500, np.nan]}))
    bins = ids[:, 1] - (age.offset + 2)
    assert bins[0] == 0
    assert bins[1] == 7
    assert bins[2] == 7  # beyond the data: the top bin
    assert ids[3, 1] == age.offset + 1  # missing: its own bucket
    assert weights[:, 1].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert ids.max() < space.size


def test_flags_from_int_bool_and_missing():
    table = pd.DataFrame({"premium": [0, 1, 1, 0], "active": [True, False, True, True],
                          "trial": [1.0, np.nan, 0.0, 1.0]})
    space = FeatureSpace.fit(table)

    assert [c.kind for c in space.columns] == ["flag", "flag", "flag"]
    ids, weights = space.encode(table)
    assert ids.tolist()[0] == [1, 2, 3]
    assert weights[:, 0].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert weights[:, 1].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert weights[:, 2].tolist() == [1.0, 0.0, 0.0, 1.0]


def test_constant_columns_are_skipped():
    table = pd.DataFrame({"country": ["FR"] * 6, "empty": [np.nan] * 6, "segment": list("aabbcc")})
    space = FeatureSpace.fit(table)

    assert [c.name for c in space.columns] == ["segment"]


def test_unknown_bucket_for_unseen_and_missing():
    table = pd.DataFrame({"gender": ["M", "F", "M", "F", "M", None]})
    space = FeatureSpace.fit(table)
    gender = column(space, "gender")

    ids, weights = space.encode(pd.DataFrame({"gender": ["F", "M", "X", None, np.nan]}))
    assert ids[:, 0].tolist() == [gender.offset + 1, gender.offset + 2, gender.offset, gender.offset,
                                  gender.offset]
    assert weights[:, 0].tolist() == [1.0] * 5


def test_ints_in_object_column_are_text():
    table = pd.DataFrame({"plan": pd.Series([1, 2, 1, 2, 3, 3, 1, 2], dtype=object)})
    space = FeatureSpace.fit(table)
    plan = column(space, "plan")

    assert plan.kind == "categorical"
    assert plan.values == ["1", "2", "3"]
    ids, _ = space.encode(pd.DataFrame({"plan": ["2", 3, 3.0, "3.0"]}))
    assert ids[:, 0].tolist() == [plan.offset + 2, plan.offset + 3, plan.offset + 3, plan.offset]


def test_categorical_dtype_is_text():
    table = pd.DataFrame({"tier": pd.Categorical(["gold", "silver", "gold", "silver", "bronze", "gold"])})
    space = FeatureSpace.fit(table)
    tier = column(space, "tier")

    assert tier.kind == "categorical"
    assert tier.values == ["bronze", "gold", "silver"]
    ids, _ = space.encode(table)
    assert ids[:, 0].tolist() == [tier.offset + 2, tier.offset + 3, tier.offset + 2, tier.offset + 3,
                                  tier.offset + 1, tier.offset + 2]


def test_named_column_keeps_most_frequent_values():
    cities = ["Paris"] * 5 + ["Lyon"] * 3 + ["Nice"] * 3 + ["Brest"] * 2 + ["Metz"]
    table = pd.DataFrame({"city": cities})

    space = FeatureSpace.fit(table, ["city"], max_values=2)
    city = column(space, "city")
    assert city.values == ["Lyon", "Paris"]

    ids, _ = space.encode(pd.DataFrame({"city": ["Paris", "Lyon", "Nice", "Metz"]}))
    assert ids[:, 0].tolist() == [city.offset + 2, city.offset + 1, city.offset, city.offset]

    assert len(FeatureSpace.fit(table, max_values=2)) == 0


def test_named_columns_keep_order():
    table = users_table()
    space = FeatureSpace.fit(table, ["occupation", "zip_code", "age"])

    assert [c.name for c in space.columns] == ["occupation", "zip_code", "age"]
    assert column(space, "zip_code").kind == "categorical"
    assert len(column(space, "zip_code").values) == 100
    assert "10001" in column(space, "zip_code").values


def test_multi_weights_sum_to_one():
    table = pd.DataFrame({"category": ["A|B|C", "A", "B|C", "A|C", "C"]})
    space = FeatureSpace.fit(table, ["category"])
    category = column(space, "category")
    a, b, c = (category.offset + 1 + i for i in range(3))

    assert category.kind == "multi"
    assert category.slots == 3

    cells = ["A|B|C", " B | A ", "A|Z", "Z|Y", None, "", "C|C", "A||B"]
    ids, weights = space.encode(pd.DataFrame({"category": cells}))
    assert ids.tolist() == [[a, b, c], [b, a, 0], [a, category.offset, 0], [category.offset, 0, 0],
                            [category.offset, 0, 0], [category.offset, 0, 0], [c, 0, 0], [a, b, 0]]
    for row in range(len(cells)):
        assert weights[row].sum() == pytest.approx(1.0), cells[row]
    assert weights[0].tolist() == pytest.approx([1 / 3] * 3)
    assert weights[2].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert weights[3].tolist() == [1.0, 0.0, 0.0]


def test_multi_drops_tokens_beyond_width():
    space = FeatureSpace.fit(pd.DataFrame({"tags": ["x|y", "y|z", "x", "z|x"]}), ["tags"])
    tags = column(space, "tags")

    ids, weights = space.encode(pd.DataFrame({"tags": ["z|y|x"]}))
    assert tags.slots == 2
    assert ids.tolist() == [[tags.offset + 3, tags.offset + 2]]
    assert weights.tolist() == [[0.5, 0.5]]


def test_multi_width_is_capped():
    cell = "|".join(f"t{i}" for i in range(MAX_TOKENS + 5))
    table = pd.DataFrame({"tags": [cell] * 60 + ["t0|t1"] * 60})
    space = FeatureSpace.fit(table, max_values=100)

    assert column(space, "tags").slots == MAX_TOKENS
    assert space.slots == MAX_TOKENS


def test_encode_missing_and_extra_columns():
    table = users_table()
    space = FeatureSpace.fit(table)
    gender = column(space, "gender")
    age = column(space, "age")

    other = pd.DataFrame({"gender": ["F", "M"], "favourite_colour": ["red", "blue"]},
                         index=["a", "b"])
    ids, weights = space.encode(other)
    assert ids.shape == (2, space.slots)
    assert weights.shape == (2, space.slots)
    assert ids.dtype == np.int64
    assert weights.dtype == np.float32
    assert ids[:, slot_of(space, "gender")].tolist() == [gender.offset + 1, gender.offset + 2]
    assert ids[:, slot_of(space, "age")].tolist() == [age.offset, age.offset]
    assert weights[:, slot_of(space, "age")].tolist() == [0.0, 0.0]
    assert ids[:, slot_of(space, "occupation")].tolist() == [column(space, "occupation").offset] * 2


def test_encode_missing_multi_column():
    space = FeatureSpace.fit(items_table(), kind="interest")
    category = column(space, "category")
    start = slot_of(space, "category")

    ids, weights = space.encode(pd.DataFrame({"genre_Drama": [1, 0]}))
    assert ids[:, start].tolist() == [category.offset, category.offset]
    assert weights[:, start].tolist() == [1.0, 1.0]
    assert weights[:, start + 1:start + category.slots].sum() == 0.0


def test_encode_empty_table_and_no_columns():
    table = users_table()
    space = FeatureSpace.fit(table)
    ids, weights = space.encode(table.iloc[:0])
    assert ids.shape == (0, 4)
    assert weights.shape == (0, 4)

    empty_space = FeatureSpace.fit(table, [])
    ids, weights = empty_space.encode(table)
    assert empty_space.size == 1
    assert ids.shape == (len(table), 0)
    assert weights.shape == (len(table), 0)


def test_encode_attributes_matches_encode():
    table = users_table()
    space = FeatureSpace.fit(table)

    ids, weights = space.encode_attributes({"age": "25", "gender": "F"})
    expected_ids, expected_weights = space.encode(pd.DataFrame({"age": [25], "gender": ["F"]}))
    assert ids.shape == (1, space.slots)
    assert ids.tolist() == expected_ids.tolist()
    assert weights.tolist() == expected_weights.tolist()
    assert ids[0, slot_of(space, "occupation")] == column(space, "occupation").offset


def test_encode_attributes_accepts_token_list():
    space = FeatureSpace.fit(items_table(), kind="interest")

    from_list = space.encode_attributes({"category": ["Comedy", "Drama"], "genre_Comedy": 1})
    from_text = space.encode_attributes({"category": "Comedy|Drama", "genre_Comedy": "1"})
    assert from_list[0].tolist() == from_text[0].tolist()
    assert from_list[1].tolist() == from_text[1].tolist()


def test_fit_unknown_column_message():
    with pytest.raises(ConfigError) as caught:
        FeatureSpace.fit(users_table(), ["age", "income"])
    message = str(caught.value)
    assert "'income'" in message
    assert "users table" in message
    assert "'occupation'" in message

    with pytest.raises(ConfigError, match="interests table"):
        FeatureSpace.fit(items_table(), ["rating"], kind="interest")


def test_fit_rejects_invalid_arguments():
    table = users_table()
    with pytest.raises(ConfigError, match="kind"):
        FeatureSpace.fit(table, kind="item")
    with pytest.raises(ConfigError, match="max_values"):
        FeatureSpace.fit(table, max_values=0)
    with pytest.raises(ConfigError, match="more than once"):
        FeatureSpace.fit(table, ["age", "age"])
    with pytest.raises(ConfigError, match="list of column names"):
        FeatureSpace.fit(table, "age")


def test_encode_attributes_rejects_list_for_categorical():
    space = FeatureSpace.fit(users_table())
    with pytest.raises(ConfigError, match="'gender' must be text"):
        space.encode_attributes({"gender": ["F", "M"]})


def test_encode_attributes_unknown_name_message():
    space = FeatureSpace.fit(users_table())
    with pytest.raises(ConfigError) as caught:
        space.encode_attributes({"age": 30, "zip_code": "10001"})
    message = str(caught.value)
    assert "zip_code" in message
    assert "'gender'" in message
    assert "'occupation'" in message


def test_round_trip_through_json():
    users = users_table()
    items = items_table()
    for table, kind in ((users, "user"), (items, "interest")):
        space = FeatureSpace.fit(table, kind=kind)
        text = json.dumps(space.to_dict())
        restored = FeatureSpace.from_dict(json.loads(text))

        assert restored.to_dict() == space.to_dict()
        assert restored.size == space.size
        assert restored.slots == space.slots
        ids, weights = space.encode(table)
        restored_ids, restored_weights = restored.encode(table)
        assert np.array_equal(ids, restored_ids)
        assert np.array_equal(weights, restored_weights)


def test_from_dict_rejects_inconsistent_data():
    values = FeatureSpace.fit(users_table()).to_dict()

    shifted = json.loads(json.dumps(values))
    shifted["columns"][1]["offset"] += 1
    with pytest.raises(ConfigError, match="do not match"):
        FeatureSpace.from_dict(shifted)

    bad_kind = json.loads(json.dumps(values))
    bad_kind["columns"][0]["kind"] = "embedding"
    with pytest.raises(ConfigError, match="invalid kind"):
        FeatureSpace.from_dict(bad_kind)

    with pytest.raises(ConfigError, match="format_version"):
        FeatureSpace.from_dict({"columns": []})


def test_describe_is_json_ready():
    space = FeatureSpace.fit(items_table(), kind="interest")
    summary = space.describe()

    assert json.loads(json.dumps(summary)) == summary
    category = next(entry for entry in summary if entry["name"] == "category")
    assert category == {"name": "category", "kind": "multi", "n_values": 9, "slots": 3}


def test_encode_million_rows():
    rows = 1_000_000
    generator = np.random.default_rng(1)
    table = pd.DataFrame({f"c{i}": generator.choice([f"v{j}" for j in range(10 * (i + 1))], rows)
                          for i in range(5)})
    space = FeatureSpace.fit(table.iloc[:10_000])

    ids, weights = space.encode(table)
    assert ids.shape == (rows, 5)
    assert weights.shape == (rows, 5)
    assert (weights == 1.0).all()
    first = column(space, "c0")
    assert ids[0, 0] == first.offset + 1 + first.values.index(table["c0"].iloc[0])
    assert ids.max() < space.size


@pytest.mark.realdata
def test_movielens_feature_columns(movielens_path):
    data = adrec.load_data(movielens_path)

    users = FeatureSpace.fit(data.user_attributes, kind="user")
    user_kinds = {c.name: c.kind for c in users.columns}
    assert user_kinds == {"age": "numeric", "gender": "categorical", "occupation": "categorical"}
    assert len(column(users, "occupation").values) == 21

    interests = FeatureSpace.fit(data.interest_attributes, kind="interest")
    interest_kinds = {c.name: c.kind for c in interests.columns}
    assert interest_kinds["category"] == "multi"
    assert "name" not in interest_kinds
    assert interest_kinds["genre_Comedy"] == "flag"
    assert interest_kinds["genre_Action"] == "flag"
    assert all(kind == "flag" for name, kind in interest_kinds.items() if name.startswith("genre_"))

    ids, weights = interests.encode(data.interest_attributes)
    category = slice(slot_of(interests, "category"), slot_of(interests, "category")
                     + column(interests, "category").slots)
    assert np.allclose(weights[:, category].sum(axis=1), 1.0, atol=1e-6)
    assert ids.max() < interests.size
