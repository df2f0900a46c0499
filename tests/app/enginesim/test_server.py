"""The ASGI app in-process: the parts that need no real socket (auth rules, disabled control API, dead engine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from app.enginesim.config import SimConfig
from app.enginesim.server import Simulator


@pytest.fixture
def keyed() -> Iterator[tuple[Simulator, TestClient]]:
    simulator = Simulator(SimConfig(model="m", served_model_names=("chat", "alias"), api_keys=("one", "two")))
    with TestClient(simulator.app) as client:
        yield simulator, client


def test_every_configured_key_is_accepted(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    for key in ("one", "two"):
        assert client.get("/v1/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert client.get("/v1/models", headers={"Authorization": "bearer one"}).status_code == 200, "scheme is case-blind"
    assert client.get("/v1/models", headers={"Authorization": "Bearer three"}).status_code == 401


def test_options_requests_skip_the_key_check(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    assert client.options("/v1/models").status_code != 401


def test_every_served_name_is_listed_and_accepted(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    headers = {"Authorization": "Bearer one"}
    assert [card["id"] for card in client.get("/v1/models", headers=headers).json()["data"]] == ["chat", "alias"]
    body = {"model": "alias", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}
    response = client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    assert response.json()["model"] == "chat", "vLLM reports the first served name"


def test_control_api_does_not_exist_without_a_token(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    for method in ("GET", "POST", "DELETE"):
        response = client.request(method, "/sim/faults", json={"kind": "crash"})
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found"}


def test_a_dead_engine_fails_health_and_requests(keyed: tuple[Simulator, TestClient]) -> None:
    simulator, client = keyed
    simulator.engine.failure = "RuntimeError: boom"
    assert client.get("/health").status_code == 503
    body = {"messages": [{"role": "user", "content": "hi"}]}
    response = client.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer one"})
    assert response.status_code == 500
    assert response.json()["error"]["message"].startswith("EngineCore encountered an issue")


def test_wrong_method_is_405_in_fastapis_shape(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    response = client.get("/v1/chat/completions", headers={"Authorization": "Bearer one"})
    assert response.status_code == 405
    assert response.json() == {"detail": "Method Not Allowed"}


def test_non_json_bodies_are_400(keyed: tuple[Simulator, TestClient]) -> None:
    _, client = keyed
    response = client.post(
        "/v1/chat/completions",
        content=b"messages=hi",
        headers={"Authorization": "Bearer one", "Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert "Only 'application/json' is allowed" in response.json()["error"]["message"]


def test_request_id_header_becomes_the_completion_id(keyed: tuple[Simulator, TestClient]) -> None:
    """vLLM bases its ids on X-Request-Id when a caller sends one: logs and traces join on it."""
    _, client = keyed
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1}
    headers = {"Authorization": "Bearer one", "X-Request-Id": "req-123"}
    assert client.post("/v1/chat/completions", json=body, headers=headers).json()["id"] == "chatcmpl-req-123"
    completion = client.post("/v1/completions", json={"prompt": "hi", "max_tokens": 1}, headers=headers).json()
    assert completion["id"] == "cmpl-req-123"
