"""The simulated engine core: one scheduler loop for every request, like vLLM's continuous batching.

Each pass of the loop (a *step*):

1. admits waiting sequences first-come first-served while fewer than ``max_num_seqs`` run and the KV cache
   has room for the uncached part of the prompt (a head that does not fit blocks the queue, as in vLLM);
   an admitted sequence's first token is due after ``ttft_base + prefill_per_token x uncached tokens``;
2. emits one token for every running sequence that is due (within ``STEP_QUANTUM``, so sequences that are due
   together come out together); each token may need a new KV block - when none is free the most recently
   admitted sequence is preempted back to the head of the queue (vLLM's recompute preemption);
3. admits again into the slots and blocks this step freed;
4. sleeps until the next token is due or a request arrives.

Per-token work is an index increment, an ``Event.set`` and a few metric updates: the HTTP layer turns tokens
into bytes with pre-serialised templates. The loop never blocks on a client.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import math
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from app.enginesim.answers import Completion
from app.enginesim.config import SimConfig
from app.enginesim.faults import NO_FAULTS, RequestFaults
from app.enginesim.metrics import EngineMetrics
from app.enginesim.prefix_cache import BlockHash, BlockPool, chain_block_hashes

log = logging.getLogger(__name__)

#: Sequences due within this many seconds of each other are stepped in the same pass (bounds wake-ups per second).
STEP_QUANTUM = 0.002


class Outcome(enum.Enum):
    FINISHED = "finished"
    ABORTED = "aborted"
    ERROR = "error"
    CRASH = "crash"


@dataclass(eq=False)
class Sequence:
    """One request inside the engine: its planned tokens and how far it has got."""

    request_id: str
    prompt_tokens: list[str]
    completion: Completion
    faults: RequestFaults = NO_FAULTS
    #: Hashes of the full blocks of prompt + emitted tokens, extended as blocks fill.
    block_hashes: list[BlockHash] = field(default_factory=list)
    emitted: int = 0
    outcome: Outcome | None = None
    arrival: float = 0.0
    first_scheduled_at: float | None = None
    first_token_at: float | None = None
    last_token_at: float | None = None
    #: Prompt tokens served from the prefix cache at the first admission (usage.prompt_tokens_details).
    cached_tokens: int = 0
    due: float = math.inf
    blocks: list[int] = field(default_factory=list)
    rng: random.Random = field(default_factory=random.Random)
    #: Set whenever tokens are emitted or the outcome is decided; the HTTP layer waits on it.
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def num_tokens(self) -> int:
        return len(self.prompt_tokens) + self.emitted

    @property
    def num_prompt_tokens(self) -> int:
        return len(self.prompt_tokens)

    def token(self, index: int) -> str:
        """Token ``index`` of prompt + output."""
        prompt_len = len(self.prompt_tokens)
        return self.prompt_tokens[index] if index < prompt_len else self.completion.tokens[index - prompt_len]


class Engine:
    """Schedules sequences and emits their tokens on time; owns the KV cache and the vLLM metrics."""

    def __init__(
        self, config: SimConfig, metrics: EngineMetrics, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.pool = BlockPool(config.kv_cache_blocks, enable_caching=config.enable_prefix_caching)
        self.waiting: deque[Sequence] = deque()
        self.running: list[Sequence] = []
        #: Why the engine died, if it did (the loop raised, or a ``dead`` fault): /health answers 503 from then on.
        self.failure: str | None = None
        #: Called once the engine has died (the server then exits, as vLLM 0.32's does).
        self.on_death: Callable[[str], None] | None = None
        self._clock = clock
        self._arrivals = 0
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        metrics.track_state(
            running=lambda: len(self.running),
            waiting=lambda: len(self.waiting),
            kv_cache_usage=lambda: self.pool.usage,
        )

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="enginesim-scheduler")

    async def stop(self) -> None:
        """Stop stepping; sequences still inside are aborted so their waiters return."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for seq in [*self.running, *self.waiting]:
            self.abort(seq)

    # --- requests --------------------------------------------------------------------------------------------
    def submit(self, seq: Sequence) -> None:
        """Queue a sequence; its ``progress`` event fires as tokens come out."""
        if self.failure is not None:
            raise RuntimeError(f"engine is dead: {self.failure}")
        seq.arrival = self._clock()
        # Simulation, not security: a seeded PRNG is the point (reproducible jitter).
        seq.rng = random.Random(f"{self.config.seed}|latency|{self._arrivals}")  # noqa: S311
        self._arrivals += 1
        seq.block_hashes = chain_block_hashes(seq.prompt_tokens, self.config.block_size)
        self.waiting.append(seq)
        self._wakeup.set()

    def abort(self, seq: Sequence) -> None:
        """The client went away (or the engine stops): free the sequence's slot and blocks."""
        if seq.outcome is not None:
            return
        if seq in self.waiting:
            self.waiting.remove(seq)
            self._record_finish(seq, Outcome.ABORTED, self._clock())
        elif seq in self.running:
            self._finish(seq, Outcome.ABORTED, self._clock())
        self._wakeup.set()

    # --- the loop --------------------------------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                now = self._clock()
                self._admit(now)
                self._step(now)
                self._admit(now)  # slots and blocks freed by this step go to the queue now, not next wake-up
                wake_at = self._next_due()
                if wake_at is None:
                    await self._wakeup.wait()
                else:
                    delay = wake_at - self._clock()
                    if delay > 0:
                        timer = loop.call_later(delay, self._wakeup.set)
                        await self._wakeup.wait()
                        timer.cancel()
                    else:
                        await asyncio.sleep(0)
                self._wakeup.clear()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("enginesim scheduler failed; the engine is dead")
            self.die(f"{type(exc).__name__}: {exc}")

    def die(self, reason: str) -> None:
        """The engine core is gone: every sequence inside fails, and nothing new is accepted."""
        self.failure = reason
        now = self._clock()
        for seq in list(self.running):
            self._finish(seq, Outcome.ERROR, now)
        while self.waiting:
            self._record_finish(self.waiting.popleft(), Outcome.ERROR, now)
        if self.on_death is not None:
            self.on_death(reason)

    def _next_due(self) -> float | None:
        due = min((seq.due for seq in self.running), default=math.inf)
        return None if math.isinf(due) else due

    def _admit(self, now: float) -> None:
        while self.waiting and len(self.running) < self.config.max_num_seqs:
            seq = self.waiting[0]
            uncached = self._allocate(seq)
            if uncached is None:
                return
            self.waiting.popleft()
            self.running.append(seq)
            if seq.first_scheduled_at is None:
                seq.first_scheduled_at = now
            if seq.faults.terminal in ("crash", "error") and seq.faults.after_tokens == 0:
                self._finish(seq, Outcome.CRASH if seq.faults.terminal == "crash" else Outcome.ERROR, now)
            elif seq.faults.terminal == "hang" and seq.faults.after_tokens == 0:
                seq.due = math.inf
            else:
                latency = self.config.latency
                seq.due = now + self._scaled(seq, latency.ttft_base + latency.prefill_per_token * uncached)

    def _allocate(self, seq: Sequence) -> int | None:
        """Blocks for the sequence's tokens plus the next one; returns how many tokens need prefill."""
        block_size = self.config.block_size
        num_tokens = seq.num_tokens
        # At least one token is always computed, so a fully cached prompt still reuses one block less.
        reusable = seq.block_hashes[: (num_tokens - 1) // block_size]
        allocation = self.pool.allocate_for(reusable, _blocks_for(num_tokens + 1, block_size))
        if allocation is None:
            return None
        seq.blocks = allocation.blocks
        for index in range(allocation.cached_blocks, len(seq.block_hashes)):
            self.pool.commit(seq.blocks[index], seq.block_hashes[index])
        cached_tokens = allocation.cached_blocks * block_size
        if self.config.enable_prefix_caching:
            self.metrics.prefix_cache_queries.inc(num_tokens)
            self.metrics.prefix_cache_hits.inc(cached_tokens)
            self.metrics.prompt_tokens_cached.inc(cached_tokens)
        if seq.first_scheduled_at is None:
            seq.cached_tokens = cached_tokens
        return num_tokens - cached_tokens

    def _step(self, now: float) -> None:
        horizon = now + STEP_QUANTUM
        emitted = 0
        for seq in list(self.running):
            if seq.due <= horizon:
                emitted += self._emit(seq, now)
        if emitted:
            self.metrics.generation_tokens.inc(emitted)

    def _emit(self, seq: Sequence, now: float) -> int:
        """Produce the sequence's next token; returns 1, or 0 if it was preempted for lack of KV blocks."""
        if not self._reserve_block(seq):
            return 0
        seq.emitted += 1
        self._hash_full_block(seq)
        if seq.first_token_at is None:
            seq.first_token_at = now
            self.metrics.time_to_first_token.observe(now - seq.arrival)
            self.metrics.prompt_tokens.inc(seq.num_prompt_tokens)
        elif seq.last_token_at is not None:
            self.metrics.inter_token_latency.observe(now - seq.last_token_at)
        seq.last_token_at = now
        faults = seq.faults
        if faults.terminal in ("crash", "error") and seq.emitted >= faults.after_tokens:
            self._finish(seq, Outcome.CRASH if faults.terminal == "crash" else Outcome.ERROR, now)
        elif seq.emitted >= len(seq.completion.tokens):
            self._finish(seq, Outcome.FINISHED, now)
        elif faults.terminal == "hang" and seq.emitted >= faults.after_tokens:
            seq.due = math.inf  # a stall mid-answer: the slot stays taken, no further token comes
            seq.progress.set()
        else:
            latency = self.config.latency
            interval = latency.itl_base + latency.itl_per_running_seq * len(self.running)
            seq.due = max(seq.due, now) + self._scaled(seq, interval)
            seq.progress.set()
        return 1

    def _reserve_block(self, seq: Sequence) -> bool:
        """Make room for one more token, preempting the newest running sequence while the pool is empty."""
        block_size = self.config.block_size
        if seq.num_tokens + 1 <= len(seq.blocks) * block_size:
            return True
        while (fresh := self.pool.allocate(1)) is None:
            victim = self.running[-1]
            self._preempt(victim)
            if victim is seq:
                return False
        seq.blocks.extend(fresh)
        return True

    def _hash_full_block(self, seq: Sequence) -> None:
        block_size = self.config.block_size
        if seq.num_tokens % block_size:
            return
        start = seq.num_tokens - block_size
        parent = seq.block_hashes[-1] if seq.block_hashes else None
        block_tokens = [seq.token(index) for index in range(start, seq.num_tokens)]
        (block_hash,) = chain_block_hashes(block_tokens, block_size, parent=parent)
        seq.block_hashes.append(block_hash)
        self.pool.commit(seq.blocks[len(seq.block_hashes) - 1], block_hash)

    def _preempt(self, seq: Sequence) -> None:
        """Recompute preemption: drop the blocks (full ones stay cached) and requeue at the head."""
        self.running.remove(seq)
        self.pool.release(seq.blocks)
        seq.blocks = []
        seq.due = math.inf
        self.waiting.appendleft(seq)
        self.metrics.preemptions.inc()

    def _scaled(self, seq: Sequence, seconds: float) -> float:
        return jittered(seconds, seq.rng, self.config.latency.jitter) * seq.faults.slow_factor

    def _finish(self, seq: Sequence, outcome: Outcome, now: float) -> None:
        self.running.remove(seq)
        self.pool.release(seq.blocks)
        seq.blocks = []
        seq.due = math.inf
        self._record_finish(seq, outcome, now)

    def _record_finish(self, seq: Sequence, outcome: Outcome, now: float) -> None:
        seq.outcome = outcome
        metrics = self.metrics
        reason = seq.completion.finish_reason if outcome is Outcome.FINISHED else "abort"
        metrics.request_success[reason].inc()
        metrics.e2e_request_latency.observe(now - seq.arrival)
        if seq.first_scheduled_at is not None:
            metrics.request_queue_time.observe(seq.first_scheduled_at - seq.arrival)
        metrics.request_prompt_tokens.observe(seq.num_prompt_tokens)
        metrics.request_generation_tokens.observe(seq.emitted)
        seq.progress.set()


def jittered(seconds: float, rng: random.Random, jitter: float) -> float:
    """``seconds`` times a factor drawn uniformly from ``[1 - jitter, 1 + jitter]``."""
    return seconds * rng.uniform(1 - jitter, 1 + jitter) if jitter else seconds


def _blocks_for(tokens: int, block_size: int) -> int:
    return -(-tokens // block_size)
