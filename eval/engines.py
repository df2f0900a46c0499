"""Engines an evaluation runs against: a simulator started for the run, or an engine someone already runs.

The simulator is started as ``make run`` starts it (``python -m app.enginesim``, a separate process on a loopback
port it picks itself), so the evaluation goes over real HTTP exactly as it would to a vLLM at a URL. It stops
with the evaluation, and on its own if the evaluation process dies (``--sim-parent-pid``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

#: How long the simulator may take to bind and answer /health (scaled on a loaded machine).
START_TIMEOUT_SECONDS = 30.0 * float(os.environ.get("HELPLINE_WAIT_SCALE", "1"))


@dataclass(frozen=True)
class EngineTarget:
    """Where an evaluation sends its requests and how it names what it evaluated."""

    base_url: str  # OpenAI base URL, ending in /v1
    model: str  # served model name
    api_key: str | None
    #: "enginesim" or "vllm" (what /v1/models' owned_by or the caller says), recorded with the figures
    engine: str


@contextmanager
def simulated_engine(served_model_name: str) -> Iterator[EngineTarget]:
    """A simulator serving ``served_model_name`` on 127.0.0.1 for the ``with`` block."""
    with tempfile.TemporaryDirectory(prefix="helpline-eval-") as folder:
        port_file = Path(folder) / "port"
        command = [sys.executable, "-m", "app.enginesim", "helpline/eval-classifier"]
        command += ["--served-model-name", served_model_name, "--host", "127.0.0.1", "--port", "0"]
        command += ["--uvicorn-log-level", "warning", "--sim-port-file", str(port_file)]
        command += ["--sim-parent-pid", str(os.getpid())]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL)  # noqa: S603 -- our own module, fixed argv
        try:
            port = _wait_for_port(process, port_file)
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(process, base)
            yield EngineTarget(base_url=f"{base}/v1", model=served_model_name, api_key=None, engine="enginesim")
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_port(process: subprocess.Popen[bytes], port_file: Path) -> int:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the engine simulator exited with status {process.returncode} before serving")
        if port_file.exists():
            return int(port_file.read_text())
        time.sleep(0.05)
    raise TimeoutError(f"the engine simulator did not bind a port within {START_TIMEOUT_SECONDS:.0f} s")


def _wait_healthy(process: subprocess.Popen[bytes], base: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the engine simulator exited with status {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == httpx.codes.OK:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"the engine simulator was not healthy within {START_TIMEOUT_SECONDS:.0f} s")
