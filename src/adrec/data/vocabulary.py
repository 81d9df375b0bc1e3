"""Vocabularies: the two-way map between external IDs and contiguous indices."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from adrec.errors import UnknownIDError


class Vocabulary:
    """An ordered set of external IDs, each given the index of its position.

    IDs are kept as Python strings exactly as they appeared in the input, so
    ``"007"`` and ``"7"`` are different IDs. Models only ever see the indices.

    Args:
        ids: the distinct IDs in index order.
        kind: ``"user"`` or ``"interest"``, used in error messages.
    """

    def __init__(self, ids: Iterable[str], kind: str):
        values = np.asarray(list(ids) if not isinstance(ids, (np.ndarray, pd.Index)) else ids,
                            dtype=object)
        self._index = pd.Index(values, dtype=object, name=f"{kind}_id")
        if not self._index.is_unique:
            duplicated = self._index[self._index.duplicated()][:5].tolist()
            raise ValueError(f"{kind} vocabulary has duplicated IDs, for example {duplicated}")
        self.kind = kind

    @classmethod
    def from_values(cls, values: pd.Series | np.ndarray, kind: str) -> tuple[Vocabulary, np.ndarray]:
        """Build a vocabulary in order of first appearance and encode ``values``.

        Returns:
            The vocabulary and an ``int64`` array of indices, one per value.
        """
        if not (isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype)):
            values = pd.Series(values, dtype=object)
        # A categorical is factorized through its integer codes, without hashing any text.
        codes, uniques = pd.factorize(values, sort=False)
        return cls(np.asarray(uniques, dtype=object), kind), codes.astype(np.int64)

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, external_id: object) -> bool:
        return external_id in self._index

    def __repr__(self) -> str:
        return f"Vocabulary(kind={self.kind!r}, size={len(self)})"

    @property
    def ids(self) -> np.ndarray:
        """The IDs in index order, as an object array of ``str``."""
        return self._index.to_numpy()

    def index_of(self, external_id: str) -> int:
        """Return the index of one ID, or raise :class:`UnknownIDError`."""
        try:
            return int(self._index.get_loc(external_id))
        except KeyError:
            raise UnknownIDError(self.kind, external_id, len(self)) from None

    def indices_of(self, external_ids: Iterable[str], strict: bool = True) -> np.ndarray:
        """Map many IDs to indices at once.

        Args:
            external_ids: IDs to look up.
            strict: raise :class:`UnknownIDError` for the first unknown ID; when
                false, unknown IDs map to -1.

        Returns:
            An ``int64`` array of indices.
        """
        values = pd.Index(np.asarray(list(external_ids), dtype=object), dtype=object)
        positions = self._index.get_indexer(values).astype(np.int64)
        if strict and (positions < 0).any():
            first_unknown = values[int(np.argmax(positions < 0))]
            raise UnknownIDError(self.kind, first_unknown, len(self))
        return positions

    def id_of(self, index: int) -> str:
        """Return the external ID at ``index``; a negative or too large index raises IndexError."""
        if not 0 <= index < len(self):
            raise IndexError(f"{self.kind} index {index} is out of range [0, {len(self)})")
        return self._index[index]
