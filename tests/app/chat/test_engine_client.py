"""The engine client's rules against a scripted engine: what is retried, what is not, and what it becomes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from app.chat.engine import AnswerRequest, EngineClient, EngineStreamError
from app.chat.errors import (
    ContextLengthExceededError,
    EngineFailedError,
    EngineMisconfiguredError,
    EngineTimeoutError,
    EngineUnavailableError,
)
from app.chat.settings import ChatSettings
from tests.app.chat.scripted_engine import Answer, ScriptedEngine
from tests.app.harness import free_port, serve_app

SCHEMA = {
    "type": "object",
    "properties": {"intent": {"enum": ["human_request", "question"]}, "emotion": {"enum": ["angry", "neutral"]}},
    "required": ["intent", "emotion"],
}
REQUEST = AnswerRequest(
    model="m", messages=[{"role": "user", "content": "hi"}], temperature=0.2, max_tokens=20, session_id="conv-1"
)


@pytest.fixture
async def scripted() -> AsyncIterator[tuple[ScriptedEngine, EngineClient]]:
    engine = ScriptedEngine()
    async with serve_app(engine.app()) as server:
        settings = ChatSettings(
            engine_url=f"{server.base_url}/v1",
            engine_api_key=SecretStr("k" * 40),
            engine_first_token_timeout_seconds=1.0,  # generous: the machine running tests may be busy
            engine_retries=2,
            circuit_failure_threshold=2,
            circuit_reset_seconds=30,
        )
        client = EngineClient(settings)
        try:
            yield engine, client
        finally:
            await client.aclose()


async def answer(client: EngineClient, request: AnswerRequest = REQUEST) -> tuple[str, Any]:
    stream = await client.open_answer(request)
    try:
        text = "".join([piece async for piece in stream.texts()])
    finally:
        await stream.aclose()
    return text, stream


async def test_a_streamed_answer_with_usage(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    text, stream = await answer(client)
    assert text == "Hello there."
    assert stream.finish_reason == "stop"
    assert stream.usage == {"prompt_tokens": 7, "completion_tokens": 3}
    sent = engine.requests[0]
    assert sent["headers"]["x-session-id"] == "conv-1"
    assert sent["headers"]["authorization"] == "Bearer " + "k" * 40
    assert sent["body"]["stream_options"] == {"include_usage": True}
    assert (sent["body"]["max_tokens"], sent["body"]["temperature"]) == (20, 0.2)


async def test_failures_before_the_first_chunk_are_retried(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(status=503), Answer(error_after=0))
    text, _ = await answer(client)
    assert text == "Hello there."
    assert len(engine.requests) == 3


async def test_a_first_token_timeout_retries_without_affinity(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(silent=True))
    text, _ = await answer(client)
    assert text == "Hello there."
    assert engine.requests[0]["headers"]["x-session-id"] == "conv-1"
    assert "x-session-id" not in engine.requests[1]["headers"]  # the router picks the least loaded replica


async def test_retries_run_out(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(status=500), Answer(status=502), Answer(status=503))
    with pytest.raises(EngineFailedError):
        await client.open_answer(REQUEST)
    assert len(engine.requests) == 3  # our retries only: the SDK's own are off
    engine.then(*[Answer(silent=True)] * 3)
    with pytest.raises(EngineTimeoutError):
        await client.open_answer(REQUEST)
    # Two failed calls: the circuit is open and the next call never reaches the engine.
    calls = len(engine.requests)
    with pytest.raises(EngineUnavailableError) as refused:
        await client.open_answer(REQUEST)
    assert refused.value.headers["Retry-After"]
    assert len(engine.requests) == calls


async def test_mid_stream_failures_are_not_retried(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(error_after=2))
    received: list[str] = []

    async def read_all() -> None:
        stream = await client.open_answer(REQUEST)
        try:
            async for piece in stream.texts():
                received.append(piece)  # one by one: keep what came before the break
        finally:
            await stream.aclose()

    with pytest.raises(EngineStreamError, match="engine died"):
        await read_all()
    assert "".join(received) == "Hello there"
    engine.then(Answer(without_done=True))
    with pytest.raises(EngineStreamError, match="without its final event"):
        await read_all()
    assert len(engine.requests) == 2


async def test_an_unreachable_engine_is_retried_then_fails() -> None:
    settings = ChatSettings(engine_url=f"http://127.0.0.1:{free_port()}/v1", engine_retries=1)
    client = EngineClient(settings)
    try:
        with pytest.raises(EngineFailedError, match="ConnectError"):
            await client.open_answer(REQUEST)
        assert await client.classify("cls", "Classify.", "text", SCHEMA) == (None, None)
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("answer_", "problem"),
    [
        (Answer(status=400, error="This model's maximum context length is 4096 tokens."), ContextLengthExceededError),
        (Answer(status=404, error="The model `m` does not exist."), EngineMisconfiguredError),
        (Answer(status=401, error="Unauthorized"), EngineMisconfiguredError),
    ],
)
async def test_client_errors_are_not_retried(
    scripted: tuple[ScriptedEngine, EngineClient], answer_: Answer, problem: type[Exception]
) -> None:
    engine, client = scripted
    engine.then(answer_)
    with pytest.raises(problem):
        await client.open_answer(REQUEST)
    assert len(engine.requests) == 1
    assert client.breaker("m").state == "closed"  # a refused request says nothing about the engine's health


async def test_classify_asks_for_a_json_document(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(tokens=('{"intent": "human_request", ', '"emotion": "angry"}')))
    document, usage = await client.classify("cls", "Classify.", "I want a human", SCHEMA)
    assert document == {"intent": "human_request", "emotion": "angry"}
    assert usage == {"prompt_tokens": 5, "completion_tokens": 1}
    body = engine.requests[0]["body"]
    assert body["structured_outputs"] == {"json": SCHEMA}
    assert (body["temperature"], body.get("stream")) == (0, None)
    assert body["messages"] == [
        {"role": "system", "content": "Classify."},
        {"role": "user", "content": "I want a human"},
    ]


@pytest.mark.parametrize("content", ['{"intent": "human_req', "human_request", '["human_request"]', ""])
async def test_a_classifier_answer_that_is_no_json_object_is_none(
    scripted: tuple[ScriptedEngine, EngineClient], content: str
) -> None:
    engine, client = scripted
    engine.then(Answer(tokens=(content,)))
    assert await client.classify("cls", "Classify.", "text", SCHEMA) == (
        None,
        {"prompt_tokens": 5, "completion_tokens": 1},
    )


@pytest.mark.parametrize(
    "content",
    [
        '{"intent": "question", "emotion": "neutral"' + " " * 30,  # padded until max_tokens, then cut
        '{"intent": "question", "emotion": "neutral",\n\n\n   ',
        '\n  {"intent": "question", "emotion": "neutral"}   \n\n',  # padded but whole
    ],
)
async def test_a_whitespace_padded_object_cut_at_max_tokens_still_classifies(
    scripted: tuple[ScriptedEngine, EngineClient], content: str
) -> None:
    """vLLM 0.32 under structured_outputs.json: whitespace until max_tokens, finish_reason length."""
    engine, client = scripted
    engine.then(Answer(tokens=(content,), finish_reason="length"))
    document, _ = await client.classify("cls", "Classify.", "text", SCHEMA)
    assert document == {"intent": "question", "emotion": "neutral"}


async def test_a_value_cut_at_max_tokens_classifies_nothing(scripted: tuple[ScriptedEngine, EngineClient]) -> None:
    engine, client = scripted
    engine.then(Answer(tokens=('{"intent": "question", "emotion": "neu',), finish_reason="length"))
    assert (await client.classify("cls", "Classify.", "text", SCHEMA))[0] is None


async def test_a_failed_classification_is_none_and_counts_against_the_circuit(
    scripted: tuple[ScriptedEngine, EngineClient],
) -> None:
    engine, client = scripted
    engine.then(Answer(status=500), Answer(status=500))
    assert await client.classify("cls", "Classify.", "text", SCHEMA) == (None, None)
    assert await client.classify("cls", "Classify.", "text", SCHEMA) == (None, None)
    assert client.breaker("cls").state == "open"
    assert await client.classify("cls", "Classify.", "text", SCHEMA) == (None, None)
    assert len(engine.requests) == 2  # the open circuit sent nothing
