"""Admission control in front of the engine: vLLM never answers 429, so the gateway decides who waits and who is shed.

Per model, a gateway process lets ``limit`` turns run at once and queues a bounded number more. The limit adapts
(AIMD on the time to first token an admitted turn gets once it holds its slot): it starts at the configured
``capacity`` (its ceiling), shrinks by a fifth when a turn's first token comes later than the TTFT SLO (at most once
per mean turn duration), and grows back by about one per ``limit`` fast first tokens. So a configured capacity the
engines (or a loaded machine) cannot serve within the SLO is corrected from what customers actually get. The queue is sized so that the last waiter's expected wait, ``queued * mean turn
duration / limit``, stays within the TTFT SLO (the mean duration is measured, an EWMA of how long admitted
turns hold their slot). Beyond that a request is shed at once with 429 + ``Retry-After`` (problem
``engine-busy``): a clean refusal now beats a timeout in a minute.

Not first come, first served:

- **Lower tiers are shed first.** Each tier may fill only its share of the queue (free half, standard 80%,
  enterprise all of it), and a full queue makes room for a higher-tier arrival by shedding its lowest-ranked
  waiter (lowest tier, then the tenant holding the most slots, then the newest).
- **Fair per tenant.** A freed slot goes to the highest tier waiting, and within it to the tenant that holds the
  fewest slots of this model, then the longest waiting: a tenant with a hundred queued turns cannot starve one
  with a single turn.

**The saturation signal** (for the degradation ladder and dashboards), per model, with hysteresis: a model becomes
*saturated* when a request is shed or the queue reaches half its bound, and stops being saturated only after
running + queued turns have stayed at or below ``exit_ratio`` of capacity for ``exit_hold_seconds``. Read it with
``EngineAdmission.saturation(model)`` (a frozen snapshot) or ``saturated_models()``.

The state is per gateway process (no Redis round trip on the hot path): with N gateway replicas, configure each
with its share of the engines' capacity (``HELPLINE_ADMISSION_CAPACITY``, see the README's tuning section).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from app.contracts import problems
from app.contracts.api import Tier
from app.core.errors import ProblemError
from app.core.metrics import METRICS

#: Higher ranks are served first and shed last.
TIER_RANK: dict[Tier, int] = {Tier.FREE: 0, Tier.STANDARD: 1, Tier.ENTERPRISE: 2}
#: The share of the queue each tier may fill: lower tiers are refused while higher ones still queue.
TIER_QUEUE_SHARE: dict[Tier, float] = {Tier.FREE: 0.5, Tier.STANDARD: 0.8, Tier.ENTERPRISE: 1.0}

Clock = Callable[[], float]


class EngineBusyError(ProblemError):
    problem = problems.ENGINE_BUSY


@dataclass(frozen=True)
class AdmissionLimits:
    """How much one model's engines take from this gateway process."""

    capacity: int  # turns running at once, at most (the adaptive limit's ceiling)
    ttft_slo_seconds: float  # the longest an admitted turn should wait for its first token
    initial_turn_seconds: float = 3.0  # the mean turn duration assumed before any turn has been measured
    max_wait_factor: float = 4.0  # a waiter still queued after factor * SLO is shed (the estimate was wrong)


@dataclass(frozen=True)
class Saturation:
    """One model's admission state at one moment."""

    model: str
    saturated: bool
    running: int
    queued: int
    capacity: int  # the current (adaptive) limit
    queue_bound: int
    mean_turn_seconds: float
    since: float | None  # clock time the current saturation began (None when not saturated)


@dataclass(eq=False)
class _Waiter:
    tenant: UUID
    tier: Tier
    order: int
    granted: asyncio.Future[None]


@dataclass
class _ModelState:
    limits: AdmissionLimits
    mean_turn_seconds: float
    running: int = 0
    running_by_tenant: dict[UUID, int] = field(default_factory=dict)
    waiters: list[_Waiter] = field(default_factory=list)
    saturated_since: float | None = None
    calm_since: float | None = None  # when running + queued last fell to the exit level
    limit: float = 0.0  # the adaptive concurrency limit (set to the capacity at creation)
    last_decrease: float = float("-inf")

    @property
    def capacity(self) -> int:
        return max(1, int(self.limit))

    @property
    def queue_bound(self) -> int:
        return int(self.limits.ttft_slo_seconds * self.capacity / max(self.mean_turn_seconds, 1e-3))

    def held_by(self, tenant: UUID) -> int:
        return self.running_by_tenant.get(tenant, 0) + sum(1 for waiter in self.waiters if waiter.tenant == tenant)


@dataclass
class Ticket:
    """A running slot; ``release`` gives it back (once) and feeds the measured turn duration."""

    admission: EngineAdmission
    model: str
    tenant: UUID
    started: float
    released: bool = False

    def first_token(self) -> None:
        """The turn's first token arrived now (the adaptive limit's signal)."""
        self.admission.observe_first_token(self.model, self.admission.clock() - self.started)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self.admission.release(self.model, self.tenant, held_seconds=self.admission.clock() - self.started)


class EngineAdmission:
    """The per-model admission queues of one gateway process."""

    def __init__(
        self,
        limits: AdmissionLimits,
        *,
        per_model: dict[str, AdmissionLimits] | None = None,
        exit_ratio: float = 0.8,
        exit_hold_seconds: float = 10.0,
        ewma_weight: float = 0.1,
        clock: Clock = time.monotonic,
    ) -> None:
        self._default = limits
        self._per_model = per_model or {}
        self._exit_ratio = exit_ratio
        self._exit_hold_seconds = exit_hold_seconds
        self._ewma_weight = ewma_weight
        self.clock = clock
        self._states: dict[str, _ModelState] = {}
        self._order = itertools.count()

    # --- the signal ---------------------------------------------------------------------------------------------
    def saturation(self, model: str) -> Saturation:
        state = self._state(model)
        self._update_signal(model, state)
        return Saturation(
            model=model,
            saturated=state.saturated_since is not None,
            running=state.running,
            queued=len(state.waiters),
            capacity=state.capacity,
            queue_bound=state.queue_bound,
            mean_turn_seconds=state.mean_turn_seconds,
            since=state.saturated_since,
        )

    def saturated_models(self) -> list[str]:
        return [model for model in list(self._states) if self.saturation(model).saturated]

    # --- admission ----------------------------------------------------------------------------------------------
    async def admit(self, model: str, tenant: UUID, tier: Tier) -> Ticket:
        """One of ``model``'s running slots, held until ``Ticket.release()`` (the end of the whole stream).

        Raises ``EngineBusyError`` (429 + ``Retry-After``) when the request is shed, at once or from the queue."""
        await self.acquire(model, tenant, tier)
        return Ticket(self, model, tenant, started=self.clock())

    async def acquire(self, model: str, tenant: UUID, tier: Tier) -> None:
        state = self._state(model)
        if state.running < state.capacity and not state.waiters:
            self._start(state, tenant)
            self._update_signal(model, state)
            return
        waiter = self._enqueue(model, state, tenant, tier)
        try:
            async with asyncio.timeout(state.limits.ttft_slo_seconds * state.limits.max_wait_factor):
                await asyncio.shield(waiter.granted)
        except TimeoutError:
            if not _granted(waiter):
                self._remove(state, waiter)
                self._shed(model, state, tier, "queue_timeout")
        except asyncio.CancelledError:  # the client left while waiting: pass a slot granted meanwhile on
            if _granted(waiter):
                self.release(model, tenant, held_seconds=None)
            else:
                self._remove(state, waiter)
            raise

    def release(self, model: str, tenant: UUID, *, held_seconds: float | None) -> None:
        state = self._state(model)
        state.running -= 1
        left = state.running_by_tenant.get(tenant, 1) - 1
        if left > 0:
            state.running_by_tenant[tenant] = left
        else:
            state.running_by_tenant.pop(tenant, None)
        if held_seconds is not None:
            weight = self._ewma_weight
            state.mean_turn_seconds = (1 - weight) * state.mean_turn_seconds + weight * held_seconds
        while state.waiters and state.running < state.capacity:
            chosen = min(state.waiters, key=lambda waiter: self._serve_rank(state, waiter))
            state.waiters.remove(chosen)
            self._start(state, chosen.tenant)
            chosen.granted.set_result(None)
        self._update_signal(model, state)

    def observe_first_token(self, model: str, seconds: float) -> None:
        """Feed the adaptive limit: ``seconds`` from a turn's admission (slot granted) to its first token."""
        state = self._state(model)
        now = self.clock()
        if seconds > state.limits.ttft_slo_seconds:
            if now - state.last_decrease >= state.mean_turn_seconds:
                state.limit = max(1.0, state.limit * 0.8)
                state.last_decrease = now
        else:
            state.limit = min(float(state.limits.capacity), state.limit + 1 / max(state.limit, 1.0))

    # --- internals ----------------------------------------------------------------------------------------------
    def _state(self, model: str) -> _ModelState:
        state = self._states.get(model)
        if state is None:
            limits = self._per_model.get(model, self._default)
            state = self._states[model] = _ModelState(
                limits=limits, mean_turn_seconds=limits.initial_turn_seconds, limit=float(limits.capacity)
            )
        return state

    @staticmethod
    def _start(state: _ModelState, tenant: UUID) -> None:
        state.running += 1
        state.running_by_tenant[tenant] = state.running_by_tenant.get(tenant, 0) + 1

    @staticmethod
    def _serve_rank(state: _ModelState, waiter: _Waiter) -> tuple[int, int, int]:
        """Smallest first: highest tier, then the tenant running the fewest turns, then the longest waiting."""
        return (-TIER_RANK[waiter.tier], state.running_by_tenant.get(waiter.tenant, 0), waiter.order)

    @staticmethod
    def _shed_rank(state: _ModelState, tier: Tier, tenant: UUID, order: int, *, waiting: bool) -> tuple[int, int, int]:
        """Largest is shed first: lowest tier, then the tenant holding the most other slots, then the newest."""
        return (-TIER_RANK[tier], state.held_by(tenant) - (1 if waiting else 0), order)

    def _enqueue(self, model: str, state: _ModelState, tenant: UUID, tier: Tier) -> _Waiter:
        """Queue the arrival, or shed it, or shed the lowest-ranked waiter to make room for it."""
        order = next(self._order)
        room = math.floor(state.queue_bound * TIER_QUEUE_SHARE[tier])
        if len(state.waiters) >= room:
            worst = max(state.waiters, key=self._shed_rank_of(state), default=None)
            arrival = self._shed_rank(state, tier, tenant, order, waiting=False)
            if worst is None or arrival >= self._shed_rank_of(state)(worst):
                self._shed(model, state, tier, "queue_full")
            assert worst is not None
            state.waiters.remove(worst)
            worst.granted.set_exception(self._busy(state, worst.tier, model, "displaced"))
        waiter = _Waiter(tenant=tenant, tier=tier, order=order, granted=asyncio.get_running_loop().create_future())
        state.waiters.append(waiter)
        self._update_signal(model, state)
        return waiter

    def _shed_rank_of(self, state: _ModelState) -> Callable[[_Waiter], tuple[int, int, int]]:
        return lambda waiter: self._shed_rank(state, waiter.tier, waiter.tenant, waiter.order, waiting=True)

    @staticmethod
    def _remove(state: _ModelState, waiter: _Waiter) -> None:
        if waiter in state.waiters:
            state.waiters.remove(waiter)

    def _shed(self, model: str, state: _ModelState, tier: Tier, reason: str) -> None:
        raise self._busy(state, tier, model, reason)

    def _busy(self, state: _ModelState, tier: Tier, model: str, reason: str) -> EngineBusyError:
        state.saturated_since = state.saturated_since or self.clock()
        state.calm_since = None
        METRICS.rate_limit_rejections_total.labels(tier=tier.value, limit="engine_busy").inc()
        retry_after = self.retry_after_seconds(state)
        return EngineBusyError(
            f"The assistant is busy ({model}); please retry in {retry_after} s.",
            headers={"Retry-After": str(retry_after)},
            reason=reason,
        )

    @staticmethod
    def retry_after_seconds(state: _ModelState) -> int:
        """About when a slot frees for a newcomer: the queue ahead drained at capacity, within [1, 30] s."""
        drain = state.mean_turn_seconds * (len(state.waiters) + 1) / max(state.capacity, 1)
        return min(30, max(1, math.ceil(drain)))

    def _update_signal(self, model: str, state: _ModelState) -> None:
        """Enter on a queue half full (or a shed); leave after a calm ``exit_hold_seconds`` (hysteresis)."""
        now = self.clock()
        queued = len(state.waiters)
        if queued and queued >= max(1, math.ceil(state.queue_bound / 2)):
            state.saturated_since = state.saturated_since or now
        calm = state.running + queued <= self._exit_ratio * state.capacity
        if not calm:
            state.calm_since = None
        elif state.calm_since is None:
            state.calm_since = now
        if (
            state.saturated_since is not None
            and state.calm_since is not None
            and now - state.calm_since >= self._exit_hold_seconds
        ):
            state.saturated_since = None


def _granted(waiter: _Waiter) -> bool:
    future = waiter.granted
    return future.done() and not future.cancelled() and future.exception() is None
