"""Data rights (tenant admins): export everything held about an end user, or erase it from every service and store.

The gateway is the one place that reaches every service, so it runs both: sessions names the end user's
conversations (by ``customer_ref``), chat, knowledge and auth answer for those conversations, and the gateway's
own Redis is swept. An erasure goes chat -> knowledge -> Redis -> sessions: sessions last, so if a step fails the
conversations are still found and the same request can simply be repeated (every step is idempotent). Its receipt
is the answer and a ``data_subject.erase`` entry in the audit trail, which names the end user only by a digest.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import TypeAdapter

from app.contracts.access import ADMIN
from app.contracts.api import AuditEventView, Reference
from app.contracts.data_rights import (
    ChatErasure,
    ChatExport,
    ConversationIds,
    DataSubjectExport,
    ErasureReceipt,
    KnowledgeErasure,
    KnowledgeExport,
    SessionsErasure,
    SessionsExport,
    subject_pseudonym,
)
from app.core.db import utcnow
from app.core.errors import ProblemError
from app.core.logging import get_logger
from app.gateway.audit_trail import APPEND_PATH, event_of, record
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1/data-subjects", tags=["data rights"])
log = get_logger(__name__)
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]
CustomerRef = Annotated[
    Reference, Path(description="The end user: your `customer_ref` (a widget token's `end_user_id`).")
]
_AUDIT_EVENTS = TypeAdapter(list[AuditEventView])
SUBJECT = "data_subject"


async def _conversation_ids(gateway: Gateway, customer_ref: str) -> ConversationIds:
    return await gateway.sessions.call(
        "GET", f"/internal/v1/data-subjects/{customer_ref}/conversations", ConversationIds
    )


@router.get("/{customer_ref}", response_model=DataSubjectExport, responses=problem_responses())
async def export_subject(customer_ref: CustomerRef, admin: Admin, gateway: GatewayDep) -> DataSubjectExport:
    """Everything held about one end user, as JSON: conversations with messages and feedback, their lifecycle
    events, classifications, guardrail decisions, usage, the PII values behind placeholders (while the vault keeps
    them), unanswered questions, and the audit entries about their conversations. Recorded in the audit trail."""
    pseudonym = subject_pseudonym(admin.identity.tenant_id, customer_ref)
    try:
        sessions = await gateway.sessions.call("GET", f"/internal/v1/data-subjects/{customer_ref}", SessionsExport)
        ids = ConversationIds(conversation_ids=[record.conversation.id for record in sessions.conversations])
        chat = await gateway.chat.call("POST", "/internal/v1/data-subjects:export", ChatExport, json=ids)
        knowledge = await gateway.knowledge.call(
            "POST", "/internal/v1/knowledge/data-subjects:export", KnowledgeExport, json=ids
        )
        audit = await gateway.auth.request("POST", "/internal/v1/audit-events:concerning", json=ids)
    except ProblemError as error:
        await record(gateway, event_of(admin, "data_subject.export", SUBJECT, pseudonym, error.status))
        raise
    await record(gateway, event_of(admin, "data_subject.export", SUBJECT, pseudonym, 200))
    return DataSubjectExport(
        customer_ref=customer_ref,
        exported_at=utcnow(),
        conversations=sessions.conversations,
        events=sessions.events,
        chat=chat,
        knowledge=knowledge,
        audit_events=_AUDIT_EVENTS.validate_json(audit.content),
    )


@router.delete("/{customer_ref}", response_model=ErasureReceipt, responses=problem_responses())
async def erase_subject(customer_ref: CustomerRef, admin: Admin, gateway: GatewayDep) -> ErasureReceipt:
    """Erase one end user everywhere: conversations, messages, feedback, lifecycle events (outbox, delivery log
    and the JetStream stream), classifications, guardrail decisions, the PII vault, unanswered questions, and any
    cache key naming them; usage rows stay for billing with their conversation unlinked. Repeating it is safe.
    The answer is the receipt; the audit trail records it as `data_subject.erase` under the end user's digest."""
    pseudonym = subject_pseudonym(admin.identity.tenant_id, customer_ref)
    try:
        ids = await _conversation_ids(gateway, customer_ref)
        chat = await gateway.chat.call("POST", "/internal/v1/data-subjects:erase", ChatErasure, json=ids)
        knowledge = await gateway.knowledge.call(
            "POST", "/internal/v1/knowledge/data-subjects:erase", KnowledgeErasure, json=ids
        )
        cache_keys = await gateway.store.forget({customer_ref, *(str(i) for i in ids.conversation_ids)})
        sessions = await gateway.sessions.call("DELETE", f"/internal/v1/data-subjects/{customer_ref}", SessionsErasure)
    except ProblemError as error:
        await record(gateway, event_of(admin, "data_subject.erase", SUBJECT, pseudonym, error.status))
        raise
    entry = await _append_receipt(gateway, admin, pseudonym)
    return ErasureReceipt(
        subject=pseudonym,
        erased_at=utcnow(),
        sessions=sessions,
        chat=chat,
        knowledge=knowledge,
        cache_keys=cache_keys,
        audit_event_id=None if entry is None else entry.id,
        audit_seq=None if entry is None else entry.seq,
    )


async def _append_receipt(gateway: Gateway, admin: Caller, pseudonym: str) -> AuditEventView | None:
    """The erasure's audit entry; a failed append is logged (like every audit append) and leaves the ids empty."""
    event = event_of(admin, "data_subject.erase", SUBJECT, pseudonym, 200)
    try:
        return await gateway.auth.call(
            "POST", APPEND_PATH, AuditEventView, json=event, headers=gateway.authenticator.service_token.header()
        )
    except ProblemError as error:
        log.error("audit_append_failed", action=event.action, status=error.status)
        return None
