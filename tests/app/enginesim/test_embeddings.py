"""The simulator's /v1/embeddings: vLLM's shapes, only on a pooling runner, and lexically faithful vectors."""

from __future__ import annotations

import base64
import struct

import httpx
import pytest

from app.enginesim.config import SimConfig
from app.enginesim.embeddings import DIMENSIONS, embed
from app.enginesim.server import Simulator


def _client(runner: str) -> httpx.AsyncClient:
    config = SimConfig(
        model="sentence-transformers/all-MiniLM-L6-v2", served_model_names=("emb",), max_model_len=512, runner=runner
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=Simulator(config).app), base_url="http://sim")


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_embeddings_have_vllms_shape() -> None:
    async with _client("pooling") as client:
        response = await client.post("/v1/embeddings", json={"model": "emb", "input": ["refund policy", "shipping"]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["object"] == "list"
    assert body["model"] == "emb"
    assert body["id"].startswith("embd-")
    assert [item["index"] for item in body["data"]] == [0, 1]
    assert all(item["object"] == "embedding" and len(item["embedding"]) == DIMENSIONS for item in body["data"])
    assert body["usage"]["prompt_tokens"] == body["usage"]["total_tokens"] > 0


async def test_base64_encoding_is_little_endian_float32() -> None:
    async with _client("pooling") as client:
        response = await client.post("/v1/embeddings", json={"input": "refund", "encoding_format": "base64"})
    raw = base64.b64decode(response.json()["data"][0]["embedding"])
    decoded = struct.unpack(f"<{DIMENSIONS}f", raw)
    assert decoded == pytest.approx(embed("refund"), abs=1e-6)


async def test_errors_are_vllms() -> None:
    async with _client("pooling") as client:
        unknown = await client.post("/v1/embeddings", json={"model": "nope", "input": "x"})
        too_long = await client.post("/v1/embeddings", json={"input": "word " * 600})
        chat = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "hi"}]})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["type"] == "NotFoundError"
    assert too_long.status_code == 400
    assert too_long.json()["error"]["param"] == "input_tokens"
    assert chat.status_code == 404  # a pooling runner serves no generation endpoints


async def test_a_generate_runner_has_no_embeddings_endpoint() -> None:
    async with _client("generate") as client:
        response = await client.post("/v1/embeddings", json={"input": "x"})
    assert response.status_code == 404


def test_vectors_are_deterministic_normalised_and_lexical() -> None:
    refund = embed("How long does a refund take?")
    assert refund == embed("How long does a refund take?")
    assert _cosine(refund, refund) == pytest.approx(1.0)
    related = embed("Refunds take five business days")
    unrelated = embed("Reset your password from the sign-in page")
    assert _cosine(refund, related) > 0.3 > _cosine(refund, unrelated)
