"""The event catalogue: every lifecycle event's type, its envelope, and the subject it is published on.

An event is one JSON envelope, identical on JetStream and in a webhook's body::

    {"id": "<uuid7>", "type": "conversation.resolved", "tenant_id": "...", "occurred_at": "...Z",
     "conversation_id": "...", "data": {...}}

``id`` is unique per event and stable across redelivery: receivers de-duplicate by it (at-least-once delivery).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson


class EventType(StrEnum):
    CONVERSATION_CREATED = "conversation.created"
    MESSAGE_CREATED = "message.created"  # a customer message, a finished answer, or an agent's reply
    CONVERSATION_ESCALATED = "conversation.escalated"  # waiting for a person (customer asked, or chat's rules)
    CONVERSATION_CLAIMED = "conversation.claimed"
    CONVERSATION_RESOLVED = "conversation.resolved"
    CONVERSATION_HANDED_BACK = "conversation.handed_back"  # an agent gave it back to the assistant
    CONVERSATION_CLOSED = "conversation.closed"
    FEEDBACK_SUBMITTED = "feedback.submitted"
    CSAT_SUBMITTED = "csat.submitted"  # the customer rated a resolved or closed conversation (1-5)


def envelope(
    *,
    event_id: UUID,
    event_type: EventType,
    tenant_id: UUID,
    conversation_id: UUID,
    occurred_at: datetime,
    data: dict[str, Any],
) -> str:
    return orjson.dumps(
        {
            "id": str(event_id),
            "type": event_type.value,
            "tenant_id": str(tenant_id),
            "occurred_at": occurred_at,
            "conversation_id": str(conversation_id),
            "data": data,
        },
        option=orjson.OPT_UTC_Z,
    ).decode()


def subject_of(prefix: str, tenant_id: UUID, event_type: str) -> str:
    """``<prefix>.<tenant>.<type>``: a consumer may filter one tenant (``<prefix>.<tenant>.>``) or one type."""
    return f"{prefix}.{tenant_id}.{event_type}"
