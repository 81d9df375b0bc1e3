"""The HTTP service: a FastAPI application over one model bundle.

The bundle is loaded once at start-up. ``POST /admin/reload`` loads it again from
the same path and swaps it in only if it loads cleanly. Every request works with
the model that was current when it started, so a reload drops no request. No path
is ever taken from a request, and no pickle is ever loaded.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson
import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from starlette.exceptions import HTTPException as StarletteHTTPException

from adrec import __version__
from adrec.errors import AdrecError, ConfigError, UnknownIDError
from adrec.persistence import bundle_hash
from adrec.recommendation import Recommender
from adrec.server import schemas
from adrec.server.schemas import (
    MAX_AUDIENCE_K,
    MAX_CATEGORIES,
    MAX_K,
    AudienceRequest,
    PredictRequest,
    RecommendRequest,
)

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000

# The errors each route documents: those with a body can also be too large.
ERRORS = {status: {"model": schemas.ErrorResponse, "description": description}
          for status, description in [(400, "the request cannot be answered as asked"),
                                      (422, "the request is invalid")]}
BODY_ERRORS = ERRORS | {413: {"model": schemas.ErrorResponse,
                              "description": "the request body is too large"}}
NOT_FOUND = {404: {"model": schemas.ErrorResponse, "description": "unknown user or interest"}}


@dataclass(frozen=True)
class LoadedModel:
    """A recommender with the identity of the bundle it came from."""

    recommender: Recommender
    identity: dict


def load_model(path: Path) -> LoadedModel:
    """Load the bundle at ``path`` and describe it."""
    recommender = Recommender.load(path)
    manifest = recommender.manifest
    metrics = {key: value for key, value in recommender.metrics.items()
               if isinstance(value, (int, float, str, bool)) or value is None}
    identity = {
        "bundle_hash": bundle_hash(manifest),
        "path": str(path),
        "trained_at": manifest.get("saved_at"),
        "adrec_version": manifest.get("adrec_version"),
        "kind": recommender.model_config.kind,
        "objective": recommender.train_config.objective,
        "output": recommender.score_column,
        "users": len(recommender.users),
        "interests": len(recommender.interests),
        "metrics": metrics,
    }
    return LoadedModel(recommender, identity)


class ModelHolder:
    """The current model, swapped as a whole on reload."""

    def __init__(self, path: Path):
        self.path = path
        self.current = load_model(path)
        self._reload_lock = threading.Lock()

    def reload(self) -> dict:
        """Load the bundle again; keep the old model and raise if the new one does not load."""
        with self._reload_lock:
            fresh = load_model(self.path)
            previous = self.current.identity["bundle_hash"]
            self.current = fresh
        logger.info("reloaded %s: bundle %s replaces %s", self.path,
                    fresh.identity["bundle_hash"], previous)
        return fresh.identity


# ------------------------------------------------------------------ responses

def _json_default(value):
    # Missing attribute values (pd.NA, NaT) become null, and NumPy scalars plain numbers.
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


class JSONBody(Response):
    """A JSON response written by orjson: NaN becomes null, IDs stay strings.

    Endpoints return it directly, so FastAPI does not run its own (slower)
    serialization; the ``response_model`` of each route still documents it.
    """

    media_type = "application/json"

    def render(self, content) -> bytes:
        return orjson.dumps(content, default=_json_default, option=orjson.OPT_SERIALIZE_NUMPY)


def rows(columns: dict[str, np.ndarray] | pd.DataFrame) -> list[dict]:
    """Return column arrays (or a frame's columns) as a list of row dicts."""
    if isinstance(columns, pd.DataFrame):
        columns = {str(name): columns[name].to_numpy() for name in columns.columns}
    names = list(columns)
    values = [np.asarray(column).tolist() for column in columns.values()]
    return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]


def _problem(item: dict, request: Request) -> str:
    """Describe one validation error, with a hint for the usual mistakes with bodies."""
    location = ".".join(str(part) for part in item["loc"])
    if item["type"] == "json_invalid":
        return f"the body is not valid JSON ({item.get('ctx', {}).get('error', item['msg'])} at " \
               f"character {item['loc'][-1]})"
    if item["loc"] == ("body",) and item["type"] == "missing":
        return "the request needs a JSON body; /openapi.json lists its fields"
    if item["loc"] == ("body",) and "json" not in request.headers.get("content-type", ""):
        return (f"{location}: {item['msg']}; send the body as JSON with the header "
                "'content-type: application/json'")
    return f"{location}: {item['msg']}"


def error_response(status: int, message: str) -> JSONBody:
    return JSONBody({"error": message}, status_code=status)


class BodyTooLarge(HTTPException):
    """A request body that grew past ``MAX_BODY_BYTES`` while it was read."""

    def __init__(self) -> None:
        super().__init__(413, f"request body is larger than the limit of {MAX_BODY_BYTES:,} bytes; "
                              "send fewer items")


class RequestGuard:
    """ASGI middleware: caps request bodies at ``MAX_BODY_BYTES`` and logs every request.

    A declared ``Content-Length`` over the limit is rejected before reading; a
    chunked body is counted as it arrives, so neither can fill memory.
    """

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [0]

        async def logged_send(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        length = dict(scope.get("headers") or []).get(b"content-length", b"")
        if length.isdigit() and int(length) > MAX_BODY_BYTES:
            response = error_response(413, f"request body of {int(length):,} bytes is larger than "
                                           f"the limit of {MAX_BODY_BYTES:,}; send fewer items")
            await response(scope, receive, logged_send)
        else:
            received = 0

            async def counted_receive():
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > MAX_BODY_BYTES:
                        raise BodyTooLarge()
                return message

            await self.app(scope, counted_receive, logged_send)
        logger.info("%s %s -> %d in %.1f ms", scope["method"], scope["path"], status[0],
                    (time.perf_counter() - started) * 1000)


def create_app(model_path: str | Path, *, admin_token: str | None = None) -> FastAPI:
    """Build the application serving the bundle at ``model_path``.

    Args:
        model_path: the bundle folder; reload reads this path again.
        admin_token: when set, ``POST /admin/reload`` needs the header
            ``Authorization: Bearer TOKEN``.
    """
    holder = ModelHolder(Path(model_path))
    app = FastAPI(title="adrec", version=__version__,
                  description="Recommendations, audiences and predicted frequencies from an "
                              "adrec model bundle.")
    app.state.holder = holder

    def openapi() -> dict:
        # FastAPI documents its own shape for 422, but this server returns every error as
        # ErrorResponse, so the schema documents that instead.
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version,
                                   description=app.description, routes=app.routes)
            invalid = {"description": "the request is invalid", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
            for operations in document["paths"].values():
                for operation in operations.values():
                    if "422" in operation.get("responses", {}):
                        operation["responses"]["422"] = invalid
            for name in ("HTTPValidationError", "ValidationError"):
                document.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi

    # Async so that FastAPI calls it on the event loop instead of the thread pool.
    async def model() -> LoadedModel:
        return holder.current

    def require_admin(authorization: str | None = Header(None)) -> None:
        if admin_token is None:
            return
        scheme, _, token = (authorization or "").partition(" ")
        # The scheme name is case-insensitive in HTTP; the token is compared in constant time.
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), admin_token):
            raise PermissionError("this endpoint needs the header 'Authorization: Bearer TOKEN' "
                                  "with the server's admin token")

    app.add_middleware(RequestGuard)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):
        # Unknown routes, wrong methods and oversized bodies get the same JSON shape as the rest.
        logger.info("%s %s: %s", request.method, request.url.path, error.detail)
        return error_response(error.status_code, str(error.detail))

    @app.exception_handler(UnknownIDError)
    async def unknown_id(request: Request, error: UnknownIDError):
        logger.info("%s %s: %s", request.method, request.url.path, error)
        return error_response(404, str(error))

    @app.exception_handler(AdrecError)
    async def invalid_request(request: Request, error: AdrecError):
        logger.info("%s %s: %s", request.method, request.url.path, error)
        return error_response(400, str(error))

    @app.exception_handler(PermissionError)
    async def forbidden(request: Request, error: PermissionError):
        logger.warning("%s %s: rejected without a valid admin token", request.method,
                       request.url.path)
        return error_response(401, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, error: RequestValidationError):
        problems = [_problem(item, request) for item in error.errors()]
        logger.info("%s %s: invalid request (%s)", request.method, request.url.path,
                    "; ".join(problems))
        return error_response(422, "invalid request: " + "; ".join(problems))

    # -------------------------------------------------------------- service

    @app.get("/health", summary="The process is up", response_model=schemas.Health)
    async def health() -> Response:
        return JSONBody({"status": "ok"})

    @app.get("/ready", summary="A model is loaded and answering", response_model=schemas.Ready)
    async def ready(current: LoadedModel = Depends(model)) -> Response:
        return JSONBody({"ready": True, "bundle_hash": current.identity["bundle_hash"]})

    @app.get("/model", summary="Identity of the loaded bundle: hash, training date, metrics",
             response_model=schemas.ModelIdentity)
    async def identity(current: LoadedModel = Depends(model)) -> Response:
        return JSONBody(current.identity)

    @app.post("/admin/reload", summary="Load the bundle again from the path the server started with",
              dependencies=[Depends(require_admin)], response_model=schemas.Reloaded,
              responses={401: {"model": schemas.ErrorResponse, "description": "no valid admin token"},
                         409: {"model": schemas.ErrorResponse,
                               "description": "the bundle did not load; the previous model "
                                              "keeps serving"}})
    def reload() -> Response:
        try:
            return JSONBody({"reloaded": True, "model": holder.reload()})
        except AdrecError as error:
            logger.error("reload of %s failed, the previous model keeps serving: %s",
                         holder.path, error)
            return error_response(409, f"reload failed, the previous model keeps serving: {error}")

    # -------------------------------------------------------------- questions

    def recommend(current: LoadedModel, request: RecommendRequest) -> Response:
        recommender = current.recommender
        columns, notes = recommender.recommend_columns(
            request.user_id, request.k, request.exclude_seen, fallback=not request.strict,
            attributes=request.attributes, include=request.include, exclude=request.exclude,
            categories=request.categories)
        fallback = notes.get("fallback")
        if fallback:
            logger.info("user %r: fallback %s (%s)", request.user_id, fallback, notes["reason"])
        return JSONBody({"user_id": request.user_id,
                         "output": "engaged_users" if fallback == "popular"
                         else recommender.score_column,
                         "fallback": fallback, "reason": notes.get("reason"),
                         "items": rows(columns)})

    # Scoring one user takes well under a millisecond, so these light routes run on the
    # event loop: a hop to the thread pool would cost about as much as the work.
    @app.get("/users/{user_id}/recommendations", response_model=schemas.Recommendations,
             responses=ERRORS | NOT_FOUND,
             summary="Best interests for a user; an unknown user gets popular interests, flagged")
    async def recommend_get(
            user_id: str, k: int = Query(20, ge=1, le=MAX_K),
            exclude_seen: bool = Query(True, description="leave out interests the user engaged with"),
            category: list[str] | None = Query(None, max_length=MAX_CATEGORIES,
                                               description="keep interests of this category; "
                                                           "repeat for several"),
            strict: bool = Query(False, description="404 for an unknown user instead of the "
                                                    "popular fallback"),
            current: LoadedModel = Depends(model)) -> Response:
        return recommend(current, RecommendRequest(user_id=user_id, k=k, exclude_seen=exclude_seen,
                                                   categories=category, strict=strict))

    @app.post("/recommendations", summary="Recommendations with every option in the body",
              response_model=schemas.Recommendations, responses=BODY_ERRORS | NOT_FOUND)
    async def recommend_post(request: RecommendRequest,
                             current: LoadedModel = Depends(model)) -> Response:
        logger.info("recommendations for user %r, k=%d", request.user_id, request.k)
        return recommend(current, request)

    @app.get("/users/{user_id}/history", response_model=schemas.History,
             responses=ERRORS | NOT_FOUND,
             summary="A user's most frequented interests with predictions")
    async def history(user_id: str, k: int = Query(20, ge=1, le=MAX_K),
                      current: LoadedModel = Depends(model)) -> Response:
        recommender = current.recommender
        return JSONBody({"user_id": user_id, "output": recommender.score_column,
                         "items": rows(recommender.history(user_id, k))})

    # Batches of pairs and audiences can take long, so they run in the thread pool.
    @app.post("/predict", response_model=schemas.Predictions, responses=BODY_ERRORS | NOT_FOUND,
              summary="Predicted frequency (or ranking score) of (user, interest) pairs")
    def predict(request: PredictRequest, current: LoadedModel = Depends(model)) -> Response:
        recommender = current.recommender
        logger.info("predict %d pairs, first (%r, %r)", len(request.pairs),
                    request.pairs[0].user_id, request.pairs[0].interest_id)
        users = [pair.user_id for pair in request.pairs]
        interests = [pair.interest_id for pair in request.pairs]
        new_users = {user: attributes for user, attributes in (request.new_users or {}).items()
                     if user not in recommender.users}
        if not new_users:
            values = recommender.predict_pairs(users, interests)
        else:
            # Pairs of new users are scored from their attributes, one user at a time.
            values = np.empty(len(users))
            known = np.array([user not in new_users for user in users])
            if known.any():
                values[known] = recommender.predict_pairs(
                    [user for user, keep in zip(users, known, strict=True) if keep],
                    [interest for interest, keep in zip(interests, known, strict=True) if keep])
            for user, attributes in new_users.items():
                rows = np.flatnonzero(np.array(users) == user)
                if len(rows):
                    values[rows] = recommender.predict_new_user(
                        attributes, [interests[row] for row in rows])
            logger.info("predict: %d new users scored from attributes", len(new_users))
        return JSONBody({"output": recommender.score_column,
                         "predictions": np.asarray(values, dtype=np.float64).tolist()})

    @app.get("/interests/{interest_id}/audience", response_model=schemas.Audience,
             responses=ERRORS | NOT_FOUND,
             summary="Users most likely to engage with an interest they have not engaged with")
    def audience(interest_id: str, k: int = Query(1000, ge=1, le=MAX_AUDIENCE_K),
                 include_engaged: bool = Query(False, description="keep users who already "
                                                                  "engaged"),
                 current: LoadedModel = Depends(model)) -> Response:
        recommender = current.recommender
        frame = recommender.audience(interest_id, k, exclude_engaged=not include_engaged)
        return JSONBody({"interest_id": interest_id, "output": recommender.score_column,
                         "items": rows(frame)})

    @app.post("/audiences", response_model=schemas.Audience, responses=BODY_ERRORS | NOT_FOUND,
              summary="Audience with every option in the body; a new interest is scored from "
                      "its attributes")
    def audience_post(request: AudienceRequest, current: LoadedModel = Depends(model)) -> Response:
        recommender = current.recommender
        logger.info("audience for interest %r, k=%d", request.interest_id, request.k)
        if request.attributes and request.interest_id not in recommender.interests:
            frame = recommender.audience_new_interest(request.attributes, request.k)
            logger.info("interest %r: %s", request.interest_id, frame.attrs["reason"])
        else:
            frame = recommender.audience(request.interest_id, request.k,
                                         exclude_engaged=not request.include_engaged)
        return JSONBody({"interest_id": request.interest_id, "output": recommender.score_column,
                         "fallback": frame.attrs.get("fallback"),
                         "reason": frame.attrs.get("reason"), "items": rows(frame)})

    @app.get("/interests/{interest_id}/similar", response_model=schemas.SimilarInterests,
             responses=ERRORS | NOT_FOUND, summary="Nearest interests by cosine similarity")
    async def similar_interests(interest_id: str, k: int = Query(20, ge=1, le=MAX_K),
                                current: LoadedModel = Depends(model)) -> Response:
        return JSONBody({"interest_id": interest_id,
                         "items": rows(current.recommender.similar_interests(interest_id, k))})

    # Similar users compares against every user, which is heavier than one user's scores.
    @app.get("/users/{user_id}/similar", response_model=schemas.SimilarUsers,
             responses=ERRORS | NOT_FOUND, summary="Nearest users by cosine similarity")
    def similar_users(user_id: str, k: int = Query(20, ge=1, le=MAX_K),
                      current: LoadedModel = Depends(model)) -> Response:
        return JSONBody({"user_id": user_id,
                         "items": rows(current.recommender.similar_users(user_id, k))})

    return app


def check_exposure(host: str, admin_token: str | None) -> None:
    """Raise when the server would listen beyond loopback without an admin token."""
    if host in ("127.0.0.1", "localhost", "::1") or admin_token:
        return
    raise ConfigError(f"listening on {host} exposes POST /admin/reload beyond this machine; set "
                      "--admin-token (or ADREC_ADMIN_TOKEN), or listen on 127.0.0.1")
