"""The stream watchers, the OpenAI error mapping and other pure pieces of the gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import orjson

from app.contracts import problems
from app.contracts.api import Role, Scope, Tier
from app.contracts.internal import VerifiedKey
from app.core.errors import ProblemError
from app.core.sse import format_event
from app.gateway.credentials import LocalKeyCache, role_of_key
from app.gateway.openai_errors import openai_error_response
from app.gateway.relay import CompletionStreamRelay, TurnStreamWatcher, total_tokens_of


async def chunks_of(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


TURN = (
    format_event("message", {"event": "message"})
    + format_event("delta", {"text": "Hel"})
    + format_event("delta", {"text": "lo"})
    + format_event("done", {"message": {"usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9}}})
)


async def test_the_turn_watcher_passes_bytes_through_unchanged_and_reads_the_usage() -> None:
    watcher = TurnStreamWatcher(started_at=0.0, model="m")

    relayed = b"".join([chunk async for chunk in watcher.relay(chunks_of(TURN, 7))])

    assert relayed == TURN
    assert watcher.total_tokens == 9


async def test_a_replayed_turn_charges_nothing() -> None:
    watcher = TurnStreamWatcher(started_at=0.0, model="m", chargeable=False)

    _ = [chunk async for chunk in watcher.relay(chunks_of(TURN, 50))]

    assert watcher.total_tokens == 0


def completion_stream(*, usage: bool) -> bytes:
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}], "usage": None},
        {"choices": [{"index": 0, "delta": {"content": "Hi"}}], "usage": None},
    ]
    if usage:
        chunks.append({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}})
    return b"".join(b"data: " + orjson.dumps(chunk) + b"\n\n" for chunk in chunks) + b"data: [DONE]\n\n"


async def test_the_completion_relay_hides_the_usage_chunk_from_clients_that_did_not_ask() -> None:
    hidden = CompletionStreamRelay(started_at=0.0, model="m", client_wants_usage=False)
    shown = CompletionStreamRelay(started_at=0.0, model="m", client_wants_usage=True)

    without = b"".join([c async for c in hidden.relay(chunks_of(completion_stream(usage=True), 5))])
    with_usage = b"".join([c async for c in shown.relay(chunks_of(completion_stream(usage=True), 5))])

    assert without == completion_stream(usage=False)
    assert with_usage == completion_stream(usage=True)
    assert hidden.total_tokens == shown.total_tokens == 4


def test_usage_totals() -> None:
    assert total_tokens_of({"total_tokens": 5}) == 5
    assert total_tokens_of({"prompt_tokens": 2, "completion_tokens": 3}) == 5
    assert total_tokens_of(None) == 0


def test_openai_errors_map_problem_families() -> None:
    quota = ProblemError.of(problems.QUOTA_EXCEEDED, "used up", headers={"Retry-After": "60"})
    engine = ProblemError.of(problems.ENGINE_UNAVAILABLE, "circuit open")

    quota_body = orjson.loads(openai_error_response(quota, "r1").body)
    engine_response = openai_error_response(engine, "r1")

    assert quota_body == {
        "error": {"message": "used up", "type": "insufficient_quota", "param": None, "code": "quota-exceeded"}
    }
    assert openai_error_response(quota, "r1").headers["retry-after"] == "60"
    assert engine_response.status_code == 503
    assert orjson.loads(engine_response.body)["error"]["type"] == "server_error"


def test_an_api_key_acts_with_the_role_its_scopes_imply() -> None:
    assert role_of_key([Scope.CONVERSATIONS_READ, Scope.ADMIN]) == Role.ADMIN
    assert role_of_key([Scope.AGENT]) == Role.AGENT
    assert role_of_key([Scope.CONVERSATIONS_WRITE, Scope.COMPLETIONS]) == Role.CUSTOMER


def test_the_local_key_cache_expires_and_stays_bounded() -> None:
    key = VerifiedKey(key_id=uuid4(), tenant_id=uuid4(), tier=Tier.FREE, scopes=[Scope.COMPLETIONS])
    cache = LocalKeyCache(ttl_seconds=60, max_entries=2)

    cache.put("a", key)
    cache.put("b", key)
    assert cache.get("a") == key  # "a" is now the most recent
    cache.put("c", key)

    assert cache.get("b") is None  # the least recently used went
    assert cache.get("a") == key
    expired = LocalKeyCache(ttl_seconds=0)
    expired.put("a", key)
    assert expired.get("a") is None
