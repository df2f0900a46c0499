"""Find promtool (Debian package ``prometheus``): skip where it is not installed, but never in CI.

``.ci/run`` installs it, so in CI (``CI`` set) a missing promtool is a broken setup and fails the test instead of
hiding every rule test behind a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

INSTALL_HINT = "apt-get install -y --no-install-recommends prometheus"


def promtool_path() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"promtool is required in CI and is not on PATH ({INSTALL_HINT}; .ci/run installs it)")
    pytest.skip(f"skipped: promtool is not installed, so rule files were not checked or unit-tested ({INSTALL_HINT})")


def run_promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool_path(), *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=120)
