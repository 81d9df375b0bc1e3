"""Exceptions raised by adrec.

Every error that bad input can cause is a subclass of :class:`AdrecError`, so an
application can catch them all in one place. Each subclass also derives from the
built-in exception a Python user would expect (``ValueError``, ``KeyError``), so
code written against those keeps working.
"""

from __future__ import annotations


class AdrecError(Exception):
    """Base class of every error adrec raises on purpose."""


class DataValidationError(AdrecError, ValueError):
    """Input tables that cannot be used as they are.

    The message names the file, the row or column and the invalid value, and
    the fix.
    """


class ConfigError(AdrecError, ValueError):
    """An invalid model or training setting."""


class UnknownIDError(AdrecError, KeyError):
    """A user or interest ID that the model was not trained on.

    Attributes:
        kind: ``"user"`` or ``"interest"``.
        external_id: the ID as the caller gave it.
        known: the number of IDs of that kind in the model's vocabulary.
        hint: what the caller can do instead, appended to the message.
    """

    def __init__(self, kind: str, external_id: str, known: int, hint: str | None = None):
        self.kind = kind
        self.external_id = external_id
        self.known = known
        self.hint = hint
        super().__init__(kind, external_id)

    def __str__(self) -> str:
        message = (f"unknown {self.kind} ID {self.external_id!r}: the model knows {self.known:,} "
                   f"{self.kind}s, and this one had no rows in its training data")
        return f"{message}; {self.hint}" if self.hint else message


class BundleError(AdrecError, ValueError):
    """A model bundle that is missing, truncated, corrupted or of an unsupported version."""


class TrainingError(AdrecError, RuntimeError):
    """Training that cannot go on, for example because the loss became NaN."""


class DivergenceError(TrainingError):
    """The training or validation loss became NaN or infinite."""
