"""Faults that end the process, and fault isolation between replicas."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.core.waits import scaled
from app.enginesim.launcher import EngineSimProcess
from app.enginesim.server import CRASH_EXIT_CODE
from tests.app.enginesim.conftest import MODEL
from tests.app.enginesim.support import SERVED
from tests.contract.support import parse_sse

FAST = ["--sim-ttft-ms", "1", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "1"]
STREAM = {"model": SERVED, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 50, "stream": True}


@pytest.fixture(scope="module")
def doomed() -> Iterator[dict[str, EngineSimProcess]]:
    """Processes these tests kill, started together: one plain, one armed to crash, one whose engine core dies."""
    engines = {
        "plain": EngineSimProcess(MODEL, served_model_name=SERVED, args=FAST),
        "crash": EngineSimProcess(MODEL, served_model_name=SERVED, args=[*FAST, "--sim-fault", "crash"]),
        "dying": EngineSimProcess(MODEL, served_model_name=SERVED, args=[*FAST, "--sim-itl-ms", "20"]),
    }
    EngineSimProcess.start_all(*engines.values())
    yield engines
    for engine in engines.values():
        engine.stop()


def test_crash_mid_stream_delivers_n_tokens_then_the_process_dies(
    http: httpx.Client, doomed: dict[str, EngineSimProcess]
) -> None:
    engine = doomed["plain"]
    engine.arm_fault("crash", after_tokens=5)
    received: list[bytes] = []
    with http.stream("POST", f"{engine.v1_url}/chat/completions", json=STREAM) as response:
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            received.extend(response.iter_bytes())
    assert engine.wait_exit(10) == CRASH_EXIT_CODE
    text = b"".join(received).decode()
    assert "[DONE]" not in text
    events = parse_sse(text + "data: [DONE]\n\n")[:-1]
    tokens = [event for event in events if isinstance(event, dict) and "role" not in event["choices"][0]["delta"]]
    assert len(tokens) == 5


def test_crash_armed_on_the_command_line_kills_the_first_request(
    http: httpx.Client, doomed: dict[str, EngineSimProcess]
) -> None:
    engine = doomed["crash"]
    assert http.get(f"{engine.base_url}/health").status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{engine.v1_url}/chat/completions", json=STREAM | {"stream": False})
    assert engine.wait_exit(10) == CRASH_EXIT_CODE


def test_engine_core_death_ends_streams_with_its_error_then_the_server_exits(
    http: httpx.Client, doomed: dict[str, EngineSimProcess]
) -> None:
    """As vLLM 0.32: the stream in flight gets EngineDeadError in band, then the API server shuts down."""
    engine = doomed["dying"]
    lines: list[str] = []
    with http.stream("POST", f"{engine.v1_url}/chat/completions", json=STREAM | {"max_tokens": 500}) as response:
        assert response.status_code == 200
        for line in response.iter_lines():
            lines.append(line)
            if len(lines) == 6:  # the role chunk and two tokens, with their blank lines
                engine.arm_fault("dead")
    events = parse_sse("\n".join(lines) + "\n")
    error = events[-2]
    assert isinstance(error, dict)
    assert error["error"]["code"] == 500
    assert error["error"]["message"].startswith("EngineCore encountered an issue")
    assert engine.wait_exit(scaled(10)) is not None


def test_faults_are_per_replica(http: httpx.Client, replicas: tuple[EngineSimProcess, EngineSimProcess]) -> None:
    broken, healthy = replicas
    broken.arm_fault("error", count=None)
    try:
        body = STREAM | {"stream": False, "max_tokens": 3}
        assert http.post(f"{broken.v1_url}/chat/completions", json=body).status_code == 500
        assert http.post(f"{healthy.v1_url}/chat/completions", json=body).status_code == 200
        assert http.get(f"{broken.base_url}/health").status_code == 200
    finally:
        broken.clear_faults()
