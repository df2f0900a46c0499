"""``python -m app.auth bootstrap``: create a tenant, its first admin and a first API key.

The chicken-and-egg of a fresh install (creating keys needs an admin, creating an admin needs a key). It is
idempotent for the tenant and the admin (re-running reuses them, so ``make run`` can call it every time) and
always creates a new API key, since keys are shown only once.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass

from app.auth import repository
from app.auth.models import SCHEMA
from app.auth.passwords import PasswordHasher
from app.auth.settings import AuthSettings
from app.contracts.access import API_KEY_SCOPES
from app.contracts.api import Role, Tier
from app.core.api_keys import generate_api_key
from app.core.db import Database


@dataclass(frozen=True)
class BootstrapResult:
    tenant_id: str
    tenant: str
    admin_email: str
    admin_password: str | None  # None when the admin already existed (its password is not ours to show)
    api_key: str
    api_key_tier: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


async def bootstrap(
    settings: AuthSettings,
    *,
    tenant_slug: str,
    tenant_name: str | None,
    admin_email: str,
    admin_password: str | None,
    tier: Tier,
) -> BootstrapResult:
    database = Database(settings.database_url, schema=SCHEMA)
    try:
        async with database.transaction() as session:
            tenant = await repository.tenant_by_slug(session, tenant_slug)
            if tenant is None:
                tenant = await repository.create_tenant(
                    session, slug=tenant_slug, name=tenant_name or tenant_slug, max_tier=tier
                )
            shown_password: str | None = None
            if await repository.user_by_email(session, tenant_id=tenant.id, email=admin_email) is None:
                shown_password = admin_password or secrets.token_urlsafe(18)
                hasher = PasswordHasher(concurrency=1)
                await repository.create_user(
                    session,
                    tenant_id=tenant.id,
                    email=admin_email,
                    password_hash=await hasher.hash(shown_password),
                    role=Role.ADMIN,
                )
            generated = generate_api_key()
            await repository.create_api_key(
                session,
                tenant_id=tenant.id,
                name="bootstrap",
                tier=tier,
                scopes=list(API_KEY_SCOPES),  # every scope a key may hold (the agent desk is for people)
                generated=generated,
            )
            return BootstrapResult(
                tenant_id=str(tenant.id),
                tenant=tenant.slug,
                admin_email=admin_email.lower(),
                admin_password=shown_password,
                api_key=generated.key,
                api_key_tier=tier.value,
            )
    finally:
        await database.dispose()
