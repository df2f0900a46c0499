"""Service settings from the environment (``HELPLINE_*``), shared fields plus one subclass per service.

A cluster hands secrets over as files instead: ``HELPLINE_SECRETS_DIR`` names a directory (a Secret mounted
read-only) holding one file per setting, named like its variable (``HELPLINE_DATABASE_URL``). An environment
variable wins over a file of the same name. Unset, settings come from the environment only.

Secrets are ``SecretStr`` so they never reach a log or a repr. Outside ``development`` every secret is checked
against the placeholders people leave in config (empty, ``change-me``, ``dev-...``, too short): a service that
would run in production with a guessable signing key refuses to start and names the variable to fix.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import DirectoryPath, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SecretsSettingsSource, SettingsConfigDict

Environment = Literal["development", "test", "production"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

ENV_PREFIX = "HELPLINE_"
SECRETS_DIR_VARIABLE = f"{ENV_PREFIX}SECRETS_DIR"
MIN_SECRET_LENGTH = 32
_PLACEHOLDER_MARKERS = ("change-me", "changeme", "change_me", "changethis", "replace-me", "replaceme")

#: Used when HELPLINE_INTERNAL_TOKEN_SECRET is unset in development, so `python -m app.<service>` runs alone.
#: It starts with ``dev-`` on purpose: the placeholder rule refuses it everywhere else.
DEVELOPMENT_INTERNAL_TOKEN_SECRET = "dev-internal-token-secret-for-local-runs-only"  # noqa: S105


def placeholder_reason(value: str) -> str | None:
    """Why ``value`` looks like a placeholder rather than a real secret, or None when it looks real."""
    stripped = value.strip()
    if not stripped:
        return "is empty"
    lowered = stripped.lower()
    if lowered.startswith("dev-"):
        return "is a development placeholder (starts with 'dev-')"
    if any(marker in lowered for marker in _PLACEHOLDER_MARKERS):
        return "is a placeholder (contains 'change-me' or similar)"
    if len(stripped) < MIN_SECRET_LENGTH:
        return f"is shorter than {MIN_SECRET_LENGTH} characters"
    return None


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses set ``service_name`` and add their own fields."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )

    #: The service's name in logs, metrics, traces and as the issuer of the identity tokens it mints.
    service_name: ClassVar[str] = "helpline"

    environment: Environment = Field(
        default="development", description="development relaxes secret checks; test and production enforce them."
    )
    host: str = Field(default="127.0.0.1", description="Interface to listen on (0.0.0.0 in a container).")
    port: int = Field(default=8080, ge=1, le=65535)
    log_level: LogLevel = "INFO"
    log_message_text: bool = Field(
        default=False,
        description="Log customer and assistant message text. Off by default: messages are personal data.",
    )
    internal_token_secret: SecretStr = Field(
        default=SecretStr(DEVELOPMENT_INTERNAL_TOKEN_SECRET),
        description="HS256 key of the internal identity tokens; the same value in every service.",
    )
    shutdown_grace_seconds: float = Field(
        default=25.0, gt=0, description="How long SIGTERM waits for open requests and streams (below the pod's grace)."
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Comma-separated addresses or CIDRs of the proxies whose X-Forwarded-For/-Proto are trusted (the "
        "edge's pod ranges in a cluster); '*' (any peer) only in development.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        default=None,
        validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT",
        description="OTLP/HTTP collector; unset: no export.",
    )
    otel_service_name: str | None = Field(default=None, validation_alias="OTEL_SERVICE_NAME")
    secrets_dir: DirectoryPath | None = Field(
        default=None,
        description="Directory of files named like the variables, one setting each (a mounted Secret); unset: none.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Files in ``HELPLINE_SECRETS_DIR`` after the environment (read here: sources exist before fields do).

        A directory that does not exist adds no source: the ``secrets_dir`` field then fails validation, naming it.
        """
        directory = os.environ.get(SECRETS_DIR_VARIABLE)
        if directory and Path(directory).is_dir():
            file_secret_settings = SecretsSettingsSource(settings_cls, secrets_dir=directory)
        return init_settings, env_settings, dotenv_settings, file_secret_settings

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def trace_service_name(self) -> str:
        return self.otel_service_name or self.service_name

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses_or_networks(cls, value: str) -> str:
        """Each entry an address or a CIDR (as uvicorn reads them), so a typo fails at start, not as silent distrust."""
        for entry in (part.strip() for part in value.split(",")):
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is neither an IP address nor a CIDR (nor '*')") from None
        return value

    @model_validator(mode="after")
    def _refuse_any_proxy_outside_development(self) -> Self:
        if not self.is_development and "*" in (part.strip() for part in self.forwarded_allow_ips.split(",")):
            raise ValueError(
                f"refusing to start in {self.environment} with {env_var_name('forwarded_allow_ips')}='*': any peer "
                "could choose the client address rate limits and the login throttle key on; list the proxies' CIDRs"
            )
        return self

    @model_validator(mode="after")
    def _refuse_placeholder_secrets(self) -> Self:
        if self.is_development:
            return self
        problems = [
            f"{env_var_name(name)} {reason}"
            for name, value in self._secret_values().items()
            if (reason := placeholder_reason(value)) is not None
        ]
        if problems:
            raise ValueError(
                f"refusing to start in {self.environment} with placeholder secrets: " + "; ".join(problems)
            )
        return self

    def _secret_values(self) -> dict[str, str]:
        """Every set SecretStr field (optional secrets left unset are the subclass's business)."""
        return {
            name: value.get_secret_value()
            for name in type(self).model_fields
            if isinstance(value := getattr(self, name), SecretStr)
        }


class DatabaseSettings(ServiceSettings):
    """Settings of a service that owns a database schema."""

    database_url: str = Field(
        default="sqlite+aiosqlite:///var/helpline.db",
        description="postgresql+asyncpg://user:pass@host/db, or sqlite+aiosqlite:///var/<service>.db locally.",
    )
    database_pool_size: int = Field(default=10, ge=1, le=100, description="Connections kept open per process.")
    database_max_overflow: int = Field(default=10, ge=0, le=100, description="Extra connections allowed under bursts.")


class PerMessageDatabaseSettings(DatabaseSettings):
    """A database-owning service on every customer message's path (sessions, chat): a larger pool by default."""

    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=100,
        description="Connections kept open: two short transactions per customer message, many streams at once. "
        "Overflow connections are opened and closed per use, which is expensive: size the pool for the load.",
    )


def env_var_name(field_name: str) -> str:
    """The environment variable a settings field is read from (for error messages and docs)."""
    field = ServiceSettings.model_fields.get(field_name)
    if field is not None and isinstance(field.validation_alias, str):
        return field.validation_alias
    return f"{ENV_PREFIX}{field_name.upper()}"
