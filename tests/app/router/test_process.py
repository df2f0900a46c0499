"""The router's process contract: ``python -m app.router --port P`` with ``ROUTER_BACKENDS``, and its settings."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from app.router.settings import KubernetesBackends, RouterSettings, StaticBackends
from tests.app.router.conftest import serve
from tests.app.router.fake_engine import FakeReplica, free_port

ROOT = Path(__file__).resolve().parents[3]


def test_backends_parse_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ROUTER_BACKENDS",
        '{"chat": {"kubernetes": {"namespace": "serving", "service": "chat-vllm", "port": 8000}},'
        ' "classifier": {"static": ["http://127.0.0.1:8110"]}}',
    )
    settings = RouterSettings()
    chat = settings.backends["chat"]
    assert isinstance(chat, KubernetesBackends)
    assert (chat.kubernetes.namespace, chat.kubernetes.service, chat.kubernetes.port) == ("serving", "chat-vllm", 8000)
    assert settings.backends["classifier"] == StaticBackends(static=["http://127.0.0.1:8110"])
    assert settings.host == "0.0.0.0"  # the Deployment passes only --port


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{}", "at least one model"),
        ('{"chat": {"static": []}}', "at least 1 item"),
        ('{"chat": {"static": ["127.0.0.1:8100"]}}', "should match pattern"),
        ('{"chat": {"dns": "x"}}', "does not match any of the expected tags"),
        ('{"chat": {"kubernetes": {"namespace": "Serving", "service": "x", "port": 8000}}}', "should match pattern"),
    ],
)
def test_bad_backends_are_refused(monkeypatch: pytest.MonkeyPatch, value: str, message: str) -> None:
    monkeypatch.setenv("ROUTER_BACKENDS", value)
    with pytest.raises(ValidationError, match=message):
        RouterSettings()


def test_missing_backends_are_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ROUTER_BACKENDS", raising=False)
    with pytest.raises(ValidationError, match="ROUTER_BACKENDS must name"):
        RouterSettings()


def test_production_does_not_need_the_internal_token_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_BACKENDS", '{"chat": {"static": ["http://127.0.0.1:8100"]}}')
    monkeypatch.setenv("HELPLINE_ENVIRONMENT", "production")
    monkeypatch.delenv("HELPLINE_INTERNAL_TOKEN_SECRET", raising=False)
    assert RouterSettings().environment == "production"


def test_balance_factor_below_one_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROUTER_BACKENDS", '{"chat": {"static": ["http://127.0.0.1:8100"]}}')
    with pytest.raises(ValidationError, match="at least 1"):
        RouterSettings(affinity_balance_factor=0.5)


async def test_python_m_app_router_serves_and_drains_on_sigterm() -> None:
    replica = FakeReplica("a")
    port = free_port()
    async with serve(replica.app()) as engine_url:
        env = {**os.environ, "ROUTER_BACKENDS": f'{{"chat": {{"static": ["{engine_url}"]}}}}'}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "app.router",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                async with asyncio.timeout(30):
                    while True:
                        try:
                            if (await client.get("/readyz")).status_code == 200:
                                break
                        except httpx.TransportError:
                            pass
                        await asyncio.sleep(0.1)
                response = await client.post("/v1/chat/completions", json={"model": "chat", "messages": []})
                assert response.json() == {"replica": "a", "model": "chat"}
                assert response.headers["x-request-id"]
                metrics = (await client.get("/metrics")).text
                assert 'helpline_router_requests_total{model="chat",outcome="ok"} 1.0' in metrics
                assert 'helpline_router_backends{model="chat",state="ready"} 1.0' in metrics
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(20):
                # uvicorn drains, runs the shutdown, then re-raises the signal so the exit status tells why.
                assert await process.wait() == -signal.SIGTERM
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        assert process.stdout is not None
        logs = (await process.stdout.read()).decode()
        assert '"service":"router"' in logs
        assert '"event":"service_stopped"' in logs  # the lifespan ran to its end: a clean shutdown
