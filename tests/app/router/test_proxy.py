"""The router end to end over real HTTP: affinity, least-loaded choice, retries before the first byte only,
unbuffered streaming, health checks, and its OpenAI-shaped errors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families

from app.router.app import create_router_app
from app.router.rendezvous import rank
from app.router.settings import BackendSource, RouterSettings, StaticBackends
from tests.app.router.conftest import serve, until
from tests.app.router.fake_engine import FakeReplica, raw_replica

KEY = {"Authorization": "Bearer engine-key"}


@asynccontextmanager
async def router(
    backends: Mapping[str, list[str]], **settings: Any
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    options: dict[str, Any] = {"health_check_interval_seconds": 60.0, "ejected_check_interval_seconds": 60.0}
    options.update(settings)
    sources: dict[str, BackendSource] = {model: StaticBackends(static=urls) for model, urls in backends.items()}
    config = RouterSettings(backends=sources, **options)
    app = create_router_app(config)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, headers=KEY, timeout=10) as client:
        yield client, app


@asynccontextmanager
async def replicas(*names: str, model: str = "chat") -> AsyncIterator[dict[str, FakeReplica]]:
    """Fake replicas keyed by URL."""
    async with AsyncExitStack() as stack:
        result: dict[str, FakeReplica] = {}
        for name in names:
            replica = FakeReplica(name, model=model)
            result[await stack.enter_async_context(serve(replica.app()))] = replica
        yield result


def session_preferring(urls: list[str], predicate: Callable[[list[str]], bool]) -> str:
    """A session id whose rendezvous order satisfies ``predicate`` (e.g. prefers a given replica)."""
    return next(f"conv-{i}" for i in range(10_000) if predicate(rank(f"conv-{i}", urls)))


def chat(session: str | None = None, *, stream: bool = False, model: str = "chat") -> dict[str, Any]:
    headers = {"X-Session-Id": session} if session else {}
    return {
        "json": {"model": model, "messages": [{"role": "user", "content": "hi"}], "stream": stream},
        "headers": headers,
    }


def metric(app: FastAPI, name: str, **labels: str) -> float:
    del app
    from app.core.metrics import REGISTRY

    value = REGISTRY.get_sample_value(name, labels)
    return value or 0.0


async def test_turns_of_a_session_stay_on_one_replica_and_sessions_spread() -> None:
    async with replicas("a", "b", "c") as fakes, router({"chat": list(fakes)}) as (client, app):
        served = []
        for _ in range(5):
            response = await client.post("/v1/chat/completions", **chat("conv-42"))
            served.append(response.json()["replica"])
        assert len(set(served)) == 1
        assert served[0] == fakes[rank("conv-42", list(fakes))[0]].name
        hits_before = metric(app, "helpline_router_affinity_total", model="chat", result="hit")

        spread = {(await client.post("/v1/chat/completions", **chat(f"s-{i}"))).json()["replica"] for i in range(30)}
        assert spread == {"a", "b", "c"}
        assert hits_before >= 4


async def test_caller_headers_reach_the_engine_unchanged() -> None:
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, _app):
        await client.post("/v1/completions?foo=bar", **chat("conv-1"))
        seen = next(iter(fakes.values())).requests[0]
        assert seen["headers"]["authorization"] == "Bearer engine-key"
        assert seen["headers"]["x-session-id"] == "conv-1"
        assert seen["path"] == "/v1/completions"


async def test_without_session_the_least_loaded_replica_is_chosen() -> None:
    hold = asyncio.Event()
    async with replicas("a", "b") as fakes, router({"chat": list(fakes)}) as (client, app):
        for replica in fakes.values():
            replica.hold = hold
        pool = app.state.registry.pools["chat"]
        async with client.stream("POST", "/v1/chat/completions", **chat(stream=True)) as first:
            lines = first.aiter_lines()  # keep a reference: a collected iterator closes the stream
            busy = orjson.loads((await anext(lines)).removeprefix("data: "))["replica"]
            for _ in range(3):
                # The busy replica has a stream in flight: every new request goes to the idle one.
                response = await client.post("/v1/chat/completions", **chat())
                assert response.json()["replica"] != busy
                # The router releases a replica just after relaying the last byte; let it finish that.
                await until(lambda: sum(backend.in_flight for backend in pool.backends()) == 1)
            hold.set()


async def test_streams_are_relayed_as_they_arrive() -> None:
    hold = asyncio.Event()
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, _app):
        next(iter(fakes.values())).hold = hold
        async with client.stream("POST", "/v1/chat/completions", **chat("c", stream=True)) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            chunks = response.aiter_raw()
            # The replica has sent its first event and is waiting: the router must not be holding it back.
            first = await asyncio.wait_for(anext(chunks), timeout=2)
            assert b'"replica": "a"' in first
            hold.set()
            rest = b"".join([chunk async for chunk in chunks])
        assert rest.endswith(b"data: [DONE]\n\n")


async def test_connection_refused_moves_to_the_next_replica_and_ejects() -> None:
    async with replicas("a") as fakes:
        dead = "http://127.0.0.1:9"  # discard port: nothing listens there
        live = next(iter(fakes))
        session = session_preferring([dead, live], lambda order: order[0] == dead)
        async with router({"chat": [dead, live]}) as (client, app):
            retried_before = metric(app, "helpline_router_requests_total", model="chat", outcome="retried")
            response = await client.post("/v1/chat/completions", **chat(session))
            assert response.json()["replica"] == "a"
            assert metric(app, "helpline_router_requests_total", model="chat", outcome="retried") == retried_before + 1
            assert metric(app, "helpline_router_backends", model="chat", state="ejected") == 1
            # Ejected at once: the next request goes straight to the live replica.
            assert (await client.post("/v1/chat/completions", **chat(session))).json()["replica"] == "a"
            assert metric(app, "helpline_router_requests_total", model="chat", outcome="retried") == retried_before + 1


async def test_5xx_before_the_body_is_retried_elsewhere_without_ejecting() -> None:
    async with replicas("a", "b") as fakes, router({"chat": list(fakes)}) as (client, app):
        urls = list(fakes)
        failing, healthy = urls
        fakes[failing].fail_with = 503
        session = session_preferring(urls, lambda order: order[0] == failing)
        response = await client.post("/v1/chat/completions", **chat(session))
        assert response.status_code == 200
        assert response.json()["replica"] == fakes[healthy].name
        assert len(fakes[failing].requests) == 1
        assert metric(app, "helpline_router_backends", model="chat", state="ejected") == 0


async def test_client_errors_are_relayed_not_retried() -> None:
    async with replicas("a", "b") as fakes, router({"chat": list(fakes)}) as (client, _app):
        for replica in fakes.values():
            replica.fail_with = 400
        response = await client.post("/v1/chat/completions", **chat("conv-1"))
        assert response.status_code == 400
        assert sum(len(replica.requests) for replica in fakes.values()) == 1


async def test_the_last_5xx_is_relayed_when_every_replica_fails() -> None:
    async with replicas("a", "b") as fakes, router({"chat": list(fakes)}) as (client, app):
        for replica in fakes.values():
            replica.fail_with = 500
        errors_before = metric(app, "helpline_router_requests_total", model="chat", outcome="error")
        response = await client.post("/v1/chat/completions", **chat("conv-1"))
        assert response.status_code == 500
        assert response.json()["error"]["message"] == "boom"
        assert all(len(replica.requests) == 1 for replica in fakes.values())
        assert metric(app, "helpline_router_requests_total", model="chat", outcome="error") == errors_before + 1


@pytest.mark.parametrize(
    "broken",
    [
        pytest.param(b"", id="closed-before-response"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n",
            id="closed-after-headers-before-first-byte",
        ),
    ],
)
async def test_a_replica_dying_before_the_first_byte_is_retried(broken: bytes) -> None:
    async with replicas("a") as fakes, raw_replica(broken) as dying:
        live = next(iter(fakes))
        session = session_preferring([dying.url, live], lambda order: order[0] == dying.url)
        async with router({"chat": [dying.url, live]}) as (client, app):
            response = await client.post("/v1/chat/completions", **chat(session, stream=True))
            assert response.status_code == 200
            assert b'"replica": "a"' in response.content
            assert dying.completions == 1
            assert metric(app, "helpline_router_backends", model="chat", state="ejected") == 1


async def _read_until_broken(client: httpx.AsyncClient, session: str) -> tuple[list[bytes], Exception | None]:
    """The relayed chunks one by one (what arrived before a break is kept) and the error that ended them."""
    received: list[bytes] = []
    try:
        async with client.stream("POST", "/v1/chat/completions", **chat(session, stream=True)) as response:
            async for chunk in response.aiter_raw():
                received.append(chunk)
    except httpx.HTTPError as exc:
        return received, exc
    return received, None


async def test_a_replica_dying_mid_stream_ends_it_with_an_error_event_counted_as_an_error() -> None:
    partial = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b'16\r\ndata: {"text": "he"}\n\n\r\n'
    )
    async with replicas("a") as fakes, raw_replica(partial) as dying:
        live = next(iter(fakes))
        session = session_preferring([dying.url, live], lambda order: order[0] == dying.url)
        async with router({"chat": [dying.url, live]}) as (client, app):
            errors_before = metric(app, "helpline_router_requests_total", model="chat", outcome="error")
            ok_before = metric(app, "helpline_router_requests_total", model="chat", outcome="ok")
            received, broken = await _read_until_broken(client, session)
            body = b"".join(received)
            assert broken is None
            # What was relayed stays relayed, then vLLM's in-band error: no second answer, no silent success.
            assert body.startswith(b'data: {"text": "he"}\n\ndata: {"error":')
            assert body.endswith(b"data: [DONE]\n\n")
            assert dying.completions == 1
            assert next(iter(fakes.values())).requests == []
            assert metric(app, "helpline_router_requests_total", model="chat", outcome="error") == errors_before + 1
            assert metric(app, "helpline_router_requests_total", model="chat", outcome="ok") == ok_before


async def test_a_replica_dying_mid_event_breaks_the_callers_connection() -> None:
    partial = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b'f\r\ndata: {"text": \r\n'
    )
    async with raw_replica(partial) as dying, router({"chat": [dying.url]}) as (client, app):
        errors_before = metric(app, "helpline_router_requests_total", model="chat", outcome="error")
        received, broken = await _read_until_broken(client, "s")
        # Half an event cannot be followed by a well-formed one: the break is passed on as a break.
        assert isinstance(broken, httpx.RemoteProtocolError)
        assert b"".join(received) == b'data: {"text": '
        assert metric(app, "helpline_router_requests_total", model="chat", outcome="error") == errors_before + 1


async def test_an_in_band_error_event_is_counted_as_an_error() -> None:
    failing = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
        b'16\r\ndata: {"text": "he"}\n\n\r\n'
        b'33\r\ndata: {"error": {"message": "boom", "code": 500}}\n\n\r\n'
        b"e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n"
    )
    async with raw_replica(failing) as replica, router({"chat": [replica.url]}) as (client, app):
        errors_before = metric(app, "helpline_router_requests_total", model="chat", outcome="error")
        received, broken = await _read_until_broken(client, "s")
        assert broken is None
        assert b'"boom"' in b"".join(received)
        assert metric(app, "helpline_router_requests_total", model="chat", outcome="error") == errors_before + 1


async def test_a_caller_leaving_before_the_first_byte_frees_the_replica() -> None:
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, app):
        replica = next(iter(fakes.values()))
        replica.stall = asyncio.Event()  # headers sent, first token never comes (a hung engine)
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/v1/chat/completions", **chat("c", stream=True), timeout=httpx.Timeout(5, read=0.3))
        pool = app.state.registry.pools["chat"]
        # The router notices the caller left, stops waiting and closes the replica's connection.
        await until(lambda: replica.abandoned == 1 and pool.backends()[0].in_flight == 0)


async def test_a_caller_leaving_a_stalled_stream_frees_the_replica() -> None:
    """Chat leaves a replica that stalled mid-answer (and continues elsewhere): the replica must stop generating."""
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, app):
        replica = next(iter(fakes.values()))
        replica.hold = asyncio.Event()  # the first chunk, then no token (a stalled engine)
        async with client.stream("POST", "/v1/chat/completions", **chat("c", stream=True)) as response:
            assert b'"replica": "a"' in await anext(response.aiter_raw())
        pool = app.state.registry.pools["chat"]
        await until(lambda: replica.abandoned == 1 and pool.backends()[0].in_flight == 0)
        assert metric(app, "helpline_router_requests_total", model="chat", outcome="cancelled") >= 1


async def test_no_replica_is_a_503_with_retry_after() -> None:
    async with router({"chat": ["http://127.0.0.1:9"]}, max_attempts=1) as (client, app):
        first = await client.post("/v1/chat/completions", **chat("c"))
        assert first.status_code == 502  # tried and failed: the replica is now ejected
        response = await client.post("/v1/chat/completions", **chat("c"))
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert response.json()["error"]["type"] == "ServiceUnavailableError"
        assert metric(app, "helpline_router_requests_total", model="chat", outcome="no_backend") >= 1


async def test_health_checks_eject_and_readmit() -> None:
    async with replicas("a", "b") as fakes:
        urls = list(fakes)
        sick = fakes[urls[0]]
        sick.health_status = 503
        async with router({"chat": urls}, health_check_interval_seconds=0.05, ejected_check_interval_seconds=0.02) as (
            client,
            app,
        ):
            app_registry = app.state.registry
            await until(lambda: app_registry.pools["chat"].is_ejected(urls[0]))
            served = {
                (await client.post("/v1/chat/completions", **chat(f"s-{i}"))).json()["replica"] for i in range(20)
            }
            assert served == {"b"}
            sick.health_status = 200
            await until(lambda: not app_registry.pools["chat"].is_ejected(urls[0]))
            assert metric(app, "helpline_router_backends", model="chat", state="ready") == 2


async def test_requests_route_by_model_and_models_are_listed_together() -> None:
    async with (
        replicas("chat-a", model="chat") as chat_fakes,
        replicas("cls-a", model="classifier") as classifier_fakes,
        router({"chat": list(chat_fakes), "classifier": list(classifier_fakes)}) as (client, _app),
    ):
        response = await client.post("/v1/chat/completions", **chat("c", model="classifier"))
        assert response.json()["replica"] == "cls-a"
        models = (await client.get("/v1/models")).json()
        assert sorted(entry["id"] for entry in models["data"]) == ["chat", "classifier"]
        assert all(entry["max_model_len"] == 4096 for entry in models["data"])
        unauthorized = await client.get("/v1/models", headers={"Authorization": "Bearer wrong"})
        assert unauthorized.status_code == 401


async def test_bad_requests_get_openai_shaped_errors() -> None:
    async with (
        replicas("a") as fakes,
        router({"chat": list(fakes), "other": list(fakes)}, max_body_bytes=2048) as (
            client,
            _app,
        ),
    ):
        unknown = await client.post("/v1/chat/completions", **chat(model="nope"))
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": {
                "message": "The model `nope` does not exist. Valid aliases: chat, other.",
                "type": "NotFoundError",
                "param": "model",
                "code": 404,
            }
        }
        invalid = await client.post("/v1/chat/completions", content=b"{not json")
        assert invalid.status_code == 400
        assert invalid.json()["error"]["type"] == "BadRequestError"
        missing_model = await client.post("/v1/chat/completions", json={"messages": []})
        assert missing_model.status_code == 400
        assert missing_model.json()["error"]["param"] == "model"
        too_big = await client.post("/v1/chat/completions", content=b"x" * 4096)
        assert too_big.status_code == 413
        wrong_method = await client.get("/v1/chat/completions")
        assert wrong_method.status_code == 405
        assert wrong_method.json()["error"]["type"] == "MethodNotAllowedError"


async def test_a_single_model_is_the_default_like_vllm() -> None:
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, _app):
        response = await client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
        assert response.json()["replica"] == "a"


async def test_probes_and_metrics() -> None:
    async with replicas("a") as fakes, router({"chat": list(fakes), "idle-model": list(fakes)}) as (client, _app):
        # Series exist at 0 before any request, so the very first no_backend is a rate KEDA can see.
        before = (await client.get("/metrics")).text
        assert 'helpline_router_requests_total{model="idle-model",outcome="no_backend"} 0.0' in before
        assert 'helpline_router_affinity_total{model="idle-model",result="hit"} 0.0' in before
        assert (await client.get("/healthz")).status_code == 200
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"discovery": "ok"}
        exposition = (await client.get("/metrics")).text
        names = {family.name for family in text_string_to_metric_families(exposition)}
        assert {"helpline_router_requests", "helpline_router_backends", "helpline_router_affinity"} <= names


async def test_a_caller_leaving_while_sending_the_body_is_a_499_not_a_server_error() -> None:
    async with replicas("a") as fakes, router({"chat": list(fakes)}) as (client, app):
        labels = {"service": "router", "method": "POST", "route": "/v1/chat/completions"}
        errors_before = metric(app, "helpline_http_requests_total", **labels, status="500")
        left_before = metric(app, "helpline_http_requests_total", **labels, status="499")
        host, port = str(client.base_url.host), int(client.base_url.port or 80)
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: router\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"model": "chat", "mess'
        )
        await writer.drain()
        writer.close()  # gone with 977 bytes of the body unsent
        await writer.wait_closed()
        del reader
        await until(lambda: metric(app, "helpline_http_requests_total", **labels, status="499") == left_before + 1)
        assert metric(app, "helpline_http_requests_total", **labels, status="500") == errors_before
        assert next(iter(fakes.values())).requests == []
