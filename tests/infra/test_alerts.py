"""Alert and recording rules: promtool-checked, unit-tested per alert, documented, and reading real metrics."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from infra.platform.alerts import iter_rules, load_rule_file, recorded_names, rule_file_name, rule_files, slos
from tests.infra.promql import MetricCatalog, expression_problems
from tests.infra.promtool import run_promtool
from tests.infra.rendering import ROOT
from tests.support.shared_data import shared_file

ALERT_TESTS = Path(__file__).with_name("alert_tests")
RUNBOOKS = ROOT / "docs" / "runbooks.md"
SEVERITIES = {"critical", "warning", "info"}
RULE_FILES = rule_files()
TEST_FILES = sorted(ALERT_TESTS.glob("*.test.yaml"))


def all_rules() -> list[dict[str, Any]]:
    return [rule for path in RULE_FILES for rule in iter_rules(load_rule_file(path))]


def alerting_rules() -> list[dict[str, Any]]:
    return [rule for rule in all_rules() if "alert" in rule]


def github_anchor(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_there_are_rule_files_and_each_has_a_unit_test_file() -> None:
    assert {rule_file_name(p) for p in RULE_FILES} == {"cost", "engine", "kubernetes", "saturation", "slo"}
    for path in RULE_FILES:
        test_file = ALERT_TESTS / f"{rule_file_name(path)}.test.yaml"
        assert test_file.exists(), f"{path.name} has no promtool unit tests ({test_file.name})"
        referenced = yaml.safe_load(test_file.read_text())["rule_files"]
        assert [(ALERT_TESTS / ref).resolve() for ref in referenced] == [path.resolve()]


@pytest.mark.promtool
@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: p.name)
def test_promtool_check_rules(path: Path) -> None:
    result = run_promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.promtool
@pytest.mark.parametrize("path", TEST_FILES, ids=lambda p: p.name)
def test_promtool_unit_tests(path: Path) -> None:
    result = run_promtool("test", "rules", path.name, cwd=ALERT_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_in_a_unit_test_and_stays_silent_in_another() -> None:
    """For each alert and each severity it carries: a test expecting it, and one expecting silence."""
    fired: dict[str, set[str]] = defaultdict(set)
    silent: set[str] = set()
    for path in TEST_FILES:
        for group in yaml.safe_load(path.read_text())["tests"]:
            for case in group.get("alert_rule_test", []):
                expected = case.get("exp_alerts") or []
                if not expected:
                    silent.add(case["alertname"])
                for alert in expected:
                    fired[case["alertname"]].add(alert["exp_labels"]["severity"])
    missing = []
    for rule in alerting_rules():
        name, severity = rule["alert"], rule["labels"]["severity"]
        if severity not in fired[name]:
            missing.append(f"{name} ({severity}) is never shown firing")
        if name not in silent:
            missing.append(f"{name} is never shown staying silent")
    assert not missing, "\n".join(missing)


def test_every_alert_has_severity_summary_description_and_a_runbook_section() -> None:
    anchors = {github_anchor(line.lstrip("#")) for line in RUNBOOKS.read_text().splitlines() if line.startswith("## ")}
    problems = []
    for rule in alerting_rules():
        name = rule["alert"]
        if rule.get("labels", {}).get("severity") not in SEVERITIES:
            problems.append(f"{name}: labels.severity must be one of {sorted(SEVERITIES)}")
        annotations = rule.get("annotations", {})
        for field in ("summary", "description", "runbook"):
            if not annotations.get(field):
                problems.append(f"{name}: no {field} annotation")
        runbook = annotations.get("runbook", "")
        if not runbook.startswith("docs/runbooks.md#") or runbook.split("#", 1)[1] not in anchors:
            problems.append(f"{name}: runbook {runbook!r} is not a section of docs/runbooks.md")
    assert not problems, "\n".join(problems)


def test_alert_names_are_unique_per_severity() -> None:
    keys = [(rule["alert"], rule["labels"]["severity"]) for rule in alerting_rules()]
    assert len(keys) == len(set(keys))


def test_rule_files_match_the_prometheus_rules_schema() -> None:
    schema = json.loads(shared_file("json-schemas", "prometheus.rules.json").read_text())
    for path in RULE_FILES:
        jsonschema.validate(load_rule_file(path), schema)


def test_unit_test_files_match_the_prometheus_rule_test_schema() -> None:
    schema = json.loads(shared_file("json-schemas", "prometheus.rules.test.json").read_text())
    for path in TEST_FILES:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)


def test_every_rule_expression_reads_metrics_the_stack_exports() -> None:
    catalog = MetricCatalog.deployed(recorded_names())
    problems = [
        f"{rule.get('alert') or rule.get('record')}: {problem}"
        for rule in all_rules()
        for problem in expression_problems(rule["expr"], catalog)
    ]
    assert not problems, "\n".join(problems)


def test_slo_rule_file_is_generated_from_the_slo_definitions() -> None:
    assert slos.main([]) == 0, "run `python -m infra.platform.alerts.slos --write`"


def test_burn_rate_alerts_follow_the_sre_workbook() -> None:
    """Pages at 14.4x over 1h/5m and 6x over 6h/30m; tickets at 3x over 1d/2h and 1x over 3d/6h."""
    rows = {(row.severity, row.long_window, row.short_window, row.factor) for row in slos.BURN_RATE_ALERTS}
    assert rows == {
        ("critical", "1h", "5m", 14.4),
        ("critical", "6h", "30m", 6),
        ("warning", "1d", "2h", 3),
        ("warning", "3d", "6h", 1),
    }
    objectives = {slo.name: slo.objective for slo in slos.SLOS}
    assert objectives == {"chat-availability": 0.999, "http-errors": 0.999, "ttft-latency": 0.99}
    ttft = next(slo for slo in slos.SLOS if slo.name == "ttft-latency")
    assert 'le="0.5"' in ttft.bad, "TTFT p99 under 500 ms: the good events are the 0.5 s bucket"
