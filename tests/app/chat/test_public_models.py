"""One public model name, whatever the engine serves: listed, accepted, and written back in every answer.

Here chat's public name (``acme-assistant``) differs from the simulator's served name (``helpline-chat``), as a
cluster's ``qwen2.5-7b-instruct`` differs from ``make run``'s name.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.chat.model_catalog import model_field_rewriter
from app.core.sse import SSEParser
from tests.app.chat.conftest import CHAT_MODEL, Desk

PUBLIC = "acme-assistant"
PATH = "/internal/v1/chat/completions"


@pytest.fixture
def chat_options() -> dict[str, Any]:
    return {"public_chat_model": PUBLIC}


def request(**fields: Any) -> dict[str, Any]:
    return {"model": PUBLIC, "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 8, **fields}


async def test_the_listing_names_only_the_public_model(desk: Desk) -> None:
    response = await desk.chat.get("/internal/v1/models", headers=desk.customer().headers)
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    assert [(card["id"], card["object"], card["max_model_len"]) for card in body["data"]] == [(PUBLIC, "model", 4096)]


async def test_answers_carry_the_public_name(desk: Desk) -> None:
    headers = desk.customer().headers
    plain = await desk.chat.post(PATH, json=request(), headers=headers)
    assert plain.status_code == 200, plain.text
    assert plain.json()["model"] == PUBLIC
    async with desk.chat.stream("POST", PATH, json=request(stream=True), headers=headers) as response:
        raw = await response.aread()
    chunks = [event.json() for event in SSEParser().feed(raw) if event.data != "[DONE]"]
    assert chunks
    assert {chunk["model"] for chunk in chunks} == {PUBLIC}
    assert CHAT_MODEL.encode() not in raw
    served_name = await desk.chat.post(PATH, json=request(model=CHAT_MODEL), headers=headers)
    assert served_name.status_code == 404  # clients never depend on the engine's own name


def test_the_rewrite_is_skipped_when_the_names_agree() -> None:
    assert model_field_rewriter("helpline-chat", "helpline-chat") is None
    assert model_field_rewriter("qwen2.5-7b", "helpline-chat") == (b'"model":"qwen2.5-7b"', b'"model":"helpline-chat"')
