"""Reads and writes of the auth schema. Every query on users and keys is filtered by tenant.

A foreign tenant's key or user is simply not found (the caller gets the same 404 as for an unknown id).
Unique violations are caught inside a savepoint, so the request's transaction stays usable.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.errors import EmailTakenError, TenantExistsError
from app.auth.models import ApiKey, Tenant, User
from app.contracts.api import Role, Scope, Tier
from app.core.api_keys import GeneratedKey


def escape_like(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (``_`` is in every key prefix and is a wildcard)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def create_tenant(session: AsyncSession, *, slug: str, name: str, max_tier: Tier) -> Tenant:
    tenant = Tenant(slug=slug, name=name, max_tier=max_tier)
    try:
        async with session.begin_nested():
            session.add(tenant)
    except IntegrityError as exc:
        raise TenantExistsError(f"A tenant with the slug {slug!r} already exists.") from exc
    return tenant


async def tenant_by_slug(session: AsyncSession, slug: str) -> Tenant | None:
    return await session.scalar(select(Tenant).where(Tenant.slug == slug))


async def tenant_by_id(session: AsyncSession, tenant_id: UUID) -> Tenant | None:
    return await session.get(Tenant, tenant_id)


async def create_user(session: AsyncSession, *, tenant_id: UUID, email: str, password_hash: str, role: Role) -> User:
    user = User(tenant_id=tenant_id, email=email.lower(), password_hash=password_hash, role=role)
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError as exc:
        raise EmailTakenError(f"A user with the email {email.lower()!r} already exists.") from exc
    return user


async def user_by_email(session: AsyncSession, *, tenant_id: UUID, email: str) -> User | None:
    return await session.scalar(select(User).where(User.tenant_id == tenant_id, User.email == email.lower()))


async def create_api_key(
    session: AsyncSession, *, tenant_id: UUID, name: str, tier: Tier, scopes: Sequence[Scope], generated: GeneratedKey
) -> ApiKey:
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=generated.prefix,
        key_hash=generated.key_hash,
        tier=tier,
        scopes=[scope.value for scope in dict.fromkeys(scopes)],
    )
    session.add(key)
    await session.flush()
    return key


async def lock_tenant(session: AsyncSession, tenant_id: UUID) -> Tenant | None:
    """The tenant row, locked until the transaction ends: concurrent key creations for one tenant take turns."""
    return await session.scalar(select(Tenant).where(Tenant.id == tenant_id).with_for_update())


async def count_active_api_keys(session: AsyncSession, *, tenant_id: UUID) -> int:
    query = select(func.count()).select_from(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.revoked_at.is_(None))
    return int(await session.scalar(query) or 0)


async def list_api_keys(session: AsyncSession, *, tenant_id: UUID, prefix: str | None) -> Sequence[ApiKey]:
    query = select(ApiKey).where(ApiKey.tenant_id == tenant_id).order_by(ApiKey.id)
    if prefix:
        query = query.where(ApiKey.prefix.like(escape_like(prefix) + "%", escape="\\"))
    return (await session.scalars(query)).all()


async def api_key_by_id(session: AsyncSession, *, tenant_id: UUID, key_id: UUID) -> ApiKey | None:
    return await session.scalar(select(ApiKey).where(ApiKey.tenant_id == tenant_id, ApiKey.id == key_id))


async def api_key_by_id_unscoped(session: AsyncSession, key_id: UUID) -> ApiKey | None:
    """For the gateway's revocation check only (a service call: the key id comes from a verified credential)."""
    return await session.get(ApiKey, key_id)


async def api_key_by_hash(session: AsyncSession, key_hash: str) -> ApiKey | None:
    """The only unscoped lookup: verifying a presented key is how its tenant becomes known."""
    return await session.scalar(select(ApiKey).where(ApiKey.key_hash == key_hash))


async def touch_api_key(session: AsyncSession, key_id: UUID, now: datetime) -> None:
    await session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=now))
