"""Sessions settings (``HELPLINE_*``): database, retention, and the housekeeping timers."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import Field

from app.core.settings import PerMessageDatabaseSettings


class SessionsSettings(PerMessageDatabaseSettings):
    service_name: ClassVar[str] = "sessions"

    database_url: str = Field(default="sqlite+aiosqlite:///var/sessions.db")
    retention_days: int = Field(
        default=90, ge=1, le=3650, description="Closed and resolved conversations are deleted this long after."
    )
    tenant_retention_days: dict[UUID, int] = Field(
        default_factory=dict,
        description='Per-tenant overrides of retention_days, JSON: {"<tenant id>": days}.',
    )
    stale_stream_seconds: int = Field(
        default=900,
        ge=60,
        description="An answer still 'streaming' this long after it started belongs to a chat process that "
        "died; the sweeper marks it partial. Above chat's total engine timeout.",
    )
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, le=720, description="How long an Idempotency-Key replays its original result."
    )
    sweep_interval_seconds: float = Field(
        default=60.0, gt=0, description="How often stale answers and expired idempotency keys are swept."
    )
    retention_interval_seconds: float = Field(
        default=3600.0, gt=0, description="How often conversations past their retention are deleted."
    )

    # --- lifecycle events (app/events) ---------------------------------------------------------------------------
    events_nats_url: str | None = Field(
        default=None,
        description="NATS server with JetStream (nats://host:4222). Unset: events stay in the outbox, unpublished.",
    )
    events_stream: str = Field(default="HELPLINE_EVENTS", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    events_subject_prefix: str = Field(default="helpline.events", pattern=r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$")
    events_consumer: str = Field(default="webhooks", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    events_duplicate_window_seconds: float = Field(
        default=120.0, gt=0, description="JetStream drops a re-published event id within this window."
    )
    events_max_age_days: int = Field(default=7, ge=1, description="How long the stream keeps events.")
    events_poll_seconds: float = Field(default=0.2, gt=0, description="Outbox and delivery polling interval.")
    webhook_max_attempts: int = Field(default=8, ge=1, le=30, description="Attempts before a delivery is dead.")
    webhook_backoff_seconds: float = Field(default=2.0, gt=0, description="First retry delay; doubles each time.")
    webhook_backoff_cap_seconds: float = Field(default=600.0, gt=0, description="Longest delay between attempts.")
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, description="One delivery attempt's HTTP timeout.")

    def retention_for(self, tenant_id: UUID) -> int:
        return self.tenant_retention_days.get(tenant_id, self.retention_days)
