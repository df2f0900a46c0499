"""The scheduler in-process: FIFO queue under max_num_seqs, KV-cache pressure, prefix hits, aborts, faults."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import pytest

from app.enginesim.answers import EOS, Completion
from app.enginesim.config import LatencyModel, SimConfig
from app.enginesim.engine import Engine, Outcome, jittered
from app.enginesim.engine import Sequence as EngineSequence
from app.enginesim.faults import RequestFaults
from app.enginesim.metrics import EngineMetrics

FAST = LatencyModel(ttft_base=0.001, prefill_per_token=0.0, itl_base=0.002, itl_per_running_seq=0.0, jitter=0.0)


def make_engine(**overrides: object) -> Engine:
    settings: dict = {"model": "m", "served_model_names": ("m",), "latency": FAST} | overrides
    config = SimConfig(**settings)
    return Engine(config, EngineMetrics(model_name="m", max_model_len=config.max_model_len))


def make_seq(name: str, *, prompt: int = 8, output: int = 5, faults: RequestFaults | None = None) -> EngineSequence:
    tokens = [f"{name}-o{i}" for i in range(output - 1)] + [EOS]
    return EngineSequence(
        request_id=name,
        prompt_tokens=[f"{name}-p{i}" if i >= 4 else f"shared{i}" for i in range(prompt)],
        completion=Completion(tokens=tokens, finish_reason="stop"),
        faults=faults or RequestFaults(),
    )


async def finished(seq: EngineSequence) -> Outcome:
    async with asyncio.timeout(5):
        while seq.outcome is None:
            await seq.progress.wait()
            seq.progress.clear()
        return seq.outcome


@pytest.fixture
async def running_engines() -> AsyncIterator[list[Engine]]:
    engines: list[Engine] = []
    yield engines
    for engine in engines:
        await engine.stop()


def start(engines: list[Engine], engine: Engine) -> Engine:
    engine.start()
    engines.append(engine)
    return engine


def sample(engine: Engine, name: str, **labels: str) -> float:
    """A series' value as /metrics would show it."""
    found = engine.metrics.registry.get_sample_value(name, {"model_name": "m", "engine": "0", **labels})
    assert found is not None, name
    return found


async def settle() -> None:
    """Let the scheduler task run its admission pass (task switches only, no wall-clock wait)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_max_num_seqs_queues_fifo(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine(max_num_seqs=2))
    seqs = [make_seq(f"r{i}", output=100) for i in range(5)]
    for seq in seqs:
        engine.submit(seq)
    await settle()
    assert len(engine.running) == 2
    assert len(engine.waiting) == 3
    assert [seq.request_id for seq in engine.waiting] == ["r2", "r3", "r4"]
    for seq in seqs:
        assert await finished(seq) is Outcome.FINISHED
    started = sorted(seqs, key=lambda seq: seq.first_scheduled_at or 0)
    assert [seq.request_id for seq in started] == ["r0", "r1", "r2", "r3", "r4"]
    first_done = min(seq.last_token_at or 0 for seq in seqs[:2])
    assert (seqs[2].first_scheduled_at or 0) >= first_done, "a third sequence waits for a free slot"
    assert all(seq.emitted == 100 for seq in seqs)
    assert engine.running == []
    assert engine.pool.usage == 0.0


async def test_kv_pressure_preempts_the_newest_and_everything_still_completes(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine(block_size=4, kv_cache_blocks=8, max_model_len=32))
    seqs = [make_seq(f"r{i}", prompt=6, output=20) for i in range(3)]
    for seq in seqs:
        engine.submit(seq)
    outcomes = [await finished(seq) for seq in seqs]
    assert outcomes == [Outcome.FINISHED] * 3
    assert all(seq.emitted == 20 for seq in seqs)
    assert sample(engine, "vllm:num_preemptions_total") > 0
    assert engine.pool.usage == 0.0


async def test_same_prefix_hits_the_cache_and_skips_prefill(running_engines: list[Engine]) -> None:
    slow_prefill = LatencyModel(ttft_base=0.0, prefill_per_token=0.002, itl_base=0.001, itl_per_running_seq=0, jitter=0)
    engine = start(running_engines, make_engine(latency=slow_prefill))
    first = make_seq("a", prompt=100, output=3)
    engine.submit(first)
    await finished(first)
    second = make_seq("a", prompt=100, output=3)
    engine.submit(second)
    await finished(second)
    assert first.cached_tokens == 0
    assert second.cached_tokens == 96, "six full blocks of 16; the last partial block is recomputed"
    assert sample(engine, "vllm:prefix_cache_hits_total") == 96
    assert sample(engine, "vllm:prefix_cache_queries_total") == 200
    ttft = [(seq.first_token_at or 0) - seq.arrival for seq in (first, second)]
    assert ttft[1] < ttft[0] / 3


async def test_prefix_caching_off_never_hits(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine(enable_prefix_caching=False))
    for _ in range(2):
        seq = make_seq("a", prompt=64, output=2)
        engine.submit(seq)
        await finished(seq)
        assert seq.cached_tokens == 0
    assert sample(engine, "vllm:prefix_cache_queries_total") == 0


async def test_generated_blocks_are_cached_for_the_next_turn(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine())
    first = make_seq("c", prompt=20, output=30)
    engine.submit(first)
    await finished(first)
    follow_up = EngineSequence(
        request_id="c2",
        prompt_tokens=[*first.prompt_tokens, *first.completion.tokens, "next", "question"],
        completion=Completion(tokens=[EOS], finish_reason="stop"),
    )
    engine.submit(follow_up)
    await finished(follow_up)
    assert follow_up.cached_tokens == 48, "the 50 tokens of turn one fill three cached blocks"


async def test_abort_frees_slot_and_blocks(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine(max_num_seqs=1))
    hung = make_seq("hung", faults=RequestFaults(terminal="hang"))
    queued = make_seq("queued")
    engine.submit(hung)
    engine.submit(queued)
    await settle()
    assert hung.emitted == 0
    assert engine.running == [hung]
    assert list(engine.waiting) == [queued]
    assert engine.pool.usage > 0
    engine.abort(queued)
    engine.abort(hung)
    assert hung.outcome is Outcome.ABORTED
    assert queued.outcome is Outcome.ABORTED
    assert engine.pool.usage == 0.0
    assert sample(engine, "vllm:request_success_total", finished_reason="abort") == 2


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        (RequestFaults(terminal="error", after_tokens=4), Outcome.ERROR),
        (RequestFaults(terminal="crash", after_tokens=4), Outcome.CRASH),
    ],
)
async def test_terminal_faults_stop_after_n_tokens(
    running_engines: list[Engine], faults: RequestFaults, outcome: Outcome
) -> None:
    engine = start(running_engines, make_engine())
    seq = make_seq("f", output=10, faults=faults)
    engine.submit(seq)
    assert await finished(seq) is outcome
    assert seq.emitted == 4


async def test_error_before_the_first_token(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine())
    seq = make_seq("f", faults=RequestFaults(terminal="error", after_tokens=0))
    engine.submit(seq)
    assert await finished(seq) is Outcome.ERROR
    assert seq.emitted == 0


async def test_slow_fault_multiplies_latency(running_engines: list[Engine]) -> None:
    latency = LatencyModel(ttft_base=0.02, prefill_per_token=0, itl_base=0.01, itl_per_running_seq=0, jitter=0)
    engine = start(running_engines, make_engine(latency=latency))
    normal, slow = make_seq("n", output=5), make_seq("s", output=5, faults=RequestFaults(slow_factor=10))
    for seq in (normal, slow):
        engine.submit(seq)
    await finished(normal)
    await finished(slow)
    durations = [(seq.last_token_at or 0) - seq.arrival for seq in (normal, slow)]
    assert durations[1] > 3 * durations[0]


async def test_metrics_match_what_happened(running_engines: list[Engine]) -> None:
    engine = start(running_engines, make_engine())
    seqs = [make_seq(f"m{i}", prompt=10 + i, output=3 + i) for i in range(4)]
    for seq in seqs:
        engine.submit(seq)
    for seq in seqs:
        await finished(seq)
    assert sample(engine, "vllm:prompt_tokens_total") == sum(seq.num_prompt_tokens for seq in seqs)
    assert sample(engine, "vllm:generation_tokens_total") == sum(seq.emitted for seq in seqs)
    assert sample(engine, "vllm:request_success_total", finished_reason="stop") == 4
    assert sample(engine, "vllm:time_to_first_token_seconds_count") == 4
    assert sample(engine, "vllm:inter_token_latency_seconds_count") == sum(seq.emitted - 1 for seq in seqs)
    assert sample(engine, "vllm:e2e_request_latency_seconds_count") == 4
    assert sample(engine, "vllm:request_generation_tokens_sum") == sum(seq.emitted for seq in seqs)


def test_sequences_report_their_tokens() -> None:
    seq = make_seq("t", prompt=3, output=2)
    seq.emitted = 1
    assert seq.num_tokens == 4
    assert [seq.token(i) for i in range(4)] == ["shared0", "shared1", "shared2", "t-o0"]


async def test_a_failing_scheduler_kills_the_engine(
    running_engines: list[Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = start(running_engines, make_engine())

    def broken(_seq: EngineSequence, _now: float) -> int:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(engine, "_emit", broken)
    seq = make_seq("victim")
    engine.submit(seq)
    assert await finished(seq) is Outcome.ERROR
    assert engine.failure == "RuntimeError: simulated bug"
    with pytest.raises(RuntimeError, match="engine is dead"):
        engine.submit(make_seq("late"))


def test_jitter_stays_in_its_band_and_averages_out() -> None:
    rng = random.Random(1)
    draws = [jittered(0.02, rng, 0.25) for _ in range(2000)]
    assert min(draws) >= 0.015
    assert max(draws) <= 0.025
    assert sum(draws) / len(draws) == pytest.approx(0.02, rel=0.02)
    assert jittered(0.02, rng, 0.0) == 0.02


async def test_latency_draws_are_fixed_by_the_seed_and_arrival_order() -> None:
    def draws(seed: int) -> list[float]:
        engine = make_engine(seed=seed)
        sequences = [make_seq(f"r{i}") for i in range(3)]
        for seq in sequences:
            engine.submit(seq)
        return [seq.rng.random() for seq in sequences]

    assert draws(7) == draws(7)
    assert draws(7) != draws(8)
    assert len(set(draws(7))) == 3, "each request draws from its own stream"
