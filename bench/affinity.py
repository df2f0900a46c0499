"""``make bench`` (affinity scenario): does the router keep a conversation's KV cache, with four replicas?

A multi-turn conversation re-sends its whole history every turn; vLLM's prefix cache serves the part it has seen
before, but only on the replica that saw it. Three ways of serving the same workload, each on fresh simulator
processes (prefix caching as vLLM's block manager does it, ``app.enginesim.prefix_cache``):

  single       one replica takes every conversation: the best hit rate a cache can give this workload;
  router       four replicas behind our router, each conversation sent with its session id (``x-session-id``);
  round-robin  four replicas, each turn to the next one, as a plain Service or load balancer spreads requests.

Reported per way: the engines' prefix-cache hit rate (``vllm:prefix_cache_hits_total`` over
``vllm:prefix_cache_queries_total``, summed over the replicas for the phase) and the time to first token. The
target: the router's hit rate with four replicas is at least 90% of the single replica's. Closed loop, bounded in
turns and seconds, loopback only; ``build/bench/affinity.json`` and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from app.core.waits import scaled
from app.devrun.launcher import free_ports
from app.enginesim.launcher import EngineSimProcess
from bench.drivers import DirectDriver, TurnSample
from bench.processes import serving_process
from bench.stats import summary_ms
from bench.workload import customer_message

ROOT = Path(__file__).resolve().parents[1]
MODEL = "helpline-chat"
#: A support assistant's instructions of realistic length (~170 tokens): shared by every conversation, so every
#: way of routing gets it from the cache after the first turn; what differs is the conversation's own history.
SYSTEM_PROMPT = (
    "You are the customer-service assistant of Example Shop. Answer in the customer's language, briefly and "
    "politely, in two to four sentences. Use only the facts in the conversation and in the shop's policies: orders "
    "ship within two working days; returns are accepted within thirty days of delivery with the receipt; refunds "
    "reach the original payment method within five to ten working days; invoices can be downloaded from the "
    "account page. Never invent order numbers, prices or dates. If the customer is upset, acknowledge it first. If "
    "you cannot help, or the customer asks for a person, say that you are handing the conversation to a colleague."
)
WAYS = ("single", "router", "round-robin")


@dataclass(frozen=True)
class AffinitySettings:
    replicas: int = 4
    conversations: int = 16
    turns_per_conversation: int = 8
    max_tokens: int = 60
    max_seconds: float = 90.0
    seed: str = "helpline-affinity"
    out_dir: Path = field(default_factory=lambda: ROOT / "build" / "bench")


@dataclass
class WayResult:
    way: str
    replicas: int
    turns: int
    failed: int
    prefix_cache_queries: float
    prefix_cache_hits: float
    ttft_ms: dict[str, float]
    seconds: float

    @property
    def hit_rate(self) -> float:
        return self.prefix_cache_hits / self.prefix_cache_queries if self.prefix_cache_queries else 0.0


def counter_total(text: str, name: str) -> float:
    """The sum of a counter's samples (every label set) in a Prometheus exposition."""
    family_name = name.removesuffix("_total")
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == family_name
        for sample in family.samples
        if sample.name == name
    )


async def cache_counters(http: httpx.AsyncClient, engines: Sequence[EngineSimProcess]) -> tuple[float, float]:
    """(queries, hits) of the prefix cache, summed over the replicas."""
    queries = hits = 0.0
    for engine in engines:
        text = (await http.get(f"{engine.base_url}/metrics")).text
        queries += counter_total(text, "vllm:prefix_cache_queries_total")
        hits += counter_total(text, "vllm:prefix_cache_hits_total")
    return queries, hits


@contextmanager
def router_process(backends: Sequence[str], *, startup_timeout: float) -> Iterator[str]:
    """Our router (``python -m app.router serve``) in front of ``backends``, on a free loopback port."""
    (port,) = free_ports(1)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HELPLINE_ENVIRONMENT": "development",
        "HELPLINE_INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
        "HELPLINE_LOG_LEVEL": "WARNING",
        "HELPLINE_HOST": "127.0.0.1",
        "HELPLINE_PORT": str(port),
        "ROUTER_BACKENDS": json.dumps({MODEL: {"static": list(backends)}}),
    }
    url = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "app.router", "serve"]
    with serving_process(
        argv, env=env, cwd=ROOT, ready_url=f"{url}/readyz", startup_timeout=startup_timeout, name="the router"
    ):
        yield url


async def drive(driver: DirectDriver, settings: AffinitySettings) -> list[TurnSample]:
    """Every conversation's turns in order (closed loop: the next message as soon as the answer is complete)."""
    samples: list[TurnSample] = []
    deadline = time.monotonic() + settings.max_seconds

    async def conversation(index: int) -> None:
        rng = random.Random(f"{settings.seed}:{index}")  # workload text, not security
        await asyncio.sleep(0.05 * index)  # a short ramp: conversations start apart, as customers do
        state = await driver.open(index)
        for turn in range(settings.turns_per_conversation):
            if time.monotonic() > deadline:
                return
            sample = await driver.turn(state, customer_message(rng, turn))
            samples.append(sample)
            if not sample.ok:
                return

    await asyncio.gather(*(conversation(index) for index in range(settings.conversations)))
    return samples


def engines_for(count: int, api_key: str) -> list[EngineSimProcess]:
    return [
        EngineSimProcess(served_model_name=MODEL, api_key=api_key, args=["--sim-jitter", "0"]) for _ in range(count)
    ]


async def run_way(way: str, settings: AffinitySettings) -> WayResult:
    api_key = secrets.token_urlsafe(16)
    engines = engines_for(1 if way == "single" else settings.replicas, api_key)
    with ExitStack() as stack:
        EngineSimProcess.start_all(*engines)
        for engine in engines:
            stack.callback(engine.stop)
        targets = [engine.base_url for engine in engines]
        if way == "router":
            targets = [stack.enter_context(router_process(targets, startup_timeout=scaled(20)))]
        limits = httpx.Limits(max_connections=settings.conversations + 4)
        async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, connect=10)) as http:
            driver = DirectDriver(
                http=http,
                replicas=targets,
                api_key=api_key,
                model=MODEL,
                system_prompt=SYSTEM_PROMPT,
                temperature=0.0,
                max_tokens=settings.max_tokens,
                name=way,
                rotate_per_turn=way == "round-robin",
                send_session_id=way == "router",
            )
            before = await cache_counters(http, engines)
            started = time.perf_counter()
            samples = await drive(driver, settings)
            seconds = time.perf_counter() - started
            after = await cache_counters(http, engines)
    ok = [sample for sample in samples if sample.ok]
    return WayResult(
        way=way,
        replicas=len(engines),
        turns=len(samples),
        failed=len(samples) - len(ok),
        prefix_cache_queries=after[0] - before[0],
        prefix_cache_hits=after[1] - before[1],
        ttft_ms=summary_ms([sample.ttft for sample in ok if sample.ttft is not None]),
        seconds=round(seconds, 2),
    )


def report(results: Sequence[WayResult], settings: AffinitySettings) -> dict[str, Any]:
    by_way = {result.way: result for result in results}
    single = by_way["single"].hit_rate
    return {
        "settings": {key: str(value) if isinstance(value, Path) else value for key, value in asdict(settings).items()},
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "ways": [{**asdict(result), "hit_rate": round(result.hit_rate, 4)} for result in results],
        "router_hit_rate_vs_single": round(by_way["router"].hit_rate / single, 4) if single else None,
        "round_robin_hit_rate_vs_single": round(by_way["round-robin"].hit_rate / single, 4) if single else None,
    }


def render_table(document: dict[str, Any]) -> str:
    rows = [
        "| way | replicas | turns | failed | prefix-cache hit rate | vs single | TTFT p50 | TTFT p99 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    single = next(way["hit_rate"] for way in document["ways"] if way["way"] == "single")
    for way in document["ways"]:
        ratio = f"{way['hit_rate'] / single:.0%}" if single else "-"
        ttft = way["ttft_ms"]
        rows.append(
            f"| {way['way']} | {way['replicas']} | {way['turns']} | {way['failed']} | {way['hit_rate']:.1%} | {ratio} "
            f"| {ttft.get('p50', float('nan')):.1f} ms | {ttft.get('p99', float('nan')):.1f} ms |"
        )
    return "\n".join(rows)


def parse_args(argv: Sequence[str] | None) -> AffinitySettings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.affinity", description="Prefix-cache hit rate: one replica vs our router vs round-robin."
    )
    defaults = AffinitySettings()
    parser.add_argument("--replicas", type=int, default=defaults.replicas)
    parser.add_argument("--conversations", type=int, default=defaults.conversations)
    parser.add_argument("--turns-per-conversation", type=int, default=defaults.turns_per_conversation)
    parser.add_argument("--max-tokens", type=int, default=defaults.max_tokens)
    parser.add_argument("--max-seconds", type=float, default=defaults.max_seconds, help="each way stops after this")
    parser.add_argument("--out", type=Path, default=defaults.out_dir)
    args = parser.parse_args(argv)
    return AffinitySettings(
        replicas=args.replicas,
        conversations=args.conversations,
        turns_per_conversation=args.turns_per_conversation,
        max_tokens=args.max_tokens,
        max_seconds=args.max_seconds,
        out_dir=args.out,
    )


async def bench(settings: AffinitySettings) -> dict[str, Any]:
    results = []
    for way in WAYS:
        print(f"bench: affinity, {way} ...", file=sys.stderr)
        results.append(await run_way(way, settings))
    return report(results, settings)


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    document = asyncio.run(bench(settings))
    path = settings.out_dir / "affinity.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(render_table(document))
    print(f"\n(written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
