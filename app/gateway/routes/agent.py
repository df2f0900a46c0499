"""Agent desk routes (user tokens with role agent or admin): the queue, claim, reply, resolve, hand back."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response
from starlette.responses import StreamingResponse

from app.contracts.access import AGENT_DESK
from app.contracts.api import (
    MAX_PAGE_SIZE,
    AgentReply,
    Conversation,
    ConversationPage,
    ConversationStatus,
    Message,
    MessageClassification,
    MessagePage,
)
from app.contracts.safety import GuardrailEvent
from app.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE, with_heartbeats
from app.gateway.agent_queue import queue_events
from app.gateway.audit_trail import audited
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1/agent/conversations", tags=["agent desk"])
queue_router = APIRouter(prefix="/v1/agent", tags=["agent desk"])
Agent = Annotated[Caller, Depends(authenticated(AGENT_DESK))]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("", response_model=ConversationPage, responses=problem_responses())
async def list_conversations(
    _agent: Agent,
    gateway: GatewayDep,
    status: ConversationStatus = ConversationStatus.WAITING_HUMAN,
    mine: Annotated[bool, Query(description="Only the conversations assigned to you.")] = False,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Response:
    """The tenant's conversations in a status (by default those waiting for a human), longest in it first."""
    return await forward(
        gateway.sessions,
        "GET",
        internal_path("/v1/agent/conversations"),
        params={"status": status.value, "mine": mine or None, "limit": limit, "cursor": cursor},
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


@router.post("/{conversation_id}/hand-back", response_model=Conversation, responses=problem_responses(404, 409))
async def hand_back(conversation_id: UUID, agent: Agent, gateway: GatewayDep) -> Response:
    """Give the conversation back to the assistant: it answers the customer's next message again."""
    handing_back = forward(
        gateway.sessions, "POST", internal_path(f"/v1/agent/conversations/{conversation_id}/hand-back")
    )
    return await audited(
        gateway, agent, "conversation.hand_back", handing_back, target_type="conversation", target_id=conversation_id
    )


@router.get(
    "/{conversation_id}/classifications",
    response_model=list[MessageClassification],
    responses=problem_responses(),
)
async def list_classifications(conversation_id: UUID, _agent: Agent, gateway: GatewayDep) -> Response:
    """The classifier's intent and emotion of each customer message, oldest first."""
    return await forward(
        gateway.chat, "GET", internal_path(f"/v1/agent/conversations/{conversation_id}/classifications")
    )


@router.get(
    "/{conversation_id}/guardrail-events", response_model=list[GuardrailEvent], responses=problem_responses(404)
)
async def list_guardrail_events(conversation_id: UUID, _agent: Agent, gateway: GatewayDep) -> Response:
    """Guardrail decisions on the conversation (which rule fired, what was done), oldest first."""
    return await forward(
        gateway.chat, "GET", internal_path(f"/v1/agent/conversations/{conversation_id}/guardrail-events")
    )


#: A comment this often keeps proxies and load balancers from closing a quiet queue stream.
QUEUE_HEARTBEAT_SECONDS = 15.0


@queue_router.get(
    "/queue/events",
    response_class=StreamingResponse,
    responses={
        **problem_responses(),
        200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "`queue` events, then `reconnect`."},
    },
)
async def queue_stream(_agent: Agent, gateway: GatewayDep) -> StreamingResponse:
    """The live queue (Server-Sent Events): a `queue` event with the conversations waiting for a person and those
    with an agent whenever they change, then `reconnect` after a few minutes (open the stream again)."""
    events = with_heartbeats(queue_events(gateway.sessions, gateway.agent_queue), QUEUE_HEARTBEAT_SECONDS)
    return StreamingResponse(events, media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)
