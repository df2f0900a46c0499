"""The agent desk's live queue: a Server-Sent Events stream of the conversations people handle.

Each stream re-reads the tenant's queue (waiting for a person, and with an agent) from sessions every
``poll_seconds`` and sends a ``queue`` event only when it changed, so an agent sees a new conversation, a claim
by a colleague or a customer's new message (``updated_at`` moves) without reloading. A stream ends after
``stream_seconds`` with a ``reconnect`` event: below the 300 s identity token it was opened with, and each
reconnection re-checks the agent's own token (an expired or revoked one gets its 401 then).

Why polling and not NATS here: the gateway holds no NATS connection (sessions owns the outbox and its relay), and
two indexed reads per agent every two seconds are cheap next to a chat turn; the browser gets push either way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson

from app.contracts.api import ConversationStatus
from app.core.errors import ProblemError
from app.core.internal_client import InternalClient
from app.core.sse import format_event
from app.gateway.forwarding import internal_path

#: The queue's two lists: what is waiting for a person, and what people have (the page filters "mine").
LIVE_STATUSES = (ConversationStatus.WAITING_HUMAN, ConversationStatus.WITH_AGENT)
#: Conversations per list in one snapshot (the sessions page size cap).
SNAPSHOT_SIZE = 100


@dataclass(frozen=True)
class QueueWatch:
    poll_seconds: float = 2.0
    stream_seconds: float = 240.0


async def queue_snapshot(sessions: InternalClient) -> bytes:
    """``{"waiting_human": [...], "with_agent": [...]}``: each list longest in its status first."""
    lists: dict[str, object] = {}
    for status in LIVE_STATUSES:
        response = await sessions.request(
            "GET",
            internal_path("/v1/agent/conversations"),
            params={"status": status.value, "limit": SNAPSHOT_SIZE},
        )
        lists[status.value] = orjson.loads(response.content)["items"]
    return orjson.dumps(lists)


async def queue_events(sessions: InternalClient, watch: QueueWatch) -> AsyncIterator[bytes]:
    """``queue`` events (the snapshot, when it changed), then ``reconnect``; a downstream problem ends the stream
    with an ``error`` event carrying it (the page shows it and reconnects)."""
    deadline = time.monotonic() + watch.stream_seconds
    last: bytes | None = None
    while True:
        try:
            snapshot = await queue_snapshot(sessions)
        except ProblemError as error:
            yield format_event("error", {"title": error.title, "status": error.status})
            return
        if snapshot != last:
            yield format_event("queue", snapshot)
            last = snapshot
        if time.monotonic() + watch.poll_seconds >= deadline:
            yield format_event("reconnect", {})
            return
        await asyncio.sleep(watch.poll_seconds)
