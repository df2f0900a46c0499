"""The degradation ladder's state machine on a fake clock: each trigger, the hysteresis, the tiers' order, and
each exit. (The customer-visible side of every transition: tests/app/chat/test_degradation.py.)"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.chat.ladder import DegradationLadder, LadderSettings, Level
from app.contracts.api import Tier
from app.core.metrics import REGISTRY

MODEL = "ladder-chat"
FALLBACK = "ladder-fallback"
SLO = 0.5


@dataclass
class World:
    now: float = 1000.0
    down: set[str] = field(default_factory=set)

    def clock(self) -> float:
        return self.now

    def available(self, model: str) -> bool:
        return model not in self.down


def ladder(world: World, *, fallback: str | None = FALLBACK, hold: float = 10.0) -> DegradationLadder:
    settings = LadderSettings(
        ttft_slo_seconds=SLO, exit_ratio=0.7, hold_seconds=hold, window_seconds=30.0, fallback_model=fallback
    )
    return DegradationLadder(settings, available=world.available, clock=world.clock)


def test_fast_first_tokens_are_normal() -> None:
    world = World()
    states = ladder(world)
    for _ in range(20):
        states.first_token(MODEL, 0.1)
    assert {states.level(MODEL, tier) for tier in Tier} == {Level.NORMAL}


def test_slow_first_tokens_saturate_free_first_and_enterprise_last() -> None:
    world = World()
    states = ladder(world)
    for _ in range(20):
        states.first_token(MODEL, 0.45)  # 0.9 of the SLO: over free's entry (0.75), under standard's (1.0)
    assert states.level(MODEL, Tier.FREE) == Level.SATURATED
    assert states.level(MODEL, Tier.STANDARD) == Level.NORMAL
    for _ in range(20):
        states.first_token(MODEL, 0.55)  # 1.1: standard too, enterprise (1.25) keeps generating
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    assert states.level(MODEL, Tier.ENTERPRISE) == Level.NORMAL
    assert states.level(MODEL, None) == Level.SATURATED  # no key tier: counted as standard


def test_one_slow_answer_in_ten_does_not_saturate() -> None:
    """The p90, not the maximum: one outlier among many fast answers is not saturation."""
    world = World()
    states = ladder(world)
    for _ in range(19):
        states.first_token(MODEL, 0.1)
    states.first_token(MODEL, 5.0)
    assert states.level(MODEL, Tier.STANDARD) == Level.NORMAL


def test_a_queue_saturates_before_any_slow_answer_finishes() -> None:
    world = World()
    states = ladder(world)
    with states.waiting(MODEL):
        world.now += 0.3
        assert states.level(MODEL, Tier.STANDARD) == Level.NORMAL
        world.now += 0.3  # waiting 0.6 s > the SLO: the queue alone is over
        assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED


def test_saturated_holds_until_pressure_stays_low_for_the_hold_time() -> None:
    world = World()
    states = ladder(world, hold=10.0)
    states.first_token(MODEL, 1.0)
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    world.now += 31  # the slow sample left the window: pressure 0, the hold starts
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    world.now += 5
    states.first_token(MODEL, 0.4)  # 0.8 of the SLO: under the entry but over the exit (0.7): the hold restarts
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    world.now += 31  # that sample is gone too; calm again
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    world.now += 9.9
    assert states.level(MODEL, Tier.STANDARD) == Level.SATURATED
    world.now += 0.2
    assert states.level(MODEL, Tier.STANDARD) == Level.NORMAL


def test_a_chat_model_down_is_answered_by_the_fallback_then_returns() -> None:
    world = World()
    states = ladder(world)
    world.down.add(MODEL)
    assert states.level(MODEL, Tier.ENTERPRISE) == Level.CHAT_MODEL_DOWN
    world.down.clear()
    assert states.level(MODEL, Tier.ENTERPRISE) == Level.NORMAL


def test_everything_down_when_the_fallback_is_down_too_or_missing() -> None:
    world = World(down={MODEL, FALLBACK})
    assert ladder(world).level(MODEL, Tier.FREE) == Level.EVERYTHING_DOWN
    world.down.discard(FALLBACK)
    assert ladder(world).level(MODEL, Tier.FREE) == Level.CHAT_MODEL_DOWN
    assert ladder(world, fallback=None).level(MODEL, Tier.FREE) == Level.EVERYTHING_DOWN
    assert ladder(world, fallback=MODEL).level(MODEL, Tier.FREE) == Level.EVERYTHING_DOWN


def test_the_gauge_shows_the_level_per_tier_at_each_scrape() -> None:
    world = World()
    states = ladder(world)
    states.export(MODEL)

    def gauge(tier: Tier) -> float | None:
        return REGISTRY.get_sample_value("helpline_degradation_level", {"model": MODEL, "tier": tier.value})

    assert gauge(Tier.FREE) == 0
    world.down.update({MODEL, FALLBACK})
    assert gauge(Tier.FREE) == 3  # no traffic needed: the scrape asks the ladder
    world.down.discard(FALLBACK)
    assert gauge(Tier.ENTERPRISE) == 2
