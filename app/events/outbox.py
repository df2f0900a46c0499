"""The transactional outbox: events are rows written with the change they report, then relayed to JetStream.

``record`` adds the row to the caller's transaction (nothing is sent there: a rolled-back change leaves no
event). ``OutboxRelay`` publishes unpublished rows in id order with ``Nats-Msg-Id: <event id>``: if the relay
dies after JetStream stored an event but before ``published_at`` was committed, the next relay publishes it
again and JetStream's duplicate window drops the copy, so no event is lost or doubled. Rows are locked
``FOR UPDATE SKIP LOCKED``, so several sessions replicas relay side by side without sending a row twice at once.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from uuid import UUID

from nats.js import JetStreamContext
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import Database, utcnow
from app.core.ids import uuid7
from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.events.catalog import EventType, envelope, subject_of
from app.sessions.models import OutboxEvent

log = get_logger(__name__)
MSG_ID_HEADER = "Nats-Msg-Id"


def record(
    session: AsyncSession, *, tenant_id: UUID, conversation_id: UUID, event_type: EventType, data: dict[str, Any]
) -> None:
    """Add the event to ``session``'s transaction: committed with the change, or not at all."""
    event_id, now = uuid7(), utcnow()
    body = envelope(
        event_id=event_id,
        event_type=event_type,
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        occurred_at=now,
        data=data,
    )
    session.add(OutboxEvent(id=event_id, tenant_id=tenant_id, type=event_type.value, body=body, created_at=now))


class OutboxRelay:
    def __init__(
        self,
        database: Database,
        jetstream: JetStreamContext,
        *,
        subject_prefix: str,
        batch_size: int = 100,
        keep_published: timedelta = timedelta(days=1),
    ) -> None:
        self._database = database
        self._jetstream = jetstream
        self._prefix = subject_prefix
        self._batch_size = batch_size
        self._keep_published = keep_published

    async def publish_pending(self) -> int:
        """Publish one batch of unpublished events, oldest first; returns how many were published."""
        async with self._database.transaction() as session:
            query = (
                select(OutboxEvent)
                .where(OutboxEvent.published_at.is_(None))
                .order_by(OutboxEvent.id)
                .limit(self._batch_size)
                .with_for_update(skip_locked=True)
            )
            rows = (await session.scalars(query)).all()
            for row in rows:
                await self._jetstream.publish(
                    subject_of(self._prefix, row.tenant_id, row.type),
                    row.body.encode(),
                    headers={MSG_ID_HEADER: str(row.id)},
                )
                row.published_at = utcnow()
                METRICS.events_published_total.labels(type=row.type).inc()
            return len(rows)

    async def prune_published(self) -> int:
        """Published rows are JetStream's now; the outbox keeps them a day for inspection."""
        async with self._database.transaction() as session:
            result = await session.execute(
                delete(OutboxEvent)
                .where(OutboxEvent.published_at < utcnow() - self._keep_published)
                .execution_options(synchronize_session=False)
            )
            return result.rowcount or 0  # type: ignore[attr-defined]

    async def run(self, interval_seconds: float) -> None:
        """Relay until cancelled; a failure (NATS or the database away) is logged and retried next tick."""
        ticks = 0
        while True:
            try:
                while await self.publish_pending() == self._batch_size:
                    pass
                ticks += 1
                if ticks % 1000 == 0:
                    await self.prune_published()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox_relay_failed", error=type(exc).__name__, reason=str(exc)[:200])
            await asyncio.sleep(interval_seconds)
