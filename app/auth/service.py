"""The auth use cases: log in, issue widget tokens, manage keys and users, verify keys, bootstrap a tenant.

Everything takes the caller's ``IdentityClaims`` and acts inside the caller's tenant only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import repository
from app.auth.errors import (
    ApiKeyRequiredError,
    InvalidApiKeyError,
    InvalidLoginError,
    KeyLimitReachedError,
    TierNotAllowedError,
)
from app.auth.models import ApiKey as ApiKeyRow
from app.auth.models import Tenant
from app.auth.models import User as UserRow
from app.auth.passwords import PasswordHasher
from app.auth.revocation import RevocationPublisher
from app.contracts.access import ROLE_SCOPES
from app.contracts.api import (
    AccessToken,
    ApiKey,
    ApiKeyCreate,
    ApiKeyCreated,
    LoginRequest,
    Role,
    Scope,
    Tier,
    User,
    UserCreate,
    WidgetTokenRequest,
)
from app.contracts.internal import IdentityClaims, KeyState, VerifiedKey
from app.core.access_tokens import AccessTokenClaims, Signer
from app.core.api_keys import generate_api_key, hash_api_key, is_well_formed_api_key
from app.core.db import utcnow
from app.core.errors import NotFoundError

TIER_ORDER = (Tier.FREE, Tier.STANDARD, Tier.ENTERPRISE)
#: ``last_used_at`` is refreshed at most this often: one write per key per minute, not per verification.
LAST_USED_RESOLUTION = timedelta(minutes=1)


#: Active (unrevoked) API keys a tenant may hold, by plan: keys are for separating integrations, not for
#: multiplying limits (quotas are per tenant anyway; the cap keeps a free tenant from minting keys by the dozen).
MAX_ACTIVE_KEYS: dict[Tier, int] = {Tier.FREE: 3, Tier.STANDARD: 25, Tier.ENTERPRISE: 200}


def tier_allowed(requested: Tier, max_tier: Tier) -> bool:
    return TIER_ORDER.index(requested) <= TIER_ORDER.index(max_tier)


def api_key_view(row: ApiKeyRow) -> ApiKey:
    return ApiKey(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        tier=row.tier,
        scopes=[Scope(scope) for scope in row.scopes],
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def user_view(row: UserRow) -> User:
    return User(id=row.id, email=row.email, role=row.role, created_at=row.created_at)


@dataclass(frozen=True)
class AuthService:
    hasher: PasswordHasher
    signer: Signer
    revocations: RevocationPublisher
    access_token_ttl_seconds: int

    # --- tokens ---------------------------------------------------------------------------------------------
    async def login(self, session: AsyncSession, request: LoginRequest) -> AccessToken:
        tenant = await repository.tenant_by_slug(session, request.tenant)
        user = await repository.user_by_email(session, tenant_id=tenant.id, email=request.email) if tenant else None
        valid = await self.hasher.verify(request.password, user.password_hash if user else None)
        if user is None or not valid:
            raise InvalidLoginError("The tenant, email and password do not match.")
        claims = AccessTokenClaims(
            sub=str(user.id),
            tenant_id=user.tenant_id,
            principal="user",
            role=user.role,
            scopes=list(ROLE_SCOPES[user.role]),
        )
        return self._token(claims, self.access_token_ttl_seconds)

    async def issue_widget_token(
        self, session: AsyncSession, identity: IdentityClaims, request: WidgetTokenRequest
    ) -> AccessToken:
        if identity.principal != "api_key" or identity.key_id is None:
            raise ApiKeyRequiredError("Widget tokens are issued with an API key, which their requests are charged to.")
        key = await repository.api_key_by_id(session, tenant_id=identity.tenant_id, key_id=identity.key_id)
        if key is None or key.revoked_at is not None:
            raise InvalidApiKeyError("The issuing API key is revoked.")
        claims = AccessTokenClaims(
            sub=request.end_user_id,
            tenant_id=identity.tenant_id,
            principal="end_user",
            role=Role.CUSTOMER,
            scopes=list(ROLE_SCOPES[Role.CUSTOMER]),
            key_id=key.id,
            tier=key.tier,
        )
        return self._token(claims, request.ttl_seconds)

    def _token(self, claims: AccessTokenClaims, ttl_seconds: int) -> AccessToken:
        return AccessToken(access_token=self.signer.sign(claims, ttl_seconds=ttl_seconds), expires_in=ttl_seconds)

    # --- API keys -------------------------------------------------------------------------------------------
    async def create_api_key(
        self, session: AsyncSession, identity: IdentityClaims, request: ApiKeyCreate
    ) -> ApiKeyCreated:
        tenant = await repository.lock_tenant(session, identity.tenant_id)
        if tenant is None:  # a token for a deleted tenant
            raise InvalidApiKeyError("The tenant no longer exists.")
        if not tier_allowed(request.tier, tenant.max_tier):
            raise TierNotAllowedError(
                f"The tenant's plan allows keys up to the {tenant.max_tier.value} tier.", max_tier=tenant.max_tier.value
            )
        cap = MAX_ACTIVE_KEYS[tenant.max_tier]
        if await repository.count_active_api_keys(session, tenant_id=tenant.id) >= cap:
            raise KeyLimitReachedError(
                f"The tenant's {tenant.max_tier.value} plan allows {cap} active API keys; revoke one first.",
                max_keys=cap,
            )
        generated = generate_api_key()
        row = await repository.create_api_key(
            session,
            tenant_id=tenant.id,
            name=request.name,
            tier=request.tier,
            scopes=request.scopes,
            generated=generated,
        )
        return ApiKeyCreated(**api_key_view(row).model_dump(), key=generated.key)

    async def list_api_keys(self, session: AsyncSession, identity: IdentityClaims, prefix: str | None) -> list[ApiKey]:
        rows = await repository.list_api_keys(session, tenant_id=identity.tenant_id, prefix=prefix)
        return [api_key_view(row) for row in rows]

    async def revoke_api_key(self, session: AsyncSession, identity: IdentityClaims, key_id: UUID) -> None:
        """Revoke at once; revoking a revoked key succeeds again (the call is idempotent)."""
        row = await repository.api_key_by_id(session, tenant_id=identity.tenant_id, key_id=key_id)
        if row is None:
            raise NotFoundError("No such API key.")
        if row.revoked_at is None:
            row.revoked_at = utcnow()
            await session.flush()
        await self.revocations.publish(row.id, row.key_hash)

    async def key_state(self, session: AsyncSession, key_id: UUID) -> KeyState:
        """Revoked or not, from the database; an unknown id counts as revoked (nothing may pass on it)."""
        row = await repository.api_key_by_id_unscoped(session, key_id)
        return KeyState(key_id=key_id, revoked=row is None or row.revoked_at is not None)

    async def verify_api_key(self, session: AsyncSession, key: str) -> VerifiedKey:
        if not is_well_formed_api_key(key):
            raise InvalidApiKeyError("The API key is malformed.")
        row = await repository.api_key_by_hash(session, hash_api_key(key))
        if row is None:
            raise InvalidApiKeyError("The API key is not valid.")
        if row.revoked_at is not None:
            raise InvalidApiKeyError("The API key has been revoked.")
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            await repository.touch_api_key(session, row.id, now)
        return VerifiedKey(
            key_id=row.id, tenant_id=row.tenant_id, tier=row.tier, scopes=[Scope(scope) for scope in row.scopes]
        )

    # --- users ----------------------------------------------------------------------------------------------
    async def create_user(self, session: AsyncSession, identity: IdentityClaims, request: UserCreate) -> User:
        password_hash = await self.hasher.hash(request.password)
        row = await repository.create_user(
            session, tenant_id=identity.tenant_id, email=request.email, password_hash=password_hash, role=request.role
        )
        return user_view(row)

    async def _tenant(self, session: AsyncSession, identity: IdentityClaims) -> Tenant:
        tenant = await repository.tenant_by_id(session, identity.tenant_id)
        if tenant is None:  # a token for a deleted tenant
            raise InvalidApiKeyError("The tenant no longer exists.")
        return tenant
