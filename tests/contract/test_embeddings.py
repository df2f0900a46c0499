"""/v1/embeddings on both engines: the simulator started with ``--runner pooling`` and the session's real vLLM
serving all-MiniLM-L6-v2 with ``--runner pooling`` (the ``real_embedding_vllm`` fixture). The knowledge service
relies on exactly this: the shapes, the 384 dimensions, unit-length vectors, the errors, and that a pooling runner
serves no generation endpoints."""

from __future__ import annotations

import base64
import math
import struct
from collections.abc import Iterator

import pytest

from app.enginesim.launcher import EngineSimProcess
from tests.contract.conftest import API_KEY, FAST_FLAGS
from tests.contract.support import Target, assert_error_body
from tests.support.vllm_fixtures import RealVllm

EMBEDDING_MODEL = "helpline-embedding"
DIMENSIONS = 384


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "embedding_target" in metafunc.fixturenames:
        engines = [pytest.param("simulator"), pytest.param("vllm", marks=pytest.mark.uses_real_embedding_vllm)]
        metafunc.parametrize("embedding_target", engines, indirect=True, scope="session")


@pytest.fixture(scope="session")
def simulator_embedding_target() -> Iterator[Target]:
    with EngineSimProcess(
        "sentence-transformers/all-MiniLM-L6-v2",
        served_model_name=EMBEDDING_MODEL,
        api_key=API_KEY,
        max_model_len=256,
        args=[*FAST_FLAGS, "--runner", "pooling"],
    ) as simulator:
        target = Target(simulator.base_url, API_KEY, EMBEDDING_MODEL, simulator)
        yield target
        target.close()


@pytest.fixture(scope="session")
def vllm_embedding_target(real_embedding_vllm: RealVllm) -> Iterator[Target]:
    target = Target(real_embedding_vllm.base_url, real_embedding_vllm.api_key, real_embedding_vllm.model)
    yield target
    target.close()


@pytest.fixture(scope="session")
def embedding_target(request: pytest.FixtureRequest) -> Target:
    return request.getfixturevalue(f"{request.param}_embedding_target")


def _embed(target: Target, texts: list[str]) -> list[list[float]]:
    response = target.openai.embeddings.create(model=target.model, input=texts, encoding_format="float")
    return [item.embedding for item in sorted(response.data, key=lambda d: d.index)]


def test_the_response_has_vllms_shape(embedding_target: Target) -> None:
    response = embedding_target.post(
        "/v1/embeddings", {"model": embedding_target.model, "input": ["refund policy", "shipping costs"]}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"id", "object", "created", "model", "data", "usage"}
    assert body["object"] == "list"
    assert body["model"] == embedding_target.model
    assert body["id"].startswith("embd-")
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(item["object"] == "embedding" for item in body["data"])
    assert all(len(item["embedding"]) == DIMENSIONS for item in body["data"])
    usage = body["usage"]
    assert usage["prompt_tokens"] == usage["total_tokens"] > 0


def test_vectors_have_unit_length(embedding_target: Target) -> None:
    for vector in _embed(embedding_target, ["How long does a refund take?", "x"]):
        assert math.sqrt(sum(v * v for v in vector)) == pytest.approx(1.0, abs=1e-3)


def test_the_same_text_gets_the_same_vector(embedding_target: Target) -> None:
    first, second = _embed(embedding_target, ["Where is my parcel?", "Where is my parcel?"])
    assert first == pytest.approx(second, abs=1e-5)


def test_base64_is_little_endian_float32_of_the_same_vector(embedding_target: Target) -> None:
    response = embedding_target.post(
        "/v1/embeddings", {"model": embedding_target.model, "input": "refund", "encoding_format": "base64"}
    )
    assert response.status_code == 200, response.text
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    decoded = struct.unpack(f"<{DIMENSIONS}f", raw)
    assert list(decoded) == pytest.approx(_embed(embedding_target, ["refund"])[0], abs=1e-5)


def test_related_texts_are_closer_than_unrelated_ones(embedding_target: Target) -> None:
    question, answer, other = _embed(
        embedding_target,
        ["How long does a refund take?", "Refunds take five working days", "Reset your password on the sign-in page"],
    )

    def cosine(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert cosine(question, answer) > cosine(question, other)


def test_an_unknown_model_is_404(embedding_target: Target) -> None:
    response = embedding_target.post("/v1/embeddings", {"model": "no-such-model", "input": "x"})
    error = assert_error_body(response.json(), code=404)
    assert response.status_code == 404
    assert error["type"] == "NotFoundError"


def test_an_input_longer_than_the_context_is_400_on_input_tokens(embedding_target: Target) -> None:
    response = embedding_target.post("/v1/embeddings", {"model": embedding_target.model, "input": "word " * 600})
    error = assert_error_body(response.json(), code=400)
    assert response.status_code == 400
    assert error["type"] == "BadRequestError"
    assert "input_tokens" in f"{error['param']} {error['message']}"


def test_no_key_is_401_unauthorized(embedding_target: Target) -> None:
    response = embedding_target.post("/v1/embeddings", {"model": embedding_target.model, "input": "x"}, auth=False)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}


def test_a_pooling_runner_serves_no_chat(embedding_target: Target) -> None:
    response = embedding_target.post(
        "/v1/chat/completions", {"model": embedding_target.model, "messages": [{"role": "user", "content": "hi"}]}
    )
    assert response.status_code == 404


def test_models_lists_the_served_name(embedding_target: Target) -> None:
    cards = embedding_target.get("/v1/models", headers=embedding_target.auth()).json()["data"]
    assert [card["id"] for card in cards] == [embedding_target.model]
    assert cards[0]["max_model_len"] == 256
