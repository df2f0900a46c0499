"""A server process a benchmark starts on loopback, waits for, and always stops (SIGTERM, then SIGKILL)."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx


@contextmanager
def serving_process(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: Path, ready_url: str, startup_timeout: float, name: str
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until ``ready_url`` answers 200; its output goes to a temporary file shown if it fails to start."""
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(  # noqa: S603  (argv is our own module or a tool env's CLI, no shell)
            list(argv), cwd=cwd, env=dict(env), stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not answers(ready_url):
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(f"{name} did not start:\n{log.read().decode(errors='replace')[-3000:]}")
                time.sleep(0.1)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False
