"""Start ``python -m app.devrun`` from Python and drive it: the e2e and browser tests and the benchmark use this.

    with LocalRun(tmp_path, args=["--log-level", "WARNING"]) as run:
        httpx.get(run.info.gateway_url + "/readyz")

Exactly the command ``make run`` runs, on free ports (two runs, or a run next to someone's ``make run``, never
collide), with the state directory given. ``start`` returns once the run file exists, i.e. once every process
is ready and the demo tenant is seeded; ``stop`` sends SIGINT (what Ctrl-C sends) and returns the exit status.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from app.devrun.config import DEFAULT_PORTS
from app.devrun.plan import ROOT
from app.devrun.supervisor import DIE_WITH_PARENT

#: Settings the run reads from the environment; a launched run gets them only when ``env`` passes them, so a
#: developer's exported DATABASE_URL or VLLM_BASE_URL never changes what a test or the benchmark runs against.
RUN_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "VLLM_BASE_URL",
    "VLLM_API_KEY",
    "VLLM_CHAT_MODEL",
    "VLLM_CLASSIFIER_MODEL",
)


class LocalRunError(RuntimeError):
    """The local run did not start; the message ends with its output."""


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports free right now (all bound at once, so no two are the same)."""
    with ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def free_port_arguments() -> list[str]:
    """``--port NAME=PORT`` for every process of a run."""
    ports = free_ports(len(DEFAULT_PORTS))
    return [f"--port={name}={port}" for name, port in zip(DEFAULT_PORTS, ports, strict=True)]


@dataclass(frozen=True)
class RunInfo:
    """The run file's contents (see ``app.devrun.demo.run_document``)."""

    document: Mapping[str, Any]

    def __getitem__(self, key: str) -> Any:
        return self.document[key]

    @property
    def gateway_url(self) -> str:
        return str(self.document["gateway_url"])

    @property
    def api_key(self) -> str:
        return str(self.document["api_key"])

    def url(self, process: str) -> str:
        return str(self.document["urls"][process])

    def pid(self, process: str) -> int:
        return int(self.document["pids"][process])


class LocalRun:
    def __init__(
        self,
        state_dir: Path,
        *,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 180.0,
    ) -> None:
        self.state_dir = state_dir
        self.run_file = state_dir / "run.json"
        self.log_path = state_dir / "devrun.log"
        self.startup_timeout = startup_timeout
        self._command = [
            sys.executable,
            "-m",
            "app.devrun",
            "--state-dir",
            str(state_dir),
            "--run-file",
            str(self.run_file),
            *free_port_arguments(),
            *args,
        ]
        inherited = {name: value for name, value in os.environ.items() if name not in RUN_VARIABLES}
        self._env = {**inherited, "NO_COLOR": "1", **(env or {})}
        self._process: subprocess.Popen[bytes] | None = None
        self.info = RunInfo({})

    def start(self) -> Self:
        """Launch and wait for the run file. Call it from the main thread (see ``DIE_WITH_PARENT``)."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603  (our own module, no shell)
                self._command,
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=DIE_WITH_PARENT,  # noqa: PLW1509  (one prctl call; a killed caller takes the run down)
            )
        deadline = time.monotonic() + self.startup_timeout
        while not self.run_file.exists():
            if self._process.poll() is not None:
                raise LocalRunError(f"make run exited with {self._process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise LocalRunError(f"make run was not ready after {self.startup_timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)
        self.info = RunInfo(json.loads(self.run_file.read_text()))
        return self

    def reload_info(self) -> RunInfo:
        """Re-read the run file (it is rewritten when an engine restarts with a new pid)."""
        self.info = RunInfo(json.loads(self.run_file.read_text()))
        return self.info

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.pid

    def poll(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def stop(self, grace_seconds: float = 60.0) -> int | None:
        """Ctrl-C (SIGINT) and wait; SIGKILL after ``grace_seconds``. The exit status (None if never started)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(grace_seconds)
            except subprocess.TimeoutExpired:
                process.kill()  # its children get SIGTERM from the kernel (PR_SET_PDEATHSIG)
                process.wait()
        return process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.stop()
