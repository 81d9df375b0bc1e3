"""The HTTP service over a model bundle (FastAPI, run by uvicorn)."""

from adrec.server.app import check_exposure, create_app

__all__ = ["check_exposure", "create_app"]
