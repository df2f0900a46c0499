"""Run checkov (from its own virtualenv) and return failed checks minus the documented skips.

One checkov process scans every framework at once (``run_frameworks``): its start-up costs more CPU than scanning a
render, so the session runs it once (``scan_session``) over every render, the workflows and the images, in the
background as soon as the last render is written (tests/infra/conftest.py); test_checkov.py reads the result.

Skips live in ``tests/infra/checkov-skips.yaml``: a list of ``{id, reason, resources?}``. An entry without
``resources`` skips the check everywhere (``--skip-check``); with ``resources`` (checkov resource ids such as
``DaemonSet.helpline-dev-platform.dcgm-exporter``, ``*`` wildcards allowed) it forgives only those.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
CHECKOV = ROOT / ".venv-tools" / "checkov" / "bin" / "checkov"
SKIPS_FILE = Path(__file__).with_name("checkov-skips.yaml")
#: The session's scan: framework -> what it checks (the renders folder is the session's).
SESSION_FRAMEWORKS = {"kubernetes": "every render", "dockerfile": "images/", "github_actions": ".github/"}
SESSION_TARGETS = (ROOT / "images", ROOT / ".github")


@dataclass(frozen=True)
class Skip:
    id: str
    reason: str
    resources: tuple[str, ...] = ()

    def forgives(self, check_id: str, resource: str) -> bool:
        return check_id == self.id and (not self.resources or any(fnmatch.fnmatch(resource, p) for p in self.resources))


@dataclass(frozen=True)
class Finding:
    check_id: str
    check_name: str
    resource: str
    #: absolute when checkov reports it: several renders hold files of the same relative name
    file: str

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} ({self.file}): {self.check_name}"


@dataclass(frozen=True)
class Scan:
    """One checkov run: failed checks after the documented skips, and how many checks ran, per framework."""

    findings: dict[str, list[Finding]]
    checks_run: dict[str, int]


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    if not path.exists():
        return []
    entries = yaml.safe_load(path.read_text()) or []
    skips = []
    for entry in entries:
        if not entry.get("reason"):
            raise ValueError(f"{path.name}: skip {entry.get('id')} has no reason")
        skips.append(Skip(entry["id"], entry["reason"], tuple(entry.get("resources") or ())))
    return skips


def _json_documents(text: str) -> list[dict[str, Any]]:
    """checkov prints one JSON report per target (a list, or bare summaries one after another)."""
    decoder = json.JSONDecoder()
    documents: list[dict[str, Any]] = []
    position = 0
    while (position := _skip_space(text, position)) < len(text):
        value, position = decoder.raw_decode(text, position)
        documents.extend(value if isinstance(value, list) else [value])
    return documents


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def run_frameworks(targets: list[Path], frameworks: list[str], skips: list[Skip] | None = None) -> Scan:
    """Every framework over every target (folders or files) in one checkov process; ``skips`` defaults to the
    render's (checkov-skips.yaml)."""
    skips = load_skips() if skips is None else skips
    global_skips = sorted({s.id for s in skips if not s.resources})
    command = [str(CHECKOV), "--framework", *frameworks, "--skip-download", "--output", "json", "--quiet", "--compact"]
    for target in targets:
        command += ["-d" if target.is_dir() else "-f", str(target)]
    if global_skips:
        command += ["--skip-check", ",".join(global_skips)]
    env = {**os.environ, "LOG_LEVEL": "WARNING", "BC_SKIP_MAPPING": "TRUE"}
    result = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"checkov failed ({result.returncode}): {result.stderr[-4000:]}")
    # With several targets checkov prints a report list per target, each repeating the earlier ones: deduplicate.
    findings: dict[str, set[Finding]] = {framework: set() for framework in frameworks}
    checks_run = dict.fromkeys(frameworks, 0)
    for report in _json_documents(result.stdout):
        framework = report.get("check_type", "")
        summary = report.get("summary", {})
        checks_run[framework] = max(checks_run.get(framework, 0), summary.get("passed", 0) + summary.get("failed", 0))
        for failed in report.get("results", {}).get("failed_checks", []):
            file = failed.get("file_abs_path") or failed["file_path"]
            finding = Finding(failed["check_id"], failed["check_name"], failed["resource"], file)
            if not any(skip.forgives(finding.check_id, finding.resource) for skip in skips):
                findings.setdefault(framework, set()).add(finding)
    return Scan({framework: sorted(found, key=str) for framework, found in findings.items()}, checks_run)


def scan_session(renders_dir: Path) -> Scan:
    """The session's one checkov run: every render in ``renders_dir``, the images and the workflows."""
    return run_frameworks([renders_dir, *SESSION_TARGETS], list(SESSION_FRAMEWORKS))
