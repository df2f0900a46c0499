"""The vLLM contract suite: every behaviour the simulator promises, checked over HTTP.

By default it starts a simulator process. Point it at a real vLLM to check the simulator's reference:

    VLLM_CONTRACT_BASE_URL=http://gpu-box:8000 VLLM_CONTRACT_API_KEY=... VLLM_CONTRACT_MODEL=helpline-chat \\
        .venv/bin/python -m pytest tests/contract

Tests marked ``simulator_only`` (fault injection, the simulator's deterministic text) are skipped there.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from app.enginesim.launcher import EngineSimProcess
from tests.contract.support import Target

BASE_URL_ENV = "VLLM_CONTRACT_BASE_URL"
API_KEY = "contract-key"
SERVED_MODEL = "helpline-chat"
#: Small latencies keep the suite fast; the model behind them is tested in tests/app/enginesim.
FAST_FLAGS = ["--sim-ttft-ms", "2", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "1", "--sim-jitter", "0"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulator_only: needs the simulator (fault injection, deterministic text)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not os.environ.get(BASE_URL_ENV):
        return
    skip = pytest.mark.skip(reason=f"simulator-only check; {BASE_URL_ENV} points at a real vLLM")
    for item in items:
        if "simulator_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    base_url = os.environ.get(BASE_URL_ENV)
    if base_url:
        api_key = os.environ.get("VLLM_CONTRACT_API_KEY")
        model = os.environ.get("VLLM_CONTRACT_MODEL")
        if model is None:
            headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
            model = httpx.get(f"{base_url.rstrip('/')}/v1/models", headers=headers).json()["data"][0]["id"]
        real = Target(base_url.rstrip("/"), api_key, model)
        yield real
        real.close()
        return
    with EngineSimProcess(
        "Qwen/Qwen2.5-7B-Instruct-AWQ",
        served_model_name=SERVED_MODEL,
        api_key=API_KEY,
        max_model_len=2048,
        args=FAST_FLAGS,
    ) as simulator:
        sim = Target(simulator.base_url, API_KEY, SERVED_MODEL, simulator)
        yield sim
        sim.close()


@pytest.fixture
def simulator(target: Target) -> Iterator[EngineSimProcess]:
    """The simulator behind the target, with its faults cleared after the test."""
    if target.simulator is None:
        pytest.skip("needs the simulator")
    yield target.simulator
    target.simulator.clear_faults()


@pytest.fixture(scope="session")
def max_model_len(target: Target) -> int:
    cards = target.get("/v1/models", headers=target.auth()).json()["data"]
    return next(card["max_model_len"] for card in cards if card["id"] == target.model)
