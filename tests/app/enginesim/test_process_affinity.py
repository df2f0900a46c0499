"""Session affinity pays off: the next turn on the same replica hits its prefix cache and starts sooner."""

from __future__ import annotations

from typing import Any

import httpx

from app.enginesim.launcher import EngineSimProcess
from tests.app.enginesim.support import SERVED, metric

SYSTEM = "You are Helpline, the support assistant of Acme. Answer politely and concisely. " * 12


def chat(http: httpx.Client, engine: EngineSimProcess, messages: list[dict[str, str]]) -> dict[str, Any]:
    body = {"model": SERVED, "messages": messages, "max_tokens": 40, "temperature": 0}
    response = http.post(f"{engine.v1_url}/chat/completions", json=body)
    response.raise_for_status()
    return response.json()


def server_ttft(
    http: httpx.Client, engine: EngineSimProcess, messages: list[dict[str, str]]
) -> tuple[float, dict[str, Any]]:
    """TTFT as the engine measured it (its histogram's sum grows by this request's TTFT)."""
    before = metric(engine, "vllm:time_to_first_token_seconds_sum")
    body = chat(http, engine, messages)
    return metric(engine, "vllm:time_to_first_token_seconds_sum") - before, body


def test_second_turn_hits_the_cache_on_the_same_replica_only(
    http: httpx.Client,
    replicas: tuple[EngineSimProcess, EngineSimProcess],
) -> None:
    same, other = replicas
    turn_one = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "My parcel has not arrived."}]
    first_ttft, first = server_ttft(http, same, turn_one)
    answer = first["choices"][0]["message"]["content"]
    turn_two = [*turn_one, {"role": "assistant", "content": answer}, {"role": "user", "content": "It is order 1234."}]

    hits_before = metric(same, "vllm:prefix_cache_hits_total")
    same_ttft, same_body = server_ttft(http, same, turn_two)
    other_ttft, other_body = server_ttft(http, other, turn_two)

    prompt_tokens = same_body["usage"]["prompt_tokens"]
    cached_same = same_body["usage"]["prompt_tokens_details"]["cached_tokens"]
    cached_other = other_body["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0
    assert cached_same >= prompt_tokens - 16 - 10, "everything but the new user turn (and a partial block) is cached"
    assert cached_other == 0, "another replica has never seen this conversation"
    assert metric(same, "vllm:prefix_cache_hits_total") - hits_before == cached_same
    assert same_ttft < other_ttft / 3
    assert same_ttft < first_ttft / 3


def test_different_conversations_share_only_the_system_prompt(
    http: httpx.Client,
    replicas: tuple[EngineSimProcess, EngineSimProcess],
) -> None:
    engine, _ = replicas
    chat(http, engine, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Question one"}])
    body = chat(http, engine, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Another topic"}])
    cached = body["usage"]["prompt_tokens_details"]["cached_tokens"]
    assert 0 < cached < body["usage"]["prompt_tokens"]
    assert cached % 16 == 0


def test_same_seed_replicas_answer_identically(
    http: httpx.Client, replicas: tuple[EngineSimProcess, EngineSimProcess]
) -> None:
    messages = [{"role": "user", "content": "How do I reset my password?"}]
    answers = {chat(http, engine, messages)["choices"][0]["message"]["content"] for engine in replicas}
    assert len(answers) == 1
    assert "password" in answers.pop().lower()
