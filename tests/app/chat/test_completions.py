"""The OpenAI-compatible pass-through: relayed as the engine answers, always metered, errors as problems."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app.chat.completions import prepare_body, usage_of
from app.chat.model_catalog import ModelCatalog
from app.chat.models import UsageRecord
from app.core.db import Database
from app.core.errors import BadRequestError, NotFoundError, ProblemError
from app.core.sse import SSEParser
from tests.app.chat.conftest import CHAT_MODEL, Desk
from tests.app.harness import PostgresDatabase, eventually

PATH = "/internal/v1/chat/completions"


def request(**fields: Any) -> dict[str, Any]:
    return {"model": CHAT_MODEL, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, **fields}


async def usage_rows(database: PostgresDatabase) -> list[UsageRecord]:
    db = Database(database.url, schema="chat")
    try:
        async with db.transaction() as session:
            return list((await session.scalars(select(UsageRecord).where(UsageRecord.kind == "completion"))).all())
    finally:
        await db.dispose()


async def test_a_non_streamed_completion(desk: Desk, chat_database: PostgresDatabase) -> None:
    customer = desk.customer()
    response = await desk.chat.post(PATH, json=request(), headers=customer.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["content"]
    rows = await eventually(lambda: usage_rows(chat_database), lambda rows: len(rows) == 1)
    assert (rows[0].tenant_id, rows[0].prompt_tokens) == (customer.tenant_id, body["usage"]["prompt_tokens"])


async def test_a_streamed_completion_always_carries_usage(desk: Desk, chat_database: PostgresDatabase) -> None:
    customer = desk.customer()
    async with desk.chat.stream("POST", PATH, json=request(stream=True), headers=customer.headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = await response.aread()
    events = SSEParser().feed(raw)
    assert events[-1].data == "[DONE]"
    usage_chunk = events[-2].json()
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"]["completion_tokens"] > 0
    rows = await eventually(lambda: usage_rows(chat_database), lambda rows: len(rows) == 1)
    assert rows[0].completion_tokens == usage_chunk["usage"]["completion_tokens"]


async def test_engine_and_request_errors_are_problems(desk: Desk) -> None:
    customer = desk.customer()
    unknown = await desk.chat.post(PATH, json=request(model="gpt-4"), headers=customer.headers)
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/not-found"
    invalid = await desk.chat.post(PATH, json=request(n=3), headers=customer.headers)
    assert invalid.status_code == 400  # the engine's own validation, relayed as the client's error
    assert invalid.json()["type"] == "/problems/bad-request"
    overflow = await desk.chat.post(PATH, json=request(max_tokens=100_000), headers=customer.headers)
    assert overflow.status_code == 400
    assert overflow.json()["type"] == "/problems/context-length-exceeded"
    no_scope = desk.identities.headers(desk.identities.claims(customer.tenant_id, scopes=[]))
    assert (await desk.chat.post(PATH, json=request(), headers=no_scope)).status_code == 403


CATALOG = ModelCatalog(served_by_public={"m": "m", "public": "served-7b"}, max_model_len=4096)


def test_prepare_body() -> None:
    public, served, streamed, body = prepare_body(
        b'{"model": "m", "stream": true, "stream_options": {"x": 1}}', CATALOG
    )
    assert (public, served, streamed) == ("m", "m", True)
    assert b'"include_usage":true' in body
    assert b'"x":1' in body
    assert prepare_body(b'{"model": "m"}', CATALOG) == ("m", "m", False, b'{"model": "m"}')
    # a public name goes to the engine as the name it serves
    assert prepare_body(b'{"model": "public"}', CATALOG) == ("public", "served-7b", False, b'{"model":"served-7b"}')
    for bad, error in [
        (b"{", ProblemError),
        (b"[]", BadRequestError),
        (b'{"model": 1}', BadRequestError),
        (b'{"model": "x"}', NotFoundError),
    ]:
        with pytest.raises(error):
            prepare_body(bad, CATALOG)


def test_usage_of() -> None:
    assert usage_of({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == {
        "prompt_tokens": 3,
        "completion_tokens": 4,
    }
    assert usage_of({"usage": None}) is None
    assert usage_of(None) is None
