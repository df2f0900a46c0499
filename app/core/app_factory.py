"""``create_app``: one FastAPI application per service with everything the core provides wired in.

Middlewares (outermost first): request id + access log, then metrics; problem+json handlers for every error;
OpenTelemetry server spans; ``/healthz`` (the process answers), ``/readyz`` (every readiness check passes:
database, Redis, required downstreams) and ``/metrics``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from starlette.middleware import Middleware
from starlette.responses import Response

from app.contracts import problems
from app.core.errors import ProblemError, ProblemRenderer, install_problem_handlers
from app.core.logging import configure_logging, get_logger
from app.core.metrics import MetricsMiddleware, metrics_response
from app.core.request_context import RequestContextMiddleware
from app.core.settings import ServiceSettings
from app.core.tracing import configure_tracer_provider, instrument_app

#: A readiness check raises (or times out) when its dependency cannot serve.
ReadinessCheck = Callable[[], Awaitable[Any]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]
READINESS_TIMEOUT_SECONDS = 2.0

log = get_logger(__name__)


class NotReadyError(ProblemError):
    problem = problems.NOT_READY


async def run_readiness_checks(checks: Mapping[str, ReadinessCheck], seconds_each: float) -> dict[str, str]:
    """Run every check concurrently; ``{name: "ok" | reason}`` (a reason names the exception, not its text)."""

    async def one(check: ReadinessCheck) -> str:
        try:
            await asyncio.wait_for(check(), seconds_each)
        except TimeoutError:
            return "timeout"
        except Exception as exc:  # any failure means not ready; the reason is reported
            return f"failed: {type(exc).__name__}"
        return "ok"

    names = list(checks)
    results = await asyncio.gather(*(one(checks[name]) for name in names))
    return dict(zip(names, results, strict=True))


def create_app(
    settings: ServiceSettings,
    *,
    title: str,
    routers: Iterable[APIRouter] = (),
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    lifespan: Lifespan | None = None,
    trust_incoming_request_id: bool = True,
    problem_renderers: Sequence[tuple[str, ProblemRenderer]] = (),
    middleware: Sequence[Middleware] = (),
    description: str = "",
    version: str = "1.0.0",
    public_docs: bool = False,
) -> FastAPI:
    """The service's app. ``public_docs`` serves ``/openapi.json`` (the gateway, whose own route serves ``/docs``
    from self-hosted files: FastAPI's page loads a CDN); internal services
    keep their OpenAPI at ``/internal/openapi.json`` for tooling. ``middleware`` runs inside the core ones (it
    sees the request id, and its errors are counted and logged), outermost first."""
    configure_logging(settings.service_name, level=settings.log_level, log_message_text=settings.log_message_text)
    configure_tracer_provider(settings)
    checks = dict(readiness_checks or {})

    @asynccontextmanager
    async def app_lifespan(app: FastAPI) -> AsyncIterator[None]:
        log.info("service_starting", environment=settings.environment, port=settings.port)
        if lifespan is None:
            yield
        else:
            async with lifespan(app):
                yield
        log.info("service_stopped")

    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=app_lifespan,
        openapi_url="/openapi.json" if public_docs else "/internal/openapi.json",
        docs_url=None,
        redoc_url=None,
        # FastAPI's native OpenTelemetry stays off: traces come from the contrib instrumentation (instrument_app),
        # metrics from the catalog, logs from structlog (its logs would record exception text and inputs).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    install_problem_handlers(app, renderers=problem_renderers)
    for extra in reversed(middleware):  # add_middleware wraps: the last added is the outermost
        app.add_middleware(extra.cls, *extra.args, **extra.kwargs)
    app.add_middleware(MetricsMiddleware, service=settings.service_name)
    app.add_middleware(
        RequestContextMiddleware, service=settings.service_name, trust_incoming=trust_incoming_request_id
    )  # added last = outermost

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> dict[str, Any]:
        results = await run_readiness_checks(checks, READINESS_TIMEOUT_SECONDS)
        if any(result != "ok" for result in results.values()):
            raise NotReadyError(
                "Not ready: " + ", ".join(f"{k} {v}" for k, v in results.items() if v != "ok"), checks=results
            )
        return {"status": "ready", "checks": results}

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return metrics_response()

    for router in routers:
        app.include_router(router)
    instrument_app(app)
    return app
