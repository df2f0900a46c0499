"""Customer routes: conversations, messages (SSE or JSON), close, handoff, feedback.

Reached with an API key or a widget token; forwarded to sessions, except posting a message, which goes to chat
(it stores the message through sessions, then answers).
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response

from app.contracts.access import CUSTOMER_READ, CUSTOMER_WRITE
from app.contracts.api import (
    MAX_PAGE_SIZE,
    Conversation,
    ConversationCreate,
    ConversationPage,
    ConversationStatus,
    Feedback,
    FeedbackCreate,
    HandoffRequest,
    MessageCreate,
    MessagePage,
    TurnResult,
)
from app.core.sse import SSE_MEDIA_TYPE
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import event_stream_alternative, problem_responses
from app.gateway.turns import relay_turn

router = APIRouter(prefix="/v1/conversations", tags=["conversations"])
Reader = Annotated[Caller, Depends(authenticated(CUSTOMER_READ))]
Writer = Annotated[Caller, Depends(authenticated(CUSTOMER_WRITE))]
#: The turn admits itself (relay_turn): its stream lease is taken in the same Redis round trip as the checks.
TurnWriter = Annotated[Caller, Depends(authenticated(CUSTOMER_WRITE, admit=False))]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Page size.")]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page.")]


@router.post("", status_code=201, response_model=Conversation, responses=problem_responses())
async def create_conversation(body: ConversationCreate, _caller: Writer, gateway: GatewayDep) -> Response:
    """Start a conversation. With a widget token, `customer_ref` is the token's end user."""
    return await forward(gateway.sessions, "POST", internal_path("/v1/conversations"), body=body)


@router.get("", response_model=ConversationPage, responses=problem_responses())
async def list_conversations(
    _caller: Reader,
    gateway: GatewayDep,
    status: Annotated[ConversationStatus | None, Query(description="Only conversations in this status.")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Response:
    """The caller's conversations, newest first: a widget token's end user sees theirs, an API key the tenant's."""
    return await forward(
        gateway.sessions,
        "GET",
        internal_path("/v1/conversations"),
        params={"status": status.value if status else None, "limit": limit, "cursor": cursor},
    )


@router.get("/{conversation_id}", response_model=Conversation, responses=problem_responses(404))
async def get_conversation(conversation_id: UUID, _caller: Reader, gateway: GatewayDep) -> Response:
    return await forward(gateway.sessions, "GET", internal_path(f"/v1/conversations/{conversation_id}"))


@router.get("/{conversation_id}/messages", response_model=MessagePage, responses=problem_responses(404))
async def list_messages(
    conversation_id: UUID, _caller: Reader, gateway: GatewayDep, limit: Limit = 50, cursor: Cursor = None
) -> Response:
    """Messages oldest first; follow `next_cursor` for the next page."""
    return await forward(
        gateway.sessions,
        "GET",
        internal_path(f"/v1/conversations/{conversation_id}/messages"),
        params={"limit": limit, "cursor": cursor},
    )


@router.post(
    "/{conversation_id}/messages",
    response_model=TurnResult,
    responses={
        **problem_responses(404, 409),
        **event_stream_alternative(
            "With `Accept: text/event-stream`: events `message`, `delta`*, then `done` or `error`.",
            {"message": "MessageEvent", "delta": "DeltaEvent", "done": "DoneEvent", "error": "ErrorEvent"},
        ),
    },
)
async def post_message(
    conversation_id: UUID,
    body: MessageCreate,
    *,
    request: Request,
    caller: TurnWriter,
    gateway: GatewayDep,
    idempotency_key: Annotated[
        str | None, Header(max_length=200, description="Retrying with the same key returns the original result.")
    ] = None,
) -> Response:
    """Post a customer message and get the answer, streamed (SSE) or as one JSON body."""
    wants_stream = SSE_MEDIA_TYPE in request.headers.get("accept", "")
    return await relay_turn(
        gateway, caller, conversation_id, body, idempotency_key=idempotency_key, stream=wants_stream
    )


@router.post("/{conversation_id}/close", response_model=Conversation, responses=problem_responses(404, 409))
async def close_conversation(conversation_id: UUID, _caller: Writer, gateway: GatewayDep) -> Response:
    return await forward(gateway.sessions, "POST", internal_path(f"/v1/conversations/{conversation_id}/close"))


@router.post("/{conversation_id}/handoff", response_model=Conversation, responses=problem_responses(404, 409))
async def request_human(conversation_id: UUID, body: HandoffRequest, _caller: Writer, gateway: GatewayDep) -> Response:
    """Ask for a human: the conversation waits for an agent; messages are stored, not answered by the model."""
    return await forward(
        gateway.sessions, "POST", internal_path(f"/v1/conversations/{conversation_id}/handoff"), body=body
    )


@router.post(
    "/{conversation_id}/messages/{message_id}/feedback",
    status_code=201,
    response_model=Feedback,
    responses={**problem_responses(404, 409), 200: {"model": Feedback, "description": "Feedback replaced."}},
)
async def submit_feedback(
    conversation_id: UUID, message_id: UUID, body: FeedbackCreate, _caller: Writer, gateway: GatewayDep
) -> Response:
    """Thumbs up or down on an assistant message (201; submitting again replaces it: 200)."""
    return await forward(
        gateway.sessions,
        "POST",
        internal_path(f"/v1/conversations/{conversation_id}/messages/{message_id}/feedback"),
        body=body,
    )
