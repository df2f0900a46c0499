"""Gateway settings (``HELPLINE_*``): downstream URLs, Redis, body limit, cache and lease lifetimes."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from app.core.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: ClassVar[str] = "gateway"

    redis_url: str | None = Field(
        default=None,
        description="Rate limits, quotas, stream leases and the key cache. Unset: in-process (one gateway only).",
    )
    redis_key_prefix: str = Field(default="hl:", description="Prefix of every gateway key in Redis.")
    redis_max_connections: int = Field(
        default=100, ge=4, description="Redis connections per gateway process; a burst beyond waits (2 s at most)."
    )
    auth_url: str = Field(default="http://127.0.0.1:8081")
    sessions_url: str = Field(default="http://127.0.0.1:8082")
    chat_url: str = Field(default="http://127.0.0.1:8083")
    knowledge_url: str = Field(default="http://127.0.0.1:8085", description="The knowledge service (admin API).")
    max_body_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Largest request body accepted (413 beyond). Messages are at most 4000 characters; the "
        "OpenAI-compatible endpoint carries whole conversations, hence the headroom.",
    )
    key_cache_seconds: int = Field(
        default=60, ge=1, le=600, description="How long a verified API key is cached (revocations bypass it)."
    )
    local_key_cache_seconds: float = Field(
        default=5.0,
        ge=0,
        description="Verified keys kept in process memory too (saves a Redis round trip per request; revocations "
        "still apply at once, they are checked in Redis on every request).",
    )
    jwks_refresh_seconds: int = Field(default=300, ge=10, description="How often auth's public keys are re-read.")
    stream_lease_seconds: int = Field(
        default=60, ge=10, description="Lifetime of a concurrent-stream lease; renewed while the stream is open."
    )
    upstream_connect_timeout_seconds: float = Field(default=2.0, gt=0)
    upstream_read_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="Longest silence tolerated from a downstream (a stream waiting for its first token included).",
    )
    user_requests_per_minute: int = Field(
        default=600, ge=1, description="Request limit of agents and admins (user tokens have no API key tier)."
    )
    agent_queue_poll_seconds: float = Field(
        default=2.0, gt=0, le=60, description="How often an agent's live queue stream re-reads the queue."
    )
    agent_queue_stream_seconds: float = Field(
        default=240.0, ge=10, le=280, description="A live queue stream ends (the page reconnects) after this long."
    )
    admission_capacity: int = Field(
        default=64,
        ge=1,
        description="Model requests (turns, completions) this gateway process lets run at once per model: its share "
        "of what the engines serve within the TTFT SLO (replicas x concurrent sequences / gateway replicas).",
    )
    admission_model_capacity: dict[str, int] = Field(
        default_factory=dict, description="Per-model overrides of admission_capacity, by public model name."
    )
    admission_ttft_slo_seconds: float = Field(
        default=1.0,
        gt=0,
        description="The time to first token an admitted request should get: the queue is bounded so that its "
        "expected wait (queued x mean turn time / capacity) stays within it.",
    )
    admission_exit_hold_seconds: float = Field(
        default=30.0, ge=0, description="How long a model must stay calm (<= 80% busy) before it stops being saturated."
    )
    turn_model: str = Field(
        default="helpline-chat", description="The public name of the chat model, which answers conversation turns."
    )
    login_failures_per_account_client: int = Field(
        default=10,
        ge=1,
        description="Failed logins one client may make on one account per window before that client (only) gets 429.",
    )
    login_failures_per_client: int = Field(
        default=50, ge=1, description="Failed logins one client may make across all accounts per window."
    )
    login_window_minutes: int = Field(default=15, ge=1, le=1440, description="The login throttle's sliding window.")
    widget_sessions_per_client_per_minute: int = Field(
        default=30, ge=1, description="New widget visitor sessions one client address may start per minute."
    )
