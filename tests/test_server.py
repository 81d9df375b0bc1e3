"""The HTTP service against a real uvicorn server on 127.0.0.1, one free port per module."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

import adrec
from adrec.server import schemas
from adrec.server.app import JSONBody

TOKEN = "test-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _fit(seed: int, objective: str = "mse") -> adrec.Recommender:
    training = adrec.TrainConfig(objective=objective, epochs=3, target_transform="log1p", seed=seed)
    return adrec.Recommender(adrec.ModelConfig(dim=8), training).fit(adrec.load_sample(),
                                                                      progress=False)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict:
    folder = tmp_path_factory.mktemp("serve")
    first, second = _fit(1), _fit(2)
    first.save(folder / "first")
    second.save(folder / "second")
    shutil.copytree(folder / "first", folder / "served")
    return {"folder": folder, "first": first, "second": second}


def _start_server(bundle: Path, environment: dict) -> tuple[subprocess.Popen, httpx.Client]:
    """Start `adrec serve` on a free port of 127.0.0.1 and wait until it responds.

    The server's log goes to ``serve.log`` beside the bundle: a pipe nobody reads
    would block the server once it filled.
    """
    port = _free_port()
    log = open(bundle.parent / "serve.log", "w")  # noqa: SIM115 (closed when the process ends)
    process = subprocess.Popen(
        [sys.executable, "-m", "adrec", "serve", str(bundle), "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=environment)
    log.close()
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
    for _ in range(200):
        try:
            if client.get("/health").status_code == 200:
                return process, client
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    process.wait(timeout=30)
    pytest.fail(f"the server did not start: {(bundle.parent / 'serve.log').read_text()[-2000:]}")


def _stop_server(process: subprocess.Popen, client: httpx.Client) -> None:
    client.close()
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(models: dict):
    environment = dict(os.environ, ADREC_ADMIN_TOKEN=TOKEN, OMP_NUM_THREADS="1")
    process, client = _start_server(models["folder"] / "served", environment)
    yield {"client": client, "process": process, "models": models}
    _stop_server(process, client)


def test_health_ready_and_identity(server):
    client = server["client"]
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    identity = client.get("/model").json()
    assert ready["ready"] is True
    assert identity["bundle_hash"] == ready["bundle_hash"]
    assert identity["users"] == 2000
    assert identity["output"] == "predicted_frequency"
    assert "validation_rmse" in identity["metrics"]


def test_recommendations_match_library(server):
    client, model = server["client"], server["models"]["first"]
    body = client.get("/users/6/recommendations", params={"k": 5}).json()
    expected = model.recommend("6", 5)
    assert body["fallback"] is None
    assert [item["interest_id"] for item in body["items"]] == expected["interest_id"].tolist()
    assert body["items"][0]["predicted_frequency"] == pytest.approx(
        expected["predicted_frequency"].iloc[0], rel=1e-6)


def test_requests_and_errors_are_logged_with_ids(server):
    client = server["client"]
    client.get("/users/6/recommendations", params={"k": 2})
    client.post("/recommendations", json={"user_id": "log-ghost", "k": 2})
    client.get("/interests/no-such-interest/audience")
    log = (server["models"]["folder"] / "serve.log").read_text()
    assert "GET /users/6/recommendations -> 200" in log
    assert "user 'log-ghost': fallback popular" in log
    assert "unknown interest ID 'no-such-interest'" in log


def test_recommendation_filters(server):
    client = server["client"]
    body = client.post("/recommendations", json={
        "user_id": "6", "k": 10, "categories": ["Sports"], "exclude": ["SPT-01", "unknown-x"]}).json()
    assert body["items"]
    assert {item["category"] for item in body["items"]} == {"Sports"}
    assert "SPT-01" not in [item["interest_id"] for item in body["items"]]

    body = client.post("/recommendations", json={"user_id": "6", "k": 10,
                                                  "include": ["AUT-01", "AUT-02"]}).json()
    assert {item["interest_id"] for item in body["items"]} <= {"AUT-01", "AUT-02"}


def test_unknown_user_fallback_and_strict(server):
    client = server["client"]
    body = client.post("/recommendations", json={"user_id": "ghost", "k": 3,
                                                  "attributes": {"region": "capital"}}).json()
    assert body["fallback"] == "popular"
    assert "users with region=capital" in body["reason"]
    assert len(body["items"]) == 3

    response = client.get("/users/ghost/recommendations", params={"strict": "true"})
    assert response.status_code == 404
    assert "unknown user ID 'ghost'" in response.json()["error"]


def test_history_predict_audience_similar(server):
    client, model = server["client"], server["models"]["first"]
    history = client.get("/users/6/history", params={"k": 3}).json()
    assert [item["interest_id"] for item in history["items"]] == \
        model.history("6", 3)["interest_id"].tolist()

    predicted = client.post("/predict", json={"pairs": [
        {"user_id": "6", "interest_id": "AUT-01"}, {"user_id": "7", "interest_id": "TRV-02"}]}).json()
    assert predicted["predictions"] == pytest.approx(
        model.predict_pairs(["6", "7"], ["AUT-01", "TRV-02"]).tolist(), rel=1e-6)

    audience = client.get("/interests/AUT-01/audience", params={"k": 4}).json()
    assert [item["user_id"] for item in audience["items"]] == \
        model.audience("AUT-01", 4)["user_id"].tolist()
    similar = client.get("/interests/AUT-01/similar", params={"k": 3}).json()
    assert [item["interest_id"] for item in similar["items"]] == \
        model.similar_interests("AUT-01", 3)["interest_id"].tolist()
    users = client.get("/users/6/similar", params={"k": 3}).json()
    assert [item["user_id"] for item in users["items"]] == \
        model.similar_users("6", 3)["user_id"].tolist()


def test_every_response_matches_its_documented_schema(server):
    client = server["client"]
    answers = [
        (schemas.Health, client.get("/health")),
        (schemas.Ready, client.get("/ready")),
        (schemas.ModelIdentity, client.get("/model")),
        (schemas.Recommendations, client.get("/users/6/recommendations", params={"k": 4})),
        (schemas.Recommendations, client.post("/recommendations", json={"user_id": "ghost"})),
        (schemas.History, client.get("/users/6/history")),
        (schemas.Predictions, client.post("/predict", json={"pairs": [
            {"user_id": "6", "interest_id": "AUT-01"}]})),
        (schemas.Audience, client.get("/interests/AUT-01/audience", params={"k": 5})),
        (schemas.SimilarInterests, client.get("/interests/AUT-01/similar")),
        (schemas.SimilarUsers, client.get("/users/6/similar")),
        (schemas.ErrorResponse, client.get("/users/6/history", params={"k": -1})),
        (schemas.ErrorResponse, client.get("/interests/nope/similar")),
    ]
    for model, response in answers:
        assert response.headers["content-type"] == "application/json"
        document = model.model_validate(response.json())
        if hasattr(document, "items") and isinstance(document.items, list):
            assert document.items, f"{model.__name__} came back empty"
    recommendation = answers[3][1].json()["items"][0]
    # Display attributes ride along as extra fields; the frequency is never negative.
    assert {"name", "category"} <= set(recommendation)
    assert recommendation["predicted_frequency"] >= 0


def test_openapi_documents_responses_and_errors(server):
    document = server["client"].get("/openapi.json").json()
    route = document["paths"]["/users/{user_id}/recommendations"]["get"]
    assert route["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Recommendations")
    for status in ("400", "404", "422"):
        schema = route["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorResponse")
    reload = document["paths"]["/admin/reload"]["post"]
    assert {"401", "409"} <= set(reload["responses"])
    assert "error" in document["components"]["schemas"]["ErrorResponse"]["properties"]
    # Every documented 422 has the shape the server sends, and only bodies can be too large.
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "422" in operation["responses"]:
                assert operation["responses"]["422"]["content"]["application/json"]["schema"][
                    "$ref"].endswith("/ErrorResponse"), (method, path)
            takes_body = method == "post" and path != "/admin/reload"
            assert ("413" in operation["responses"]) == takes_body, (method, path)


def test_body_mistakes_get_hints(server):
    client = server["client"]
    broken = client.post("/predict", content=b'{"pairs": [', headers={"content-type": "application/json"})
    assert broken.status_code == 422
    assert "the body is not valid JSON" in broken.json()["error"]
    plain = client.post("/recommendations", content=b'{"user_id": "6"}',
                        headers={"content-type": "text/plain"})
    assert plain.status_code == 422
    assert "content-type: application/json" in plain.json()["error"]
    empty = client.post("/predict")
    assert empty.status_code == 422
    assert "the request needs a JSON body" in empty.json()["error"]


def test_json_body_writes_missing_values_as_null():
    body = JSONBody({"values": [float("nan"), pd.NA, np.int64(3)], "id": "007"}).body
    assert body == b'{"values":[null,null,3],"id":"007"}'


@pytest.mark.parametrize(("method", "path", "payload", "status", "message"), [
    ("get", "/users/6/recommendations?k=0", None, 422, "query.k"),
    ("get", "/users/6/recommendations?k=5000", None, 422, "less than or equal to 1000"),
    ("post", "/predict", {"pairs": [{"user_id": 6, "interest_id": "AUT-01"}]}, 422,
     "valid string"),
    ("post", "/predict", {"pairs": []}, 422, "at least 1 item"),
    ("post", "/predict", {"pairs": [{"user_id": "6", "interest_id": "nope"}]}, 404,
     "unknown interest ID 'nope'"),
    ("get", "/interests/nope/audience", None, 404, "unknown interest ID"),
    ("post", "/recommendations", {"user_id": "ghost", "attributes": {"shoe": "9"}}, 400,
     "unknown user attribute 'shoe'"),
    ("post", "/recommendations", {"user_id": "6", "bogus": 1}, 422, "bogus"),
    # Body types are strict: a number is no ID (it would lose leading zeros), text is no k.
    ("post", "/recommendations", {"user_id": 6}, 422, "user_id: Input should be a valid string"),
    ("post", "/recommendations", {"user_id": "6", "k": "5"}, 422, "k: Input should be a valid integer"),
    ("post", "/recommendations", {"user_id": "6", "categories": ["Sprots"]}, 400,
     "unknown category 'Sprots'"),
    ("get", "/users/6/recommendations?category=Sprots", None, 400, "unknown category"),
    ("post", "/audiences", {"interest_id": "NEW", "attributes": {"category": "Sports"}}, 400,
     "cannot score a new interest"),
])
def test_errors_are_json_with_a_message(server, method, path, payload, status, message):
    response = getattr(server["client"], method)(path, **({"json": payload} if payload else {}))
    assert response.status_code == status
    assert message in response.json()["error"]


def test_oversized_body_is_rejected(server):
    response = server["client"].post("/predict", content=b"x" * 1_100_000,
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["error"]


def test_chunked_oversized_body_is_rejected(server):
    def chunks():
        for _ in range(40):
            yield b"x" * 65536

    response = server["client"].post("/predict", content=chunks(),
                                     headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["error"]


def test_unknown_route_and_method_are_json(server):
    response = server["client"].get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}
    response = server["client"].delete("/health")
    assert response.status_code == 405
    assert "error" in response.json()


def test_openapi_lists_every_endpoint(server):
    paths = server["client"].get("/openapi.json").json()["paths"]
    for path in ("/health", "/ready", "/model", "/admin/reload", "/users/{user_id}/recommendations",
                 "/recommendations", "/users/{user_id}/history", "/predict",
                 "/interests/{interest_id}/audience", "/audiences",
                 "/interests/{interest_id}/similar",
                 "/users/{user_id}/similar"):
        assert path in paths


@pytest.fixture(scope="module")
def hybrid_server(tmp_path_factory: pytest.TempPathFactory):
    training = adrec.TrainConfig(epochs=3, target_transform="log1p", seed=1)
    model = adrec.Recommender(adrec.ModelConfig(kind="hybrid", dim=8), training).fit(
        adrec.load_sample(), progress=False)
    folder = tmp_path_factory.mktemp("hybrid")
    model.save(folder / "bundle")
    process, client = _start_server(folder / "bundle", dict(os.environ, OMP_NUM_THREADS="1"))
    yield {"client": client, "model": model}
    _stop_server(process, client)


def test_new_user_scored_from_attributes(hybrid_server):
    client, model = hybrid_server["client"], hybrid_server["model"]
    attributes = {"age_band": "25-34", "region": "capital"}
    response = client.post("/recommendations", json={"user_id": "brand-new", "k": 5,
                                                     "attributes": attributes})
    body = schemas.Recommendations.model_validate(response.json())
    assert body.fallback == "attributes"
    assert body.output == "predicted_frequency"
    assert "age_band=25-34" in body.reason
    expected = model.recommend_new_user(attributes, 5)
    assert [item.interest_id for item in body.items] == expected["interest_id"].tolist()

    predicted = client.post("/predict", json={
        "pairs": [{"user_id": "brand-new", "interest_id": "AUT-01"},
                  {"user_id": "6", "interest_id": "AUT-01"}],
        "new_users": {"brand-new": attributes}}).json()["predictions"]
    assert predicted[0] == pytest.approx(model.predict_new_user(attributes, ["AUT-01"])[0], rel=1e-6)
    assert predicted[1] == pytest.approx(model.predict("6", "AUT-01"), rel=1e-6)

    # Without attributes an unknown user still gets the popular fallback.
    plain = client.get("/users/brand-new/recommendations", params={"k": 5}).json()
    assert plain["fallback"] == "popular"


def test_audience_of_new_and_known_interests(hybrid_server):
    client, model = hybrid_server["client"], hybrid_server["model"]
    response = client.post("/audiences", json={"interest_id": "NEW-SPORT", "k": 7,
                                               "attributes": {"category": "Sports"}})
    body = schemas.Audience.model_validate(response.json())
    assert body.fallback == "attributes"
    expected = model.audience_new_interest({"category": "Sports"}, 7)
    assert [item.user_id for item in body.items] == expected["user_id"].tolist()

    known = client.post("/audiences", json={"interest_id": "AUT-01", "k": 7}).json()
    assert known["fallback"] is None
    assert [item["user_id"] for item in known["items"]] == \
        [item["user_id"] for item in client.get("/interests/AUT-01/audience",
                                                params={"k": 7}).json()["items"]]
    missing = client.post("/audiences", json={"interest_id": "NEW-SPORT", "k": 7})
    assert missing.status_code == 404
    wrong = client.post("/audiences", json={"interest_id": "NEW", "attributes": {"colour": "red"}})
    assert wrong.status_code == 400
    assert "unknown interest attribute 'colour'" in wrong.json()["error"]


def test_reload_needs_token(server):
    client = server["client"]
    response = client.post("/admin/reload")
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": TOKEN}).status_code == 401
    # The scheme name is case-insensitive.
    assert client.post("/admin/reload", headers={"Authorization": f"bearer {TOKEN}"}).status_code == 200


def test_reload_under_traffic_and_bad_bundle(server):
    client, models = server["client"], server["models"]
    served = models["folder"] / "served"
    before = client.get("/model").json()["bundle_hash"]
    statuses: list[int] = []

    def traffic():
        with httpx.Client(base_url=client.base_url, timeout=30) as own:
            for _ in range(150):
                statuses.append(own.get("/users/6/recommendations", params={"k": 5}).status_code)

    worker = threading.Thread(target=traffic)
    worker.start()
    models["second"].save(served)
    response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    worker.join()
    assert response.status_code == 200
    after = client.get("/model").json()["bundle_hash"]
    assert after != before
    assert statuses == [200] * 150

    # A damaged bundle is rejected and the model loaded before keeps serving.
    weights = served / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 409
    assert "previous model keeps serving" in response.json()["error"]
    assert client.get("/model").json()["bundle_hash"] == after
    assert client.get("/users/6/recommendations").status_code == 200


def test_port_in_use_fails_clearly(server, models: dict):
    port = server["client"].base_url.port
    done = subprocess.run([sys.executable, "-m", "adrec", "serve", str(models["folder"] / "first"),
                           "--port", str(port)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "choose another --port" in done.stderr


@pytest.mark.parametrize("port", ["99999", "0", "http"])
def test_port_out_of_range_is_refused(models: dict, port: str):
    done = subprocess.run([sys.executable, "-m", "adrec", "serve", str(models["folder"] / "first"),
                           "--port", port], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "expected a port number from 1 to 65535" in done.stderr


def test_public_host_needs_token(models: dict, tmp_path: Path):
    environment = {key: value for key, value in os.environ.items() if key != "ADREC_ADMIN_TOKEN"}
    done = subprocess.run([sys.executable, "-m", "adrec", "serve", str(models["folder"] / "first"),
                           "--host", "0.0.0.0", "--port", str(_free_port())],
                          capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 2
    assert "--admin-token" in done.stderr
