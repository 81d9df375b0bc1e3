"""Tests of the vocabulary: the two-way map between external IDs and contiguous indices."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adrec import UnknownIDError, Vocabulary

# IDs that differ only by leading zeros, case or surrounding whitespace are different IDs.
LOOK_ALIKE_IDS = ["7", "007", "07", "A1", "a1", " a1", "a1 ", "a\u00a01", "café", "CAFÉ", "用户", ""]


def look_alike_variants(text: str) -> list[str]:
    """Build the distinct variants of ``text`` that a careless mapping would merge."""
    variants = [text, text.upper(), text.lower(), f"0{text}", f"00{text}", f" {text}", f"{text} ",
                f"\t{text}", text.strip()]
    return list(dict.fromkeys(variants))


# Mostly arbitrary unicode, plus digit strings with leading zeros, which Hypothesis rarely draws.
id_text = st.one_of(st.text(max_size=12), st.from_regex(r"0{1,3}[0-9]{0,4}", fullmatch=True))


def test_vocabulary_round_trip():
    ids = ["b", "a", "007", "7"]
    vocabulary = Vocabulary(ids, "user")

    for position, external_id in enumerate(ids):
        assert vocabulary.index_of(external_id) == position
        assert vocabulary.id_of(position) == external_id


def test_vocabulary_ids_in_index_order():
    vocabulary = Vocabulary(["b", "a", "c"], "interest")

    assert vocabulary.ids.tolist() == ["b", "a", "c"]
    assert len(vocabulary) == 3


def test_from_values_first_appearance():
    values = np.array(["z", "a", "z", "m", "a", "z"], dtype=object)

    vocabulary, codes = Vocabulary.from_values(values, "user")

    assert vocabulary.ids.tolist() == ["z", "a", "m"]
    assert codes.tolist() == [0, 1, 0, 2, 1, 0]
    assert codes.dtype == np.int64


def test_look_alike_ids_distinct():
    vocabulary = Vocabulary(LOOK_ALIKE_IDS, "user")

    indices = [vocabulary.index_of(external_id) for external_id in LOOK_ALIKE_IDS]

    assert indices == list(range(len(LOOK_ALIKE_IDS)))


def test_integer_not_matching_text():
    vocabulary = Vocabulary(["7"], "user")

    assert 7 not in vocabulary
    assert "7" in vocabulary
    with pytest.raises(UnknownIDError):
        vocabulary.index_of(7)


def test_unknown_id_raises():
    vocabulary = Vocabulary(["a", "b"], "interest")

    with pytest.raises(UnknownIDError) as caught:
        vocabulary.index_of("missing-42")

    assert "'missing-42'" in str(caught.value)
    assert caught.value.external_id == "missing-42"
    assert caught.value.kind == "interest"
    assert caught.value.known == 2


def test_unknown_id_is_key_error():
    vocabulary = Vocabulary(["a"], "user")

    with pytest.raises(KeyError):
        vocabulary.index_of("b")


def test_indices_of_known_ids():
    vocabulary = Vocabulary(["a", "b", "c"], "user")

    indices = vocabulary.indices_of(["c", "a", "c"])

    assert indices.tolist() == [2, 0, 2]
    assert indices.dtype == np.int64


def test_indices_of_strict_names_first_unknown():
    vocabulary = Vocabulary(["a", "b"], "user")

    with pytest.raises(UnknownIDError) as caught:
        vocabulary.indices_of(["a", "x1", "x2"])

    assert caught.value.external_id == "x1"
    assert "'x1'" in str(caught.value)


def test_indices_of_lenient_gives_minus_one():
    vocabulary = Vocabulary(["a", "b"], "user")

    indices = vocabulary.indices_of(["b", "x", "A"], strict=False)

    assert indices.tolist() == [1, -1, -1]


def test_indices_of_empty_input():
    vocabulary = Vocabulary(["a"], "user")

    indices = vocabulary.indices_of([])

    assert indices.tolist() == []
    assert indices.dtype == np.int64


def test_duplicated_ids_rejected():
    with pytest.raises(ValueError, match="duplicated"):
        Vocabulary(["a", "b", "a"], "user")


@settings(deadline=None)
@given(st.lists(id_text, unique=True, max_size=40))
def test_vocabulary_bijection_property(ids):
    vocabulary = Vocabulary(ids, "user")

    assert len(vocabulary) == len(ids)
    for position, external_id in enumerate(ids):
        assert vocabulary.index_of(external_id) == position
        assert vocabulary.id_of(position) == external_id
    assert vocabulary.indices_of(ids).tolist() == list(range(len(ids)))


@settings(deadline=None)
@given(st.lists(id_text, unique=True, max_size=40))
def test_vocabulary_ids_unchanged_property(ids):
    vocabulary = Vocabulary(ids, "interest")

    returned = vocabulary.ids.tolist()

    assert returned == ids
    assert all(type(external_id) is str for external_id in returned)


@settings(deadline=None)
@given(st.text(min_size=1, max_size=8))
def test_look_alike_variants_property(text):
    variants = look_alike_variants(text)

    vocabulary = Vocabulary(variants, "user")

    assert len(vocabulary) == len(variants)
    assert [vocabulary.id_of(vocabulary.index_of(variant)) for variant in variants] == variants


@settings(deadline=None)
@given(st.lists(id_text, max_size=60))
def test_from_values_decodes_property(values):
    vocabulary, codes = Vocabulary.from_values(np.array(values, dtype=object), "user")

    assert [vocabulary.id_of(code) for code in codes] == values
    assert vocabulary.ids.tolist() == list(dict.fromkeys(values))
