"""Rows to the API's schemas (``app.contracts``): what the gateway and chat receive."""

from __future__ import annotations

from app.contracts import api
from app.contracts.internal import HistoryMessage
from app.contracts.widget import Csat as CsatView
from app.sessions.models import Conversation, Csat, Feedback, Message


def conversation_view(row: Conversation) -> api.Conversation:
    return api.Conversation(
        id=row.id,
        status=row.status,
        customer_ref=row.customer_ref,
        metadata=dict(row.metadata_ or {}),
        assigned_agent_id=row.assigned_agent_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def message_view(row: Message) -> api.Message:
    usage = None
    if row.prompt_tokens is not None and row.completion_tokens is not None:
        usage = api.Usage(
            prompt_tokens=row.prompt_tokens,
            completion_tokens=row.completion_tokens,
            total_tokens=row.prompt_tokens + row.completion_tokens,
        )
    return api.Message(
        id=row.id,
        conversation_id=row.conversation_id,
        role=row.role,
        content=row.content,
        status=row.status,
        created_at=row.created_at,
        usage=usage,
        finish_reason=row.finish_reason,
        sources=[api.Citation.model_validate(source) for source in row.sources or []],
        no_answer=bool(row.no_answer),  # None on a row not flushed yet (its default applies at insert)
        degradation=api.Degradation(row.degradation) if row.degradation else None,
    )


def feedback_view(row: Feedback) -> api.Feedback:
    return api.Feedback(message_id=row.message_id, rating=row.rating, comment=row.comment, created_at=row.updated_at)


def csat_view(row: Csat) -> CsatView:
    return CsatView(
        conversation_id=row.conversation_id, score=row.score, comment=row.comment, created_at=row.updated_at
    )


def history_view(role: api.MessageRole, content: str) -> HistoryMessage:
    """Customers speak as ``user``; the assistant and agents as ``assistant`` (what the model sees)."""
    return HistoryMessage(role="user" if role == api.MessageRole.CUSTOMER else "assistant", content=content)
