"""Postgres stopped (``pg_ctl -m immediate``) and restarted under a live conversation, on a cluster of the test's
own (the shared one is never touched): 503 problem+json with ``Retry-After`` while it is down, never a 500; an
answer that finished streaming while it was down is stored as the customer saw it once it is back; an idempotent
retry gets that stored answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from app.chat.app import MIGRATIONS as CHAT_MIGRATIONS
from app.chat.app import build_app as build_chat_app
from app.chat.models import SCHEMA as CHAT_SCHEMA
from app.core.errors import PROBLEM_MEDIA_TYPE
from app.core.sse import SSEParser
from app.sessions.app import MIGRATIONS as SESSIONS_MIGRATIONS
from app.sessions.app import build_app as build_sessions_app
from app.sessions.models import SCHEMA as SESSIONS_SCHEMA
from app.sessions.settings import SessionsSettings
from tests.app.chat.conftest import Desk, Engines, Turn, chat_settings_for
from tests.app.harness import IdentityFactory, PostgresDatabase, RunningServer, migrate, serve_app
from tests.app.own_postgres import OwnPostgres, own_postgres

#: The answer streams for ~4 s (slow engines), long enough to stop Postgres in the middle of it.
SLOW_FACTOR = 200


@pytest.fixture(scope="module")
def cluster() -> Iterator[OwnPostgres]:
    with own_postgres() as postgres:
        yield postgres


@pytest.fixture
async def restart_desk(
    cluster: OwnPostgres,
    engines: Engines,
    router: RunningServer,
    internal_secret: str,
    identities: IdentityFactory,
) -> AsyncIterator[tuple[Desk, OwnPostgres]]:
    database = PostgresDatabase(name="postgres", dsn=cluster.dsn, url=cluster.url)
    await migrate(database, SESSIONS_MIGRATIONS, SESSIONS_SCHEMA)
    await migrate(database, CHAT_MIGRATIONS, CHAT_SCHEMA)
    sessions_settings = SessionsSettings(
        database_url=cluster.url,
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
        log_level="WARNING",
        database_pool_size=4,
    )
    chat_settings = chat_settings_for(
        database=database,
        sessions_url="",
        engine_url=f"{router.base_url}/v1",
        internal_secret=internal_secret,
        database_pool_size=4,
        engine_total_timeout_seconds=60.0,
        engine_api_key=SecretStr(engines.chat[0].api_key or ""),  # the key the session's engines were started with
    )
    async with serve_app(build_sessions_app(sessions_settings, housekeeping=False)) as sessions:
        chat_settings = chat_settings.model_copy(update={"sessions_url": sessions.base_url})
        async with (
            serve_app(build_chat_app(chat_settings)) as chat,
            httpx.AsyncClient(base_url=chat.base_url, timeout=60) as chat_client,
            httpx.AsyncClient(base_url=sessions.base_url, timeout=60) as sessions_client,
        ):
            yield Desk(chat_client, sessions_client, identities), cluster


async def first_delta_then_rest(
    desk: Desk, customer_headers: dict[str, str], conversation: str, key: str, started: asyncio.Event
) -> Turn:
    headers = {**customer_headers, "Accept": "text/event-stream", "Idempotency-Key": key}
    path = f"/internal/v1/conversations/{conversation}/messages"
    parser, events = SSEParser(), []
    async with desk.chat.stream("POST", path, json={"content": "Where is my parcel?"}, headers=headers) as response:
        async for chunk in response.aiter_raw():
            events.extend((event.event, event.json()) for event in parser.feed(chunk))
            if any(name == "delta" for name, _ in events):
                started.set()
    return Turn(status=response.status_code, events=events)


async def test_a_postgres_restart_mid_answer_loses_nothing_and_gives_503s_not_500s(
    restart_desk: tuple[Desk, OwnPostgres], engines: Engines
) -> None:
    desk, postgres = restart_desk
    for process in engines.chat:
        process.arm_fault("slow", factor=SLOW_FACTOR)
    customer = desk.customer()
    conversation = await customer.conversation()

    started = asyncio.Event()
    turn_task = asyncio.create_task(first_delta_then_rest(desk, customer.headers, conversation, "turn-1", started))
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.to_thread(postgres.stop, "immediate")
    try:
        # while it is down: a clean 503 with Retry-After and a request id, from sessions and through chat alike
        for client, path, headers in (
            (desk.sessions, f"/internal/v1/conversations/{conversation}/messages", customer.headers),
            (desk.chat, "/internal/v1/assistant-profile", desk.admin_headers(customer.tenant_id)),
        ):
            response = await client.get(path, headers=headers)
            assert response.status_code == 503, response.text
            assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE)
            assert response.headers["retry-after"] == "2"
            assert response.json()["type"] == "/problems/dependency-unavailable"
            assert response.json()["request_id"]
        refused = await customer.send(conversation, "Hello?", sse=False)
        assert refused.status == 503
        assert refused.headers["retry-after"] == "2"
        await asyncio.sleep(5)  # the answer ends while Postgres is down: storing it is retried, not dropped
    finally:
        await asyncio.to_thread(postgres.start)

    turn = await asyncio.wait_for(turn_task, 60)
    assert turn.names == ["message", "delta", "done"], turn.names
    stored = (await customer.messages(conversation))[-1]
    assert (stored["role"], stored["status"], stored["content"]) == ("assistant", "complete", turn.text)
    # an idempotent retry of the same message gets the stored answer, not a 409 nor a new answer
    replay = await customer.send(conversation, "Where is my parcel?", key="turn-1")
    assert replay.names == ["message", "delta", "done"]
    assert replay.text == turn.text
    assert [m["role"] for m in await customer.messages(conversation)] == ["customer", "assistant"]
