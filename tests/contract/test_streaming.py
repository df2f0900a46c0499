"""Streamed chat completions: SSE framing, the role chunk, finish_reason, the usage chunk, errors mid-stream."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletionMessageParam

from app.enginesim.launcher import EngineSimProcess
from tests.contract.support import Target, chunks

MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "user", "content": "My invoice looks wrong, can you check the charges?"}
]


def _stream(target: Target, **body: Any) -> list[dict[str, Any] | str]:
    return target.stream("/v1/chat/completions", {"model": target.model, "messages": MESSAGES, "stream": True, **body})


def test_chunks_frame_one_answer(target: Target) -> None:
    events = _stream(target, max_tokens=12, ignore_eos=True)
    data = list(chunks(events))
    assert data
    first = data[0]
    assert first["choices"][0]["delta"]["role"] == "assistant"
    ids = {chunk["id"] for chunk in data}
    assert len(ids) == 1
    assert ids.pop().startswith("chatcmpl-")
    for chunk in data:
        assert chunk["object"] == "chat.completion.chunk"
        assert chunk["model"] == target.model
        assert isinstance(chunk["created"], int)
        assert "usage" not in chunk or chunk["usage"] is None
    reasons = [chunk["choices"][0].get("finish_reason") for chunk in data]
    assert reasons[-1] == "length"
    assert all(reason is None for reason in reasons[:-1]), "finish_reason only on the last content chunk"
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in data)
    assert text


def test_include_usage_adds_a_last_chunk_with_empty_choices(target: Target) -> None:
    events = _stream(target, max_tokens=9, ignore_eos=True, stream_options={"include_usage": True})
    data = list(chunks(events))
    usage_chunk = data[-1]
    assert usage_chunk["choices"] == []
    usage = usage_chunk["usage"]
    assert usage["completion_tokens"] == 9
    assert usage["total_tokens"] == usage["prompt_tokens"] + 9
    assert all(not chunk.get("usage") for chunk in data[:-1])
    assert data[-2]["choices"][0]["finish_reason"] == "length"


@pytest.mark.simulator_only
def test_every_generated_token_is_one_chunk(target: Target) -> None:
    events = _stream(target, stream_options={"include_usage": True})
    data = list(chunks(events))
    content_chunks = data[1:-1]
    assert len(content_chunks) == data[-1]["usage"]["completion_tokens"]
    last = content_chunks[-1]["choices"][0]
    assert last["finish_reason"] == "stop"
    assert last["delta"]["content"] == "", "the end-of-sequence token has no text, as in vLLM"


def test_openai_client_streams_with_usage(target: Target) -> None:
    stream = target.openai.chat.completions.create(
        model=target.model,
        messages=MESSAGES,
        max_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
        extra_body={"ignore_eos": True},
    )
    received = list(stream)
    assert received[0].choices[0].delta.role == "assistant"
    assert received[-1].choices == []
    assert received[-1].usage is not None
    assert received[-1].usage.completion_tokens == 6
    text = "".join(chunk.choices[0].delta.content or "" for chunk in received if chunk.choices)
    assert text


def test_continuous_usage_stats_count_up(target: Target) -> None:
    events = _stream(
        target, max_tokens=4, ignore_eos=True, stream_options={"include_usage": True, "continuous_usage_stats": True}
    )
    data = list(chunks(events))
    counts = [chunk["usage"]["completion_tokens"] for chunk in data[1:-1]]
    assert counts == [1, 2, 3, 4]


@pytest.mark.simulator_only
def test_error_mid_stream_arrives_as_an_error_event_on_a_200(target: Target, simulator: EngineSimProcess) -> None:
    simulator.arm_fault("error", after_tokens=3)
    events = _stream(target, max_tokens=50)
    data = list(chunks(events))
    content = [chunk for chunk in data if "choices" in chunk]
    assert len(content) == 1 + 3, "role chunk, then three tokens"
    error = data[-1]
    assert set(error) == {"error"}
    assert error["error"]["code"] == 500
    assert error["error"]["type"] == "InternalServerError"
    assert events[-1] == "[DONE]"


@pytest.mark.simulator_only
def test_error_before_the_first_token(target: Target, simulator: EngineSimProcess) -> None:
    simulator.arm_fault("error")
    events = _stream(target, max_tokens=5)
    assert len(events) == 2
    assert isinstance(events[0], dict)
    assert events[0]["error"]["code"] == 500


@pytest.mark.simulator_only
def test_chunk_fields_are_the_ones_vllm_sets(target: Target) -> None:
    """vLLM dumps chunks with exclude_unset: these keys, with these explicit nulls (pinned to 0.12's models)."""
    data = list(chunks(_stream(target, max_tokens=3, ignore_eos=True, stream_options={"include_usage": True})))
    envelope = ["id", "object", "created", "model"]
    role, token, final, usage = data[0], data[1], data[-2], data[-1]
    assert list(role) == [*envelope, "choices", "prompt_token_ids"]
    assert list(role["choices"][0]) == ["index", "delta", "logprobs", "finish_reason"]
    assert list(token) == [*envelope, "choices"]
    assert list(token["choices"][0]) == ["index", "delta", "logprobs", "finish_reason", "token_ids"]
    assert list(final["choices"][0]) == ["index", "delta", "logprobs", "finish_reason", "stop_reason", "token_ids"]
    assert list(usage) == [*envelope, "choices", "usage"]
    assert list(usage["usage"]) == ["prompt_tokens", "total_tokens", "completion_tokens"]
    completion = list(
        chunks(
            target.stream(
                "/v1/completions",
                {"model": target.model, "prompt": "Hi", "max_tokens": 2, "stream": True},
            )
        )
    )
    assert list(completion[0]["choices"][0]) == [
        "index",
        "text",
        "logprobs",
        "finish_reason",
        "stop_reason",
        "prompt_token_ids",
        "token_ids",
    ]
