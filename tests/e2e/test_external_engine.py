"""``VLLM_BASE_URL``: the local run without simulators, the router in static mode pointed at one vLLM.

The vLLM here is the simulator started on its own (it answers as vLLM does), serving one model under a name of
its own with an API key: the run must find the model, pass the key, and answer through it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from app.devrun.launcher import LocalRun
from app.enginesim.launcher import EngineSimProcess
from tests.e2e.stack import Customer, event_order_ok, metric_value, running_stack

pytestmark = pytest.mark.e2e

API_KEY = "vllm-key-for-this-test"


@pytest.fixture(scope="module")
def vllm() -> Iterator[EngineSimProcess]:
    with EngineSimProcess(served_model_name="qwen-local", api_key=API_KEY, max_model_len=16384) as engine:
        yield engine


@pytest.fixture(scope="module")
def local_run(tmp_path_factory: pytest.TempPathFactory, vllm: EngineSimProcess) -> Iterator[LocalRun]:
    env = {"VLLM_BASE_URL": vllm.v1_url, "VLLM_API_KEY": API_KEY}
    yield from running_stack(tmp_path_factory.mktemp("external-engine"), env=env)


@pytest.fixture
async def http(local_run: LocalRun) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=local_run.info.gateway_url, timeout=30) as client:
        yield client


async def test_the_run_answers_through_the_given_vllm(
    http: httpx.AsyncClient, local_run: LocalRun, vllm: EngineSimProcess
) -> None:
    info = local_run.info
    # No chat or classifier simulator of its own; the help centre's embedding model stays simulated (the given
    # vLLM serves a generative model, not a pooling one), so knowledge and its embedding engine run as always.
    assert set(info["urls"]) == {"router", "auth", "sessions", "chat", "gateway", "knowledge", "embedding-engine"}
    assert info["models"] == {"chat": "qwen-local", "classifier": "qwen-local", "max_model_len": 16384}
    customer = Customer(http, info.api_key)
    conversation = await customer.new_conversation()
    before = metric_value(vllm.metrics_text(), "vllm:generation_tokens_total")
    turn = await customer.stream_turn(conversation, "Hello, can you help me with my order?")
    assert event_order_ok(turn.names, "done"), turn.names
    assert turn.text
    assert metric_value(vllm.metrics_text(), "vllm:generation_tokens_total") > before  # it answered
    models = await http.get(f"{info.url('router')}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
    assert models.status_code == 200, models.text
    # the given vLLM's model, and the help centre's embedding model behind the same router (and the same key)
    assert {card["id"] for card in models.json()["data"]} == {"qwen-local", "helpline-embedding"}


def test_a_wrong_key_is_refused_before_anything_starts(vllm: EngineSimProcess) -> None:
    env = {**os.environ, "VLLM_BASE_URL": vllm.base_url, "VLLM_API_KEY": "wrong"}
    result = subprocess.run(
        [sys.executable, "-m", "app.devrun", "--port-offset", "20000"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "VLLM_BASE_URL" in result.stderr
    assert "set VLLM_API_KEY" in result.stderr
