"""``make bench`` (peer scenario): our OpenAI-compatible surface beside LiteLLM's proxy, on the same engines.

A team choosing a gateway in front of vLLM would compare us with LiteLLM's proxy, the one most of them would pick.
One run starts the stack as ``make run`` does (Postgres + Redis, the engine simulators at a fixed latency) and a
LiteLLM proxy from its own tool environment (``tools/litellm.lock``), configured with the same two chat replicas
as OpenAI-compatible backends, its master key for authentication and an rpm limit per deployment (in memory: the
same work as ours, authentication + a rate limit + relaying the stream). Then, for each concurrency level, the
same driver (``bench.drivers.DirectDriver``: streamed chat completions, one system prompt + one customer message)
sends the same requests three ways:

  direct    straight at the replicas;
  helpline  ``POST /v1/chat/completions`` on our gateway: API key, rate limit and token quota in Redis, then chat
            (model catalog, metering) and the router (replica choice) -- three Python hops;
  litellm   ``POST /v1/chat/completions`` on the LiteLLM proxy -- one Python hop.

Reported: TTFT percentiles, the TTFT each adds over direct, the CPU each gateway spends per request (its own
processes: gateway + chat + router for us, the proxy for LiteLLM; Redis apart) and ours per hop, so "our per-hop
overhead below theirs for the same work" can be read off one run. ``build/bench/peer.json`` and a table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

from app.core.waits import scaled
from app.devrun.launcher import LocalRun, RunInfo, free_ports
from bench.cpu import CpuMeter, by_name, by_pid
from bench.drivers import DirectDriver
from bench.overhead import REDIS_URL, BenchSettings, client_for, create_database, drop_database, run_phase
from bench.processes import serving_process
from bench.report import PhaseResult
from bench.stats import summary_ms

ROOT = Path(__file__).resolve().parents[1]
PUBLIC_MODEL = "helpline-chat"
#: The OpenAI path's hops in our stack, each metered; the engines and Redis are their own groups.
HELPLINE_HOPS = ("gateway", "chat", "router")
SYSTEM_PROMPT = "You are a helpful customer-service assistant. Answer briefly and politely."
CUSTOMER_MESSAGE = "Hello, my parcel with order number 48213 still shows as pending after five days. Can you check?"


@dataclass(frozen=True)
class PeerSettings:
    litellm: Path
    levels: tuple[int, ...] = (1, 32)
    requests_per_worker: int = 6
    min_requests: int = 20
    max_seconds: float = 60.0
    max_tokens: int = 80
    out_dir: Path = field(default_factory=lambda: ROOT / "build" / "bench")


def litellm_config(replicas: Sequence[str], engine_model: str, engine_key: str, master_key: str) -> dict[str, Any]:
    """The proxy's config: each replica a deployment of the public model name, an rpm limit, no telemetry."""
    return {
        "model_list": [
            {
                "model_name": PUBLIC_MODEL,
                "litellm_params": {
                    "model": f"openai/{engine_model}",
                    "api_base": f"{replica}/v1",
                    "api_key": engine_key,
                    "rpm": 100_000,
                },
            }
            for replica in replicas
        ],
        "litellm_settings": {"telemetry": False, "drop_params": False},
        "general_settings": {"master_key": master_key},
    }


@contextmanager
def litellm_proxy(executable: Path, config: dict[str, Any], *, startup_timeout: float) -> Iterator[tuple[str, int]]:
    """A LiteLLM proxy on a free loopback port: (base URL, pid). Stopped (SIGTERM, then SIGKILL) on exit."""
    (port,) = free_ports(1)
    with tempfile.TemporaryDirectory(prefix="litellm-") as workdir:
        config_path = Path(workdir) / "config.yaml"
        config_path.write_text(yaml.safe_dump(config))
        # The bundled model cost map, not a fetch from GitHub at start-up (loopback only).
        env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
        url = f"http://127.0.0.1:{port}"
        argv = [str(executable), "--config", str(config_path), "--host", "127.0.0.1", "--port", str(port)]
        with serving_process(
            argv,
            env=env,
            cwd=Path(workdir),
            ready_url=f"{url}/health/liveliness",
            startup_timeout=startup_timeout,
            name="LiteLLM",
        ) as process:
            yield url, process.pid


def with_children(pid: int) -> list[int]:
    process = psutil.Process(pid)
    return [pid, *(child.pid for child in process.children(recursive=True))]


@dataclass(frozen=True)
class Target:
    name: str
    base_url: str
    api_key: str
    model: str
    cpu_groups: tuple[str, ...]  # the gateway's own processes, for CPU per request


def phase_row(result: PhaseResult, direct: PhaseResult, target: Target) -> dict[str, Any]:
    ttft = summary_ms(result.ttft)
    base = summary_ms(direct.ttft)
    added = {rank: round(ttft[rank] - base[rank], 2) for rank in ("p50", "p99") if rank in ttft and rank in base}
    cpu = result.cpu_ms_per_turn(*target.cpu_groups) if target.cpu_groups else None
    return {
        "path": target.name,
        "concurrency": result.concurrency,
        "requests": result.turns,
        "failed": sum(result.errors.values()),
        "errors": result.errors,
        "requests_per_second": round(result.turns_per_second, 2),
        "ttft_ms": ttft,
        "added_ttft_ms": added if target.cpu_groups else {},
        "gateway_cpu_ms_per_request": round(cpu, 2) if cpu is not None else None,
        "hops": len(target.cpu_groups),
        "cpu_ms_per_request_per_hop": round(cpu / len(target.cpu_groups), 2) if cpu else None,
        "engine_cpu_ms_per_request": round(result.cpu_ms_per_turn("engines"), 2),
        "redis_cpu_ms_per_request": round(result.cpu_ms_per_turn("redis"), 2),
    }


async def measure(info: RunInfo, litellm_url: str, litellm_pid: int, master_key: str, settings: PeerSettings) -> list:
    engines = ("chat-engine-1", "chat-engine-2", "classifier-engine")
    meter = CpuMeter(
        {
            "engines": by_pid([info.pid(name) for name in engines]),
            **{hop: by_pid([info.pid(hop)]) for hop in HELPLINE_HOPS},
            "litellm": by_pid(with_children(litellm_pid)),
            "redis": by_name("redis-server"),
        }
    )
    replicas = [info.url("chat-engine-1"), info.url("chat-engine-2")]
    targets = [
        Target("direct", "", str(info["engine_api_key"]), str(info["models"]["chat"]), ()),
        Target("helpline", info.gateway_url, info.api_key, PUBLIC_MODEL, HELPLINE_HOPS),
        Target("litellm", litellm_url, master_key, PUBLIC_MODEL, ("litellm",)),
    ]
    me = psutil.Process()
    rows = []
    for concurrency in (2, *settings.levels):  # the first pass warms connection pools and lazy imports
        phase_settings = BenchSettings(
            levels=(concurrency,),
            turns_per_conversation=1,
            turns_per_worker=settings.requests_per_worker,
            min_turns=settings.min_requests,
            max_seconds=settings.max_seconds,
            ramp_seconds=1.0 if concurrency > 1 else 0.0,
            seed=f"peer-{concurrency}",
        )
        results: dict[str, PhaseResult] = {}
        for target in targets:
            async with client_for(concurrency) as http:
                driver = DirectDriver(
                    http=http,
                    replicas=[target.base_url] if target.base_url else replicas,
                    api_key=target.api_key,
                    model=target.model,
                    system_prompt=SYSTEM_PROMPT,
                    temperature=0.0,
                    max_tokens=settings.max_tokens,
                    name=target.name,
                )
                print(f"bench: peer, {target.name}, {concurrency} concurrent requests ...", file=sys.stderr)
                results[target.name] = await run_phase(
                    driver, concurrency, settings=phase_settings, meter=meter, driver_process=me
                )
            await asyncio.sleep(1.0)
        if concurrency in settings.levels:
            rows += [phase_row(results[target.name], results["direct"], target) for target in targets]
    return rows


async def bench(settings: PeerSettings) -> dict[str, Any]:
    database, database_dsn = await create_database()
    run = LocalRun(
        settings.out_dir / "peer-state",
        args=["--log-level", "WARNING", "--sim-arg=--sim-jitter=0", "--fresh"],
        env={"DATABASE_URL": database_dsn, "REDIS_URL": REDIS_URL},
    )
    load = [round(value, 2) for value in os.getloadavg()]
    master_key = f"sk-{secrets.token_urlsafe(24)}"
    try:
        run.start()
        info = run.info
        config = litellm_config(
            [info.url("chat-engine-1"), info.url("chat-engine-2")],
            str(info["models"]["chat"]),
            str(info["engine_api_key"]),
            master_key,
        )
        with litellm_proxy(settings.litellm, config, startup_timeout=scaled(120)) as (url, pid):
            rows = await measure(info, url, pid, master_key, settings)
    finally:
        await asyncio.to_thread(run.stop)
        await drop_database(database)
    return {
        "load_average_at_start": load,
        "cpus": os.cpu_count(),
        "litellm": litellm_version(settings.litellm),
        "request": {"max_tokens": settings.max_tokens, "stream": True, "include_usage": True},
        "rows": rows,
    }


def litellm_version(executable: Path) -> str:
    python = executable.parent / "python"
    found = subprocess.run(  # noqa: S603  (our tool env's interpreter, no shell)
        [str(python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found.stdout.strip() or "unknown"


def render_table(document: dict[str, Any]) -> str:
    lines = [
        "| concurrency | path | requests | failed | req/s | TTFT p50 ms | TTFT p99 ms | added p50 ms | added p99 ms "
        "| gateway CPU ms/request | hops | CPU ms/request per hop |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in document["rows"]:
        ttft, added = row["ttft_ms"], row["added_ttft_ms"]

        def cell(value: object) -> str:
            return "-" if value is None else str(value)

        lines.append(
            f"| {row['concurrency']} | {row['path']} | {row['requests']} | {row['failed']} "
            f"| {row['requests_per_second']} | {cell(ttft.get('p50'))} | {cell(ttft.get('p99'))} "
            f"| {cell(added.get('p50'))} | {cell(added.get('p99'))} | {cell(row['gateway_cpu_ms_per_request'])} "
            f"| {row['hops'] or '-'} | {cell(row['cpu_ms_per_request_per_hop'])} |"
        )
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> PeerSettings:
    parser = argparse.ArgumentParser(prog="python -m bench.peer", description="Our OpenAI surface vs LiteLLM.")
    parser.add_argument("--litellm", type=Path, required=True, help="the litellm CLI of its tool env")
    parser.add_argument("--levels", default="1,32", help="concurrent requests, comma-separated")
    parser.add_argument("--requests-per-worker", type=int, default=6)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "bench")
    args = parser.parse_args(argv)
    return PeerSettings(
        litellm=args.litellm.resolve(),  # the proxy runs in its own working directory
        levels=tuple(int(level) for level in args.levels.split(",")),
        requests_per_worker=args.requests_per_worker,
        max_seconds=args.max_seconds,
        out_dir=args.out,
    )


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_args(argv)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    document = asyncio.run(bench(settings))
    path = settings.out_dir / "peer.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(render_table(document))
    print(f"\n(written to {path})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
