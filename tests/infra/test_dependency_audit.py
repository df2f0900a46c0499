"""The dependency audit's policy (tools/dependency_audit.py) on pip-audit reports, and the image scan gate."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from tools.dependency_audit import Acceptance, AcceptedFileError, expired, judge, load_accepted

ROOT = Path(__file__).resolve().parents[2]
REPORT = {
    "dependencies": [
        {
            "name": "jinja2",
            "version": "2.10",
            "vulns": [{"id": "PYSEC-2019-217", "fix_versions": ["2.10.1"], "aliases": ["CVE-2019-10906"]}],
        },
        {
            "name": "urllib3",
            "version": "1.26.4",
            "vulns": [{"id": "GHSA-q2q7-5pp4-w6pg", "fix_versions": ["1.26.5"], "aliases": []}],
        },
        {"name": "orjson", "version": "3.11.0", "vulns": []},
        {"name": "private-wheel", "skip_reason": "Dependency not found on PyPI and could not be audited"},
    ]
}
ACCEPT_URLLIB3 = Acceptance("GHSA-q2q7-5pp4-w6pg", "urllib3", "reason long enough to say why", date(2030, 1, 1))


def test_every_finding_fails_unless_accepted_and_unaudited_packages_are_never_clean() -> None:
    verdict = judge(REPORT, [ACCEPT_URLLIB3])
    assert [(f.package, f.vulnerability, f.fix_versions) for f in verdict.findings] == [
        ("jinja2", "PYSEC-2019-217", ("2.10.1",))
    ]
    assert not verdict.passed(strict=False)
    assert verdict.unaudited == ["private-wheel"]
    assert verdict.audited == 3

    by_alias = Acceptance("CVE-2019-10906", "Jinja2", "reason long enough to say why", date(2030, 1, 1))
    cleared = judge(REPORT, [ACCEPT_URLLIB3, by_alias])
    assert cleared.passed(strict=False)
    assert not cleared.passed(strict=True)  # strict (the GitHub workflow): an unaudited package fails


def test_an_acceptance_needs_a_reason_and_an_expiry_and_expires(tmp_path: Path) -> None:
    path = tmp_path / "audit-accepted.toml"
    path.write_text(
        '[[accepted]]\nid = "X"\npackage = "a"\nreason = "short"\nexpires = 2030-01-01\n'
        '[[accepted]]\nid = "Y"\npackage = "b"\nreason = "a real reason, long enough"\nexpires = "soon"\n'
        '[[accepted]]\nid = "Z"\n'
    )
    with pytest.raises(AcceptedFileError) as raised:
        load_accepted(path)
    message = str(raised.value)
    assert "accepted[0].reason is too short" in message
    assert "accepted[1].expires = 'soon'" in message
    assert "accepted[2] lacks package, reason, expires" in message

    stale = Acceptance("X", "a", "a real reason, long enough", date(2026, 1, 1))
    assert expired([stale, ACCEPT_URLLIB3], today=date(2026, 12, 7)) == [stale]


def test_the_committed_acceptances_are_valid_and_current() -> None:
    accepted = load_accepted(ROOT / "tools" / "audit-accepted.toml")
    assert expired(accepted, today=date.today()) == []


def _scan_index(steps: list[dict]) -> int:
    uses = [step.get("uses", "") for step in steps]
    return next(i for i, ref in enumerate(uses) if ref.startswith("aquasecurity/trivy-action@"))


def test_the_deploy_workflow_scans_the_image_before_pushing_it() -> None:
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "deploy.yml").read_text())["jobs"]["image"]["steps"]
    scan = _scan_index(steps)
    push = next(i for i, step in enumerate(steps) if step.get("with", {}).get("push") is True)
    assert scan < push
    assert_blocking_scan(steps)


def test_ci_scans_the_image_of_every_pull_request_the_same_way() -> None:
    steps = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]["image-scan"]["steps"]
    assert not any(step.get("with", {}).get("push") is True for step in steps)
    assert_blocking_scan(steps)


def assert_blocking_scan(steps: list[dict]) -> None:
    """The image is built into the runner's Docker (not pushed) and Trivy fails on HIGH/CRITICAL with a fix."""
    scan = _scan_index(steps)
    assert steps[scan - 1]["with"]["push"] is False
    assert steps[scan - 1]["with"]["load"] is True
    assert steps[scan]["with"] | {"trivyignores": None} == {
        "image-ref": "helpline:scan",
        "scan-type": "image",
        "severity": "HIGH,CRITICAL",
        "ignore-unfixed": True,
        "exit-code": "1",
        "format": "table",
        "trivyignores": None,
    }
    assert (ROOT / steps[scan]["with"]["trivyignores"]).exists()


def test_ci_audits_strictly() -> None:
    jobs = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())["jobs"]
    audit = [step for job in jobs.values() for step in job.get("steps", []) if step.get("run") == "make audit"]
    assert [step["env"] for step in audit] == [{"HELPLINE_AUDIT_STRICT": "1"}]
