"""The Prometheus metrics of ``app.contracts.metrics.SERVICE_METRICS``, created once per process.

Only catalog names are exported (dashboards, alerts and KEDA queries are checked against the catalog), from a
registry of our own so nothing else leaks in. ``METRICS`` gives typed handles; ``MetricsMiddleware`` records the
``helpline_http_*`` series by route template (bounded cardinality), timing streams to their first byte.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.contracts.metrics import SERVICE_METRICS, Metric
from app.core.request_context import route_template

PREFIX = "helpline_"
HTTP_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Time to first token as customers feel it: sub-second is good, several seconds is an incident.
TTFT_BUCKETS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)
_BUCKETS = {"helpline_time_to_first_token_seconds": TTFT_BUCKETS}

AnyMetric = Counter | Gauge | Histogram


@dataclass(frozen=True)
class ServiceMetrics:
    """One field per catalog entry, named after it without the ``helpline_`` prefix."""

    http_requests_total: Counter
    http_request_duration_seconds: Histogram
    http_requests_in_flight: Gauge
    time_to_first_token_seconds: Histogram
    tokens_total: Counter
    tenant_tokens_total: Counter
    active_streams: Gauge
    rate_limit_rejections_total: Counter
    handoffs_total: Counter
    feedback_total: Counter
    events_published_total: Counter
    webhook_deliveries_total: Counter
    guardrail_decisions_total: Counter
    pii_redactions_total: Counter
    conversation_transitions_total: Counter
    engine_requests_total: Counter
    engine_circuit_open: Gauge
    chat_failovers_total: Counter
    degradation_level: Gauge
    degraded_answers_total: Counter
    router_requests_total: Counter
    router_backends: Gauge
    router_affinity_total: Counter
    retrieval_duration_seconds: Histogram
    knowledge_answers_total: Counter

    @classmethod
    def from_catalog(cls, catalog: tuple[Metric, ...], registry: CollectorRegistry) -> ServiceMetrics:
        """Create every catalog metric in ``registry``; refuses a catalog this class does not match exactly."""
        expected = {field.name for field in fields(cls)}
        by_field = {metric.name.removeprefix(PREFIX): metric for metric in catalog}
        if set(by_field) != expected:
            raise RuntimeError(f"metric catalog and ServiceMetrics differ: {sorted(set(by_field) ^ expected)}")
        created: dict[str, Any] = {name: create_metric(metric, registry) for name, metric in by_field.items()}
        return cls(**created)


def create_metric(metric: Metric, registry: CollectorRegistry) -> AnyMetric:
    common: dict[str, Any] = {"labelnames": metric.labels, "registry": registry}
    if metric.kind == "counter":
        return Counter(metric.name, metric.help, **common)
    if metric.kind == "gauge":
        return Gauge(metric.name, metric.help, **common)
    return Histogram(metric.name, metric.help, buckets=_BUCKETS.get(metric.name, HTTP_DURATION_BUCKETS), **common)


# ``*_created`` timestamps would double the series count for nothing a query here uses (and are not in the
# catalog); this is process-wide, which is right for a process that serves only catalog metrics.
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
METRICS = ServiceMetrics.from_catalog(SERVICE_METRICS, REGISTRY)


def metrics_response() -> Response:
    """The Prometheus text exposition of this process's metrics (the ``/metrics`` endpoint)."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def _is_event_stream(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return value.startswith(b"text/event-stream")
    return False


class MetricsMiddleware:
    """Records requests, latency and in-flight requests per route template, and open SSE streams.

    For an SSE response the duration is observed when the response starts (what a client waits for); the
    stream's length is a property of the conversation, not of the service's latency.
    """

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service
        self.in_flight = METRICS.http_requests_in_flight.labels(service=service)
        self.active_streams = METRICS.active_streams.labels(service=service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streaming = False

        async def send_and_observe(message: Message) -> None:
            nonlocal status, streaming
            if message["type"] == "http.response.start":
                status = message["status"]
                if _is_event_stream(message):
                    streaming = True
                    self.active_streams.inc()
                    self._observe_duration(scope, started)
            await send(message)

        self.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_observe)
        finally:
            self.in_flight.dec()
            if streaming:
                self.active_streams.dec()
            else:
                self._observe_duration(scope, started)
            METRICS.http_requests_total.labels(
                service=self.service, method=scope["method"], route=route_template(scope), status=str(status)
            ).inc()

    def _observe_duration(self, scope: Scope, started: float) -> None:
        METRICS.http_request_duration_seconds.labels(
            service=self.service, method=scope["method"], route=route_template(scope)
        ).observe(time.perf_counter() - started)
