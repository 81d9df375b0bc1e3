"""The HTTP service: a FastAPI application over one model bundle.

The bundle is loaded once at start-up. ``POST /admin/reload`` loads it again from
the same path and swaps it in only if it loads cleanly. Every request works with
the model that was current when it started, so a reload drops no request. No path
is ever taken from a request, and no pickle is ever loaded.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from adrec import __version__
from adrec.errors import AdrecError, ConfigError, UnknownIDError
from adrec.persistence import bundle_hash
from adrec.recommendation import Recommender

logger = logging.getLogger(__name__)

MAX_K = 1000
MAX_AUDIENCE_K = 10000
MAX_PAIRS = 10000
MAX_BODY_BYTES = 1_000_000


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


# ------------------------------------------------------------------ request bodies

class Pair(BaseModel):
    """One (user, interest) pair to predict."""

    model_config = ConfigDict(extra="forbid")
    user_id: str
    interest_id: str


class PredictRequest(BaseModel):
    """Pairs to predict, at most ``MAX_PAIRS``."""

    model_config = ConfigDict(extra="forbid")
    pairs: list[Pair] = Field(min_length=1, max_length=MAX_PAIRS)


class RecommendRequest(BaseModel):
    """A recommendation request with every option."""

    model_config = ConfigDict(extra="forbid")
    user_id: str
    k: int = Field(20, ge=1, le=MAX_K)
    exclude_seen: bool = True
    include: list[str] | None = Field(None, max_length=MAX_PAIRS)
    exclude: list[str] | None = Field(None, max_length=MAX_PAIRS)
    categories: list[str] | None = Field(None, max_length=1000)
    attributes: dict[str, str] | None = None
    strict: bool = False


# ------------------------------------------------------------------ responses

def records(frame: pd.DataFrame) -> list[dict]:
    """Return a frame's rows as JSON-ready dicts (NaN becomes null, IDs stay strings)."""
    return json.loads(frame.to_json(orient="records", force_ascii=False))


def error_response(status: int, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": message})


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

    def model() -> LoadedModel:
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
        problems = [f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
                    for item in error.errors()]
        logger.info("%s %s: invalid request (%s)", request.method, request.url.path,
                    "; ".join(problems))
        return error_response(422, "invalid request: " + "; ".join(problems))

    # -------------------------------------------------------------- service

    @app.get("/health", summary="The process is up")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready", summary="A model is loaded and answering")
    def ready(current: LoadedModel = Depends(model)) -> dict:
        return {"ready": True, "bundle_hash": current.identity["bundle_hash"]}

    @app.get("/model", summary="Identity of the loaded bundle: hash, training date, metrics")
    def identity(current: LoadedModel = Depends(model)) -> dict:
        return current.identity

    @app.post("/admin/reload", summary="Load the bundle again from the path the server started with",
              dependencies=[Depends(require_admin)])
    def reload() -> dict:
        try:
            return {"reloaded": True, "model": holder.reload()}
        except AdrecError as error:
            logger.error("reload of %s failed, the previous model keeps serving: %s",
                         holder.path, error)
            return error_response(409, f"reload failed, the previous model keeps serving: {error}")

    # -------------------------------------------------------------- questions

    def recommend(current: LoadedModel, request: RecommendRequest) -> dict:
        recommender = current.recommender
        frame = recommender.recommend(
            request.user_id, request.k, request.exclude_seen, fallback=not request.strict,
            attributes=request.attributes, include=request.include, exclude=request.exclude,
            categories=request.categories)
        fallback = frame.attrs.get("fallback")
        if fallback:
            logger.info("user %r: fallback %s (%s)", request.user_id, fallback,
                        frame.attrs["reason"])
        return {"user_id": request.user_id, "output": recommender.score_column
                if not fallback else "engaged_users", "fallback": fallback,
                "reason": frame.attrs.get("reason"), "items": records(frame)}

    @app.get("/users/{user_id}/recommendations",
             summary="Best interests for a user; an unknown user gets popular interests, flagged")
    def recommend_get(user_id: str, k: int = Query(20, ge=1, le=MAX_K),
                      exclude_seen: bool = True,
                      category: list[str] | None = Query(None, max_length=1000),
                      strict: bool = Query(False, description="404 for an unknown user instead "
                                                              "of the popular fallback"),
                      current: LoadedModel = Depends(model)) -> dict:
        return recommend(current, RecommendRequest(user_id=user_id, k=k, exclude_seen=exclude_seen,
                                                   categories=category, strict=strict))

    @app.post("/recommendations", summary="Recommendations with every option in the body")
    def recommend_post(request: RecommendRequest, current: LoadedModel = Depends(model)) -> dict:
        logger.info("recommendations for user %r, k=%d", request.user_id, request.k)
        return recommend(current, request)

    @app.get("/users/{user_id}/history", summary="A user's most frequented interests with predictions")
    def history(user_id: str, k: int = Query(20, ge=1, le=MAX_K),
                current: LoadedModel = Depends(model)) -> dict:
        recommender = current.recommender
        return {"user_id": user_id, "output": recommender.score_column,
                "items": records(recommender.history(user_id, k))}

    @app.post("/predict", summary="Predicted frequency (or ranking score) of (user, interest) pairs")
    def predict(request: PredictRequest, current: LoadedModel = Depends(model)) -> dict:
        recommender = current.recommender
        logger.info("predict %d pairs, first (%r, %r)", len(request.pairs),
                    request.pairs[0].user_id, request.pairs[0].interest_id)
        values = recommender.predict_pairs([pair.user_id for pair in request.pairs],
                                           [pair.interest_id for pair in request.pairs])
        return {"output": recommender.score_column, "predictions": [float(v) for v in values]}

    @app.get("/interests/{interest_id}/audience",
             summary="Users most likely to engage with an interest they have not engaged with")
    def audience(interest_id: str, k: int = Query(1000, ge=1, le=MAX_AUDIENCE_K),
                 include_engaged: bool = False, current: LoadedModel = Depends(model)) -> dict:
        recommender = current.recommender
        frame = recommender.audience(interest_id, k, exclude_engaged=not include_engaged)
        return {"interest_id": interest_id, "output": recommender.score_column,
                "items": records(frame)}

    @app.get("/interests/{interest_id}/similar", summary="Nearest interests by cosine similarity")
    def similar_interests(interest_id: str, k: int = Query(20, ge=1, le=MAX_K),
                          current: LoadedModel = Depends(model)) -> dict:
        return {"interest_id": interest_id,
                "items": records(current.recommender.similar_interests(interest_id, k))}

    @app.get("/users/{user_id}/similar", summary="Nearest users by cosine similarity")
    def similar_users(user_id: str, k: int = Query(20, ge=1, le=MAX_K),
                      current: LoadedModel = Depends(model)) -> dict:
        return {"user_id": user_id, "items": records(current.recommender.similar_users(user_id, k))}

    return app


def check_exposure(host: str, admin_token: str | None) -> None:
    """Raise when the server would listen beyond loopback without an admin token."""
    if host in ("127.0.0.1", "localhost", "::1") or admin_token:
        return
    raise ConfigError(f"listening on {host} exposes POST /admin/reload beyond this machine; set "
                      "--admin-token (or ADREC_ADMIN_TOKEN), or listen on 127.0.0.1")
