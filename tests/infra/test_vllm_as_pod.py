"""A real vLLM started as the rendered engine pod runs it: UID 10001 with no passwd entry, a read-only root.

The engine Deployment is built by the same builder the stacks render (``infra.serving.engine``); its container's
environment, user, group and volume mounts become a sandbox (tests/support/pod_sandbox.py: bubblewrap + setpriv):
every emptyDir a fresh writable folder at its mount path, the model cache claim the tiny model's folder,
read-only at ``/models``, everything else read-only. The API key arrives as ``VLLM_API_KEY`` as the Secret
gives it. Only the arguments differ from the pod's: the CPU build serving the tiny model instead of a GPU serving
the configured checkpoint. A server that cannot write where the pod lets it, or that needs a user name, dies here.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest

from app.core.waits import scaled
from infra.cluster import gpu_scheduling
from infra.serving.engine import API_KEY_ENV, ApiKeyRef, engine_deployment
from infra.serving.model_cache import CACHE_CLAIM, CACHE_MOUNT
from stacks.config.serving import DEFAULT_VLLM_IMAGE
from tests.infra.test_serving_builders import CHAT
from tests.support.pod_sandbox import PodSandbox, SandboxUnavailableError, sandbox_tools
from tests.support.vllm_fixtures import TEST_SECONDS, real_vllm_unavailable, vllm_env_or_skip
from tests.support.vllm_server import STARTUP_SECONDS, VllmEnv, VllmServer, build_tiny_model

SERVED = "helpline-pod"
#: What the image's own ENV gives the container besides the pod's env (kubelet merges both).
IMAGE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
#: The CPU build's KV cache (GiB): small on a shared machine; a GPU pod sizes it from --gpu-memory-utilization.
CPU_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}
TINY_MODEL = "tiny-chat"


def engine_pod() -> dict[str, Any]:
    """The chat engine's pod spec, from the builder the stacks render with."""
    deployment = engine_deployment(
        "vllm",
        CHAT,
        namespace="helpline-dev-serving",
        stack="dev",
        image=DEFAULT_VLLM_IMAGE,
        api_key=ApiKeyRef("engine-api-key", "api-key"),
        gpu=gpu_scheduling(),
        drain_seconds=120,
        spread_across_zones=False,
    )
    return deployment["spec"]["template"]["spec"]


class SandboxedVllmServer(VllmServer):
    """The suite's vLLM server process, started inside a pod sandbox."""

    def __init__(self, sandbox: PodSandbox, env: VllmEnv, model: Path, **kwargs: Any) -> None:
        super().__init__(env, model, **kwargs)
        self.sandbox = sandbox

    def command(self) -> list[str]:
        return self.sandbox.command(super().command())


@pytest.fixture
def pod_sandbox(tmp_path: Path) -> tuple[PodSandbox, VllmEnv, str]:
    """A sandbox of the rendered engine container, its cache holding the tiny model, and the API key it gets."""
    try:
        sandbox_tools()
    except SandboxUnavailableError as exc:
        real_vllm_unavailable(str(exc))
    env = vllm_env_or_skip()
    cache = tmp_path / "model-cache"
    build_tiny_model(env, cache / TINY_MODEL)
    subprocess.run(["chmod", "-R", "a+rX", str(cache)], check=True)  # the pod's group reads a claim
    api_key = secrets.token_urlsafe(16)
    sandbox = PodSandbox.from_pod(
        engine_pod(),
        "engine",
        scratch=tmp_path / "volumes",
        claims={CACHE_CLAIM: cache},
        secret_env={API_KEY_ENV: api_key},
        extra_env={**IMAGE_ENV, **CPU_ENV},
    ).with_interpreter(env.python)
    return sandbox, env, api_key


@pytest.mark.pod_sandbox
def test_the_sandbox_is_the_pod(pod_sandbox: tuple[PodSandbox, VllmEnv, str]) -> None:
    """UID/GID 10001 with no name, read-only root, writable emptyDirs, read-only model cache, no host HOME."""
    sandbox, env, _ = pod_sandbox
    probe = (
        "import os, pathlib, pwd, getpass\n"
        "print(os.getuid(), os.getgid(), os.getgroups())\n"
        "try: pwd.getpwuid(os.getuid()); print('passwd entry')\n"
        "except KeyError: print('no passwd entry')\n"
        "print(getpass.getuser())\n"
        "for path in ['/usr/x', '/tmp/x', os.environ['HOME'] + '/x', '/models/x']:\n"
        "    try: pathlib.Path(path).write_text('x'); print(path, 'writable')\n"
        "    except OSError as exc: print(path, exc.strerror)\n"
    )
    result = subprocess.run(  # the sandboxed tool-env python
        sandbox.command([str(env.python), "-c", probe]), capture_output=True, text=True, check=False, timeout=scaled(60)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "10001 10001 [10001]",
        "no passwd entry",
        "engine",
        "/usr/x Read-only file system",
        "/tmp/x writable",
        "/home/engine/x writable",
        "/models/x Read-only file system",
    ]


@pytest.mark.pod_sandbox
def test_a_tool_env_in_a_hidden_folder_is_shown_read_only(tmp_path: Path) -> None:
    """A CI clone may live under /tmp or /home, which the sandbox replaces: its virtualenv is bound where it is."""
    try:
        sandbox_tools()
    except SandboxUnavailableError as exc:
        real_vllm_unavailable(str(exc))
    venv = tmp_path / "clone" / ".venv-tools" / "probe"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=scaled(60))
    sandbox = PodSandbox.from_pod(
        engine_pod(), "engine", scratch=tmp_path / "volumes", claims={CACHE_CLAIM: tmp_path}, extra_env=IMAGE_ENV
    ).with_interpreter(venv / "bin" / "python")
    probe = "import os, sys; print(sys.prefix, os.access(sys.prefix, os.W_OK), os.access('/tmp', os.W_OK))"
    result = subprocess.run(
        sandbox.command([str(venv / "bin" / "python"), "-c", probe]),
        capture_output=True,
        text=True,
        check=False,
        timeout=scaled(60),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(venv), "False", "True"]


@pytest.mark.pod_sandbox
@pytest.mark.timeout(scaled(STARTUP_SECONDS + TEST_SECONDS))
def test_vllm_starts_and_serves_as_the_engine_pod(pod_sandbox: tuple[PodSandbox, VllmEnv, str]) -> None:
    sandbox, env, api_key = pod_sandbox
    server = SandboxedVllmServer(
        sandbox, env, Path(str(PurePosixPath(CACHE_MOUNT) / TINY_MODEL)), served_model_name=SERVED
    )
    try:
        server.start()
        with httpx.Client(base_url=server.v1_url, timeout=scaled(60)) as http:
            assert http.get("/models").status_code == 401  # the key came from the Secret's env var
            answer = http.post(
                "/chat/completions",
                headers={"Authorization": f"Bearer {api_key}"},
                json={"model": SERVED, "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 4},
            )
            assert answer.status_code == 200, answer.text
    except BaseException:  # a timeout too: the log says where the start got to
        print(server.log_tail(80))  # pytest shows it with the failure
        raise
    finally:
        server.close()
    print(f"vLLM as the engine pod: /health after {server.startup_took:.0f}s")  # the README's measured start
    home = sandbox.writable["/home/engine"]
    assert any(home.rglob("*")), "vLLM wrote nothing under HOME: is the cache env pointing elsewhere?"
