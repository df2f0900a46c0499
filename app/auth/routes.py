"""Auth's HTTP API: the public auth/admin routes the gateway forwards (same paths) and the key verification.

Public paths are reached only through the gateway, which authenticates the customer and forwards an identity
token; login and the JWKS need no identity (login carries its own credential; public keys are public).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from app.auth import audit, widget
from app.auth.dependencies import AdminIdentity, GatewayCaller, Service, WidgetIssuerIdentity
from app.contracts.api import (
    MAX_PAGE_SIZE,
    AccessToken,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    AuditChain,
    AuditEventPage,
    AuditEventView,
    LoginRequest,
    User,
    UserCreate,
    WidgetTokenRequest,
)
from app.contracts.data_rights import ConversationIds
from app.contracts.internal import AuditEventCreate, KeyState, VerifiedKey, VerifyKeyRequest
from app.contracts.widget import WidgetConfig, WidgetSession, WidgetSessionRequest, WidgetSettings
from app.core.db import DbSession

router = APIRouter()
JWKS_CACHE_CONTROL = "public, max-age=300"


@router.post("/v1/auth/token", tags=["auth"])
async def login(body: LoginRequest, session: DbSession, auth: Service) -> AccessToken:
    return await auth.login(session, body)


@router.post("/v1/widget-tokens", tags=["auth"])
async def issue_widget_token(
    body: WidgetTokenRequest, identity: WidgetIssuerIdentity, session: DbSession, auth: Service
) -> AccessToken:
    return await auth.issue_widget_token(session, identity, body)


@router.get("/v1/widget-settings", tags=["admin"])
async def get_widget_settings(identity: AdminIdentity, session: DbSession) -> WidgetSettings:
    return await widget.get_settings(session, identity.tenant_id)


@router.put("/v1/widget-settings", tags=["admin"])
async def put_widget_settings(body: WidgetSettings, identity: AdminIdentity, session: DbSession) -> WidgetSettings:
    return await widget.put_settings(session, identity.tenant_id, body)


@router.get("/internal/v1/widget-config/{key_id}", tags=["internal"])
async def widget_config(key_id: UUID, _caller: GatewayCaller, session: DbSession) -> WidgetConfig:
    """What an embedded frame needs (public data; the gateway also builds the frame's frame-ancestors from it)."""
    return await widget.public_config(session, key_id)


@router.post("/internal/v1/widget-sessions", tags=["internal"])
async def widget_session(
    body: WidgetSessionRequest, _caller: GatewayCaller, session: DbSession, auth: Service
) -> WidgetSession:
    return await widget.start_session(session, auth.signer, body)


@router.get("/.well-known/jwks.json", tags=["auth"])
async def jwks(auth: Service, response: Response) -> dict[str, list[dict[str, str]]]:
    response.headers["Cache-Control"] = JWKS_CACHE_CONTROL
    return auth.signer.jwks()


@router.post("/v1/api-keys", status_code=201, tags=["admin"])
async def create_api_key(
    body: ApiKeyCreate, identity: AdminIdentity, session: DbSession, auth: Service
) -> ApiKeyCreated:
    return await auth.create_api_key(session, identity, body)


@router.get("/v1/api-keys", tags=["admin"])
async def list_api_keys(
    identity: AdminIdentity,
    session: DbSession,
    auth: Service,
    prefix: Annotated[str | None, Query(max_length=32)] = None,
) -> list[ApiKey]:
    return await auth.list_api_keys(session, identity, prefix)


@router.delete("/v1/api-keys/{key_id}", status_code=204, tags=["admin"])
async def revoke_api_key(key_id: UUID, identity: AdminIdentity, session: DbSession, auth: Service) -> Response:
    await auth.revoke_api_key(session, identity, key_id)
    return Response(status_code=204)


@router.post("/v1/users", status_code=201, tags=["admin"])
async def create_user(body: UserCreate, identity: AdminIdentity, session: DbSession, auth: Service) -> User:
    return await auth.create_user(session, identity, body)


def as_utc(moment: datetime | None) -> datetime | None:
    """A filter instant without an offset is read as UTC (the column refuses naive datetimes)."""
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


@router.post("/internal/v1/audit-events", status_code=201, tags=["internal"])
async def append_audit_event(body: AuditEventCreate, _caller: GatewayCaller, session: DbSession) -> AuditEventView:
    return audit.view(await audit.append(session, body))


@router.get("/v1/audit-events", tags=["admin"])
async def list_audit_events(
    *,
    identity: AdminIdentity,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
) -> AuditEventPage:
    rows = await audit.page(
        session,
        identity.tenant_id,
        limit=limit + 1,
        after_seq=int(cursor) if cursor else None,
        action=action,
        actor_id=actor_id,
        since=as_utc(since),
        until=as_utc(until),
    )
    items = [audit.view(row) for row in rows[:limit]]
    return AuditEventPage(items=items, next_cursor=str(items[-1].seq) if len(rows) > limit else None)


@router.post("/internal/v1/audit-events:concerning", tags=["internal"])
async def audit_events_concerning(
    body: ConversationIds, identity: AdminIdentity, session: DbSession
) -> list[AuditEventView]:
    """The entries about an end user's conversations, for their data export (the gateway found the ids)."""
    targets = [str(conversation_id) for conversation_id in body.conversation_ids]
    return [audit.view(row) for row in await audit.concerning(session, identity.tenant_id, targets)]


@router.get("/v1/audit-events/verification", tags=["admin"])
async def verify_audit_chain(identity: AdminIdentity, session: DbSession) -> AuditChain:
    return await audit.verify(session, identity.tenant_id)


@router.get("/internal/v1/api-keys/{key_id}/state", tags=["internal"])
async def key_state(key_id: UUID, _caller: GatewayCaller, session: DbSession, auth: Service) -> KeyState:
    """The truth behind the gateway's cached key state (asked when Redis has none: revocation fails safe)."""
    return await auth.key_state(session, key_id)


@router.post("/internal/v1/api-keys:verify", tags=["internal"])
async def verify_api_key(
    body: VerifyKeyRequest, _caller: GatewayCaller, session: DbSession, auth: Service
) -> VerifiedKey:
    return await auth.verify_api_key(session, body.key)
