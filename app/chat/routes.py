"""Chat's HTTP API (internal; the gateway forwards the public routes here with the caller's identity token)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Depends, Header, Request
from starlette.responses import Response, StreamingResponse

from app.chat import data_rights
from app.chat.completions import CompletionsProxy
from app.chat.profiles import ProfileStore
from app.chat.records import Records
from app.chat.safety import TurnSafety
from app.chat.turns import TurnEvent, TurnRequest, TurnService
from app.contracts.access import ADMIN, AGENT_DESK
from app.contracts.api import (
    AssistantProfile,
    ErrorEvent,
    MessageClassification,
    MessageCreate,
    Problem,
    Scope,
    TurnResult,
)
from app.contracts.data_rights import ChatErasure, ChatExport, ConversationIds
from app.contracts.internal import (
    SATURATED_HEADER,
    TOKEN_BUDGET_HEADER,
    TURN_MODEL_HEADER,
    TURN_REPLAYED_HEADER,
    IdentityClaims,
)
from app.contracts.safety import GuardrailEvent, SafetyPolicy
from app.core.identity import require_access, require_scopes
from app.core.request_context import request_id_of
from app.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE, format_comment, format_event

router = APIRouter(prefix="/internal/v1")

Writer = Annotated[IdentityClaims, Depends(require_scopes(Scope.CONVERSATIONS_WRITE))]
Integrator = Annotated[IdentityClaims, Depends(require_scopes(Scope.COMPLETIONS))]
Admin = Annotated[IdentityClaims, Depends(require_scopes(Scope.ADMIN))]
TokenBudget = Annotated[
    int | None,
    Header(alias=TOKEN_BUDGET_HEADER, ge=1, description="Tokens reserved from the tenant's quota for this request."),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="Retrying with the same key returns the original result instead of a second answer.",
    ),
]


# async on purpose: FastAPI runs a plain ``def`` dependency in its thread pool, one thread hop per request.
async def _turns(request: Request) -> TurnService:
    return request.app.state.turns


async def _completions(request: Request) -> CompletionsProxy:
    return request.app.state.completions


async def _profiles(request: Request) -> ProfileStore:
    return request.app.state.profiles


async def _safety(request: Request) -> TurnSafety:
    return request.app.state.safety


async def _records(request: Request) -> Records:
    return request.app.state.records


Turns = Annotated[TurnService, Depends(_turns)]
Safety = Annotated[TurnSafety, Depends(_safety)]
ChatRecords = Annotated[Records, Depends(_records)]
AgentDesk = Annotated[IdentityClaims, Depends(require_access(AGENT_DESK))]  # people only, as sessions' desk
Completions = Annotated[CompletionsProxy, Depends(_completions)]
Profiles = Annotated[ProfileStore, Depends(_profiles)]


@router.post(
    "/conversations/{conversation_id}/messages",
    tags=["conversations"],
    responses={200: {"content": {SSE_MEDIA_TYPE: {}}, "description": "SSE events, or TurnResult as JSON."}},
)
async def post_message(
    *,
    conversation_id: UUID,
    body: MessageCreate,
    identity: Writer,
    turns: Turns,
    request: Request,
    idempotency_key: IdempotencyKey = None,
    token_budget: TokenBudget = None,
) -> Response:
    received_at = time.perf_counter()
    turn = await turns.start(
        TurnRequest(
            identity=identity,
            conversation_id=conversation_id,
            content=body.content,
            idempotency_key=idempotency_key,
            received_at=received_at,
            token_budget=token_budget,
            gateway_saturated=request.headers.get(SATURATED_HEADER, "").lower() == "true",
        )
    )
    events = turns.events(turn)
    headers = {
        TURN_MODEL_HEADER: turn.profile.model,
        TURN_REPLAYED_HEADER: "true" if turn.started.replayed else "false",
    }
    if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        frames = sse_frames(events, request_id=request_id_of(request.scope), instance=request.url.path)
        return StreamingResponse(frames, media_type=SSE_MEDIA_TYPE, headers={**SSE_HEADERS, **headers})
    return Response((await collect(events)).model_dump_json(), media_type="application/json", headers=headers)


async def sse_frames(events: AsyncIterator[TurnEvent], *, request_id: str, instance: str) -> AsyncIterator[bytes]:
    """SSE frames for a turn's events; deltas are framed with orjson directly (the per-token path)."""
    async for event in events:
        match event:
            case ("delta", text):
                yield b"event: delta\ndata: " + orjson.dumps({"event": "delta", "text": text}) + b"\n\n"
            case ("error", error):
                problem = Problem(**error.to_problem(request_id=request_id, instance=instance))
                yield format_event("error", ErrorEvent(problem=problem))
            case ("message", message):
                yield format_event("message", message)
            case ("done", done):
                yield format_event("done", done)
            case ("heartbeat", _):
                yield format_comment()


async def collect(events: AsyncIterator[TurnEvent]) -> TurnResult:
    """The JSON form: the whole turn, or the problem that ended it (raised: the response is that problem)."""
    customer_message = None
    async for event in events:
        match event:
            case ("message", message):
                customer_message = message.message
            case ("error", error):
                raise error
            case ("done", done):
                assert customer_message is not None
                return TurnResult(customer_message=customer_message, reply=done.message, conversation=done.conversation)
            case _:
                pass
    raise RuntimeError("a turn ended without its done event")  # pragma: no cover


@router.get("/models", tags=["integrations"])
async def list_models(_identity: Integrator, completions: Completions) -> dict[str, Any]:
    """The public model names (OpenAI's list shape)."""
    return completions.models()


@router.post("/chat/completions", tags=["integrations"])
async def chat_completions(
    identity: Integrator, completions: Completions, request: Request, token_budget: TokenBudget = None
) -> Response:
    return await completions.forward(identity, await request.body(), token_budget=token_budget)


@router.get("/assistant-profile", tags=["admin"])
async def get_assistant_profile(identity: Admin, profiles: Profiles) -> AssistantProfile:
    return await profiles.get(identity.tenant_id)


@router.put("/assistant-profile", tags=["admin"])
async def put_assistant_profile(body: AssistantProfile, identity: Admin, profiles: Profiles) -> AssistantProfile:
    return await profiles.put(identity.tenant_id, body)


@router.get("/safety-policy", tags=["admin"])
async def get_safety_policy(identity: Admin, safety: Safety) -> SafetyPolicy:
    return await safety.policies.get(identity.tenant_id)


@router.put("/safety-policy", tags=["admin"])
async def put_safety_policy(body: SafetyPolicy, identity: Admin, safety: Safety) -> SafetyPolicy:
    return await safety.policies.put(identity.tenant_id, body)


@router.get("/agent/conversations/{conversation_id}/guardrail-events", tags=["agent desk"])
async def list_guardrail_events(conversation_id: UUID, identity: AgentDesk, safety: Safety) -> list[GuardrailEvent]:
    """The guardrail decisions on a conversation, oldest first: which rule fired and what was done."""
    return await safety.events.list(identity.tenant_id, conversation_id)


# --- data rights: the gateway's /v1/data-subjects calls these with the admin's identity --------------------------
DataAdmin = Annotated[IdentityClaims, Depends(require_access(ADMIN))]


@router.post("/data-subjects:export", tags=["data rights"])
async def export_subject(body: ConversationIds, identity: DataAdmin, safety: Safety, request: Request) -> ChatExport:
    """What chat holds about these conversations (the gateway found them by the end user's ref)."""
    return await data_rights.export(request.app.state.database, safety, identity.tenant_id, body.conversation_ids)


@router.post("/data-subjects:erase", tags=["data rights"])
async def erase_subject(body: ConversationIds, identity: DataAdmin, request: Request) -> ChatErasure:
    return await data_rights.erase(request.app.state.database, identity.tenant_id, body.conversation_ids)


@router.get("/agent/conversations/{conversation_id}/classifications", tags=["agent desk"])
async def list_classifications(
    conversation_id: UUID, identity: AgentDesk, records: ChatRecords
) -> list[MessageClassification]:
    """The classifier's intent and emotion of each customer message of a conversation, oldest first."""
    return await records.classifications(identity.tenant_id, conversation_id)
