"""Simulator processes for the process-level tests (each start costs about a second: share them)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from app.enginesim.launcher import EngineSimProcess
from tests.app.enginesim.support import SERVED

MODEL = "Qwen/Qwen2.5-7B-Instruct-AWQ"
#: Prefill dominates TTFT (0.5 ms per uncached token), decode is fast: cache effects are unmistakable.
AFFINITY_FLAGS = [
    "--sim-ttft-ms",
    "2",
    "--sim-prefill-ms-per-token",
    "0.5",
    "--sim-itl-ms",
    "1",
    "--sim-itl-ms-per-seq",
    "0",
    "--sim-jitter",
    "0.1",
    "--enable-prompt-tokens-details",
]


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    """One client for the whole session: a new httpx client per call costs ~0.1 s of TLS setup."""
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def replicas() -> Iterator[tuple[EngineSimProcess, EngineSimProcess]]:
    """Two replicas of one model with the same seed, as a Deployment with two pods would run them."""
    first = EngineSimProcess(MODEL, served_model_name=SERVED, seed=7, args=AFFINITY_FLAGS)
    second = EngineSimProcess(MODEL, served_model_name=SERVED, seed=7, args=AFFINITY_FLAGS)
    EngineSimProcess.start_all(first, second)
    yield first, second
    first.stop()
    second.stop()


@pytest.fixture(scope="module")
def two_slot_engine() -> Iterator[EngineSimProcess]:
    """max_num_seqs=2 and 10 ms per token: queueing is visible from outside."""
    flags = ["--sim-ttft-ms", "5", "--sim-prefill-ms-per-token", "0", "--sim-itl-ms", "10", "--sim-itl-ms-per-seq", "0"]
    with EngineSimProcess(MODEL, served_model_name=SERVED, max_num_seqs=2, args=flags) as engine:
        yield engine
        engine.clear_faults()
