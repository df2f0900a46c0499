"""``serve``: run a service under uvicorn the way production needs it.

uvloop + httptools (the fastest stack uvicorn has), no uvicorn access log (``RequestContextMiddleware``
writes one JSON line per request with the request id), our logging config left in place, forwarded headers
trusted only from the ingress, and a graceful shutdown that lets open SSE streams finish within the pod's
termination grace period before the process exits.
"""

from __future__ import annotations

import gc

import uvicorn
from fastapi import FastAPI

from app.core.settings import ServiceSettings


def uvicorn_config(app: FastAPI, settings: ServiceSettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_config=None,
        server_header=False,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
        timeout_keep_alive=75,  # above common load balancer idle timeouts (60 s): the LB closes first
    )


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Run until SIGTERM/SIGINT, then drain (blocking).

    Everything imported and built so far (modules, the app, its routes and models) lives as long as the process:
    ``gc.freeze()`` moves it out of the collector's reach, so the full collections that requests trigger scan only
    what requests allocate, not the whole startup heap: chat's ~180k startup objects took ~66 ms to scan, a pause
    every stream in the process felt (p99 TTFT under load)."""
    gc.collect()
    gc.freeze()
    uvicorn.Server(uvicorn_config(app, settings)).run()
