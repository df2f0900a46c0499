"""Admission control in front of the engine: bounded queue, lower tiers shed first, fair per tenant, the signal."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4

import pytest

from app.contracts.api import Tier
from app.gateway.engine_admission import AdmissionLimits, EngineAdmission, EngineBusyError

MODEL = "helpline-chat"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def control(capacity: int = 2, queue_bound: int = 4, **kwargs: float) -> tuple[EngineAdmission, FakeClock]:
    """Limits whose queue bound is exactly ``queue_bound`` (SLO * capacity / mean turn seconds)."""
    clock = FakeClock()
    limits = AdmissionLimits(capacity=capacity, ttft_slo_seconds=float(queue_bound), initial_turn_seconds=capacity)
    return EngineAdmission(limits, clock=clock, exit_hold_seconds=10.0, **kwargs), clock


async def settle() -> None:
    """Let woken waiters run (a grant passes through a shield and a timeout)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def queued(admission: EngineAdmission, tenant: UUID, tier: Tier) -> asyncio.Task[None]:
    task = asyncio.create_task(admission.acquire(MODEL, tenant, tier))
    await settle()
    return task


async def test_runs_up_to_capacity_then_queues_within_the_bound_then_sheds() -> None:
    admission, _ = control(capacity=2, queue_bound=4)
    tenant = uuid4()
    for _ in range(2):
        await admission.acquire(MODEL, tenant, Tier.ENTERPRISE)
    waiters = [await queued(admission, uuid4(), Tier.ENTERPRISE) for _ in range(4)]
    state = admission.saturation(MODEL)
    assert (state.running, state.queued, state.queue_bound) == (2, 4, 4)
    with pytest.raises(EngineBusyError) as refused:
        await admission.acquire(MODEL, tenant, Tier.ENTERPRISE)  # the tenant already holds the most: shed itself
    assert refused.value.problem.status == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 30
    admission.release(MODEL, tenant, held_seconds=2.0)
    await settle()
    assert waiters[0].done()
    assert not any(task.done() for task in waiters[1:])
    for task in waiters:
        task.cancel()


async def test_lower_tiers_are_shed_first_and_higher_tiers_keep_their_share() -> None:
    admission, _ = control(capacity=1, queue_bound=4)
    await admission.acquire(MODEL, uuid4(), Tier.FREE)
    free = [await queued(admission, uuid4(), Tier.FREE) for _ in range(2)]  # free may fill half the queue
    with pytest.raises(EngineBusyError):
        await admission.acquire(MODEL, uuid4(), Tier.FREE)  # the same rank as the waiters: the newcomer goes
    standard = await queued(admission, uuid4(), Tier.STANDARD)
    enterprise = await queued(admission, uuid4(), Tier.ENTERPRISE)
    assert admission.saturation(MODEL).queued == 4
    displacing = await queued(admission, uuid4(), Tier.ENTERPRISE)  # full: the newest free waiter makes room
    with pytest.raises(EngineBusyError):
        await free[1]
    assert not free[0].done()
    assert not displacing.done()
    for task in (free[0], standard, enterprise, displacing):
        task.cancel()


async def test_a_freed_slot_goes_to_the_higher_tier_then_to_the_tenant_holding_fewest() -> None:
    admission, _ = control(capacity=2, queue_bound=8)
    busy, quiet = uuid4(), uuid4()
    await admission.acquire(MODEL, busy, Tier.STANDARD)
    await admission.acquire(MODEL, busy, Tier.STANDARD)
    busy_more = await queued(admission, busy, Tier.STANDARD)
    quiet_one = await queued(admission, quiet, Tier.STANDARD)  # arrived later, but its tenant runs nothing
    admission.release(MODEL, busy, held_seconds=1.0)
    await settle()
    assert quiet_one.done()
    assert not busy_more.done()
    free_one = await queued(admission, uuid4(), Tier.FREE)
    enterprise_one = await queued(admission, uuid4(), Tier.ENTERPRISE)
    admission.release(MODEL, busy, held_seconds=1.0)
    await settle()
    assert enterprise_one.done()
    assert not busy_more.done()
    assert not free_one.done()
    busy_more.cancel()
    free_one.cancel()


async def test_a_waiter_that_leaves_gives_its_place_up() -> None:
    admission, _ = control(capacity=1, queue_bound=4)
    tenant = uuid4()
    await admission.acquire(MODEL, tenant, Tier.STANDARD)
    leaving = await queued(admission, uuid4(), Tier.STANDARD)
    leaving.cancel()
    await settle()
    assert admission.saturation(MODEL).queued == 0
    admission.release(MODEL, tenant, held_seconds=1.0)
    assert admission.saturation(MODEL).running == 0


async def test_a_waiter_is_shed_when_the_estimate_was_wrong() -> None:
    limits = AdmissionLimits(capacity=1, ttft_slo_seconds=0.02, initial_turn_seconds=0.001, max_wait_factor=2)
    admission = EngineAdmission(limits)
    await admission.acquire(MODEL, uuid4(), Tier.STANDARD)
    with pytest.raises(EngineBusyError):
        await admission.acquire(MODEL, uuid4(), Tier.STANDARD)
    assert admission.saturation(MODEL).queued == 0


async def test_the_queue_bound_follows_the_measured_turn_duration() -> None:
    admission, _ = control(capacity=4, queue_bound=8)  # SLO 8 s, 4 slots, 4 s per turn assumed: 8 waiters
    tenant = uuid4()
    for _ in range(40):
        await admission.acquire(MODEL, tenant, Tier.STANDARD)
        admission.release(MODEL, tenant, held_seconds=16.0)
    assert admission.saturation(MODEL).queue_bound < 3  # turns take ~16 s: ~2 waiters fit in the SLO


async def test_saturation_enters_on_a_half_full_queue_and_leaves_after_a_calm_hold() -> None:
    admission, clock = control(capacity=2, queue_bound=4)
    tenant = uuid4()
    await admission.acquire(MODEL, tenant, Tier.STANDARD)
    await admission.acquire(MODEL, tenant, Tier.STANDARD)
    first = await queued(admission, uuid4(), Tier.STANDARD)
    assert not admission.saturation(MODEL).saturated
    second = await queued(admission, uuid4(), Tier.STANDARD)
    assert admission.saturation(MODEL).saturated
    assert admission.saturated_models() == [MODEL]
    for _ in range(2):
        admission.release(MODEL, tenant, held_seconds=2.0)
    await asyncio.gather(first, second)
    clock.now += 60
    assert admission.saturation(MODEL).saturated  # still two of two running: not calm
    for _ in range(2):
        admission.release(MODEL, uuid4(), held_seconds=2.0)
    assert admission.saturation(MODEL).saturated  # calm only since now
    clock.now += 9
    assert admission.saturation(MODEL).saturated
    clock.now += 2
    assert not admission.saturation(MODEL).saturated
    assert admission.saturated_models() == []


async def test_a_ticket_is_released_once() -> None:
    admission, _ = control(capacity=1, queue_bound=2)
    ticket = await admission.admit(MODEL, uuid4(), Tier.FREE)
    ticket.release()
    ticket.release()  # a second release (two end paths racing) is a no-op
    assert admission.saturation(MODEL).running == 0


async def test_the_limit_shrinks_when_first_tokens_are_late_and_grows_back_when_they_are_not() -> None:
    admission, clock = control(capacity=10, queue_bound=10)  # SLO 10 s in this fixture
    tenant = uuid4()
    admission.observe_first_token(MODEL, 11.0)
    assert admission.saturation(MODEL).capacity == 8
    admission.observe_first_token(MODEL, 11.0)  # the same episode (within one mean turn): no second cut
    assert admission.saturation(MODEL).capacity == 8
    clock.now += 20
    admission.observe_first_token(MODEL, 11.0)
    assert admission.saturation(MODEL).capacity == 6
    for _ in range(6):
        await admission.acquire(MODEL, tenant, Tier.STANDARD)
    late = await queued(admission, uuid4(), Tier.STANDARD)  # the seventh waits: the limit is 6 now
    assert not late.done()
    for _ in range(40):
        admission.observe_first_token(MODEL, 0.5)
    assert admission.saturation(MODEL).capacity == 10  # never above the configured capacity
    admission.release(MODEL, tenant, held_seconds=2.0)
    await settle()
    assert late.done()
