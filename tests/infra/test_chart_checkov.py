"""checkov over the charts' output: ``helm template`` of every release of every render, each distinct object once.

Zero findings beyond ``chart-checkov-accepted.yaml``, where each accepted finding is listed by check and resource
with the reason it stays (issue 11). An accepted entry that no longer matches anything fails too, so the list shrinks
as the values fix what they can.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from app.core.waits import scaled
from tests.infra.chart_output import ChartObject, RenderCharts
from tests.infra.checkov_runner import Finding, Skip, load_skips, run_frameworks

ACCEPTED_FILE = Path(__file__).with_name("chart-checkov-accepted.yaml")
#: Templating every release (when no earlier test did) and one checkov process over ~300 distinct objects: about
#: two minutes on two idle cores, far more when the machine is shared.
SCAN_TIMEOUT_SECONDS = 600


def write_distinct(objects: list[ChartObject], folder: Path) -> int:
    """Each distinct object once (dev and prod on two clouds repeat most of them), in its namespace."""
    written: set[str] = set()
    for obj in objects:
        body = {**obj.body, "metadata": {**(obj.body.get("metadata") or {}), "namespace": obj.namespace}}
        text = yaml.safe_dump(body, sort_keys=True)
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        if digest not in written:
            written.add(digest)
            (folder / f"{obj.release}-{obj.kind}-{digest}.yaml").write_text(text)
    return len(written)


@pytest.fixture(scope="module")
def chart_findings(chart_outputs: dict[str, RenderCharts], tmp_path_factory: pytest.TempPathFactory) -> list[Finding]:
    if any(output.unavailable for output in chart_outputs.values()):
        pytest.skip("chart archives unavailable here (offline, no ../shared/charts): chart output not checked")
    folder = tmp_path_factory.mktemp("chart-output")
    objects = [obj for output in chart_outputs.values() for obj in output.all_objects()]
    assert write_distinct(objects, folder) > 100
    scan = run_frameworks([folder], ["kubernetes"], skips=[])
    assert scan.checks_run["kubernetes"] > 0
    return scan.findings["kubernetes"]


@pytest.mark.timeout(scaled(SCAN_TIMEOUT_SECONDS))
def test_checkov_finds_nothing_in_the_chart_output_beyond_the_accepted_list(chart_findings: list[Finding]) -> None:
    accepted = load_skips(ACCEPTED_FILE)
    new = [f for f in chart_findings if not any(a.forgives(f.check_id, f.resource) for a in accepted)]
    assert not new, "checkov on chart output (fix it in our values, or accept it with a reason):\n" + "\n".join(
        f"{f.check_id} {f.resource}: {f.check_name}" for f in new
    )


@pytest.mark.timeout(scaled(SCAN_TIMEOUT_SECONDS))
def test_every_accepted_chart_finding_still_occurs(chart_findings: list[Finding]) -> None:
    stale = [
        f"{entry.id} {pattern}"
        for entry in load_skips(ACCEPTED_FILE)
        for pattern in entry.resources
        if not any(Skip(entry.id, entry.reason, (pattern,)).forgives(f.check_id, f.resource) for f in chart_findings)
    ]
    assert not stale, "accepted but no longer found (remove from chart-checkov-accepted.yaml):\n" + "\n".join(stale)


def test_every_accepted_chart_finding_names_its_resources_and_a_reason() -> None:
    for entry in load_skips(ACCEPTED_FILE):
        assert entry.id.startswith(("CKV_", "CKV2_")), entry
        assert entry.resources, f"{entry.id}: accept named resources, never a whole check"
        assert len(entry.reason) > 40, f"{entry.id}: say why it stays"
