"""OpenTelemetry: W3C trace context propagated through every service, spans exported when a collector is set.

Incoming ``traceparent`` headers are honoured by the FastAPI instrumentation and forwarded by the instrumented
httpx clients (``app.core.internal_client``), so gateway -> chat -> router -> engine is one trace. Without
``OTEL_EXPORTER_OTLP_ENDPOINT`` no SDK is installed: the context still passes through (non-recording spans)
at no cost. Sampling follows the standard ``OTEL_TRACES_SAMPLER``/``_ARG`` variables read by the SDK.
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

from app.core.settings import ServiceSettings

#: Probes and scrapes make no useful spans (regexes, comma-separated, as the instrumentation expects).
EXCLUDED_URLS = "/healthz,/readyz,/metrics"


def configure_tracer_provider(settings: ServiceSettings) -> None:
    """Install the SDK tracer provider with an OTLP/HTTP exporter when a collector is configured (once)."""
    if isinstance(trace.get_tracer_provider(), TracerProvider) or not settings.otel_exporter_otlp_endpoint:
        return  # already installed (several apps in one test process), or nothing to export to
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # noqa: PLC0415 (optional path)

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: settings.trace_service_name}))
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and _HEADERS, _TIMEOUT) itself and appends /v1/traces.
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def instrument_app(app: FastAPI) -> None:
    """Server spans for every request except probes; no per-chunk send/receive spans (streams have thousands)."""
    FastAPIInstrumentor.instrument_app(app, excluded_urls=EXCLUDED_URLS, exclude_spans=["receive", "send"])


def instrument_client(client: httpx.AsyncClient) -> None:
    """Client spans and ``traceparent`` injection on an internal or engine HTTP client."""
    HTTPXClientInstrumentor.instrument_client(client)
