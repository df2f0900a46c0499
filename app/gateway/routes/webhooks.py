"""Webhooks for lifecycle events (tenant admins): register, list, delete, the delivery log, replay dead letters."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Response

from app.contracts.access import ADMIN
from app.contracts.api import (
    MAX_PAGE_SIZE,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookDelivery,
    WebhookDeliveryPage,
)
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1", tags=["webhooks"])
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]


@router.post("/webhooks", status_code=201, response_model=WebhookCreated, responses=problem_responses())
async def create_webhook(body: WebhookCreate, _admin: Admin, gateway: GatewayDep) -> Response:
    """Register an endpoint for lifecycle events. The signing secret is in this response only: store it now."""
    return await forward(gateway.sessions, "POST", internal_path("/v1/webhooks"), body=body)


@router.get("/webhooks", response_model=list[Webhook], responses=problem_responses())
async def list_webhooks(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.sessions, "GET", internal_path("/v1/webhooks"))


@router.delete("/webhooks/{webhook_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def delete_webhook(webhook_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.sessions, "DELETE", internal_path(f"/v1/webhooks/{webhook_id}"))


@router.get("/webhooks/{webhook_id}/deliveries", response_model=WebhookDeliveryPage, responses=problem_responses(404))
async def list_deliveries(
    webhook_id: UUID,
    _admin: Admin,
    gateway: GatewayDep,
    status: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(description="`dead`: the dead-letter list.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The delivery log of one webhook, newest first."""
    return await forward(
        gateway.sessions,
        "GET",
        internal_path(f"/v1/webhooks/{webhook_id}/deliveries"),
        params={"status": status, "limit": limit, "cursor": cursor},
    )


@router.post(
    "/webhook-deliveries/{delivery_id}/replay", response_model=WebhookDelivery, responses=problem_responses(404)
)
async def replay_delivery(delivery_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    """Deliver a dead letter again (same event id, fresh attempts)."""
    return await forward(gateway.sessions, "POST", internal_path(f"/v1/webhook-deliveries/{delivery_id}/replay"))
