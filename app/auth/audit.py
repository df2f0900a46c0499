"""The audit trail: who did what, when, in which tenant, from where, under which request id; append-only.

Events are appended by the gateway after each administrative or agent action (it sees every one, with the
caller's identity, client address and request id) and read by tenant admins. There is no route that edits or
deletes an event; in Postgres a trigger refuses UPDATE, and DELETE outside the retention job.

Tamper evidence: each tenant's events form a hash chain. ``hash = sha256(prev_hash || canonical JSON of the
event)``, the first event's ``prev_hash`` being 64 zeros. ``verify`` recomputes the chain: an edited field, a
removed or inserted row, or a reordering shows as the first ``seq`` that does not match. Retention removes the
oldest events; the first remaining event's ``prev_hash`` is then the chain's anchor (and is reported).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import AuditEvent, AuditHead
from app.contracts.api import AuditChain, AuditEventView
from app.contracts.internal import AuditEventCreate
from app.core.db import utcnow

GENESIS = "0" * 64
#: What the hash covers, in this order (never the row id or hash columns themselves).
HASHED_FIELDS = (
    "tenant_id",
    "seq",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "request_id",
    "client_ip",
)


def canonical(event: AuditEvent) -> bytes:
    values: dict[str, Any] = {name: getattr(event, name) for name in HASHED_FIELDS}
    values["tenant_id"] = str(values["tenant_id"])
    values["occurred_at"] = event.occurred_at.isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode()


def chain_hash(prev_hash: str, event: AuditEvent) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical(event)).hexdigest()


async def append(session: AsyncSession, record: AuditEventCreate, now: datetime | None = None) -> AuditEvent:
    """Append one event at the end of its tenant's chain (the head row is locked: appends serialise per tenant)."""
    head = await session.scalar(select(AuditHead).where(AuditHead.tenant_id == record.tenant_id).with_for_update())
    if head is None:
        head = AuditHead(tenant_id=record.tenant_id, seq=0, hash=GENESIS)
        session.add(head)
    event = AuditEvent(
        tenant_id=record.tenant_id,
        seq=head.seq + 1,
        occurred_at=now or utcnow(),
        **record.model_dump(exclude={"tenant_id"}),
        prev_hash=head.hash,
    )
    event.hash = chain_hash(head.hash, event)
    head.seq, head.hash = event.seq, event.hash
    session.add(event)
    await session.flush()
    return event


def view(event: AuditEvent) -> AuditEventView:
    return AuditEventView.model_validate(event, from_attributes=True)


async def page(
    session: AsyncSession,
    tenant_id: UUID,
    *,
    limit: int,
    after_seq: int | None = None,
    action: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEvent]:
    """Events of one tenant, oldest first, after ``after_seq`` (the cursor), filtered."""
    query = select(AuditEvent).where(AuditEvent.tenant_id == tenant_id).order_by(AuditEvent.seq).limit(limit)
    if after_seq is not None:
        query = query.where(AuditEvent.seq > after_seq)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    if actor_id is not None:
        query = query.where(AuditEvent.actor_id == actor_id)
    if since is not None:
        query = query.where(AuditEvent.occurred_at >= since)
    if until is not None:
        query = query.where(AuditEvent.occurred_at < until)
    return (await session.scalars(query)).all()


async def concerning(session: AsyncSession, tenant_id: UUID, target_ids: Sequence[str]) -> Sequence[AuditEvent]:
    """Events of one tenant whose target is one of ``target_ids`` (an end user's conversations), oldest first."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.tenant_id == tenant_id, AuditEvent.target_id.in_(target_ids))
        .order_by(AuditEvent.seq)
    )
    return (await session.scalars(query)).all()


async def verify(session: AsyncSession, tenant_id: UUID, *, batch: int = 1000) -> AuditChain:
    """Recompute the tenant's chain; the first event that does not match is reported, with the chain's anchor."""
    anchor: str | None = None
    previous: AuditEvent | None = None
    checked = 0
    after = 0
    while rows := (
        await session.scalars(
            select(AuditEvent)
            .where(AuditEvent.tenant_id == tenant_id, AuditEvent.seq > after)
            .order_by(AuditEvent.seq)
            .limit(batch)
        )
    ).all():
        for event in rows:
            if previous is None:
                anchor = event.prev_hash
            elif event.seq != previous.seq + 1 or event.prev_hash != previous.hash:
                return AuditChain(intact=False, events=checked, anchor=anchor, broken_at_seq=event.seq)
            if chain_hash(event.prev_hash, event) != event.hash:
                return AuditChain(intact=False, events=checked, anchor=anchor, broken_at_seq=event.seq)
            previous, checked = event, checked + 1
        after = rows[-1].seq
    head = await session.get(AuditHead, tenant_id)
    if head is not None and previous is not None and (head.seq != previous.seq or head.hash != previous.hash):
        return AuditChain(intact=False, events=checked, anchor=anchor, broken_at_seq=previous.seq + 1)  # tail cut
    return AuditChain(intact=True, events=checked, anchor=anchor, broken_at_seq=None)


async def enforce_retention(
    session: AsyncSession, *, default_days: int, tenant_days: dict[UUID, int], now: datetime
) -> int:
    """Delete events older than each tenant's retention (the only deletion the append-only guard allows)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SET LOCAL helpline.audit_retention = 'on'"))
    deleted = 0
    overridden = list(tenant_days)
    statement = delete(AuditEvent).where(AuditEvent.occurred_at < now - timedelta(days=default_days))
    if overridden:
        statement = statement.where(AuditEvent.tenant_id.not_in(overridden))
    deleted += (await session.execute(statement)).rowcount or 0  # type: ignore[attr-defined]
    for tenant_id, days in tenant_days.items():
        result = await session.execute(
            delete(AuditEvent).where(
                AuditEvent.tenant_id == tenant_id, AuditEvent.occurred_at < now - timedelta(days=days)
            )
        )
        deleted += result.rowcount or 0  # type: ignore[attr-defined]
    return deleted
