"""The router's application: discovery and health checks in the background, the proxy routes in front.

Errors on ``/v1/`` are OpenAI-shaped, like the engine's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.responses import Response

from app.core.app_factory import create_app
from app.core.logging import get_logger
from app.core.tracing import instrument_client
from app.router.errors import render_problem_as_openai_error
from app.router.health import HealthChecker
from app.router.kubernetes import ApiServer, EndpointSliceWatch
from app.router.proxy import EngineProxy
from app.router.registry import BackendRegistry
from app.router.settings import KubernetesBackends, RouterSettings

log = get_logger(__name__)

PROXIED_PATHS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings")
KEEPALIVE_CONNECTIONS = 128
#: Idle connections to a replica are dropped after this long. vLLM's uvicorn closes them after 5 s
#: (``VLLM_HTTP_TIMEOUT_KEEP_ALIVE``), the same as httpx's default expiry: a request sent on a connection the
#: server is closing at that moment fails without a response, and the replica was ejected for it.
KEEPALIVE_EXPIRY_SECONDS = 2.0


def engine_client(settings: RouterSettings) -> httpx.AsyncClient:
    """One pooled client for every replica: keep-alive connections, no automatic retries (the proxy decides)."""
    # Idle connections kept are bounded well below the connection cap: httpcore scans (and polls) every pooled
    # connection on each request, so thousands of idle ones cost CPU on every proxied call.
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=min(KEEPALIVE_CONNECTIONS, settings.max_connections),
        keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
    )
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_seconds,
        read=settings.read_timeout_seconds,
        write=settings.connect_timeout_seconds,
        pool=settings.connect_timeout_seconds,
    )
    return httpx.AsyncClient(limits=limits, timeout=timeout)


def background_tasks(
    settings: RouterSettings, registry: BackendRegistry, health: HealthChecker, stack: AsyncExitStack
) -> list[Coroutine[Any, Any, None]]:
    """Discovery for every model (static lists are applied at once) and the health checker."""
    jobs: list[Coroutine[Any, Any, None]] = [health.run()]
    watched = {model: source for model, source in settings.backends.items() if isinstance(source, KubernetesBackends)}
    for model, source in settings.backends.items():
        if not isinstance(source, KubernetesBackends):
            registry.update(model, source.static)
    if watched:
        api = ApiServer.in_cluster(service_account_dir=settings.kubernetes_service_account_dir)
        client = api.create_client()
        stack.push_async_callback(client.aclose)
        for model, source in watched.items():
            target = source.kubernetes

            def on_change(urls: list[str], model: str = model) -> None:
                registry.update(model, urls)

            watch = EndpointSliceWatch(
                api, client, namespace=target.namespace, service=target.service, port=target.port, on_change=on_change
            )
            jobs.append(watch.run())
    return jobs


def create_router_app(settings: RouterSettings) -> FastAPI:
    registry = BackendRegistry(settings.backends, balance_factor=settings.affinity_balance_factor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            client = engine_client(settings)
            instrument_client(client)  # traceparent to the engine; the health client stays uninstrumented
            stack.push_async_callback(client.aclose)
            # A fresh connection per probe: one kept idle between probes is as old as vLLM's keep-alive limit by
            # the next one, and a probe lost to that race ejected a healthy replica.
            health_client = httpx.AsyncClient(limits=httpx.Limits(max_keepalive_connections=0))
            stack.push_async_callback(health_client.aclose)
            health = HealthChecker(
                registry,
                health_client,
                interval=settings.health_check_interval_seconds,
                ejected_interval=settings.ejected_check_interval_seconds,
                timeout=settings.health_check_timeout_seconds,
            )
            tasks = [asyncio.create_task(job) for job in background_tasks(settings, registry, health, stack)]
            stack.push_async_callback(_cancel, tasks)
            app.state.proxy = EngineProxy(
                registry,
                client,
                max_attempts=settings.max_attempts,
                max_body_bytes=settings.max_body_bytes,
                stream_flush_interval=settings.stream_flush_interval_ms / 1000,
            )
            yield

    app = create_app(
        settings,
        title="Helpline router",
        description="Session-affine OpenAI-compatible proxy in front of the engine replicas.",
        readiness_checks={"discovery": registry.check_synced},
        lifespan=lifespan,
        problem_renderers=[("/v1/", render_problem_as_openai_error)],
    )
    app.state.registry = registry

    app.include_router(proxy_routes())
    return app


def proxy_routes() -> APIRouter:
    """The OpenAI-compatible routes. Endpoints take the raw ``Request``: FastAPI parses nothing, the body is
    forwarded as received (and the route template still labels the metrics)."""
    routes = APIRouter(include_in_schema=False)

    async def forward(request: Request) -> Response:
        return await request.app.state.proxy.forward(request)

    async def list_models(request: Request) -> Response:
        return await request.app.state.proxy.list_models(request)

    for path in PROXIED_PATHS:
        routes.add_api_route(path, forward, methods=["POST"])
    routes.add_api_route("/v1/models", list_models, methods=["GET"])
    return routes


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
