"""Queueing and the per-request faults that do not kill the process, seen from outside (HTTP and /metrics)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from app.enginesim.launcher import EngineSimProcess
from tests.app.enginesim.support import SERVED, metric

BODY = {"model": SERVED, "messages": [{"role": "user", "content": "hello"}], "max_tokens": 10, "ignore_eos": True}


async def test_max_num_seqs_queues_the_rest_fifo(two_slot_engine: EngineSimProcess) -> None:
    engine = two_slot_engine
    queued_before = metric(engine, "vllm:request_queue_time_seconds_count")
    waited_before = metric(engine, "vllm:request_queue_time_seconds_sum")
    seen: set[tuple[float, float]] = set()
    async with httpx.AsyncClient(base_url=engine.v1_url) as client:
        requests = [asyncio.create_task(client.post("/chat/completions", json=BODY)) for _ in range(6)]
        while not all(request.done() for request in requests):
            running = metric(engine, "vllm:num_requests_running")
            waiting = metric(engine, "vllm:num_requests_waiting")
            assert running <= 2
            seen.add((running, waiting))
            await asyncio.sleep(0.01)
        responses = await asyncio.gather(*requests)
    assert all(response.status_code == 200 for response in responses)
    assert any(running == 2 and waiting >= 1 for running, waiting in seen), f"no queue seen: {sorted(seen)}"
    assert metric(engine, "vllm:num_requests_waiting") == 0
    assert metric(engine, "vllm:num_requests_running") == 0
    assert metric(engine, "vllm:request_queue_time_seconds_count") - queued_before == 6
    # Two slots, six requests of ~0.1 s: two wait one turn and two wait two turns (more if the machine is busy).
    assert metric(engine, "vllm:request_queue_time_seconds_sum") - waited_before >= 0.3


def test_hang_holds_a_slot_until_the_client_gives_up(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    engine = two_slot_engine
    engine.arm_fault("hang")
    with (
        httpx.Client(timeout=httpx.Timeout(5, read=0.5)) as client,
        client.stream("POST", f"{engine.v1_url}/chat/completions", json=BODY | {"stream": True}) as response,
    ):
        assert response.status_code == 200, "accepted: headers are sent, tokens never come"
        assert metric(engine, "vllm:num_requests_running") == 1
        with pytest.raises(httpx.ReadTimeout):
            response.read()
    deadline = time.monotonic() + 5
    while metric(engine, "vllm:num_requests_running") != 0:
        assert time.monotonic() < deadline, "the hung request was never aborted"
        time.sleep(0.02)
    assert http.post(f"{engine.v1_url}/chat/completions", json=BODY).status_code == 200


def test_slow_multiplies_latency(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    engine = two_slot_engine

    def duration() -> float:
        """End-to-end latency as the engine measured it (client timing would add client noise)."""
        before = metric(engine, "vllm:e2e_request_latency_seconds_sum")
        assert http.post(f"{engine.v1_url}/chat/completions", json=BODY).status_code == 200
        return metric(engine, "vllm:e2e_request_latency_seconds_sum") - before

    normal = duration()
    engine.arm_fault("slow", factor=8)
    slow = duration()
    # Wide margins: on a loaded CI machine scheduling noise adds tens of milliseconds to any request.
    assert slow > 3 * normal
    assert duration() < slow / 2, "the fault applied to one request only"


def test_error_fault_on_a_non_streamed_request_is_a_500(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    engine = two_slot_engine
    engine.arm_fault("error", after_tokens=2)
    response = http.post(f"{engine.v1_url}/chat/completions", json=BODY)
    assert response.status_code == 500
    assert response.json() == {
        "error": {"message": "Internal server error", "type": "InternalServerError", "param": None, "code": 500}
    }


def test_faults_persist_for_count_requests_and_clear(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    engine = two_slot_engine
    state = engine.arm_fault("error", count=2)
    assert state["pending"] == [{"kind": "error", "after_tokens": 0, "factor": 1.0, "count": 2}]
    statuses = [http.post(f"{engine.v1_url}/chat/completions", json=BODY).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    engine.arm_fault("error", count=None)
    engine.clear_faults()
    assert engine.faults() == {"dead": False, "pending": []}
    assert http.post(f"{engine.v1_url}/chat/completions", json=BODY).status_code == 200


def test_control_api_needs_the_token(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    url = f"{two_slot_engine.base_url}/sim/faults"
    assert http.get(url).status_code == 401
    assert http.post(url, json={"kind": "crash"}, headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert two_slot_engine.faults() == {"dead": False, "pending": []}


def test_control_api_validates_faults(http: httpx.Client, two_slot_engine: EngineSimProcess) -> None:
    headers = {"Authorization": f"Bearer {two_slot_engine.control_token}"}
    url = f"{two_slot_engine.base_url}/sim/faults"
    for bad in (
        {"kind": "explode"},
        {"kind": "slow", "factor": 0},
        {"kind": "crash", "after": 1},
        {"kind": "error", "count": 0},
    ):
        response = http.post(url, json=bad, headers=headers)
        assert response.status_code == 400, bad
        assert response.json()["error"]["code"] == 400
