"""Chat's calls to the sessions service (with the caller's identity token, forwarded by the internal client)."""

from __future__ import annotations

from uuid import UUID

from app.contracts.api import Conversation, Message
from app.contracts.internal import Escalate, FinishAnswer, TurnStart, TurnStarted
from app.core.internal_client import InternalClient


class SessionsClient:
    def __init__(self, base_url: str) -> None:
        self._client = InternalClient(base_url, service="sessions")

    async def aclose(self) -> None:
        await self._client.aclose()

    async def start_turn(self, conversation_id: UUID, body: TurnStart) -> TurnStarted:
        return await self._client.call(
            "POST", f"/internal/v1/conversations/{conversation_id}/turns", TurnStarted, json=body
        )

    async def finish(self, conversation_id: UUID, message_id: UUID, body: FinishAnswer) -> Message:
        path = f"/internal/v1/conversations/{conversation_id}/messages/{message_id}:finish"
        return await self._client.call("POST", path, Message, json=body)

    async def escalate(self, conversation_id: UUID, reason: str) -> Conversation:
        path = f"/internal/v1/conversations/{conversation_id}:escalate"
        return await self._client.call("POST", path, Conversation, json=Escalate(reason=reason))

    async def ping(self) -> None:
        """Readiness: sessions answers (its liveness, not its readiness: readiness must not cascade, or one
        database blip would take every chat pod out of its Service at once)."""
        await self._client.request("GET", "/healthz")
