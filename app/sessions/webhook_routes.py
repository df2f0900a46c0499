"""Sessions' internal webhook administration routes (the gateway forwards ``/v1/webhooks`` here; admins only)."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response, status

from app.contracts.access import ADMIN
from app.contracts.api import (
    MAX_PAGE_SIZE,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from app.contracts.internal import IdentityClaims
from app.core.db import DbSession
from app.core.identity import require_access
from app.events import admin

router = APIRouter(prefix="/internal/v1", tags=["webhooks"])
Admin = Annotated[IdentityClaims, Depends(require_access(ADMIN))]


@router.post("/webhooks", status_code=status.HTTP_201_CREATED)
async def create_webhook(body: WebhookCreate, identity: Admin, session: DbSession) -> WebhookCreated:
    return await admin.create(session, identity.tenant_id, body)


@router.get("/webhooks")
async def list_webhooks(identity: Admin, session: DbSession) -> list[Webhook]:
    return await admin.list_all(session, identity.tenant_id)


@router.delete("/webhooks/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def delete_webhook(webhook_id: UUID, identity: Admin, session: DbSession) -> Response:
    await admin.delete(session, identity.tenant_id, webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/webhooks/{webhook_id}/deliveries")
async def list_deliveries(
    *,
    webhook_id: UUID,
    identity: Admin,
    session: DbSession,
    status_filter: Annotated[Literal["pending", "delivered", "dead"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> WebhookDeliveryPage:
    return await admin.deliveries(
        session, identity.tenant_id, webhook_id, status=status_filter, limit=limit, cursor=cursor
    )


@router.post("/webhook-deliveries/{delivery_id}/replay")
async def replay_delivery(delivery_id: UUID, identity: Admin, session: DbSession) -> WebhookDelivery:
    return await admin.replay(session, identity.tenant_id, delivery_id)
