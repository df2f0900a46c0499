"""W3C trace context flows from a caller through a service into its downstream calls and its logs."""

from __future__ import annotations

import json
from typing import ClassVar

import httpx
import pytest
from fastapi import APIRouter, Request

from app.core.app_factory import create_app
from app.core.internal_client import InternalClient
from app.core.logging import get_logger
from app.core.settings import ServiceSettings
from tests.app.harness import serve_app

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING = f"00-{TRACE_ID}-00f067aa0ba902b7-01"


class EdgeSettings(ServiceSettings):
    service_name: ClassVar[str] = "edge"


class InnerSettings(ServiceSettings):
    service_name: ClassVar[str] = "inner"


inner_router = APIRouter()


@inner_router.get("/traceparent")
async def traceparent(request: Request) -> dict[str, str | None]:
    get_logger("tests.tracing").info("inner_handled")
    return {"traceparent": request.headers.get("traceparent")}


async def test_the_trace_id_reaches_the_downstream_service_and_the_logs(capsys: pytest.CaptureFixture[str]) -> None:
    async with serve_app(create_app(InnerSettings(), title="inner", routers=[inner_router])) as inner:
        downstream = InternalClient(inner.base_url, service="inner")
        edge_router = APIRouter()

        @edge_router.get("/call")
        async def call() -> dict[str, str | None]:
            return (await downstream.request("GET", "/traceparent")).json()

        edge_app = create_app(EdgeSettings(), title="edge", routers=[edge_router])
        async with serve_app(edge_app) as edge, httpx.AsyncClient(base_url=edge.base_url) as client:
            response = await client.get("/call", headers={"traceparent": INCOMING})
        await downstream.aclose()

    forwarded = response.json()["traceparent"]
    assert forwarded is not None
    assert forwarded.split("-")[1] == TRACE_ID
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    inner_line = next(line for line in logged if line["event"] == "inner_handled")
    assert inner_line["trace_id"] == TRACE_ID
