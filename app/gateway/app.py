"""The gateway's application: pooled clients to auth/sessions/chat, the store, the limiter, the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.middleware import Middleware

from app.core.api_keys import KeyspaceLayout
from app.core.app_factory import ReadinessCheck, create_app
from app.core.internal_client import InternalClient
from app.core.redis import redis_client
from app.gateway.admission import Gatekeeper
from app.gateway.agent_queue import QueueWatch
from app.gateway.body_limit import BodyLimitMiddleware
from app.gateway.components import Gateway
from app.gateway.credentials import Authenticator, AuthKeyStates, LocalKeyCache, ServiceToken
from app.gateway.engine_admission import AdmissionLimits, EngineAdmission
from app.gateway.jwks import JwksCache
from app.gateway.login_throttle import LoginThrottle
from app.gateway.openai_errors import openai_error_response
from app.gateway.openapi import build_openapi
from app.gateway.ratelimit import RequestLimiter, redis_storage
from app.gateway.routes import (
    admin,
    agent,
    agent_workspace,
    auth,
    completions,
    conversations,
    data_rights,
    docs,
    knowledge,
    problems,
    webchat,
    webhooks,
    widget,
)
from app.gateway.settings import GatewaySettings
from app.gateway.store import GatewayStore, MemoryStore, RedisStore
from app.gateway.visitor_throttle import VisitorSessionThrottle

DESCRIPTION = """Customer-service chat API. Authenticate with `Authorization: Bearer <key or token>`.
Errors are RFC 9457 `application/problem+json` with a `request_id`; see `/problems/{slug}` for each type."""


def build_components(settings: GatewaySettings) -> Gateway:
    def client(url: str, service: str) -> InternalClient:
        return InternalClient(
            url,
            service=service,
            connect_timeout=settings.upstream_connect_timeout_seconds,
            read_timeout=settings.upstream_read_timeout_seconds,
        )

    layout = KeyspaceLayout(settings.redis_key_prefix)
    store: GatewayStore
    local_cache: LocalKeyCache | None = None
    if settings.redis_url:
        redis = redis_client(settings.redis_url, max_connections=settings.redis_max_connections)
        store = RedisStore(redis, layout)
        limiter = RequestLimiter(redis_storage(settings.redis_url, redis, layout.rate_limits))
        # Only with Redis: revocation markers are what make a process-local cache safe.
        local_cache = LocalKeyCache(ttl_seconds=settings.local_key_cache_seconds)
    else:
        store, limiter = MemoryStore(), RequestLimiter()
    auth_client = client(settings.auth_url, "auth")
    jwks = JwksCache(auth_client, refresh_seconds=settings.jwks_refresh_seconds)
    secret = settings.internal_token_secret.get_secret_value()
    service_token = ServiceToken(secret)
    return Gateway(
        internal_secret=secret,
        auth=auth_client,
        sessions=client(settings.sessions_url, "sessions"),
        chat=client(settings.chat_url, "chat"),
        knowledge=client(settings.knowledge_url, "knowledge"),
        store=store,
        jwks=jwks,
        authenticator=Authenticator(
            store=store,
            auth=auth_client,
            jwks=jwks,
            service_token=service_token,
            key_cache_seconds=settings.key_cache_seconds,
            local_cache=local_cache,
        ),
        gatekeeper=Gatekeeper(
            store,
            limiter,
            AuthKeyStates(auth_client, service_token),
            user_requests_per_minute=settings.user_requests_per_minute,
            lease_seconds=settings.stream_lease_seconds,
        ),
        login_throttle=LoginThrottle(
            limiter.storage,
            per_account_client=settings.login_failures_per_account_client,
            per_client=settings.login_failures_per_client,
            window_minutes=settings.login_window_minutes,
        ),
        visitor_throttle=VisitorSessionThrottle(
            limiter.storage, per_client_per_minute=settings.widget_sessions_per_client_per_minute
        ),
        agent_queue=QueueWatch(
            poll_seconds=settings.agent_queue_poll_seconds, stream_seconds=settings.agent_queue_stream_seconds
        ),
        engine_admission=engine_admission(settings),
        turn_model=settings.turn_model,
    )


def engine_admission(settings: GatewaySettings) -> EngineAdmission:
    def limits(capacity: int) -> AdmissionLimits:
        return AdmissionLimits(capacity=capacity, ttft_slo_seconds=settings.admission_ttft_slo_seconds)

    return EngineAdmission(
        limits(settings.admission_capacity),
        per_model={model: limits(capacity) for model, capacity in settings.admission_model_capacity.items()},
        exit_hold_seconds=settings.admission_exit_hold_seconds,
    )


def _healthz_of(client: InternalClient) -> ReadinessCheck:
    async def check() -> None:
        await client.request("GET", "/healthz")

    return check


def build_app(settings: GatewaySettings, components: Gateway | None = None) -> FastAPI:
    gateway = components or build_components(settings)
    # Ready when the store answers and every downstream is alive: traffic sent to this gateway could be served.
    checks: dict[str, ReadinessCheck] = {
        "store": gateway.store.ping,
        "auth": _healthz_of(gateway.auth),
        "sessions": _healthz_of(gateway.sessions),
        "chat": _healthz_of(gateway.chat),
    }

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await gateway.aclose()

    app = create_app(
        settings,
        title="Helpline API",
        description=DESCRIPTION,
        version="1.0.0",
        routers=[
            conversations.router,
            agent.router,
            agent.queue_router,
            agent_workspace.router,
            admin.router,
            data_rights.router,
            webhooks.router,
            knowledge.router,
            auth.router,
            completions.router,
            problems.router,
            webchat.router,
            widget.router,
            docs.router,
        ],
        readiness_checks=checks,
        lifespan=lifespan,
        trust_incoming_request_id=False,
        problem_renderers=[(completions.PATH, openai_error_response), (completions.MODELS_PATH, openai_error_response)],
        middleware=[Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)],
        public_docs=True,
    )
    app.state.gateway = gateway

    def openapi() -> dict[str, Any]:
        return build_openapi(app)

    app.openapi = openapi
    return app
