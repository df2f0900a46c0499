"""``serve``: the startup heap is frozen before uvicorn runs, so requests' garbage collections never scan it."""

from __future__ import annotations

import asyncio
import gc
import re
from typing import ClassVar

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Request
from pydantic import ValidationError

from app.core import server
from app.core.settings import ServiceSettings
from tests.app.harness import random_secret


class QuietSettings(ServiceSettings):
    service_name: ClassVar[str] = "test-server"


def test_serve_freezes_what_startup_built_before_running(monkeypatch: pytest.MonkeyPatch) -> None:
    frozen_when_running: list[int] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda _self: frozen_when_running.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        server.serve(FastAPI(), QuietSettings())
    finally:
        gc.unfreeze()  # the test process keeps collecting as usual
    assert frozen_when_running
    assert frozen_when_running[0] > 10_000  # the imported modules, FastAPI, pydantic: all out of the collector's reach


# --- forwarded headers: trusted only from the configured proxy ranges (issue 11) -------------------------------------
def client_seen(trusted: str, peer: str, forwarded_for: str) -> str:
    """The client address the app sees behind uvicorn's proxy-headers middleware as ``uvicorn_config`` sets it up,
    for a request from ``peer`` carrying ``X-Forwarded-For: forwarded_for``."""
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict[str, str | None]:
        return {"client": request.client.host if request.client else None}

    config = server.uvicorn_config(app, QuietSettings(forwarded_allow_ips=trusted))
    config.load()  # wraps the app exactly as uvicorn.Server would
    transport = httpx.ASGITransport(app=config.loaded_app, client=(peer, 40000))

    async def call() -> str:
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            response = await http.get("/who", headers={"X-Forwarded-For": forwarded_for})
            return response.json()["client"]

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("trusted", "peer", "seen"),
    [
        ("10.40.0.0/16", "10.40.3.7", "203.0.113.9"),  # the edge's proxy, inside the pod range: its header counts
        ("10.40.0.0/16", "198.51.100.4", "198.51.100.4"),  # any other peer: its header is ignored
        ("10.40.0.0/16,10.52.0.0/14", "10.53.0.8", "203.0.113.9"),  # several ranges
        ("127.0.0.1", "10.40.3.7", "10.40.3.7"),  # the default trusts only a local proxy
    ],
)
def test_x_forwarded_for_counts_only_from_a_trusted_proxy(trusted: str, peer: str, seen: str) -> None:
    assert client_seen(trusted, peer, "203.0.113.9") == seen


def test_a_malformed_proxy_range_stops_the_service() -> None:
    with pytest.raises(ValidationError, match=re.escape("'10.40.0.0/33' is neither an IP address nor a CIDR")):
        QuietSettings(forwarded_allow_ips="10.40.0.0/33")


@pytest.mark.parametrize("environment", ["test", "production"])
def test_trusting_any_peer_is_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match=re.escape("HELPLINE_FORWARDED_ALLOW_IPS='*': any peer could choose")):
        QuietSettings(environment=environment, forwarded_allow_ips="*", internal_token_secret=random_secret())
    assert QuietSettings(forwarded_allow_ips="*").forwarded_allow_ips == "*"  # development: a laptop behind anything
