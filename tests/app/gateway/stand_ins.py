"""A stand-in for sessions and chat, so the gateway is tested over real HTTP before those services exist.

Small and honest: it verifies the identity token like the real services (``require_scopes``), keeps
conversations per tenant (a foreign id is a 404), answers turns as SSE or JSON with engine-like usage, and
records what it received, so tests can assert what the gateway forwarded, and can hold a stream open or mark a
turn as replayed on demand. The full path over the real sessions and chat is ``test_full_path.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from app.contracts.access import AGENT_DESK
from app.contracts.api import (
    AgentReply,
    AssistantProfile,
    Conversation,
    ConversationCreate,
    ConversationPage,
    ConversationStatus,
    DeltaEvent,
    DoneEvent,
    Feedback,
    FeedbackCreate,
    HandoffRequest,
    Message,
    MessageCreate,
    MessageEvent,
    MessagePage,
    MessageRole,
    MessageStatus,
    Scope,
    TurnResult,
    Usage,
)
from app.contracts.internal import IdentityClaims
from app.core.app_factory import create_app
from app.core.db import utcnow
from app.core.errors import NotFoundError
from app.core.identity import require_access, require_scopes
from app.core.ids import uuid7
from app.core.settings import ServiceSettings
from app.core.sse import SSE_MEDIA_TYPE, format_event

ANSWER_WORDS = ("Thanks", " for", " reaching", " out", ".")
USAGE = Usage(prompt_tokens=40, completion_tokens=5, total_tokens=45)
MODEL = "helpline-chat"


Read = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_READ))]
Write = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_WRITE))]
Agent = Annotated[IdentityClaims, Depends(require_access(AGENT_DESK))]
Admin = Annotated[IdentityClaims, Depends(require_scopes(Scope.ADMIN))]
Completions = Annotated[IdentityClaims, Depends(require_scopes(Scope.COMPLETIONS))]


class StandInSettings(ServiceSettings):
    service_name: ClassVar[str] = "stand-in"


@dataclass
class Received:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    identity: IdentityClaims | None
    headers: dict[str, str]


@dataclass
class StandInState:
    conversations: dict[tuple[UUID, UUID], Conversation] = field(default_factory=dict)
    messages: dict[UUID, list[Message]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    delta_delay: float = 0.0  # seconds between deltas (streams held open for concurrency tests)
    hold: asyncio.Event | None = None  # when set: streams wait for it before their first delta
    streams_cancelled: int = 0
    streams_finished: int = 0
    replay: bool = False


def _record(state: StandInState, request: Request, body: Any, identity: IdentityClaims | None) -> None:
    state.received.append(
        Received(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            body=body,
            identity=identity,
            headers=dict(request.headers),
        )
    )


def build_stand_in(state: StandInState, secret: str) -> FastAPI:
    router = APIRouter(prefix="/internal/v1")

    def owned(identity: IdentityClaims, conversation_id: UUID) -> Conversation:
        conversation = state.conversations.get((identity.tenant_id, conversation_id))
        if conversation is None or (identity.principal == "end_user" and conversation.customer_ref != identity.subject):
            raise NotFoundError("No such conversation.")
        return conversation

    def updated(identity: IdentityClaims, conversation: Conversation, status: ConversationStatus) -> Conversation:
        new = conversation.model_copy(update={"status": status, "updated_at": utcnow()})
        state.conversations[(identity.tenant_id, conversation.id)] = new
        return new

    def message(conversation_id: UUID, role: MessageRole, content: str, usage: Usage | None = None) -> Message:
        stored = Message(
            id=uuid7(),
            conversation_id=conversation_id,
            role=role,
            content=content,
            status=MessageStatus.COMPLETE,
            created_at=utcnow(),
            usage=usage,
            finish_reason="stop" if usage else None,
        )
        state.messages.setdefault(conversation_id, []).append(stored)
        return stored

    @router.post("/conversations", status_code=201)
    async def create(body: ConversationCreate, request: Request, identity: Write) -> Conversation:
        _record(state, request, body.model_dump(mode="json"), identity)
        now = utcnow()
        customer_ref = identity.subject if identity.principal == "end_user" else body.customer_ref
        conversation = Conversation(
            id=uuid7(),
            status=ConversationStatus.BOT,
            customer_ref=customer_ref,
            metadata=body.metadata,
            created_at=now,
            updated_at=now,
        )
        state.conversations[(identity.tenant_id, conversation.id)] = conversation
        return conversation

    @router.get("/conversations/{conversation_id}")
    async def read(conversation_id: UUID, request: Request, identity: Read) -> Conversation:
        _record(state, request, None, identity)
        return owned(identity, conversation_id)

    @router.get("/conversations/{conversation_id}/messages")
    async def messages(conversation_id: UUID, request: Request, identity: Read, limit: int = 50) -> MessagePage:
        _record(state, request, None, identity)
        owned(identity, conversation_id)
        return MessagePage(items=state.messages.get(conversation_id, [])[:limit], next_cursor=None)

    @router.post("/conversations/{conversation_id}/close")
    async def close(conversation_id: UUID, request: Request, identity: Write) -> Conversation:
        _record(state, request, None, identity)
        return updated(identity, owned(identity, conversation_id), ConversationStatus.CLOSED)

    @router.post("/conversations/{conversation_id}/handoff")
    async def handoff(conversation_id: UUID, body: HandoffRequest, request: Request, identity: Write) -> Conversation:
        _record(state, request, body.model_dump(mode="json"), identity)
        return updated(identity, owned(identity, conversation_id), ConversationStatus.WAITING_HUMAN)

    @router.post("/conversations/{conversation_id}/messages/{message_id}/feedback", status_code=201)
    async def feedback(
        conversation_id: UUID, message_id: UUID, body: FeedbackCreate, request: Request, identity: Write
    ) -> Feedback:
        _record(state, request, body.model_dump(mode="json"), identity)
        owned(identity, conversation_id)
        if not any(m.id == message_id for m in state.messages.get(conversation_id, [])):
            raise NotFoundError("No such message.")
        return Feedback(message_id=message_id, rating=body.rating, comment=body.comment, created_at=utcnow())

    @router.post("/conversations/{conversation_id}/messages")
    async def turn(
        conversation_id: UUID,
        body: MessageCreate,
        request: Request,
        identity: Write,
        accept: Annotated[str, Header()] = "application/json",
    ) -> Response:
        _record(state, request, body.model_dump(mode="json"), identity)
        conversation = owned(identity, conversation_id)
        customer = message(conversation_id, MessageRole.CUSTOMER, body.content)
        headers = {"X-Helpline-Model": MODEL, **({"X-Helpline-Replayed": "true"} if state.replay else {})}
        if SSE_MEDIA_TYPE not in accept:
            reply = message(conversation_id, MessageRole.ASSISTANT, "".join(ANSWER_WORDS), USAGE)
            result = TurnResult(customer_message=customer, reply=reply, conversation=conversation)
            return Response(result.model_dump_json(), media_type="application/json", headers=headers)

        async def events() -> AsyncIterator[bytes]:
            try:
                yield format_event("message", MessageEvent(message=customer, conversation=conversation))
                if state.hold is not None:
                    await state.hold.wait()
                for word in ANSWER_WORDS:
                    await asyncio.sleep(state.delta_delay)
                    yield format_event("delta", DeltaEvent(text=word))
                reply = message(conversation_id, MessageRole.ASSISTANT, "".join(ANSWER_WORDS), USAGE)
                yield format_event("done", DoneEvent(message=reply, conversation=conversation))
                state.streams_finished += 1
            except asyncio.CancelledError:
                state.streams_cancelled += 1
                raise

        return StreamingResponse(events(), media_type=SSE_MEDIA_TYPE, headers=headers)

    @router.get("/agent/conversations")
    async def queue(
        request: Request, identity: Agent, status: ConversationStatus = ConversationStatus.WAITING_HUMAN
    ) -> ConversationPage:
        _record(state, request, None, identity)
        items = [
            c for (tenant, _), c in state.conversations.items() if tenant == identity.tenant_id and c.status == status
        ]
        return ConversationPage(items=items, next_cursor=None)

    @router.get("/agent/conversations/{conversation_id}/messages")
    async def agent_messages(conversation_id: UUID, request: Request, identity: Agent) -> MessagePage:
        _record(state, request, None, identity)
        owned(identity, conversation_id)
        return MessagePage(items=state.messages.get(conversation_id, []), next_cursor=None)

    @router.post("/agent/conversations/{conversation_id}/claim")
    async def claim(conversation_id: UUID, request: Request, identity: Agent) -> Conversation:
        _record(state, request, None, identity)
        return updated(identity, owned(identity, conversation_id), ConversationStatus.WITH_AGENT)

    @router.post("/agent/conversations/{conversation_id}/messages", status_code=201)
    async def agent_reply(conversation_id: UUID, body: AgentReply, request: Request, identity: Agent) -> Message:
        _record(state, request, body.model_dump(mode="json"), identity)
        owned(identity, conversation_id)
        return message(conversation_id, MessageRole.AGENT, body.content)

    @router.post("/agent/conversations/{conversation_id}/resolve")
    async def resolve(conversation_id: UUID, request: Request, identity: Agent) -> Conversation:
        _record(state, request, None, identity)
        return updated(identity, owned(identity, conversation_id), ConversationStatus.RESOLVED)

    profiles: dict[UUID, AssistantProfile] = {}

    @router.get("/assistant-profile")
    async def get_profile(request: Request, identity: Admin) -> AssistantProfile:
        _record(state, request, None, identity)
        return profiles.get(identity.tenant_id, AssistantProfile(system_prompt="You help.", model=MODEL))

    @router.put("/assistant-profile")
    async def put_profile(body: AssistantProfile, request: Request, identity: Admin) -> AssistantProfile:
        _record(state, request, body.model_dump(mode="json"), identity)
        profiles[identity.tenant_id] = body
        return body

    @router.post("/chat/completions")
    async def completions(request: Request, identity: Completions) -> Response:
        body = await request.json()
        _record(state, request, body, identity)
        usage = {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
        if not body.get("stream"):
            return JSONResponse(
                {
                    "id": "chatcmpl-1",
                    "object": "chat.completion",
                    "model": body["model"],
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": "Hi!"}, "finish_reason": "stop"}
                    ],
                    "usage": usage,
                }
            )

        def chunk(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> bytes:
            data = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": body["model"], "choices": choices}
            return b"data: " + orjson.dumps({**data, "usage": usage}) + b"\n\n"

        async def chunks() -> AsyncIterator[bytes]:
            yield chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}}])
            for word in ("Hi", "!"):
                yield chunk([{"index": 0, "delta": {"content": word}, "finish_reason": None}])
            if (body.get("stream_options") or {}).get("include_usage"):
                yield chunk([], usage)
            yield b"data: [DONE]\n\n"

        return StreamingResponse(chunks(), media_type=SSE_MEDIA_TYPE)

    settings = StandInSettings(environment="test", internal_token_secret=secret, log_level="WARNING")  # type: ignore[arg-type]
    return create_app(settings, title="stand-in", routers=[router])
