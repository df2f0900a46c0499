"""Request ids, JSON logs without message text, catalog metrics, probes."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from app.contracts.metrics import SERVICE_METRICS
from app.core.app_factory import create_app
from app.core.metrics import REGISTRY
from tests.app.core.conftest import DemoSettings, build_demo_app
from tests.app.harness import serve_app


def log_lines(captured: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in captured.splitlines() if line.startswith("{")]


async def test_a_request_id_is_assigned_and_returned(demo_client: httpx.AsyncClient) -> None:
    first = await demo_client.post("/items/1", json={"count": 1})
    second = await demo_client.post("/items/1", json={"count": 1})

    assert len(first.headers["x-request-id"]) == 32
    assert first.headers["x-request-id"] != second.headers["x-request-id"]


async def test_internal_services_keep_a_well_formed_incoming_id(demo_client: httpx.AsyncClient) -> None:
    kept = await demo_client.get("/nowhere", headers={"X-Request-Id": "gw-0123456789abcdef"})
    replaced = await demo_client.get("/nowhere", headers={"X-Request-Id": "bad id\twith spaces"})

    assert kept.headers["x-request-id"] == "gw-0123456789abcdef"
    assert kept.json()["request_id"] == "gw-0123456789abcdef"
    assert replaced.headers["x-request-id"] != "bad id\twith spaces"


async def test_the_edge_never_trusts_a_client_request_id() -> None:
    app = build_demo_app(trust_incoming=False)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw") as client:
        response = await client.get("/nowhere", headers={"X-Request-Id": "client-chosen-id-123"})

    assert response.headers["x-request-id"] != "client-chosen-id-123"


async def test_logs_are_json_with_request_context_and_no_message_text(
    demo_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await demo_client.get("/log")

    lines = log_lines(capsys.readouterr().out)
    event = next(line for line in lines if line["event"] == "turn_started")
    assert event["service"] == "demo"
    assert event["request_id"] == response.headers["x-request-id"]
    assert event["conversation_id"] == "c-1"
    assert event["level"] == "info"
    assert event["text_chars"] == 22
    assert "content" not in event
    assert "4111" not in json.dumps(lines)
    access = next(line for line in lines if line["event"] == "request")
    assert access["route"] == "/log"
    assert access["status"] == 200
    assert access["request_id"] == response.headers["x-request-id"]


async def test_message_text_is_logged_only_when_enabled(capsys: pytest.CaptureFixture[str]) -> None:
    app = build_demo_app(DemoSettings(log_message_text=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        await client.get("/log")

    event = next(line for line in log_lines(capsys.readouterr().out) if line["event"] == "turn_started")
    assert event["content"] == "my card number is 4111"
    build_demo_app()  # back to the default for the tests that follow


async def test_probes_are_not_access_logged_unless_they_fail(
    demo_client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (await demo_client.get("/healthz")).json() == {"status": "ok"}
    assert (await demo_client.get("/readyz")).status_code == 200

    assert [line for line in log_lines(capsys.readouterr().out) if line["event"] == "request"] == []


def metric_value(name: str, labels: dict[str, str]) -> float:
    for family in text_string_to_metric_families(_exposition()):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


def _exposition() -> str:
    return generate_latest(REGISTRY).decode()


async def test_http_metrics_are_recorded_by_route_template(demo_client: httpx.AsyncClient) -> None:
    labels = {"service": "demo", "method": "POST", "route": "/items/{item_id}", "status": "200"}
    before = metric_value("helpline_http_requests_total", labels)

    await demo_client.post("/items/1", json={"count": 1})
    await demo_client.post("/items/2", json={"count": 1})
    await demo_client.get("/no/such/route/12345")

    assert metric_value("helpline_http_requests_total", labels) == before + 2
    assert metric_value("helpline_http_requests_total", {"route": "unmatched", "status": "404"}) >= 1
    exposition = (await demo_client.get("/metrics")).text
    assert "/items/1" not in exposition  # ids never become label values


async def test_streams_are_timed_to_their_first_byte_and_counted_while_open() -> None:
    labels = {"service": "demo", "method": "GET", "route": "/stream"}
    async with (
        serve_app(build_demo_app()) as server,
        httpx.AsyncClient(base_url=server.base_url) as client,
        client.stream("GET", "/stream") as response,
    ):
        chunks = response.aiter_bytes()
        assert (await anext(chunks)).startswith(b"event: delta")
        assert metric_value("helpline_active_streams", {"service": "demo"}) == 1
        async for _ in chunks:
            pass

    assert metric_value("helpline_active_streams", {"service": "demo"}) == 0
    count = metric_value("helpline_http_request_duration_seconds_count", labels)
    total = metric_value("helpline_http_request_duration_seconds_sum", labels)
    assert count >= 1
    assert total / count < 0.05  # observed at the first byte, not after the 50 ms stream


async def test_only_catalog_metrics_are_exported(demo_client: httpx.AsyncClient) -> None:
    exposition = (await demo_client.get("/metrics")).text
    families = {family.name for family in text_string_to_metric_families(exposition)}
    catalog = {metric.name.removesuffix("_total") for metric in SERVICE_METRICS}

    assert families == catalog


async def test_readiness_reports_each_failing_dependency() -> None:
    async def healthy() -> None:
        return None

    async def broken() -> None:
        raise ConnectionRefusedError("db down")

    app = create_app(DemoSettings(), title="demo", readiness_checks={"database": healthy, "redis": broken})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "failed: ConnectionRefusedError"}
    assert response.json()["detail"] == "Not ready: redis failed: ConnectionRefusedError"


async def test_internal_services_hide_their_docs_and_the_edge_publishes_them() -> None:
    internal = create_app(DemoSettings(), title="internal")
    public = create_app(DemoSettings(), title="public", public_docs=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=internal), base_url="http://i") as client:
        assert (await client.get("/docs")).status_code == 404
        assert (await client.get("/internal/openapi.json")).status_code == 200
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=public), base_url="http://p") as client:
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 404  # FastAPI's CDN page: the gateway serves its own
