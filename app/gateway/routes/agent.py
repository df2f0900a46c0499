"""Agent desk routes (user tokens with role agent or admin): the queue, claim, reply, resolve."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from app.contracts.access import AGENT_DESK
from app.contracts.api import (
    MAX_PAGE_SIZE,
    AgentReply,
    Conversation,
    ConversationPage,
    ConversationStatus,
    Message,
    MessagePage,
)
from app.contracts.safety import GuardrailEvent
from app.gateway.audit_trail import audited
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1/agent/conversations", tags=["agent desk"])
Agent = Annotated[Caller, Depends(authenticated(AGENT_DESK))]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=ConversationPage, responses=problem_responses())
async def list_conversations(
    _agent: Agent,
    gateway: GatewayDep,
    status: ConversationStatus = ConversationStatus.WAITING_HUMAN,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """The tenant's conversations in a status (by default those waiting for a human), oldest first."""
    return await forward(
        gateway.sessions,
        "GET",
        internal_path("/v1/agent/conversations"),
        params={"status": status.value, "limit": limit, "cursor": cursor},
    )


@router.get("/{conversation_id}/messages", response_model=MessagePage, responses=problem_responses(404))
async def list_messages(
    conversation_id: UUID, _agent: Agent, gateway: GatewayDep, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    return await forward(
        gateway.sessions,
        "GET",
        internal_path(f"/v1/agent/conversations/{conversation_id}/messages"),
        params={"limit": limit, "cursor": cursor},
    )


@router.post("/{conversation_id}/claim", response_model=Conversation, responses=problem_responses(404, 409))
async def claim(conversation_id: UUID, agent: Agent, gateway: GatewayDep) -> Response:
    """Take the conversation (409 if another agent has it)."""
    claiming = forward(gateway.sessions, "POST", internal_path(f"/v1/agent/conversations/{conversation_id}/claim"))
    return await audited(
        gateway, agent, "conversation.claim", claiming, target_type="conversation", target_id=conversation_id
    )


@router.post(
    "/{conversation_id}/messages", status_code=201, response_model=Message, responses=problem_responses(404, 409)
)
async def reply(conversation_id: UUID, body: AgentReply, agent: Agent, gateway: GatewayDep) -> Response:
    path = internal_path(f"/v1/agent/conversations/{conversation_id}/messages")
    replying = forward(gateway.sessions, "POST", path, body=body)
    return await audited(
        gateway, agent, "conversation.reply", replying, target_type="conversation", target_id=conversation_id
    )


@router.post("/{conversation_id}/resolve", response_model=Conversation, responses=problem_responses(404, 409))
async def resolve(conversation_id: UUID, agent: Agent, gateway: GatewayDep) -> Response:
    resolving = forward(gateway.sessions, "POST", internal_path(f"/v1/agent/conversations/{conversation_id}/resolve"))
    return await audited(
        gateway, agent, "conversation.resolve", resolving, target_type="conversation", target_id=conversation_id
    )


@router.get(
    "/{conversation_id}/guardrail-events", response_model=list[GuardrailEvent], responses=problem_responses(404)
)
async def list_guardrail_events(conversation_id: UUID, _agent: Agent, gateway: GatewayDep) -> Response:
    """Guardrail decisions on the conversation (which rule fired, what was done), oldest first."""
    return await forward(
        gateway.chat, "GET", internal_path(f"/v1/agent/conversations/{conversation_id}/guardrail-events")
    )
