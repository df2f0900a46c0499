"""Sessions' HTTP API (internal: the gateway forwards the customer and agent-desk routes, chat calls the rest).

Paths mirror the public ones under ``/internal/v1``. Every route needs an identity token with the route's
scope; the repository then filters by the identity's tenant (and end user), so ids of others are 404.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from app.contracts.api import (
    MAX_PAGE_SIZE,
    AgentReply,
    Conversation,
    ConversationPage,
    ConversationStatus,
    Feedback,
    FeedbackCreate,
    HandoffRequest,
    Message,
    MessagePage,
)
from app.contracts.internal import CreateConversation, Escalate, FinishAnswer, TurnStart, TurnStarted
from app.contracts.widget import Csat, CsatCreate
from app.core.db import DbSession
from app.sessions.dependencies import Agent, Reader, Service, Writer

router = APIRouter(prefix="/internal/v1")

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
Cursor = Annotated[str | None, Query(max_length=64, description="next_cursor of the previous page.")]
DEFAULT_PAGE_SIZE = 50


# --- customer routes --------------------------------------------------------------------------------------------
@router.post(
    "/conversations/{conversation_id}/csat",
    status_code=status.HTTP_201_CREATED,
    tags=["conversations"],
    responses={200: {"model": Csat, "description": "Replaced an earlier rating of this conversation."}},
)
async def give_csat(
    *,
    conversation_id: UUID,
    body: CsatCreate,
    identity: Writer,
    session: DbSession,
    sessions: Service,
    response: Response,
) -> Csat:
    csat, created = await sessions.give_csat(session, identity, conversation_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return csat


@router.post("/conversations", status_code=status.HTTP_201_CREATED, tags=["conversations"])
async def create_conversation(
    body: CreateConversation, identity: Writer, session: DbSession, sessions: Service
) -> Conversation:
    return await sessions.create_conversation(session, identity, body)


@router.get("/conversations", tags=["conversations"])
async def list_conversations(
    *,
    identity: Reader,
    session: DbSession,
    sessions: Service,
    status_filter: Annotated[ConversationStatus | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> ConversationPage:
    return await sessions.list_conversations(session, identity, status=status_filter, limit=limit, cursor=cursor)


@router.get("/conversations/{conversation_id}", tags=["conversations"])
async def get_conversation(
    conversation_id: UUID, identity: Reader, session: DbSession, sessions: Service
) -> Conversation:
    return await sessions.get_conversation(session, identity, conversation_id)


@router.get("/conversations/{conversation_id}/messages", tags=["conversations"])
async def list_messages(
    *,
    conversation_id: UUID,
    identity: Reader,
    session: DbSession,
    sessions: Service,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> MessagePage:
    return await sessions.list_messages(session, identity, conversation_id, limit=limit, cursor=cursor)


@router.post("/conversations/{conversation_id}/close", tags=["conversations"])
async def close_conversation(
    conversation_id: UUID, identity: Writer, session: DbSession, sessions: Service
) -> Conversation:
    return await sessions.close(session, identity, conversation_id)


@router.post("/conversations/{conversation_id}/handoff", tags=["conversations"])
async def request_human(
    conversation_id: UUID, body: HandoffRequest, identity: Writer, session: DbSession, sessions: Service
) -> Conversation:
    return await sessions.request_human(session, identity, conversation_id, body.reason)


@router.post(
    "/conversations/{conversation_id}/messages/{message_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    tags=["conversations"],
    responses={200: {"model": Feedback, "description": "Replaced an earlier rating of this answer."}},
)
async def give_feedback(
    *,
    conversation_id: UUID,
    message_id: UUID,
    body: FeedbackCreate,
    identity: Writer,
    session: DbSession,
    sessions: Service,
    response: Response,
) -> Feedback:
    feedback, created = await sessions.give_feedback(session, identity, conversation_id, message_id, body)
    if not created:
        response.status_code = status.HTTP_200_OK
    return feedback


# --- chat's routes ----------------------------------------------------------------------------------------------
@router.post("/conversations/{conversation_id}/turns", tags=["chat"])
async def start_turn(
    conversation_id: UUID, body: TurnStart, identity: Writer, session: DbSession, sessions: Service
) -> TurnStarted:
    return await sessions.start_turn(session, identity, conversation_id, body)


@router.post("/conversations/{conversation_id}/messages/{message_id}:finish", tags=["chat"])
async def finish_answer(
    *,
    conversation_id: UUID,
    message_id: UUID,
    body: FinishAnswer,
    identity: Writer,
    session: DbSession,
    sessions: Service,
) -> Message:
    return await sessions.finish_answer(session, identity, conversation_id, message_id, body)


@router.post("/conversations/{conversation_id}:escalate", tags=["chat"])
async def escalate(
    conversation_id: UUID, body: Escalate, identity: Writer, session: DbSession, sessions: Service
) -> Conversation:
    return await sessions.escalate(session, identity, conversation_id, body)


# --- agent desk -------------------------------------------------------------------------------------------------
@router.get("/agent/conversations", tags=["agent"])
async def list_agent_conversations(
    *,
    identity: Agent,
    session: DbSession,
    sessions: Service,
    status_filter: Annotated[ConversationStatus, Query(alias="status")] = ConversationStatus.WAITING_HUMAN,
    mine: bool = False,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> ConversationPage:
    return await sessions.list_for_agents(
        session, identity, status=status_filter, mine=mine, limit=limit, cursor=cursor
    )


@router.get("/agent/conversations/{conversation_id}/messages", tags=["agent"])
async def list_agent_messages(
    *,
    conversation_id: UUID,
    identity: Agent,
    session: DbSession,
    sessions: Service,
    limit: Limit = DEFAULT_PAGE_SIZE,
    cursor: Cursor = None,
) -> MessagePage:
    return await sessions.agent_messages(session, identity, conversation_id, limit=limit, cursor=cursor)


@router.post("/agent/conversations/{conversation_id}/claim", tags=["agent"])
async def claim(conversation_id: UUID, identity: Agent, session: DbSession, sessions: Service) -> Conversation:
    return await sessions.claim(session, identity, conversation_id)


@router.post("/agent/conversations/{conversation_id}/messages", status_code=status.HTTP_201_CREATED, tags=["agent"])
async def agent_reply(
    conversation_id: UUID, body: AgentReply, identity: Agent, session: DbSession, sessions: Service
) -> Message:
    return await sessions.agent_reply(session, identity, conversation_id, body)


@router.post("/agent/conversations/{conversation_id}/resolve", tags=["agent"])
async def resolve(conversation_id: UUID, identity: Agent, session: DbSession, sessions: Service) -> Conversation:
    return await sessions.resolve(session, identity, conversation_id)


@router.post("/agent/conversations/{conversation_id}/hand-back", tags=["agent"])
async def hand_back(conversation_id: UUID, identity: Agent, session: DbSession, sessions: Service) -> Conversation:
    return await sessions.hand_back(session, identity, conversation_id)
