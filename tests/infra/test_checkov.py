"""checkov --skip-download, once per session over everything it checks: every render (variants included), the service
image's Dockerfile and the GitHub workflows. Zero failed checks; skips only with a reason (checkov-skips.yaml).

The scan runs in the background from the moment the last render is written (``checkov_scan`` in conftest.py); these
tests run last in the session.
"""

from __future__ import annotations

import pytest

from tests.infra.checkov_runner import SESSION_FRAMEWORKS, Scan, load_skips


def _report(scan: Scan, framework: str) -> str:
    return f"checkov {framework} failed checks:\n" + "\n".join(map(str, scan.findings[framework]))


def test_checkov_finds_nothing_in_any_render(checkov_scan: Scan) -> None:
    assert not checkov_scan.findings["kubernetes"], _report(checkov_scan, "kubernetes")


def test_checkov_dockerfile_checks_find_nothing(checkov_scan: Scan) -> None:
    assert not checkov_scan.findings["dockerfile"], _report(checkov_scan, "dockerfile")


def test_checkov_github_actions_checks_find_nothing(checkov_scan: Scan) -> None:
    assert not checkov_scan.findings["github_actions"], _report(checkov_scan, "github_actions")


@pytest.mark.parametrize("framework", SESSION_FRAMEWORKS)
def test_checkov_ran_checks_for_every_framework(checkov_scan: Scan, framework: str) -> None:
    """A framework that found nothing to scan would pass silently: each must have run checks."""
    assert checkov_scan.checks_run[framework] > 0, f"checkov found nothing to check in {SESSION_FRAMEWORKS[framework]}"


def test_every_skip_has_a_reason_and_a_check_id() -> None:
    for skip in load_skips():
        assert skip.id.startswith(("CKV_", "CKV2_")), skip
        assert len(skip.reason) > 20, f"{skip.id}: say why it cannot be fixed"
