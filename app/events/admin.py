"""A tenant admin's view of webhooks: register (the secret shown once), list, delete, the delivery log, replay."""

from __future__ import annotations

import secrets
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import api
from app.core.db import utcnow
from app.core.errors import NotFoundError
from app.events.webhooks import DEAD, PENDING
from app.sessions.models import Webhook, WebhookDelivery
from app.sessions.pagination import decode_id_cursor, encode_id_cursor

SECRET_PREFIX = "whsec_"  # noqa: S105 - a label in front of the random secret, not a secret


def webhook_view(hook: Webhook) -> api.Webhook:
    return api.Webhook(id=hook.id, url=hook.url, event_types=list(hook.event_types), created_at=hook.created_at)


def delivery_view(row: WebhookDelivery) -> api.WebhookDelivery:
    return api.WebhookDelivery.model_validate(row, from_attributes=True)


async def create(session: AsyncSession, tenant_id: UUID, body: api.WebhookCreate) -> api.WebhookCreated:
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    hook = Webhook(
        tenant_id=tenant_id, url=str(body.url), secret=secret, event_types=list(body.event_types), created_at=utcnow()
    )
    session.add(hook)
    await session.flush()
    return api.WebhookCreated(**webhook_view(hook).model_dump(), secret=secret)


async def list_all(session: AsyncSession, tenant_id: UUID) -> list[api.Webhook]:
    rows = await session.scalars(select(Webhook).where(Webhook.tenant_id == tenant_id).order_by(Webhook.id))
    return [webhook_view(row) for row in rows]


async def _hook(session: AsyncSession, tenant_id: UUID, webhook_id: UUID) -> Webhook:
    hook = await session.scalar(select(Webhook).where(Webhook.id == webhook_id, Webhook.tenant_id == tenant_id))
    if hook is None:
        raise NotFoundError("No such webhook.")
    return hook


async def delete(session: AsyncSession, tenant_id: UUID, webhook_id: UUID) -> None:
    await session.delete(await _hook(session, tenant_id, webhook_id))


async def deliveries(
    session: AsyncSession, tenant_id: UUID, webhook_id: UUID, *, status: str | None, limit: int, cursor: str | None
) -> api.WebhookDeliveryPage:
    """The delivery log, newest first; ``status=dead`` is the dead-letter list."""
    await _hook(session, tenant_id, webhook_id)
    query = select(WebhookDelivery).where(
        WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.tenant_id == tenant_id
    )
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor:
        query = query.where(WebhookDelivery.id < decode_id_cursor(cursor))
    rows = (await session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit + 1))).all()
    next_cursor = encode_id_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return api.WebhookDeliveryPage(items=[delivery_view(row) for row in rows[:limit]], next_cursor=next_cursor)


async def replay(session: AsyncSession, tenant_id: UUID, delivery_id: UUID) -> api.WebhookDelivery:
    """Send a dead (or delivered) event again, now, with a fresh set of attempts; the event id is unchanged."""
    row = await session.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.tenant_id == tenant_id)
        .with_for_update()
    )
    if row is None:
        raise NotFoundError("No such delivery.")
    if row.status != PENDING:
        row.status, row.attempts, row.next_attempt_at = PENDING, 0, utcnow()
    return delivery_view(row)


__all__ = ["DEAD", "create", "delete", "deliveries", "list_all", "replay"]
