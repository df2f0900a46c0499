"""Run a real simulator process from Python: tests, the local run and benchmarks use this.

    with EngineSimProcess(served_model_name="helpline-chat", api_key="k") as engine:
        client = openai.OpenAI(base_url=engine.v1_url, api_key="k")
        engine.arm_fault("crash", after_tokens=5)   # the next stream dies after 5 tokens

The process binds port 0 and reports the port it got through a file, so parallel test runs never race for
ports; ``start`` returns once ``/health`` answers. ``stop`` sends SIGTERM (graceful: in-flight streams finish)
and kills after a timeout.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from app.core.waits import scaled
from app.enginesim.faults import FaultKind

ROOT = Path(__file__).resolve().parents[2]


class EngineSimError(RuntimeError):
    """The simulator process did not start (its log is in the message)."""


class EngineSimProcess:
    """One ``python -m app.enginesim`` process on 127.0.0.1 and a free port."""

    def __init__(
        self,
        model: str = "Qwen/Qwen2.5-7B-Instruct-AWQ",
        *,
        served_model_name: str | None = None,
        api_key: str | None = None,
        control_token: str | None = None,
        max_model_len: int | None = None,
        max_num_seqs: int | None = None,
        seed: int = 0,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        startup_timeout: float = 20.0,
    ) -> None:
        self.model = model
        self.served_model_name = served_model_name or model
        self.api_key = api_key
        #: Fault injection is always on for launched processes: tests need it, and the token is random.
        self.control_token = control_token or secrets.token_urlsafe(16)
        self.startup_timeout = startup_timeout
        self._command = [sys.executable, "-m", "app.enginesim", model, "--served-model-name", self.served_model_name]
        self._command += ["--host", "127.0.0.1", "--port", "0", "--sim-seed", str(seed)]
        # If the launcher dies without stopping us (a killed test run), the simulator exits on its own.
        self._command += ["--sim-parent-pid", str(os.getpid())]
        if api_key is not None:
            # One argument with "=": a key may begin with "-" (token_urlsafe's alphabet has it), which argparse would
            # take for an option if the key came as its own argument.
            self._command.append(f"--api-key={api_key}")
        if max_model_len is not None:
            self._command += ["--max-model-len", str(max_model_len)]
        if max_num_seqs is not None:
            self._command += ["--max-num-seqs", str(max_num_seqs)]
        self._command += list(args)
        self._env = {**os.environ, **(env or {}), "ENGINESIM_CONTROL_TOKEN": self.control_token}
        self._env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), self._env.get("PYTHONPATH")]))
        self._workdir: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._port_file = Path()
        self._deadline = 0.0
        self.port: int | None = None
        self._last_log = ""
        #: One client for health polls and control calls (creating one per call costs ~0.1 s of TLS setup).
        self._http = httpx.Client(timeout=5)

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> Self:
        """Launch the process and wait until ``/health`` answers (200, or 503 when started dead)."""
        self._launch()
        self._wait_ready()
        return self

    @staticmethod
    def start_all(*processes: EngineSimProcess) -> None:
        """Start several simulators in parallel (their imports overlap); all or none are left running."""
        try:
            for process in processes:
                process._launch()
            for process in processes:
                process._wait_ready()
        except BaseException:
            for process in processes:
                process.stop()
            raise

    def _launch(self) -> None:
        if self._process is not None:
            raise RuntimeError("already started")
        self._workdir = tempfile.TemporaryDirectory(prefix="enginesim-")
        workdir = Path(self._workdir.name)
        self._port_file = workdir / "port"
        with (workdir / "log").open("wb") as log:
            self._process = subprocess.Popen(  # noqa: S603  # our own module, no shell
                [*self._command, "--sim-port-file", str(self._port_file)],
                cwd=ROOT,
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._deadline = time.monotonic() + scaled(self.startup_timeout)  # a loaded machine starts slower

    def _wait_ready(self) -> None:
        while not self._port_file.exists():
            self._fail_if_exited("exited before serving")
            if time.monotonic() > self._deadline:
                self.stop()
                raise EngineSimError(f"no port after {scaled(self.startup_timeout):g}s\n{self.log_text()}")
            time.sleep(0.02)
        self.port = int(self._port_file.read_text())
        while True:
            self._fail_if_exited("exited during startup")
            try:
                if self._http.get(f"{self.base_url}/health", timeout=1).status_code in (200, 503):
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > self._deadline:
                self.stop()
                raise EngineSimError(
                    f"/health did not answer within {scaled(self.startup_timeout):g}s\n{self.log_text()}"
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit status (None if never started)."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._workdir is not None:
            self._last_log = self.log_text()
            self._workdir.cleanup()
            self._workdir = None
        self._http.close()
        return process.returncode

    def wait_exit(self, timeout: float = 10.0) -> int:
        """Wait for the process to exit on its own (a crash fault); returns its status."""
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.wait(timeout)

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.pid

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.stop()

    # --- addresses -------------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        if self.port is None:
            raise RuntimeError("not started")
        return f"http://127.0.0.1:{self.port}"

    @property
    def v1_url(self) -> str:
        """What an OpenAI client takes as ``base_url``."""
        return f"{self.base_url}/v1"

    # --- control ---------------------------------------------------------------------------------------------
    def arm_fault(
        self, kind: FaultKind, *, after_tokens: int = 0, factor: float = 1.0, count: int | None = 1
    ) -> dict[str, Any]:
        """Arm a fault for the next ``count`` requests (None: all until cleared); returns the armed faults."""
        body = {"kind": kind, "after_tokens": after_tokens, "factor": factor, "count": count}
        return self._control("POST", json=body)

    def clear_faults(self) -> dict[str, Any]:
        """Disarm every pending fault (a dead engine stays dead: its process exits)."""
        return self._control("DELETE")

    def faults(self) -> dict[str, Any]:
        return self._control("GET")

    def metrics_text(self) -> str:
        response = self._http.get(f"{self.base_url}/metrics")
        response.raise_for_status()
        return response.text

    def log_text(self) -> str:
        if self._workdir is None:
            return self._last_log
        path = Path(self._workdir.name) / "log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _control(self, method: str, json: Any = None) -> dict[str, Any]:
        response = self._http.request(
            method, f"{self.base_url}/sim/faults", json=json, headers={"Authorization": f"Bearer {self.control_token}"}
        )
        response.raise_for_status()
        return response.json()

    def _fail_if_exited(self, what: str) -> None:
        if self._process is not None and self._process.poll() is not None:
            status = self._process.returncode
            log = self.log_text()
            self.stop()
            raise EngineSimError(f"enginesim {what} (status {status})\n{log}")
