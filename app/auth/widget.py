"""The embeddable widget, auth's side: each tenant's widget settings and tokens for anonymous site visitors.

A visitor is identified by a secret the widget's frame generates here and keeps in the browser; the token's
subject is a hash of it (``visitor-<hex>``), so the secret itself is never stored or shown to agents, and only
the browser holding it can come back to its conversations. Tokens are charged to the API key named in the
embedding tag, which must carry ``widget:issue``, and are issued only for a site on the tenant's allowed list.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.auth.models import ApiKey, Tenant
from app.auth.models import WidgetSettings as SettingsRow
from app.contracts import problems
from app.contracts.access import ROLE_SCOPES
from app.contracts.api import Role, Scope
from app.contracts.widget import WidgetConfig, WidgetSession, WidgetSessionRequest, WidgetSettings, origin_allowed
from app.core.access_tokens import AccessTokenClaims, Signer
from app.core.db import utcnow
from app.core.errors import NotFoundError, ProblemError

#: A visitor's token lives this long; the frame asks for a new one (same secret, same visitor) before it ends.
VISITOR_TOKEN_SECONDS = 900


class OriginNotAllowedError(ProblemError):
    problem = problems.FORBIDDEN


def visitor_subject(secret: str) -> str:
    return "visitor-" + hashlib.sha256(secret.encode()).hexdigest()[:32]


def settings_view(row: SettingsRow | None) -> WidgetSettings:
    if row is None:
        return WidgetSettings()
    return WidgetSettings(
        allowed_origins=list(row.allowed_origins),
        brand_name=row.brand_name,
        accent_colour=row.accent_colour,
        avatar=row.avatar,
        greeting=row.greeting,
    )


async def get_settings(session: AsyncSession, tenant_id: UUID) -> WidgetSettings:
    return settings_view(await session.get(SettingsRow, tenant_id))


async def put_settings(session: AsyncSession, tenant_id: UUID, body: WidgetSettings) -> WidgetSettings:
    row = await session.get(SettingsRow, tenant_id)
    if row is None:
        row = SettingsRow(tenant_id=tenant_id)
        session.add(row)
    row.allowed_origins = list(body.allowed_origins)
    row.brand_name = body.brand_name
    row.accent_colour = body.accent_colour
    row.avatar = body.avatar
    row.greeting = body.greeting
    row.updated_at = utcnow()
    await session.flush()
    return settings_view(row)


@dataclass(frozen=True)
class _Embedding:
    key: ApiKey
    tenant: Tenant
    settings: SettingsRow


async def _embedding(session: AsyncSession, key_id: UUID) -> _Embedding:
    """The key named in a tag, its tenant and widget settings; one 404 for every way it can be unusable."""
    key = await repository.api_key_by_id_unscoped(session, key_id)
    tenant = await repository.tenant_by_id(session, key.tenant_id) if key is not None else None
    settings = await session.get(SettingsRow, key.tenant_id) if key is not None else None
    usable = key is not None and key.revoked_at is None and Scope.WIDGET_ISSUE.value in key.scopes
    if not usable or tenant is None or settings is None or not settings.allowed_origins or key is None:
        raise NotFoundError(
            "No widget for this key: it must be an active API key with the widget:issue scope, and an admin must "
            "list the sites allowed to embed it (PUT /v1/widget-settings)."
        )
    return _Embedding(key=key, tenant=tenant, settings=settings)


async def public_config(session: AsyncSession, key_id: UUID) -> WidgetConfig:
    found = await _embedding(session, key_id)
    return WidgetConfig(
        key_id=found.key.id,
        brand_name=found.settings.brand_name or found.tenant.name,
        accent_colour=found.settings.accent_colour,
        avatar=found.settings.avatar,
        greeting=found.settings.greeting,
        allowed_origins=list(found.settings.allowed_origins),
    )


async def start_session(session: AsyncSession, signer: Signer, request: WidgetSessionRequest) -> WidgetSession:
    """A token for a new visitor (no secret) or a returning one, when the frame runs on an allowed site.

    The browser already refuses to frame the widget on other sites (``frame-ancestors``); this check adds that a
    token is not handed to a frame that reports another site (a copied tag on a site the tenant did not list).
    """
    found = await _embedding(session, request.key_id)
    if not origin_allowed(request.host_origin, list(found.settings.allowed_origins)):
        raise OriginNotAllowedError(f"The site {request.host_origin!r} is not allowed to embed this widget.")
    secret = request.visitor_secret or secrets.token_urlsafe(32)
    claims = AccessTokenClaims(
        sub=visitor_subject(secret),
        tenant_id=found.key.tenant_id,
        principal="end_user",
        role=Role.CUSTOMER,
        scopes=list(ROLE_SCOPES[Role.CUSTOMER]),
        key_id=found.key.id,
        tier=found.key.tier,
    )
    token = signer.sign(claims, ttl_seconds=VISITOR_TOKEN_SECONDS)
    return WidgetSession(access_token=token, expires_in=VISITOR_TOKEN_SECONDS, visitor_secret=secret)
