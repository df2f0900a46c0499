"""A tenant's safety policy (``GET``/``PUT /v1/safety-policy``) and the guardrail decisions agents see on a
conversation. Every field has a safe default: a tenant that never touches it gets placeholders before the
model, masked storage, and all guardrails on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from app.contracts.api import Model


class PiiKind(StrEnum):
    """The kinds of PII a policy and a placeholder ("<EMAIL_1>") speak of."""

    EMAIL = "EMAIL"
    PHONE = "PHONE"
    CARD = "CARD"
    IBAN = "IBAN"
    NATIONAL_ID = "NATIONAL_ID"
    IP_ADDRESS = "IP_ADDRESS"
    ADDRESS = "ADDRESS"
    PERSON = "PERSON"


Reply = Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]
Topic = Annotated[str, StringConstraints(min_length=2, max_length=60, strip_whitespace=True)]
GuardrailAction = Literal["refuse", "steer", "handoff"]


class PiiPolicy(Model):
    kinds: list[PiiKind] = Field(
        default_factory=lambda: list(PiiKind), description="Kinds replaced by placeholders before the model sees text."
    )
    restore_in_answer: bool = Field(
        default=True, description="Show the customer their own values where the answer uses a placeholder."
    )
    store: Literal["masked", "encrypted_raw"] = Field(
        default="masked",
        description="masked: messages are stored with placeholders and the encrypted values expire after "
        "`vault_hours`; encrypted_raw: the encrypted values are kept as long as the conversation.",
    )
    vault_hours: int = Field(default=24, ge=1, le=24 * 90, description="How long masked storage keeps the values.")


class GuardrailPolicy(Model):
    topics: list[Topic] = Field(
        default_factory=list,
        max_length=50,
        description="What the assistant is for (e.g. 'orders', 'billing'); empty: no off-topic check.",
    )
    on_injection: GuardrailAction = "refuse"
    on_abuse: GuardrailAction = "handoff"
    on_off_topic: GuardrailAction = "steer"
    refusal_message: Reply = (
        "Sorry, I can't help with that request. Is there anything about your account or orders I can help with?"
    )
    steer_message: Reply = (
        "I can only help with questions about our products and services. What can I do for you there?"
    )
    handoff_message: Reply = "I'm passing this conversation to a member of our team, who will reply here shortly."
    check_output: bool = Field(default=True, description="Check answers as they stream (leaks, PII, toxicity).")
    safe_message: Reply = Field(
        default="Sorry, I can't share that. I've asked a member of our team to follow up with you here.",
        description="Replaces the rest of an answer the output check stops; the conversation goes to a person.",
    )


class SafetyPolicy(Model):
    pii: PiiPolicy = Field(default_factory=PiiPolicy)
    guardrails: GuardrailPolicy = Field(default_factory=GuardrailPolicy)


class GuardrailEvent(Model):
    """One guardrail decision on a conversation (agents see them beside the messages)."""

    id: UUID
    conversation_id: UUID
    message_id: UUID | None
    stage: Literal["input", "output"]
    category: str = Field(description="injection, jailbreak, abuse, off_topic; or prompt_leak, pii_not_given, toxic.")
    action: str = Field(description="refuse, steer, handoff, or replace (output).")
    reason: str = Field(description="Which rule fired, never the customer's text.")
    created_at: datetime
