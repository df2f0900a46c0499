"""The public API's schemas (``/v1`` on the gateway), shared by the gateway and the services behind it.

The gateway documents and validates with these; the service that owns a resource returns them. Keeping them
here means the public contract changes in one place, and the OpenAPI document is the one customers read.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StringConstraints, field_validator

#: Longest customer or agent message accepted (characters). Longer input is a 413/422, never truncated.
MAX_MESSAGE_CHARS = 4000
MAX_PAGE_SIZE = 100


class Model(BaseModel):
    """Base of every API schema: unknown fields are refused, so typos fail loudly instead of being ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- enums ---------------------------------------------------------------------------------------------------
class ConversationStatus(StrEnum):
    BOT = "bot"  # the assistant answers
    WAITING_HUMAN = "waiting_human"  # a human was requested; messages are stored, not sent to the model
    WITH_AGENT = "with_agent"  # an agent claimed it and answers
    RESOLVED = "resolved"  # an agent resolved it (terminal)
    CLOSED = "closed"  # the customer closed it (terminal)


class MessageRole(StrEnum):
    CUSTOMER = "customer"
    ASSISTANT = "assistant"
    AGENT = "agent"
    SYSTEM = "system"  # notices such as "an agent joined"


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"  # an answer being generated now
    PARTIAL = "partial"  # the customer disconnected or the engine failed mid-answer


class Degradation(StrEnum):
    """The degradation ladder's levels an answer can be given on (``app.chat.ladder``)."""

    SATURATED = "saturated"
    CHAT_MODEL_DOWN = "chat_model_down"
    EVERYTHING_DOWN = "everything_down"


class Rating(StrEnum):
    UP = "up"
    DOWN = "down"


class Tier(StrEnum):
    FREE = "free"
    STANDARD = "standard"
    ENTERPRISE = "enterprise"


class Role(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    ADMIN = "admin"


class Scope(StrEnum):
    """What a credential may do; checked on every endpoint."""

    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    AGENT = "agent"  # the agent desk: list waiting conversations, claim, reply, resolve
    ADMIN = "admin"  # keys, users, assistant profile of the tenant
    COMPLETIONS = "completions"  # the OpenAI-compatible pass-through
    WIDGET_ISSUE = "widget:issue"  # mint short-lived web-chat tokens for end users


#: What a new API key may do unless its creator says otherwise.
DEFAULT_KEY_SCOPES: tuple[Scope, ...] = (
    Scope.CONVERSATIONS_READ,
    Scope.CONVERSATIONS_WRITE,
    Scope.WIDGET_ISSUE,
    Scope.COMPLETIONS,
)

MessageText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS, strip_whitespace=True)]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Reference = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@-]+$")]


# --- conversations and messages ----------------------------------------------------------------------------------
class ConversationCreate(Model):
    customer_ref: Reference | None = Field(
        None, description="Your identifier of the customer (widget tokens set it from the token's subject)."
    )
    metadata: dict[Reference, Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=dict, max_length=20, description="Up to 20 string pairs you want back with the conversation."
    )


class Conversation(Model):
    id: UUID
    status: ConversationStatus
    customer_ref: str | None
    metadata: dict[str, str]
    assigned_agent_id: UUID | None = None
    created_at: datetime
    updated_at: datetime


class Usage(Model):
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)


class Citation(Model):
    """A source an answer rests on: shown to the customer as a link, stored with the message."""

    kind: Literal["article", "curated"] = "article"
    article_id: UUID | None = None
    curated_answer_id: UUID | None = None
    title: str
    url: str | None = None
    passage: str | None = Field(default=None, description="The passage's heading path, for the reader.")


class Message(Model):
    id: UUID
    conversation_id: UUID
    role: MessageRole
    content: str
    status: MessageStatus
    created_at: datetime
    usage: Usage | None = Field(default=None, description="Engine usage for assistant messages.")
    finish_reason: str | None = None
    sources: list[Citation] = Field(
        default_factory=list, description="The tenant's articles (or curated answer) this answer rests on."
    )
    no_answer: bool = Field(
        default=False,
        description="The assistant could not answer from the company's information and offers a person instead.",
    )
    degradation: Degradation | None = Field(
        default=None,
        description="The degradation level this answer was given on (null: normal): saturated (a curated or help "
        "centre answer served without generation), chat_model_down (a fallback model answered; a person is "
        "offered), everything_down (no model answered: the message was kept for a person).",
    )


class MessageCreate(Model):
    content: MessageText


class MessagePage(Model):
    items: list[Message]
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page; null at the end.")


class ConversationPage(Model):
    items: list[Conversation]
    next_cursor: str | None = None


class TurnResult(Model):
    """The JSON answer to a customer message (the non-streaming form of the SSE events)."""

    customer_message: Message
    reply: Message | None = Field(default=None, description="The assistant's answer; null while a human handles it.")
    conversation: Conversation


class HandoffRequest(Model):
    reason: ShortText | None = None


class FeedbackCreate(Model):
    rating: Rating
    comment: Annotated[str, StringConstraints(max_length=1000, strip_whitespace=True)] | None = None


class Feedback(Model):
    message_id: UUID
    rating: Rating
    comment: str | None
    created_at: datetime


class MessageClassification(Model):
    """The classifier's verdict on one customer message (agents see it beside the message)."""

    message_id: UUID
    intent: str | None
    emotion: str | None


class AgentReply(Model):
    content: MessageText


# --- streaming events ------------------------------------------------------------------------------------------
# A customer message posted with `Accept: text/event-stream` answers with these SSE events, in order:
# `message` (the stored customer message), then `delta`* (answer text as it is generated), then exactly one of
# `done` (the stored answer with usage) or `error` (a problem; the partial answer is stored as partial).
class MessageEvent(Model):
    event: Literal["message"] = "message"
    message: Message
    conversation: Conversation


class DeltaEvent(Model):
    event: Literal["delta"] = "delta"
    text: str


class DoneEvent(Model):
    event: Literal["done"] = "done"
    message: Message | None = Field(default=None, description="The stored answer; null when a human handles the turn.")
    conversation: Conversation


class ErrorEvent(Model):
    event: Literal["error"] = "error"
    problem: Problem


# --- tenants, keys, users, tokens ------------------------------------------------------------------------------
class ApiKeyCreate(Model):
    name: ShortText
    tier: Tier = Tier.FREE
    scopes: list[Scope] = Field(default_factory=lambda: list(DEFAULT_KEY_SCOPES), min_length=1)

    @field_validator("scopes")
    @classmethod
    def _no_agent_scope(cls, scopes: list[Scope]) -> list[Scope]:
        """The agent desk acts as a person: its actions must name one, so keys never carry the agent scope."""
        if Scope.AGENT in scopes:
            raise ValueError(
                "API keys cannot have the 'agent' scope: agent actions need a person. Create a user with the "
                "agent role (POST /v1/users) and log in (POST /v1/auth/token)."
            )
        return scopes


class ApiKey(Model):
    id: UUID
    name: str
    prefix: str = Field(description="The first characters of the key, to recognise it without revealing it.")
    tier: Tier
    scopes: list[Scope]
    created_at: datetime
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None


class ApiKeyCreated(ApiKey):
    key: str = Field(description="The secret key. Shown once: store it now; only its hash is kept.")


class UserCreate(Model):
    email: Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    role: Literal[Role.AGENT, Role.ADMIN]
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)]


class User(Model):
    id: UUID
    email: str
    role: Role
    created_at: datetime


class LoginRequest(Model):
    tenant: Reference = Field(description="The tenant's slug.")
    email: str
    password: Annotated[str, StringConstraints(max_length=256)]


class AccessToken(Model):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105  (the OAuth token type, not a secret)
    expires_in: int = Field(description="Seconds until the token expires.")


class WidgetTokenRequest(Model):
    end_user_id: Reference = Field(description="Your identifier of the end user; their conversations are theirs only.")
    ttl_seconds: int = Field(default=900, ge=60, le=3600)


class AssistantProfile(Model):
    """How the tenant's assistant behaves: its instructions and the model settings used for every answer."""

    system_prompt: Annotated[str, StringConstraints(min_length=1, max_length=8000)]
    model: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    temperature: float = Field(default=0.3, ge=0.0, le=2.0)
    max_tokens: int = Field(default=512, ge=1, le=4096)


# --- audit trail ----------------------------------------------------------------------------------------------
class AuditEventView(Model):
    """One administrative or agent action, as recorded (append-only, hash-chained per tenant)."""

    id: UUID
    seq: int = Field(description="The event's position in the tenant's chain (no gaps).")
    occurred_at: datetime
    actor_kind: str = Field(description="api_key or user")
    actor_id: str = Field(description="the user's or API key's id")
    actor_role: str
    action: str = Field(description="e.g. api_key.create, conversation.claim, data_subject.erase")
    target_type: str | None
    target_id: str | None
    outcome: int = Field(description="The HTTP status the action ended with.")
    request_id: str
    client_ip: str | None
    prev_hash: str
    hash: str


class AuditEventPage(Model):
    items: list[AuditEventView]
    next_cursor: str | None = None


class AuditChain(Model):
    """The result of recomputing a tenant's hash chain."""

    intact: bool
    events: int = Field(description="Events verified before the first mismatch (all of them when intact).")
    anchor: str | None = Field(description="prev_hash of the oldest kept event (older ones removed by retention).")
    broken_at_seq: int | None = Field(description="The first event that does not match; null when intact.")


# --- errors ---------------------------------------------------------------------------------------------------
class Problem(Model):
    """RFC 9457 problem details (``application/problem+json``); every error on the domain API has this shape."""

    model_config = ConfigDict(extra="allow", frozen=True)

    type: str = Field(description="A URI reference naming the kind of problem; `/problems/<slug>` on the gateway.")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    request_id: str = Field(description="Quote it when asking for support; it is in every log line of the request.")


ErrorEvent.model_rebuild()


# --- webhooks (lifecycle events for the tenant's systems; docs/people.md has the catalogue) ----------------------
WEBHOOK_EVENT_TYPES = (
    "conversation.created",
    "message.created",
    "conversation.escalated",
    "conversation.claimed",
    "conversation.resolved",
    "conversation.handed_back",
    "conversation.closed",
    "feedback.submitted",
)
WebhookEventType = Literal[
    "conversation.created",
    "message.created",
    "conversation.escalated",
    "conversation.claimed",
    "conversation.resolved",
    "conversation.handed_back",
    "conversation.closed",
    "feedback.submitted",
]


class WebhookCreate(Model):
    url: HttpUrl = Field(description="Where events are POSTed (https in production).")
    event_types: list[WebhookEventType] = Field(
        default_factory=list, max_length=len(WEBHOOK_EVENT_TYPES), description="Empty: every event type."
    )


class Webhook(Model):
    id: UUID
    url: str
    event_types: list[str]
    created_at: datetime


class WebhookCreated(Webhook):
    secret: str = Field(description="The HMAC key deliveries are signed with. Shown once: store it now.")


class WebhookDelivery(Model):
    id: UUID
    webhook_id: UUID
    event_id: UUID
    event_type: str
    status: Literal["pending", "delivered", "dead"]
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookDeliveryPage(Model):
    items: list[WebhookDelivery]
    next_cursor: str | None = None
