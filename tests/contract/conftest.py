"""The vLLM contract suite: every behaviour the simulator promises, checked over HTTP on two engines at once.

Each test runs against ``simulator`` (an enginesim process) and ``vllm`` (the session's real vLLM server, the
``real_vllm`` fixture: the CPU build of the release we pin, serving the tiny model; see tests/support). Where
they disagree, the real engine is right. Tests marked ``simulator_only`` (fault injection, the simulator's
deterministic text) run on the simulator alone.

Point the ``vllm`` side at a server started elsewhere (another model, a GPU box) instead of starting one:

    VLLM_CONTRACT_BASE_URL=http://gpu-box:8000 VLLM_CONTRACT_API_KEY=... VLLM_CONTRACT_MODEL=helpline-chat \\
        .venv/bin/python -m pytest tests/contract
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.enginesim.launcher import EngineSimProcess
from tests.contract.support import Target
from tests.support.vllm_fixtures import RealVllm

API_KEY = "contract-key"
SERVED_MODEL = "helpline-chat"
#: Small latencies keep the suite fast; the model behind them is tested in tests/app/enginesim.
FAST_FLAGS = ["--sim-ttft-ms", "2", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "1", "--sim-jitter", "0"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "simulator_only: needs the simulator (fault injection, deterministic text)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that takes ``target`` runs on both engines, unless it is simulator-only."""
    if "target" not in metafunc.fixturenames:
        return
    simulator_only = metafunc.definition.get_closest_marker("simulator_only") is not None
    engines = [pytest.param("simulator")]
    if not simulator_only:
        engines.append(pytest.param("vllm", marks=pytest.mark.uses_real_vllm))
    metafunc.parametrize("target", engines, indirect=True, scope="session")


@pytest.fixture(scope="session")
def simulator_target() -> Iterator[Target]:
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


@pytest.fixture(scope="session")
def vllm_target(real_vllm: RealVllm) -> Iterator[Target]:
    real = Target(real_vllm.base_url, real_vllm.api_key, real_vllm.model)
    yield real
    real.close()


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Target:
    """The engine under test (parametrized by ``pytest_generate_tests``)."""
    return request.getfixturevalue(f"{request.param}_target")


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
