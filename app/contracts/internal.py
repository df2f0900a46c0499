"""Schemas of the internal calls between services (never exposed by the gateway).

Every internal request carries an internal identity token (``Authorization: Bearer``; see
``app.core.identity``) minted by the gateway from the caller's credential; the claims below are what every
service filters reads and writes by.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from app.contracts.api import (
    Citation,
    Conversation,
    ConversationCreate,
    Degradation,
    Message,
    MessageStatus,
    Model,
    Role,
    Scope,
    Tier,
    Usage,
)

PrincipalKind = Literal["api_key", "user", "end_user"]


class IdentityClaims(Model):
    """Who is calling, on whose behalf, with what rights. Minted by the gateway, checked by every service."""

    tenant_id: UUID
    principal: PrincipalKind
    subject: str = Field(description="api key id, user id, or the tenant's end-user id for widget tokens")
    role: Role
    scopes: list[Scope]
    key_id: UUID | None = Field(
        default=None, description="the API key charged for this request (widget tokens name theirs)"
    )
    tier: Tier | None = None


# --- auth -----------------------------------------------------------------------------------------------------
class VerifyKeyRequest(Model):
    key: str = Field(max_length=200)


class AuditEventCreate(Model):
    """Posted by the gateway after an administrative or agent action (auth appends it to the tenant's chain)."""

    tenant_id: UUID
    actor_kind: str = Field(max_length=16)
    actor_id: str = Field(max_length=128)
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=64)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=128)
    outcome: int
    request_id: str = Field(max_length=64)
    client_ip: str | None = Field(default=None, max_length=64)


class KeyState(Model):
    """Whether a key (and every widget token it issued) is revoked, read from auth's database."""

    key_id: UUID
    revoked: bool


class VerifiedKey(Model):
    key_id: UUID
    tenant_id: UUID
    tier: Tier
    scopes: list[Scope]


# --- sessions -------------------------------------------------------------------------------------------------
class CreateConversation(ConversationCreate):
    """The public body plus what the gateway knows about the caller."""


class HistoryMessage(Model):
    role: Literal["user", "assistant"]
    content: str


class TurnStart(Model):
    """Posted by chat to sessions: store the customer message (idempotently) and say how to answer it."""

    content: str
    idempotency_key: str | None = Field(default=None, max_length=200)
    history_limit: int = Field(default=50, ge=0, le=500, description="most recent messages to return for the prompt")


class TurnStarted(Model):
    """What chat needs to answer: the stored message, who answers, and the history window."""

    customer_message: Message
    conversation: Conversation
    mode: Literal["bot", "human"] = Field(description="bot: chat calls the engine; human: stored only")
    history: list[HistoryMessage] = Field(description="oldest first, ending with the new customer message")
    assistant_message: Message | None = Field(
        None, description="placeholder (status streaming) the answer is written into; null in human mode"
    )
    replayed: bool = Field(default=False, description="true when the idempotency key matched an earlier turn")


#: Response headers chat puts on a turn for the gateway: the model that answered (its metrics label) and
#: whether the turn was an idempotent replay (already charged: not charged again).
TURN_MODEL_HEADER = "X-Helpline-Model"
TURN_REPLAYED_HEADER = "X-Helpline-Replayed"
#: Set by the gateway on a turn it forwards while its admission control has the model saturated (shedding or a
#: half-full queue): chat's degradation ladder then serves help-centre answers without generation.
SATURATED_HEADER = "X-Helpline-Saturated"
#: Request header the gateway puts on a model request (a turn, a completion) whose tenant has a token quota: the
#: tokens reserved for it. Chat fits the prompt and ``max_tokens`` into it, and ends an answer the budget cut
#: short with a ``quota-exceeded`` error event.
TOKEN_BUDGET_HEADER = "X-Helpline-Token-Budget"  # noqa: S105 (a header name)


class FinishAnswer(Model):
    """Posted by chat when an answer ends, however it ends: nothing generated is lost."""

    content: str
    status: Literal[MessageStatus.COMPLETE, MessageStatus.PARTIAL]
    usage: Usage | None = None
    finish_reason: str | None = None
    error: str | None = Field(default=None, max_length=500, description="why the answer is partial, for the logs")
    sources: list[Citation] = Field(default_factory=list, max_length=20)
    no_answer: bool = False
    degradation: Degradation | None = None


#: Why chat's rules hand a conversation to a human (``Escalate.reason``); the handoff metric's label values.
ESCALATION_REASONS = ("human_request", "negative_emotion", "engine_unavailable", "guardrail", "output_guardrail")


class Escalate(Model):
    """Posted by chat when its rules decide a human should take over."""

    reason: str = Field(max_length=200, description=f"one of {', '.join(ESCALATION_REASONS)} (else counted as other)")
