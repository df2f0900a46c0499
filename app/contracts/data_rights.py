"""Data rights: what is exported about an end user (``GET /v1/data-subjects/{customer_ref}``) and the receipt of
an erasure (``DELETE`` on the same path), with the internal pieces each service contributes.

An end user is the tenant's ``customer_ref`` (a widget token's ``end_user_id``). The gateway asks sessions for
their conversations, then chat and knowledge for what they hold about those conversations, and auth for the audit
entries that name them; an erasure runs in the reverse order of dependence (sessions last, so a retried erasure
still finds the conversation ids if an earlier step failed).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from app.contracts.api import AuditEventView, Conversation, Feedback, Message, Model
from app.contracts.safety import GuardrailEvent
from app.contracts.widget import Csat

#: More conversations than any one person has; an erasure of more is refused rather than done half way.
MAX_SUBJECT_CONVERSATIONS = 10_000


def subject_pseudonym(tenant_id: UUID, customer_ref: str) -> str:
    """What the audit trail records of an end user: a digest the tenant can recompute from a ref it holds, so
    the receipt of an erasure does not keep the identifier that was erased."""
    return "sha256:" + hashlib.sha256(f"{tenant_id}:{customer_ref}".encode()).hexdigest()


class ConversationIds(Model):
    conversation_ids: list[UUID] = Field(max_length=MAX_SUBJECT_CONVERSATIONS)


# --- sessions ----------------------------------------------------------------------------------------------------
class ConversationRecord(Model):
    conversation: Conversation
    messages: list[Message]
    feedback: list[Feedback]
    csat: Csat | None = Field(default=None, description="The customer's rating of the conversation, if given.")


class SessionsExport(Model):
    conversations: list[ConversationRecord]
    events: list[dict[str, Any]] = Field(description="Lifecycle events of those conversations (the envelopes).")


class SessionsErasure(Model):
    conversations: int
    messages: int
    feedback: int
    events: int = Field(description="Outbox rows.")
    webhook_deliveries: int
    stream_messages: int = Field(description="Messages removed from the JetStream stream.")


# --- chat --------------------------------------------------------------------------------------------------------
class ClassificationRecord(Model):
    conversation_id: UUID
    message_id: UUID
    intent: str | None
    emotion: str | None
    created_at: datetime


class UsageRecordView(Model):
    conversation_id: UUID | None
    message_id: UUID | None
    kind: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime


class ChatExport(Model):
    classifications: list[ClassificationRecord]
    guardrail_events: list[GuardrailEvent]
    usage: list[UsageRecordView]
    pii_values: dict[str, dict[str, str]] = Field(
        description="Per conversation, the values behind its placeholders (decrypted from the vault, if still kept)."
    )


class ChatErasure(Model):
    classifications: int
    guardrail_events: int
    pii_vaults: int
    usage_records_unlinked: int = Field(
        description="Usage rows kept for billing (tokens per key and day) with their conversation and message removed."
    )


# --- knowledge ---------------------------------------------------------------------------------------------------
class GapAskRecord(Model):
    conversation_id: UUID
    question: str
    asked_at: datetime


class KnowledgeExport(Model):
    content_gap_asks: list[GapAskRecord]


class KnowledgeErasure(Model):
    content_gap_asks: int
    content_gaps_removed: int = Field(description="Gaps left with no ask at all, deleted.")
    content_gaps_reworded: int = Field(description="Gaps whose shown question was this end user's, now another's.")


# --- the public answers ------------------------------------------------------------------------------------------
class DataSubjectExport(Model):
    customer_ref: str
    exported_at: datetime
    conversations: list[ConversationRecord]
    events: list[dict[str, Any]]
    chat: ChatExport
    knowledge: KnowledgeExport
    audit_events: list[AuditEventView] = Field(description="Audit entries whose target is one of the conversations.")


class ErasureReceipt(Model):
    subject: str = Field(description="sha256 of '<tenant id>:<customer_ref>': the end user, without the identifier.")
    erased_at: datetime
    sessions: SessionsErasure
    chat: ChatErasure
    knowledge: KnowledgeErasure
    cache_keys: int = Field(description="Redis keys naming the end user or their conversations.")
    audit_event_id: UUID | None = Field(description="The receipt's entry in the audit trail (data_subject.erase).")
    audit_seq: int | None
