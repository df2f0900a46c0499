"""``python -m app.devrun``: the one-command local run (``make run``), also started by the e2e tests and the bench.

Exit status: 0 after a requested stop (Ctrl-C, SIGTERM), 1 when something failed to start or died, 2 for a
configuration error (printed as one line naming the variable or flag).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from app.devrun.config import (
    CHAT_MODEL,
    CLASSIFIER_MODEL,
    DATABASE_SERVICES,
    SIMULATED_MAX_MODEL_LEN,
    ConfigError,
    ExternalEngine,
    RunConfig,
    engine_from_environment,
    normalize_database_url,
    normalize_redis_url,
    optional_env,
    parse_port_overrides,
    resolve_ports,
)
from app.devrun.demo import (
    SeedingError,
    admin_password,
    banner,
    import_help_centre,
    mint_widget_token,
    parse_bootstrap_output,
    run_document,
    write_private,
)
from app.devrun.output import Output
from app.devrun.plan import EngineModels, build_plan, engine_api_key
from app.devrun.preflight import check_redis, ensure_postgres_database, probe_engine
from app.devrun.run_secrets import generate_run_secrets
from app.devrun.supervisor import StartupError, StopRequestedError, Supervisor

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m app.devrun",
        description="Start the engine simulators (or use VLLM_BASE_URL) and every Helpline service locally. "
        "Environment: DATABASE_URL (Postgres; default SQLite files), REDIS_URL (default in-memory limits), "
        "VLLM_BASE_URL, VLLM_API_KEY, VLLM_CHAT_MODEL, VLLM_CLASSIFIER_MODEL.",
    )
    parser.add_argument("--state-dir", type=Path, default=Path("var"), help="SQLite files and the run file (var/)")
    parser.add_argument("--fresh", action="store_true", help="delete the SQLite databases first")
    parser.add_argument(
        "--port", action="append", default=[], metavar="NAME=PORT", help="move one process (repeatable)"
    )
    parser.add_argument("--port-offset", type=int, default=0, help="add this to every default port")
    parser.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"], default="INFO")
    parser.add_argument("--raw-logs", action="store_true", help="print the services' JSON log lines unchanged")
    parser.add_argument("--run-file", type=Path, help="where to write the run's URLs and keys (<state-dir>/run.json)")
    parser.add_argument(
        "--sim-arg",
        action="append",
        default=[],
        metavar="FLAG",
        help="extra simulator flag, e.g. --sim-arg=--sim-jitter=0",
    )
    parser.add_argument("--startup-timeout", type=float, default=90.0, help="seconds each stage may take")
    return parser


def config_from(arguments: argparse.Namespace, environ: Mapping[str, str]) -> RunConfig:
    database = optional_env(environ, "DATABASE_URL")
    redis = optional_env(environ, "REDIS_URL")
    return RunConfig(
        state_dir=arguments.state_dir,
        ports=resolve_ports(parse_port_overrides(arguments.port), arguments.port_offset),
        engine=engine_from_environment(environ, arguments.sim_arg),
        database_url=normalize_database_url(database) if database else None,
        redis_url=normalize_redis_url(redis) if redis else None,
        log_level=arguments.log_level,
        fresh=arguments.fresh,
        raw_logs=arguments.raw_logs,
        run_file=arguments.run_file or arguments.state_dir / "run.json",
    )


def delete_sqlite_files(config: RunConfig) -> None:
    for service in DATABASE_SERVICES:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{config.sqlite_path(service)}{suffix}").unlink()


async def prepare(config: RunConfig, output: Output) -> EngineModels:
    """Preflight checks; the engine's models. Raises ``ConfigError``."""
    config.state_dir.mkdir(parents=True, exist_ok=True)
    if config.fresh and config.database_url is None:
        delete_sqlite_files(config)
        output.notice(f"--fresh: deleted the SQLite databases in {config.state_dir}/")
    if config.database_url is not None and await ensure_postgres_database(config.database_url):
        output.notice("created the database named in DATABASE_URL")
    if config.redis_url is not None:
        await check_redis(config.redis_url)
    if isinstance(config.engine, ExternalEngine):
        return await probe_engine(config.engine)
    return EngineModels(chat=CHAT_MODEL, classifier=CLASSIFIER_MODEL, max_model_len=SIMULATED_MAX_MODEL_LEN)


async def run(config: RunConfig, *, startup_timeout: float) -> int:
    run_secrets = generate_run_secrets()
    output = Output(
        [*(f"{service}-setup" for service in DATABASE_SERVICES), *config.processes], raw_logs=config.raw_logs
    )
    models = await prepare(config, output)
    password = admin_password(config.state_dir)
    plan = build_plan(config, run_secrets, models, admin_password=password)
    supervisor = Supervisor(plan, output, startup_timeout=startup_timeout)
    supervisor.install_signal_handlers()
    simulated = not isinstance(config.engine, ExternalEngine)
    status = EXIT_OK
    try:
        setup_outputs = await supervisor.start()
        credentials = parse_bootstrap_output(setup_outputs["auth-setup"], password)
        widget_token = await supervisor.guard(
            mint_widget_token(config.url_of("gateway"), credentials.api_key, config.demo.end_user)
        )
        imported = await supervisor.guard(import_help_centre(config.url_of("gateway"), credentials.api_key))
        output.notice(
            f"demo help centre: {imported['created']} articles created, {imported['updated']} updated, "
            f"{imported['unchanged']} unchanged"
        )

        def write_run_file() -> None:
            if config.run_file is None:
                return
            document = run_document(
                config,
                models,
                credentials,
                widget_token,
                pids={name: child.pid for name, child in supervisor.children.items()},
                engine_api_key=engine_api_key(config, run_secrets),
                sim_control_token=run_secrets.sim_control_token if simulated else None,
            )
            write_private(config.run_file, json.dumps(document, indent=2) + "\n")

        async def on_restart(_child: object) -> None:
            write_run_file()

        supervisor.on_restart = on_restart
        write_run_file()
        output.block(banner(config, models, credentials, widget_token, config.run_file))
        reason = await supervisor.wait()
        if reason is not None:
            output.notice(f"stopping everything: {reason}")
            status = EXIT_FAILED
    except StopRequestedError:
        pass
    except (StartupError, SeedingError) as exc:
        output.notice(f"could not start: {exc}")
        status = EXIT_FAILED
    finally:
        await supervisor.stop()
        if config.run_file is not None:
            with contextlib.suppress(FileNotFoundError):
                config.run_file.unlink()
        output.notice("stopped" if status == EXIT_OK else "stopped after a failure")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    try:
        config = config_from(arguments, os.environ)
        return asyncio.run(run(config, startup_timeout=arguments.startup_timeout))
    except ConfigError as exc:
        print(f"devrun: {exc}", file=sys.stderr)
        return EXIT_CONFIG
