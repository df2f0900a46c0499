"""``python -m app.enginesim``: the `vllm serve` command line, so a deployment swaps only image and command.

Flags that mean something without a GPU are honoured (model, served names, context length, concurrency, block
size, prefix caching, API key, host/port). GPU-only flags are accepted and ignored with one log line. Other
unknown flags are ignored with a warning (the serving component may pass vLLM flags this list has not met),
except unknown ``--sim-*`` flags, which are typos in the simulator's own flags and fail the start.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn
import uvloop

from app.enginesim.config import DEFAULT_BLOCK_SIZE, LatencyModel, SimConfig
from app.enginesim.faults import FaultSpec, parse_fault_flag
from app.enginesim.server import Simulator

log = logging.getLogger("app.enginesim")

#: GPU-only `vllm serve` flags that take a value: accepted and ignored.
IGNORED_VALUE_FLAGS = (
    "--gpu-memory-utilization",
    "--tensor-parallel-size",
    "--pipeline-parallel-size",
    "--quantization",
    "--dtype",
    "--kv-cache-dtype",
    "--max-num-batched-tokens",
    "--revision",
    "--tokenizer",
    "--tokenizer-revision",
    "--download-dir",
    "--load-format",
    "--swap-space",
    "--generation-config",
    "--chat-template",
    "--tool-call-parser",
    "--reasoning-parser",
    "--distributed-executor-backend",
)
#: Short spellings vLLM accepts for some of them.
IGNORED_ALIASES = {"--tensor-parallel-size": "-tp", "--pipeline-parallel-size": "-pp", "--quantization": "-q"}
#: GPU-only or logging-only `vllm serve` switches: accepted and ignored.
IGNORED_SWITCHES = (
    "--disable-log-requests",
    "--enable-log-requests",
    "--disable-log-stats",
    "--enforce-eager",
    "--trust-remote-code",
    "--enable-auto-tool-choice",
    "--disable-frontend-multiprocessing",
)
#: ``--x`` / ``--no-x`` switches vLLM takes that the simulator ignores.
IGNORED_TOGGLES = ("--enable-chunked-prefill",)

#: How often a launched simulator checks that its launcher still exists.
PARENT_POLL_SECONDS = 0.5

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

#: Where the vLLM image reads its API key from when --api-key is absent.
API_KEY_ENV = "VLLM_API_KEY"
CONTROL_TOKEN_ENV = "ENGINESIM_CONTROL_TOKEN"  # noqa: S105  # the variable's name, not a secret


@dataclass(frozen=True)
class ServerOptions:
    """How to serve (as opposed to what to simulate)."""

    host: str
    port: int
    log_level: str
    shutdown_timeout: int
    faults: tuple[FaultSpec, ...]
    port_file: Path | None
    parent_pid: int | None
    ignored_flags: tuple[str, ...]
    unknown_flags: tuple[str, ...]


def human_int(text: str) -> int:
    """vLLM's human-readable sizes: ``8192``, ``8k`` (8000), ``8K`` (8192), ``1m``, ``1M``."""
    multipliers = {"k": 1000, "K": 1024, "m": 1000**2, "M": 1024**2}
    suffix = text[-1:]
    if suffix in multipliers:
        return int(float(text[:-1]) * multipliers[suffix])
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.enginesim",
        description="A vLLM-compatible engine simulator (same command line as `vllm serve`).",
        allow_abbrev=False,
    )
    parser.add_argument("model_tag", nargs="?", help="model id, as in `vllm serve MODEL`")
    vllm = parser.add_argument_group("vLLM flags the simulator honours")
    vllm.add_argument("--model", help="model id (alternative to the positional argument)")
    vllm.add_argument("--served-model-name", nargs="+", help="names clients use; the first one is reported")
    vllm.add_argument("--max-model-len", type=human_int, default=8192, help="context length in tokens")
    vllm.add_argument("--max-num-seqs", type=int, default=256, help="sequences decoded concurrently")
    vllm.add_argument("--block-size", type=int, default=DEFAULT_BLOCK_SIZE, help="tokens per KV-cache block")
    vllm.add_argument("--enable-prefix-caching", action=argparse.BooleanOptionalAction, default=True)
    vllm.add_argument("--enable-prompt-tokens-details", action="store_true", help="report cached prompt tokens")
    vllm.add_argument("--api-key", nargs="+", help=f"keys accepted on /v1/* (default: ${API_KEY_ENV})")
    vllm.add_argument("--host", default="0.0.0.0", help="address to bind (default: all interfaces, like vLLM)")  # noqa: S104
    vllm.add_argument("--port", type=int, default=8000)
    vllm.add_argument(
        "--runner",
        choices=("auto", "generate", "pooling"),
        default="auto",
        help="pooling: serve /v1/embeddings (an embedding model); auto and generate: chat and completions",
    )
    vllm.add_argument("--seed", type=int, help="used as --sim-seed when that is not given")
    vllm.add_argument("--uvicorn-log-level", default="info", choices=LOG_LEVELS)

    ignored = parser.add_argument_group("GPU-only vLLM flags (accepted, ignored)")
    for flag in IGNORED_VALUE_FLAGS:
        names = [flag, IGNORED_ALIASES[flag]] if flag in IGNORED_ALIASES else [flag]
        ignored.add_argument(*names, dest=_ignored_dest(flag), metavar="VALUE", help=argparse.SUPPRESS)
    for flag in IGNORED_SWITCHES:
        ignored.add_argument(flag, dest=_ignored_dest(flag), action="store_const", const="on", help=argparse.SUPPRESS)
    for flag in IGNORED_TOGGLES:
        ignored.add_argument(
            flag, dest=_ignored_dest(flag), action=argparse.BooleanOptionalAction, help=argparse.SUPPRESS
        )

    latency = LatencyModel()
    sim = parser.add_argument_group("simulator flags")
    sim.add_argument("--sim-seed", type=int, help="seed for answers, choices and latency jitter (default 0)")
    sim.add_argument("--sim-ttft-ms", type=float, default=latency.ttft_base * 1000, help="base time to first token")
    sim.add_argument(
        "--sim-prefill-ms-per-token",
        type=float,
        default=latency.prefill_per_token * 1000,
        help="prefill time per uncached prompt token",
    )
    sim.add_argument("--sim-itl-ms", type=float, default=latency.itl_base * 1000, help="base inter-token latency")
    sim.add_argument(
        "--sim-itl-ms-per-seq",
        type=float,
        default=latency.itl_per_running_seq * 1000,
        help="extra inter-token latency per running sequence (batch slowdown)",
    )
    sim.add_argument("--sim-jitter", type=float, default=latency.jitter, help="latency jitter, fraction in [0, 1)")
    sim.add_argument("--sim-output-tokens", type=int, default=80, help="length of answers that end on their own")
    sim.add_argument("--sim-kv-cache-blocks", type=int, default=16384, help="KV-cache capacity in blocks")
    sim.add_argument(
        "--sim-control-token", help=f"bearer token enabling /sim/faults (default: ${CONTROL_TOKEN_ENV}; unset: off)"
    )
    sim.add_argument(
        "--sim-fault",
        action="append",
        default=[],
        metavar="KIND[:after_tokens=N,factor=F,count=N|all]",
        help="arm a fault at start (crash, hang, slow, error, dead); repeatable",
    )
    sim.add_argument("--sim-port-file", type=Path, help="write the bound port here once serving (for --port 0)")
    sim.add_argument(
        "--sim-shutdown-timeout", type=int, default=30, help="seconds to let in-flight streams finish on SIGTERM"
    )
    sim.add_argument(
        "--sim-parent-pid", type=int, help="shut down when this process (the test runner that started us) is gone"
    )
    return parser


def _ignored_dest(flag: str) -> str:
    return "ignored_" + flag.lstrip("-").replace("-", "_")


def parse_config(argv: Sequence[str], environ: dict[str, str] | None = None) -> tuple[SimConfig, ServerOptions]:
    """Parse a `vllm serve` style command line into what to simulate and how to serve it."""
    env = dict(os.environ) if environ is None else environ
    args_list = list(argv)
    if args_list[:1] == ["serve"]:  # `vllm serve MODEL ...` with the command swapped keeps its subcommand
        args_list = args_list[1:]
    parser = build_parser()
    args, unknown = parser.parse_known_args(args_list)
    sim_typos = [flag for flag in unknown if flag.startswith("--sim-")]
    if sim_typos:
        parser.error(f"unrecognized simulator flag(s): {' '.join(sim_typos)}")
    model = args.model or args.model_tag
    if not model:
        parser.error("a model is required: `python -m app.enginesim MODEL` or --model MODEL")
    api_keys = tuple(args.api_key or ([env[API_KEY_ENV]] if env.get(API_KEY_ENV) else []))
    seed = args.sim_seed if args.sim_seed is not None else (args.seed if args.seed is not None else 0)
    try:
        faults = tuple(parse_fault_flag(text) for text in args.sim_fault)
        latency = LatencyModel(
            ttft_base=args.sim_ttft_ms / 1000,
            prefill_per_token=args.sim_prefill_ms_per_token / 1000,
            itl_base=args.sim_itl_ms / 1000,
            itl_per_running_seq=args.sim_itl_ms_per_seq / 1000,
            jitter=args.sim_jitter,
        )
        config = SimConfig(
            model=model,
            served_model_names=tuple(args.served_model_name or [model]),
            max_model_len=args.max_model_len,
            max_num_seqs=args.max_num_seqs,
            block_size=args.block_size,
            kv_cache_blocks=args.sim_kv_cache_blocks,
            enable_prefix_caching=args.enable_prefix_caching,
            enable_prompt_tokens_details=args.enable_prompt_tokens_details,
            api_keys=api_keys,
            seed=seed,
            latency=latency,
            output_tokens=args.sim_output_tokens,
            control_token=args.sim_control_token or env.get(CONTROL_TOKEN_ENV) or None,
            runner="pooling" if args.runner == "pooling" else "generate",
        )
    except ValueError as exc:
        parser.error(str(exc))
    ignored = tuple(
        f"{name.removeprefix('ignored_').replace('_', '-')}={value}"
        for name, value in sorted(vars(args).items())
        if name.startswith("ignored_") and value is not None
    )
    options = ServerOptions(
        host=args.host,
        port=args.port,
        log_level=args.uvicorn_log_level,
        shutdown_timeout=args.sim_shutdown_timeout,
        faults=faults,
        port_file=args.sim_port_file,
        parent_pid=args.sim_parent_pid,
        ignored_flags=ignored,
        unknown_flags=tuple(unknown),
    )
    return config, options


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so ``--port 0`` works and the real port is known before the first request.

    The protocol is named (``IPPROTO_TCP``, not 0): asyncio sets ``TCP_NODELAY`` on accepted connections only for
    sockets that say they are TCP. Without it Nagle's algorithm holds each token's small write until the client
    acknowledges the previous one (tens of milliseconds per token under delayed ACKs), which vLLM (uvloop, always
    ``TCP_NODELAY``) never does."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class _AnnouncingServer(uvicorn.Server):
    """uvicorn, plus a callback once it is listening (where readiness is announced)."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


async def serve(config: SimConfig, options: ServerOptions) -> None:
    simulator = Simulator(config, faults=options.faults)
    sock = bind_socket(options.host, options.port)
    port = sock.getsockname()[1]

    def announce() -> None:
        log.info(
            "engine simulator serving %s as %s on %s:%d (max_model_len=%d, max_num_seqs=%d, seed=%d)",
            config.model,
            ", ".join(config.served_model_names),
            options.host,
            port,
            config.max_model_len,
            config.max_num_seqs,
            config.seed,
        )
        if options.port_file is not None:
            staging = options.port_file.with_suffix(".tmp")
            staging.write_text(str(port))
            staging.replace(options.port_file)

    uvicorn_config = uvicorn.Config(
        simulator.app,
        http="httptools",
        log_level=options.log_level,
        access_log=False,
        timeout_graceful_shutdown=options.shutdown_timeout,
        lifespan="on",
    )
    server = _AnnouncingServer(uvicorn_config, announce)
    watchdog = None
    if options.parent_pid is not None:
        watchdog = asyncio.create_task(_exit_with_parent(server, options.parent_pid))
    try:
        await server.serve(sockets=[sock])
    finally:
        if watchdog is not None:
            watchdog.cancel()
        sock.close()


async def _exit_with_parent(server: uvicorn.Server, parent_pid: int) -> None:
    """Shut down gracefully once the launching process is gone, so a killed test run leaves nothing behind."""
    # No portable event exists for "another process exited": two cheap checks a second.
    while os.getppid() == parent_pid:  # noqa: ASYNC110
        await asyncio.sleep(PARENT_POLL_SECONDS)
    log.warning("parent process %d is gone; shutting down", parent_pid)
    server.should_exit = True


def main(argv: Sequence[str] | None = None) -> None:
    config, options = parse_config(sys.argv[1:] if argv is None else argv)
    # --uvicorn-log-level governs uvicorn's loggers only, as in vLLM; the engine's own lines stay at INFO.
    logging.basicConfig(
        level=logging.DEBUG if options.log_level in ("debug", "trace") else logging.INFO,
        format="%(levelname)s %(asctime)s [%(name)s] %(message)s",
        stream=sys.stderr,
    )
    if options.ignored_flags:
        log.info("ignoring GPU-only vLLM flags: %s", " ".join(options.ignored_flags))
    if options.unknown_flags:
        log.warning("ignoring unrecognised flags: %s", " ".join(options.unknown_flags))
    if config.control_token is None:
        log.info("fault injection API disabled (no --sim-control-token)")
    uvloop.run(serve(config, options))
