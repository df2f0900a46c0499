"""images/healthcheck.py (the image's HEALTHCHECK) against real HTTP servers on loopback."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType

import pytest

from tests.infra.rendering import ROOT

SCRIPT = ROOT / "images" / "healthcheck.py"


def load_healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("helpline_image_healthcheck", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


healthcheck = load_healthcheck()


class Handler(BaseHTTPRequestHandler):
    """200 on /healthz and /health, 503 on /sick, 404 elsewhere."""

    def do_GET(self) -> None:
        status = {"/healthz": 200, "/health": 200, "/sick": 503}.get(self.path, 404)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        del format, args


@pytest.fixture(scope="module")
def server_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_default_url_is_healthz_on_the_service_port() -> None:
    assert healthcheck.liveness_url({}) == "http://127.0.0.1:8080/healthz"
    assert healthcheck.liveness_url({"HELPLINE_PORT": "9000"}) == "http://127.0.0.1:9000/healthz"
    explicit = {"HELPLINE_PORT": "9000", "HELPLINE_HEALTHCHECK_URL": "http://127.0.0.1:8000/health"}
    assert healthcheck.liveness_url(explicit) == "http://127.0.0.1:8000/health"


def test_healthy_on_2xx(server_port: int) -> None:
    assert healthcheck.probe(f"http://127.0.0.1:{server_port}/healthz") == (
        True,
        f"http://127.0.0.1:{server_port}/healthz answered 200",
    )


def test_unhealthy_on_error_status_or_no_listener(server_port: int) -> None:
    healthy, detail = healthcheck.probe(f"http://127.0.0.1:{server_port}/sick")
    assert not healthy
    assert "503" in detail
    with ThreadingHTTPServer(("127.0.0.1", 0), Handler) as closed:
        free_port = closed.server_address[1]
    healthy, detail = healthcheck.probe(f"http://127.0.0.1:{free_port}/healthz", timeout=1)
    assert not healthy
    assert "unreachable" in detail


def test_refuses_anything_but_loopback() -> None:
    healthy, detail = healthcheck.probe("http://10.0.0.1:8080/healthz")
    assert not healthy
    assert "loopback" in detail


@pytest.mark.parametrize(
    ("env", "code"), [({"HELPLINE_PORT": "{port}"}, 0), ({"HELPLINE_HEALTHCHECK_URL": "{url}"}, 1)]
)
def test_exit_code_as_docker_reads_it(server_port: int, env: dict[str, str], code: int) -> None:
    """The script as the HEALTHCHECK runs it: its own process, only the environment to go on."""
    values = {"port": str(server_port), "url": f"http://127.0.0.1:{server_port}/sick"}
    environ = {key: value.format(**values) for key, value in env.items()}
    result = subprocess.run([sys.executable, str(SCRIPT)], env=environ, capture_output=True, text=True, check=False)
    assert result.returncode == code, result.stdout + result.stderr
