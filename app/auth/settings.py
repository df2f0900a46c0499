"""Auth settings (``HELPLINE_*``): database, Redis (to invalidate the gateway's key cache), signing keys."""

from __future__ import annotations

from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field, SecretStr, model_validator

from app.core.settings import DatabaseSettings


class AuthSettings(DatabaseSettings):
    service_name: ClassVar[str] = "auth"

    database_url: str = "sqlite+aiosqlite:///var/auth.db"
    redis_url: str | None = Field(
        default=None,
        description="The gateway's Redis: revocations are written there so they apply at once. Unset: no cache.",
    )
    redis_key_prefix: str = Field(
        default="hl:", description="Prefix of the gateway's Redis keys (tests isolate by it)."
    )
    jwt_private_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 private key (PEM) signing access tokens; generated per process in development.",
    )
    jwt_retired_public_keys: list[str] = Field(
        default_factory=list,
        description="PEM public keys of previous signing keys, still published in the JWKS during a rotation.",
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=86400, description="Lifetime of user access tokens.")
    password_hash_concurrency: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Argon2 hashes computed at once (each takes 19 MiB and one core for tens of ms).",
    )

    audit_retention_days: int = Field(
        default=400, ge=30, le=3650, description="Audit events are deleted this long after they happened."
    )
    tenant_audit_retention_days: dict[UUID, int] = Field(
        default_factory=dict, description='Per-tenant overrides of audit_retention_days, JSON: {"<tenant id>": days}.'
    )
    audit_retention_interval_seconds: float = Field(
        default=3600, gt=0, description="How often the audit retention job runs (in every auth replica; idempotent)."
    )

    @model_validator(mode="after")
    def _signing_key_outside_development(self) -> Self:
        if not self.is_development and self.jwt_private_key is None:
            raise ValueError(
                f"HELPLINE_JWT_PRIVATE_KEY is required in {self.environment}: every auth replica must sign with "
                "the same key (generate one with `openssl genpkey -algorithm ed25519`)"
            )
        return self
