"""Chat's calls to the knowledge service, with the customer's identity token (its tenant is the filter)."""

from __future__ import annotations

from uuid import UUID

from app.contracts.knowledge import Retrieval, RetrieveRequest, UnansweredQuestion
from app.core.internal_client import InternalClient


class KnowledgeClient:
    def __init__(self, base_url: str, *, timeout_seconds: float) -> None:
        self._client = InternalClient(base_url, service="knowledge", read_timeout=timeout_seconds)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def retrieve(self, body: RetrieveRequest) -> Retrieval:
        return await self._client.call("POST", "/internal/v1/knowledge/retrieve", Retrieval, json=body)

    async def record_gap(self, question: str, conversation_id: UUID) -> None:
        body = UnansweredQuestion(question=question[:4000], conversation_id=conversation_id)
        await self._client.request("POST", "/internal/v1/knowledge/gaps", json=body)
