"""Request bodies and response documents of the HTTP service.

Request bodies are strict: an ID must be a JSON string (a number would lose
leading zeros), ``k`` a JSON integer, and unknown fields are rejected. The
response models describe what each endpoint returns; the endpoints write their
JSON directly for speed, and the tests check every response against these models.
Rows carry the interest's or user's display attributes (``name``, ``category``,
``age_band`` and so on) as extra fields, which differ from one model to another.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_K = 1000
MAX_AUDIENCE_K = 10000
MAX_PAIRS = 10000
MAX_CATEGORIES = 1000

OUTPUT_DESCRIPTION = ("name of the value column: 'predicted_frequency' (frequencies in the input's "
                      "units) for MSE models, 'score' for ranking models, 'engaged_users' for the "
                      "popular fallback")


# ------------------------------------------------------------------ requests

class Pair(BaseModel):
    """One (user, interest) pair to predict."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str
    interest_id: str


class PredictRequest(BaseModel):
    """Pairs to predict, at most 10,000."""

    model_config = ConfigDict(extra="forbid", strict=True)
    pairs: list[Pair] = Field(min_length=1, max_length=MAX_PAIRS)
    new_users: dict[str, dict[str, str]] | None = Field(
        None, max_length=MAX_PAIRS,
        description="attributes of users the model does not know, by user ID: a hybrid model "
                    "scores their pairs from these attributes")


class RecommendRequest(BaseModel):
    """A recommendation request with every option."""

    model_config = ConfigDict(extra="forbid", strict=True)
    user_id: str
    k: int = Field(20, ge=1, le=MAX_K)
    exclude_seen: bool = Field(True, description="leave out interests the user engaged with")
    include: list[str] | None = Field(None, max_length=MAX_PAIRS,
                                      description="rank only these interests (each must be known)")
    exclude: list[str] | None = Field(None, max_length=MAX_PAIRS,
                                      description="never return these interests")
    categories: list[str] | None = Field(None, max_length=MAX_CATEGORIES,
                                         description="keep interests of these categories")
    attributes: dict[str, str] | None = Field(
        None, description="attributes of an unknown user (users table column to value): a hybrid "
                          "model scores the user from them, other models take the popular "
                          "interests of that segment")
    strict: bool = Field(False, description="404 for an unknown user instead of the fallback")


class AudienceRequest(BaseModel):
    """An audience request; a new interest is described by its attributes."""

    model_config = ConfigDict(extra="forbid", strict=True)
    interest_id: str
    k: int = Field(1000, ge=1, le=MAX_AUDIENCE_K)
    include_engaged: bool = Field(False, description="keep users who already engaged")
    attributes: dict[str, str] | None = Field(
        None, description="attributes of an interest the model does not know (interests table "
                          "column to value); a hybrid model ranks users from them")


# ------------------------------------------------------------------ responses

class ErrorResponse(BaseModel):
    """Every error: 400, 401, 404, 409, 413, 422."""

    error: str = Field(description="what was wrong and what to do")


class Health(BaseModel):
    status: Literal["ok"]


class Ready(BaseModel):
    ready: bool
    bundle_hash: str


class ModelIdentity(BaseModel):
    """The loaded bundle."""

    bundle_hash: str = Field(description="hash of the bundle's manifest")
    path: str
    trained_at: str | None
    adrec_version: str | None
    kind: str = Field(description="the model kind: mf, hybrid or deep")
    objective: str
    output: str
    users: int
    interests: int
    metrics: dict[str, float | int | str | bool | None]


class Reloaded(BaseModel):
    reloaded: bool
    model: ModelIdentity


class Row(BaseModel):
    """One ranked row; display attributes follow as extra fields."""

    model_config = ConfigDict(extra="allow")
    rank: int = Field(ge=1)


class InterestRow(Row):
    interest_id: str
    predicted_frequency: float | None = Field(
        None, ge=0, description="predicted frequency in the input's units (MSE models)")
    score: float | None = Field(None, description="ranking score, not a frequency (ranking models)")
    engaged_users: int | None = Field(None, description="users who engaged (popular fallback)")


class Recommendations(BaseModel):
    user_id: str
    output: str = Field(description=OUTPUT_DESCRIPTION)
    fallback: Literal["popular", "attributes"] | None = Field(
        description="set when the user is unknown: 'attributes' when the model scored the user "
                    "from the given attributes alone, 'popular' for the most engaged interests")
    reason: str | None = Field(description="why the fallback was used")
    items: list[InterestRow]


class HistoryRow(Row):
    interest_id: str
    frequency: float = Field(description="the engagement frequency in the data")
    predicted_frequency: float | None = Field(None, ge=0)
    score: float | None = None
    part: Literal["train", "validation"]


class History(BaseModel):
    user_id: str
    output: str = Field(description=OUTPUT_DESCRIPTION)
    items: list[HistoryRow]


class Predictions(BaseModel):
    output: str = Field(description=OUTPUT_DESCRIPTION)
    predictions: list[float] = Field(description="one value per pair, in request order")


class UserRow(Row):
    user_id: str
    predicted_frequency: float | None = Field(None, ge=0)
    score: float | None = None


class Audience(BaseModel):
    interest_id: str
    output: str = Field(description=OUTPUT_DESCRIPTION)
    fallback: Literal["attributes"] | None = Field(
        None, description="'attributes' when the interest is new and was scored from its "
                          "attributes alone")
    reason: str | None = None
    items: list[UserRow]


class SimilarInterestRow(Row):
    interest_id: str
    similarity: float = Field(ge=-1.0001, le=1.0001, description="cosine similarity")


class SimilarInterests(BaseModel):
    interest_id: str
    items: list[SimilarInterestRow]


class SimilarUserRow(Row):
    user_id: str
    similarity: float = Field(ge=-1.0001, le=1.0001, description="cosine similarity")


class SimilarUsers(BaseModel):
    user_id: str
    items: list[SimilarUserRow]
