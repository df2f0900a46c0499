"""The running stack for the end-to-end and browser tests: ``make run``'s command, once per test module.

``running_stack`` starts ``python -m app.devrun`` (free ports, its own state directory, the embedded SQLite and
in-memory defaults) and, when the module is done, presses Ctrl-C: the run must exit 0 and leave no process
behind. ``Customer`` is a small client of the public API the tests share (SSE turns, problem checks).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.core.sse import SSEEvent, SSEParser
from app.core.waits import scaled
from app.devrun.launcher import LocalRun, LocalRunError

STOP_SECONDS = 60.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


#: The run's TTFT SLO in these tests. make run seeds a help centre, so a *saturated* level (a slow first token on a
#: loaded test machine) would answer from it without generating, and the tests of streaming, failover and faults
#: would not see the engine at all; the ladder has its own tests.
TEST_TTFT_SLO_SECONDS = 5.0


def running_stack(state_dir: Path, *, env: Mapping[str, str] | None = None) -> Iterator[LocalRun]:
    """A started local run; on exit, Ctrl-C it and check that it stopped cleanly and completely."""
    slo = {"HELPLINE_DEGRADATION_TTFT_SLO_SECONDS": str(scaled(TEST_TTFT_SLO_SECONDS))}
    run = LocalRun(state_dir, args=["--log-level", "INFO"], env={**slo, **(env or {})})
    try:
        run.start()
    except LocalRunError as exc:
        pytest.fail(str(exc))
    try:
        yield run
    finally:
        pids = [int(pid) for pid in run.reload_info()["pids"].values() if pid] if run.run_file.exists() else []
        status = run.stop(grace_seconds=STOP_SECONDS)
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.05)
        leftover = [pid for pid in pids if _alive(pid)]
        assert status == 0, f"Ctrl-C did not stop the run cleanly (status {status}):\n{run.log_tail()}"
        assert not leftover, f"processes left running after Ctrl-C: {leftover}"
        assert "stopped" in run.log_tail(3)
        assert not run.run_file.exists(), "the run file (keys) must not outlive the run"


@dataclass(frozen=True)
class Turn:
    """The SSE events of one streamed customer turn."""

    status: int
    events: list[SSEEvent]

    @property
    def names(self) -> list[str]:
        return [event.event for event in self.events]

    @property
    def text(self) -> str:
        return "".join(event.json()["text"] for event in self.events if event.event == "delta")

    def last(self, name: str) -> dict[str, Any]:
        return next(event.json() for event in reversed(self.events) if event.event == name)


def metric_value(exposition: str, name: str) -> float:
    """The value of a one-series metric in a Prometheus exposition (an engine's counters)."""
    match = re.search(rf"^{re.escape(name)}(?:{{[^}}]*}})? ([0-9.e+]+)$", exposition, re.MULTILINE)
    assert match, f"{name} is not exported"
    return float(match.group(1))


def event_order_ok(names: list[str], ending: str) -> bool:
    """``message``, then ``delta``*, then exactly one ``ending`` (``done`` or ``error``)."""
    return re.fullmatch(rf"message(,delta)*,{ending}", ",".join(names)) is not None


class Customer:
    """A caller of the public API with one credential (an API key or a widget token)."""

    def __init__(self, http: httpx.AsyncClient, credential: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {credential}"}

    async def call(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        response = await self.http.request(
            method, path, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
        )
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    async def new_conversation(self) -> str:
        return str((await self.call("POST", "/v1/conversations", json={}, expect=201))["id"])

    async def stream_turn(self, conversation_id: str, content: str) -> Turn:
        """Post a message with ``Accept: text/event-stream`` and read every event until the stream ends (a silence
        longer than the client's read timeout fails the test: a stream must never hang)."""
        parser = SSEParser()
        events: list[SSEEvent] = []
        async with self.http.stream(
            "POST",
            f"/v1/conversations/{conversation_id}/messages",
            json={"content": content},
            headers={**self.headers, "Accept": "text/event-stream"},
        ) as response:
            async for chunk in response.aiter_raw():
                events.extend(parser.feed(chunk))
        return Turn(response.status_code, events)

    async def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        return (await self.call("GET", f"/v1/conversations/{conversation_id}/messages?limit=100"))["items"]
