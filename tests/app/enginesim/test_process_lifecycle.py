"""Counters that match the traffic, and a SIGTERM that lets in-flight streams finish."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any

import httpx
import psutil

from app.enginesim.launcher import ROOT, EngineSimProcess
from tests.app.enginesim.conftest import MODEL
from tests.app.enginesim.support import SERVED, metric
from tests.contract.support import chunks, parse_sse

COUNTERS = (
    "vllm:prompt_tokens_total",
    "vllm:generation_tokens_total",
    "vllm:e2e_request_latency_seconds_count",
    "vllm:time_to_first_token_seconds_count",
    "vllm:request_prompt_tokens_sum",
    "vllm:request_generation_tokens_sum",
)


def test_counters_match_the_requests_made(
    http: httpx.Client, replicas: tuple[EngineSimProcess, EngineSimProcess]
) -> None:
    engine = replicas[1]
    finished = {
        reason: metric(engine, "vllm:request_success_total", finished_reason=reason) for reason in ("stop", "length")
    }
    before = {name: metric(engine, name) for name in COUNTERS}
    usages: list[dict[str, Any]] = []
    reasons: list[str] = []
    requests: list[dict[str, Any]] = [
        {"messages": [{"role": "user", "content": "Hi, I forgot my password"}]},
        {"messages": [{"role": "user", "content": "Refund please"}], "max_tokens": 5},
        {
            "messages": [{"role": "user", "content": "Where is my parcel?"}],
            "stream": True,
            "stream_options": {"include_usage": True},
        },
        {
            "messages": [{"role": "user", "content": "Cancel"}],
            "max_tokens": 3,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    ]
    for request in requests:
        body = {"model": SERVED, **request}
        if body.get("stream"):
            with http.stream("POST", f"{engine.v1_url}/chat/completions", json=body) as response:
                data = list(chunks(parse_sse(response.read().decode())))
            usages.append(data[-1]["usage"])
            reasons.append(data[-2]["choices"][0]["finish_reason"])
        else:
            result = http.post(f"{engine.v1_url}/chat/completions", json=body).json()
            usages.append(result["usage"])
            reasons.append(result["choices"][0]["finish_reason"])
    delta = {name: metric(engine, name) - before[name] for name in COUNTERS}
    prompt = sum(usage["prompt_tokens"] for usage in usages)
    generated = sum(usage["completion_tokens"] for usage in usages)
    assert delta["vllm:prompt_tokens_total"] == prompt
    assert delta["vllm:request_prompt_tokens_sum"] == prompt
    assert delta["vllm:generation_tokens_total"] == generated
    assert delta["vllm:request_generation_tokens_sum"] == generated
    assert delta["vllm:e2e_request_latency_seconds_count"] == len(requests)
    assert delta["vllm:time_to_first_token_seconds_count"] == len(requests)
    assert reasons.count("stop") == 2
    assert reasons.count("length") == 2
    for reason in ("stop", "length"):
        assert metric(engine, "vllm:request_success_total", finished_reason=reason) - finished[reason] == 2


def test_sigterm_lets_in_flight_streams_finish(http: httpx.Client) -> None:
    flags = ["--sim-ttft-ms", "1", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "20", "--sim-jitter", "0"]
    engine = EngineSimProcess(MODEL, served_model_name=SERVED, args=flags).start()
    try:
        body = {
            "model": SERVED,
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 25,
            "ignore_eos": True,
            "stream": True,
        }
        with http.stream("POST", f"{engine.v1_url}/chat/completions", json=body) as response:
            stream = response.iter_bytes()
            received = [next(stream)]
            os.kill(engine.pid, signal.SIGTERM)
            received.extend(stream)
        events = parse_sse(b"".join(received).decode())
        assert events[-1] == "[DONE]"
        assert sum(1 for _ in chunks(events)) == 1 + 25
        # uvicorn re-raises the signal once its graceful shutdown is done, as vLLM's server does (exit 143).
        assert engine.wait_exit(10) == -signal.SIGTERM
    finally:
        engine.stop()


def test_a_simulator_outlives_no_killed_launcher() -> None:
    """A test run killed mid-way must not leave engines running: they follow their launcher out."""
    script = (
        "import os\n"
        "from app.enginesim.launcher import EngineSimProcess\n"
        "print(EngineSimProcess().start().pid, flush=True)\n"
        "os._exit(0)\n"
    )
    launcher = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    orphan = psutil.Process(int(launcher.stdout.strip()))
    orphan.wait(timeout=10)  # raises psutil.TimeoutExpired if the engine is still running
    assert not orphan.is_running()


def test_an_api_key_that_begins_with_a_dash_is_taken_as_the_key() -> None:
    key = "-starts-with-a-dash"  # secrets.token_urlsafe draws these one time in 64
    with (
        EngineSimProcess(served_model_name=SERVED, api_key=key) as engine,
        httpx.Client(base_url=engine.v1_url) as client,
    ):
        assert client.get("/models", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        assert client.get("/models", headers={"Authorization": "Bearer other"}).status_code == 401
