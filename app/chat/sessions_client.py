"""Chat's calls to the sessions service (with the caller's identity token, forwarded by the internal client)."""

from __future__ import annotations

import asyncio
import time
from uuid import UUID

from app.contracts.api import Conversation, Message
from app.contracts.internal import Escalate, FinishAnswer, TurnStart, TurnStarted
from app.core.errors import ProblemError
from app.core.internal_client import InternalClient
from app.core.logging import get_logger

log = get_logger(__name__)

#: Statuses that say "not now" (unreachable, overloaded, database restarting), not "never".
TRANSIENT_STATUSES = frozenset({502, 503, 504})
FIRST_RETRY_PAUSE_SECONDS = 0.2
MAX_RETRY_PAUSE_SECONDS = 2.0


class SessionsClient:
    def __init__(self, base_url: str) -> None:
        self._client = InternalClient(base_url, service="sessions")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def start_turn(self, conversation_id: UUID, body: TurnStart) -> TurnStarted:
        return await self._client.call(
            "POST", f"/internal/v1/conversations/{conversation_id}/turns", TurnStarted, json=body
        )

    async def finish(
        self, conversation_id: UUID, message_id: UUID, body: FinishAnswer, *, within_seconds: float
    ) -> Message:
        """Store the answer the customer saw, retrying for up to ``within_seconds`` while sessions (or its
        database) is unavailable: the write is idempotent (the first finish wins, a repeat returns the stored
        answer), so a retry after a lost response is safe, and a turn never stays an empty placeholder
        because one write met a database restart."""
        path = f"/internal/v1/conversations/{conversation_id}/messages/{message_id}:finish"
        deadline = time.monotonic() + within_seconds
        pause = FIRST_RETRY_PAUSE_SECONDS
        while True:
            try:
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    return await self._client.call("POST", path, Message, json=body)
            except ProblemError as exc:
                if exc.status not in TRANSIENT_STATUSES or time.monotonic() + pause > deadline:
                    raise
                log.warning("storing the answer failed; retrying", status=exc.status, retry_in=round(pause, 2))
            await asyncio.sleep(pause)
            pause = min(pause * 2, MAX_RETRY_PAUSE_SECONDS)

    async def escalate(self, conversation_id: UUID, reason: str) -> Conversation:
        path = f"/internal/v1/conversations/{conversation_id}:escalate"
        return await self._client.call("POST", path, Conversation, json=Escalate(reason=reason))

    async def ping(self) -> None:
        """Readiness: sessions answers (its liveness, not its readiness: readiness must not cascade, or one
        database blip would take every chat pod out of its Service at once)."""
        await self._client.request("GET", "/healthz")
