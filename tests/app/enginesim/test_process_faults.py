"""Faults that end the process, and fault isolation between replicas."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.enginesim.launcher import EngineSimProcess
from app.enginesim.server import CRASH_EXIT_CODE
from tests.app.enginesim.conftest import MODEL
from tests.app.enginesim.support import SERVED
from tests.contract.support import parse_sse

FAST = ["--sim-ttft-ms", "1", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "1"]
STREAM = {"model": SERVED, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 50, "stream": True}


@pytest.fixture(scope="module")
def doomed() -> Iterator[dict[str, EngineSimProcess]]:
    """Processes these tests may kill, started together: one plain, one armed to crash, one started dead."""
    engines = {
        "plain": EngineSimProcess(MODEL, served_model_name=SERVED, args=FAST),
        "crash": EngineSimProcess(MODEL, served_model_name=SERVED, args=[*FAST, "--sim-fault", "crash"]),
        "dead": EngineSimProcess(MODEL, served_model_name=SERVED, args=[*FAST, "--sim-fault", "dead"]),
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


def test_a_dead_engine_from_the_command_line_reports_503(
    http: httpx.Client, doomed: dict[str, EngineSimProcess]
) -> None:
    engine = doomed["dead"]
    assert http.get(f"{engine.base_url}/health").status_code == 503
    engine.clear_faults()
    assert http.get(f"{engine.base_url}/health").status_code == 200


def test_faults_are_per_replica(http: httpx.Client, replicas: tuple[EngineSimProcess, EngineSimProcess]) -> None:
    broken, healthy = replicas
    broken.arm_fault("dead")
    try:
        assert http.get(f"{broken.base_url}/health").status_code == 503
        assert http.get(f"{healthy.base_url}/health").status_code == 200
        body = STREAM | {"stream": False, "max_tokens": 3}
        assert http.post(f"{healthy.v1_url}/chat/completions", json=body).status_code == 200
    finally:
        broken.clear_faults()
