"""``make bench``: what the Helpline services add on top of the engine, at 1, 32 and 128 concurrent conversations.

One run starts the stack exactly as ``make run`` does (``app.devrun``) on a fresh Postgres database and Redis,
with the engine simulators at a fixed latency (no jitter), then for each concurrency level drives

  (a) direct: OpenAI streaming chat completions straight at the chat-model replicas, the prompt built the way
      the chat service builds it (the tenant's system prompt + the conversation so far), each conversation
      pinned to one replica as the router pins it;
  (b) full:   customers through the gateway (API keys, rate limits and token charging in Redis) -> chat ->
      sessions (Postgres) -> router -> the same replicas, with the classifier running alongside each answer.

Closed loop: each of N workers holds one conversation of ``--turns-per-conversation`` turns at a time and sends
the next message as soon as the answer is complete (a customer reading instantly: the hardest case). Each
level runs a bounded number of turns and stops early at ``--max-seconds``. Added overhead = full-path TTFT
minus direct TTFT at the same concurrency, percentile by percentile. Then the output guardrail's own added TTFT
(``bench.guardrail``: in-process, guard on vs off on the simulator's answers). Results: tables on stdout and
``build/bench/overhead.json`` (``output_guardrail`` holds the guardrail's figures).

The overload row: the gateway admits ``--admission-capacity`` turns at once (the level the full path serves
within its TTFT SLO here), and ``--overload`` customers (4x that) drive the full path. A turn shed with 429 is
retried after its ``Retry-After`` as a client would; the row counts admitted turns, sheds, failures and 5xx, and
the TTFT of admitted turns.

Why not locust, guidellm or aiperf: the full path is not an OpenAI endpoint (create a conversation, then SSE
events ``message``/``delta``/``done`` per turn, multi-turn state), guidellm and aiperf only speak OpenAI, and
locust's gevent workers would need a custom streaming client anyway while costing more CPU on the same two
cores as the system under test. This driver is one asyncio process using the same httpx stack in both phases,
and its own CPU is reported so its cost is visible.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

from app.devrun.launcher import LocalRun, RunInfo
from bench import guardrail
from bench.breakdown import mean_ms, scrape
from bench.cpu import CpuMeter, by_name, by_pid
from bench.drivers import DirectDriver, Driver, GatewayDriver, TurnSample
from bench.memory import render_memory, resident_mib
from bench.report import LevelResult, PhaseResult, render_table, report_document
from bench.workload import customer_message

ROOT = Path(__file__).resolve().parents[1]
POSTGRES_DSN = os.environ.get("BENCH_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
#: Conversations per API key on the full path: an enterprise key allows 1000 requests/minute, and a customer
#: turn at full speed is ~30 requests/minute; eight per key stays well inside the product's own limits.
CONVERSATIONS_PER_KEY = 8
ENGINE_PROCESSES = ("chat-engine-1", "chat-engine-2", "classifier-engine")
SERVICE_PROCESSES = ("router", "auth", "sessions", "chat", "gateway")


@dataclass(frozen=True)
class BenchSettings:
    levels: tuple[int, ...] = (1, 32)
    overload: int | None = 128  # customers in the overload row (4x the admission capacity); None: no row
    admission_capacity: int = 32
    turns_per_conversation: int = 4
    turns_per_worker: int = 12  # ~380 turns at 32: a p99 that rests on a few samples, not on the worst two
    min_turns: int = 20
    max_seconds: float = 60.0
    ramp_seconds: float = 1.0
    seed: str = "helpline-bench"
    out_dir: Path = field(default_factory=lambda: ROOT / "build" / "bench")

    def turn_budget(self, concurrency: int) -> int:
        return max(self.min_turns, concurrency * self.turns_per_worker)


# --- one phase --------------------------------------------------------------------------------------------------
@dataclass
class TurnBudget:
    remaining: int
    deadline: float

    def take(self) -> bool:
        if self.remaining <= 0 or time.monotonic() >= self.deadline:
            return False
        self.remaining -= 1
        return True


async def run_worker(
    driver: Driver, index: int, *, settings: BenchSettings, budget: TurnBudget, samples: list[TurnSample], delay: float
) -> None:
    await asyncio.sleep(delay)  # spread the start over the ramp: no thundering herd at t=0 in either phase
    rng = random.Random(f"{settings.seed}:{driver.name}:{index}")  # workload text, not security
    conversation_index = index
    while budget.remaining > 0:
        conversation = await driver.open(conversation_index)
        conversation_index += 10_000
        for turn in range(settings.turns_per_conversation):
            if not budget.take():
                return
            text = customer_message(rng, turn)
            sample = await driver.turn(conversation, text)
            samples.append(sample)
            while sample.shed and time.monotonic() < budget.deadline:  # a client honouring Retry-After
                await asyncio.sleep(min(sample.retry_after or 1.0, budget.deadline - time.monotonic()))
                sample = await driver.turn(conversation, text)
                samples.append(sample)
            if not sample.ok:
                break  # a failed turn ends the conversation (its state is unknown)


async def run_phase(
    driver: Driver,
    concurrency: int,
    *,
    settings: BenchSettings,
    meter: CpuMeter,
    driver_process: psutil.Process,
    metrics_urls: Mapping[str, str] | None = None,
) -> PhaseResult:
    """One phase; ``metrics_urls`` (full path) adds the per-hop breakdown from the processes' own metrics."""
    samples: list[TurnSample] = []
    budget = TurnBudget(settings.turn_budget(concurrency), time.monotonic() + settings.max_seconds)
    async with httpx.AsyncClient(timeout=10) as scraper:
        scraped = await scrape(scraper, metrics_urls) if metrics_urls else None
    meter.start()
    driver_cpu = driver_process.cpu_times()
    started = time.perf_counter()
    await asyncio.gather(
        *(
            run_worker(
                driver,
                index,
                settings=settings,
                budget=budget,
                samples=samples,
                delay=settings.ramp_seconds * index / concurrency,
            )
            for index in range(concurrency)
        )
    )
    elapsed = time.perf_counter() - started
    cpu = meter.stop()
    breakdown: dict[str, float] = {}
    if metrics_urls and scraped is not None:
        async with httpx.AsyncClient(timeout=10) as scraper:
            breakdown = mean_ms(scraped, await scrape(scraper, metrics_urls))
    driver_end = driver_process.cpu_times()
    cpu["driver"] = (driver_end.user + driver_end.system) - (driver_cpu.user + driver_cpu.system)
    ok = [sample for sample in samples if sample.ok]
    return PhaseResult(
        path=driver.name,
        concurrency=concurrency,
        seconds=elapsed,
        ttft=[sample.ttft for sample in ok if sample.ttft is not None],
        durations=[sample.duration for sample in ok],
        completion_tokens=sum(sample.completion_tokens for sample in ok),
        errors=dict(Counter(sample.error for sample in samples if sample.error and not sample.shed)),
        shed=sum(1 for sample in samples if sample.shed),
        cpu_seconds=cpu,
        breakdown_ms=breakdown,
    )


# --- the stack --------------------------------------------------------------------------------------------------
async def create_database() -> tuple[str, str]:
    name = f"helpline_bench_{secrets.token_hex(4)}"
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return name, POSTGRES_DSN.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(name: str) -> None:
    connection = await asyncpg.connect(POSTGRES_DSN)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass(frozen=True)
class Tenancy:
    api_keys: list[str]
    system_prompt: str
    temperature: float
    max_tokens: int


async def remove_help_centre(client: httpx.AsyncClient) -> None:
    """Delete the demo help centre ``make run`` imports: the full path must answer from the model, as the direct
    phase does. With it, most bench messages got a canned "cannot answer" or a help-centre passage (3 to 13
    tokens instead of ~88), and the full path looked twice as fast as the engine alone."""
    while (
        page := (await client.get("/v1/knowledge/articles", params={"limit": 100})).raise_for_status().json()["items"]
    ):
        for article in page:
            (await client.delete(f"/v1/knowledge/articles/{article['id']}")).raise_for_status()


async def provision(info: RunInfo, keys: int) -> Tenancy:
    """API keys for the simulated customers, and the assistant profile the direct phase must mirror."""
    admin = {"Authorization": f"Bearer {info.api_key}"}
    async with httpx.AsyncClient(base_url=info.gateway_url, headers=admin, timeout=30) as client:
        await remove_help_centre(client)
        profile = (await client.get("/v1/assistant-profile")).raise_for_status().json()
        created = []
        for index in range(keys):
            body = {
                "name": f"bench-{index}",
                "tier": "enterprise",
                "scopes": ["conversations:read", "conversations:write"],
            }
            created.append((await client.post("/v1/api-keys", json=body)).raise_for_status().json()["key"])
    return Tenancy(
        api_keys=created,
        system_prompt=profile["system_prompt"],
        temperature=float(profile["temperature"]),
        max_tokens=int(profile["max_tokens"]),
    )


def client_for(concurrency: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=concurrency + 8, max_keepalive_connections=concurrency + 8)
    return httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(120, connect=10))


async def measure(
    info: RunInfo, settings: BenchSettings
) -> tuple[list[LevelResult], dict[str, dict[str, float]], PhaseResult | None]:
    """Each level's direct and full phases, the processes' resident memory at rest and after each level, and the
    overload row."""
    processes = {name: info.pid(name) for name in (*ENGINE_PROCESSES, *SERVICE_PROCESSES)}
    memory = {"at rest": resident_mib(processes)}
    tenancy = await provision(info, math.ceil(max(settings.levels) / CONVERSATIONS_PER_KEY))
    helpline_pids = [info.pid(name) for name in (*ENGINE_PROCESSES, *SERVICE_PROCESSES)]
    meter = CpuMeter(
        {
            "engines": by_pid([info.pid(name) for name in ENGINE_PROCESSES]),
            **{name: by_pid([info.pid(name)]) for name in SERVICE_PROCESSES},
            "postgres": by_name("postgres"),
            "redis": by_name("redis-server"),
        }
    )
    assert len(helpline_pids) == len(set(helpline_pids))
    me = psutil.Process()

    def drivers(http: httpx.AsyncClient) -> tuple[DirectDriver, GatewayDriver]:
        direct = DirectDriver(
            http=http,
            replicas=[info.url("chat-engine-1"), info.url("chat-engine-2")],
            api_key=str(info["engine_api_key"]),
            model=str(info["models"]["chat"]),
            system_prompt=tenancy.system_prompt,
            temperature=tenancy.temperature,
            max_tokens=tenancy.max_tokens,
        )
        return direct, GatewayDriver(http=http, gateway_url=info.gateway_url, api_keys=tenancy.api_keys)

    warmup = BenchSettings(levels=(4,), turns_per_worker=2, min_turns=8, seed="warmup", ramp_seconds=0.2)
    async with client_for(8) as http:
        for driver in drivers(http):  # connection pools, lazy imports, first-request costs: not measured
            await run_phase(driver, 4, settings=warmup, meter=meter, driver_process=me)
    metrics_urls = {name: info.url(name) for name in ("gateway", "chat", "sessions", "chat-engine-1", "chat-engine-2")}
    results = []
    for concurrency in settings.levels:
        phases = []
        for index in range(2):
            async with client_for(concurrency) as http:
                driver = drivers(http)[index]
                print(f"bench: {driver.name} path, {concurrency} concurrent conversations ...", file=sys.stderr)
                urls = metrics_urls if driver.name == "full" else None
                phases.append(
                    await run_phase(
                        driver, concurrency, settings=settings, meter=meter, driver_process=me, metrics_urls=urls
                    )
                )
            await asyncio.sleep(1.0)  # let background work (token charges, classifications) settle
        results.append(LevelResult(direct=phases[0], full=phases[1]))
        memory[f"after {concurrency}"] = resident_mib(processes)
    return results, memory, await measure_overload(info, settings, meter)


async def measure_overload(info: RunInfo, settings: BenchSettings, meter: CpuMeter) -> PhaseResult | None:
    if settings.overload is None:
        return None
    tenancy = await provision(info, math.ceil(settings.overload / CONVERSATIONS_PER_KEY))
    async with client_for(settings.overload) as http:
        driver = GatewayDriver(http=http, gateway_url=info.gateway_url, api_keys=tenancy.api_keys)
        print(f"bench: overload, {settings.overload} customers on the full path ...", file=sys.stderr)
        return await run_phase(
            driver, settings.overload, settings=settings, meter=meter, driver_process=psutil.Process()
        )


def environment_facts() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
        "python": sys.version.split()[0],
    }


async def bench(settings: BenchSettings) -> dict[str, Any]:
    database, database_dsn = await create_database()
    state_dir = settings.out_dir / "state"
    facts = environment_facts()
    run = LocalRun(
        state_dir,
        args=["--log-level", "WARNING", "--sim-arg=--sim-jitter=0", "--fresh"],
        env={
            "DATABASE_URL": database_dsn,
            "REDIS_URL": REDIS_URL,
            "HELPLINE_ADMISSION_CAPACITY": str(settings.admission_capacity),
        },
    )
    try:
        run.start()  # from the loop's own thread: the run must die with it (see LocalRun.start)
        print(f"bench: stack ready at {run.info.gateway_url} (log: {run.log_path})", file=sys.stderr)
        levels, memory, overload = await measure(run.info, settings)
    finally:
        status = await asyncio.to_thread(run.stop)
        await drop_database(database)
    if status != 0:
        raise RuntimeError(f"the local run did not stop cleanly (status {status}); see {run.log_path}")
    document = report_document(levels, settings_summary(settings), facts, overload=overload)
    return {**document, "resident_memory_mib": memory}


def settings_summary(settings: BenchSettings) -> dict[str, Any]:
    return {
        "levels": list(settings.levels),
        "overload_customers": settings.overload,
        "admission_capacity": settings.admission_capacity,
        "turns_per_conversation": settings.turns_per_conversation,
        "turn_budget": {str(level): settings.turn_budget(level) for level in settings.levels},
        "max_seconds_per_phase": settings.max_seconds,
        "simulator": "app.enginesim defaults (TTFT 40 ms + 0.25 ms per uncached prompt token, 25 ms + 0.1 ms x "
        "running sequences per token, ~80-token answers), jitter 0",
        "service_log_level": "WARNING",
        "data": "Postgres 127.0.0.1 (fresh database), Redis 127.0.0.1",
    }


def parse_args(argv: Sequence[str] | None) -> BenchSettings:
    parser = argparse.ArgumentParser(
        prog="python -m bench.overhead", description="Engine direct vs the full customer path."
    )
    parser.add_argument("--levels", default="1,32", help="concurrent conversations, comma-separated")
    parser.add_argument(
        "--admission-capacity",
        type=int,
        default=32,
        help="turns the gateway runs at once (HELPLINE_ADMISSION_CAPACITY)",
    )
    parser.add_argument("--overload", type=int, default=128, help="customers in the overload row (0: none)")
    parser.add_argument("--turns-per-conversation", type=int, default=4)
    parser.add_argument(
        "--turns-per-worker",
        type=int,
        default=BenchSettings.turns_per_worker,
        help="turn budget per level = this x level",
    )
    parser.add_argument("--min-turns", type=int, default=20, help="at least this many turns per level")
    parser.add_argument("--max-seconds", type=float, default=60.0, help="each phase stops after this long")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    return BenchSettings(
        levels=tuple(int(level) for level in args.levels.split(",") if level),
        overload=args.overload or None,
        admission_capacity=args.admission_capacity,
        turns_per_conversation=args.turns_per_conversation,
        turns_per_worker=args.turns_per_worker,
        min_turns=args.min_turns,
        max_seconds=args.max_seconds,
        out_dir=args.out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    document = asyncio.run(bench(settings))
    document["output_guardrail"] = guardrail.measure()
    path = settings.out_dir / "overhead.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(render_table(document))
    print("\nResident memory:\n" + render_memory(document["resident_memory_mib"]))
    print()
    print(guardrail.render(document["output_guardrail"]))
    print(f"\n(written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
