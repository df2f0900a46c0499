"""``make audit``: the locked Python dependencies checked against public advisories; a finding fails the build.

Runs pip-audit (its own hash-pinned tool env, ``tools/pip-audit.lock``) over ``uv export`` of ``uv.lock`` with
hashes, so exactly the versions we ship are audited, without resolving or installing anything. The advisory data
is PyPI's (the vulnerability feed behind its JSON API, fed by the PyPA advisory database). That feed carries no
severity, so the threshold is the strictest one: **every** known vulnerability fails, unless it is accepted in
``tools/audit-accepted.toml`` with a reason and an expiry date; an expired acceptance fails too.

A dependency pip-audit could not look up is *not audited*, never "clean": the summary counts them. With
``HELPLINE_AUDIT_STRICT=1`` (the GitHub workflows, which reach PyPI's per-release advisory API) any unaudited
dependency or an unreachable PyPI fails the audit; without it (``make test`` on a laptop or in a sandbox whose
PyPI mirror serves no per-release JSON) they are reported loudly and the audit passes on what it could check.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ACCEPTED_FILE = ROOT / "tools" / "audit-accepted.toml"
PIP_AUDIT = ROOT / ".venv-tools" / "pip-audit" / "bin" / "pip-audit"
PROBE_URL = "https://pypi.org/pypi/pip/json"
STRICT_VARIABLE = "HELPLINE_AUDIT_STRICT"


@dataclass(frozen=True)
class Acceptance:
    vulnerability: str
    package: str
    reason: str
    expires: date


class AcceptedFileError(ValueError):
    """The accepted-findings file is malformed; the message names the file, entry, key and what is allowed."""


def load_accepted(path: Path) -> list[Acceptance]:
    """Every acceptance in ``path``; all problems at once, each naming the entry and key."""
    if not path.exists():
        return []
    document = tomllib.loads(path.read_text())
    entries = document.get("accepted", [])
    problems: list[str] = []
    accepted: list[Acceptance] = []
    for index, entry in enumerate(entries):
        where = f"{path.name}: accepted[{index}]"
        missing = [key for key in ("id", "package", "reason", "expires") if key not in entry]
        if missing:
            problems.append(f"{where} lacks {', '.join(missing)} (each entry needs id, package, reason, expires)")
            continue
        if not isinstance(entry["expires"], date):
            problems.append(f"{where}.expires = {entry['expires']!r}: must be a TOML date such as 2027-03-01")
            continue
        if len(str(entry["reason"]).strip()) < 20:
            problems.append(f"{where}.reason is too short: say why the finding does not apply and what fixes it")
            continue
        accepted.append(Acceptance(str(entry["id"]), str(entry["package"]), str(entry["reason"]), entry["expires"]))
    if problems:
        raise AcceptedFileError("; ".join(problems))
    return accepted


def expired(accepted: list[Acceptance], today: date) -> list[Acceptance]:
    return [acceptance for acceptance in accepted if acceptance.expires < today]


@dataclass(frozen=True)
class Finding:
    package: str
    version: str
    vulnerability: str
    fix_versions: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    findings: list[Finding]  # not accepted: each one fails the audit
    unaudited: list[str]  # packages pip-audit could not look up
    audited: int

    def passed(self, *, strict: bool) -> bool:
        return not self.findings and not (strict and (self.unaudited or not self.audited))


def judge(report: dict[str, Any], accepted: list[Acceptance]) -> Verdict:
    """The audit's verdict on a pip-audit JSON report: accepted findings pass, everything else is named."""
    waived = {(acceptance.package.lower(), acceptance.vulnerability) for acceptance in accepted}
    findings: list[Finding] = []
    unaudited: list[str] = []
    audited = 0
    for dependency in report.get("dependencies", []):
        name = str(dependency["name"])
        if "skip_reason" in dependency:
            unaudited.append(name)
            continue
        audited += 1
        for vulnerability in dependency.get("vulns", []):
            ids = {vulnerability["id"], *vulnerability.get("aliases", [])}
            if any((name.lower(), vid) in waived for vid in ids):
                continue
            findings.append(
                Finding(name, str(dependency["version"]), vulnerability["id"], tuple(vulnerability["fix_versions"]))
            )
    return Verdict(findings, unaudited, audited)


def advisories_reachable(timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(PROBE_URL, timeout=timeout):
            return True
    except (urllib.error.URLError, TimeoutError, OSError):
        return False


def pip_audit_command(requirements: Path, cache_dir: Path, output: Path) -> list[str]:
    return [
        str(PIP_AUDIT),
        "--requirement",
        str(requirements),
        "--require-hashes",
        "--disable-pip",
        "--progress-spinner",
        "off",
        "--cache-dir",
        str(cache_dir),
        "--aliases",
        "on",
        "--format",
        "json",
        "--output",
        str(output),
    ]


def summary(verdict: Verdict) -> list[str]:
    lines = [
        f"audit: {verdict.audited} dependencies audited, {len(verdict.findings)} finding(s), "
        f"{len(verdict.unaudited)} not audited (no advisory data reachable for them)"
    ]
    lines += [
        f"audit: FINDING {f.package} {f.version}: {f.vulnerability} (fixed in {', '.join(f.fix_versions) or 'no release yet'})"
        for f in verdict.findings
    ]
    if not verdict.audited:
        lines.append(
            f"audit: WARNING: no advisory data for any dependency (this PyPI serves no per-release JSON); "
            f"{STRICT_VARIABLE}=1, as in the GitHub workflows, makes that a failure"
        )
    if verdict.unaudited:
        lines.append(
            "audit: NOT AUDITED: " + ", ".join(verdict.unaudited[:20]) + (" ..." if len(verdict.unaudited) > 20 else "")
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Audit the locked dependencies (make audit).")
    parser.add_argument("requirements", type=Path, help="uv export of uv.lock, with hashes")
    parser.add_argument("--cache-dir", type=Path, default=ROOT / "build" / "audit" / "cache")
    args = parser.parse_args(argv)
    try:
        accepted = load_accepted(ACCEPTED_FILE)
    except AcceptedFileError as error:
        print(f"audit: {error}", file=sys.stderr)
        return 2
    if stale := expired(accepted, date.today()):
        for acceptance in stale:
            print(
                f"audit: the acceptance of {acceptance.vulnerability} ({acceptance.package}) expired on "
                f"{acceptance.expires}: upgrade, or renew it in {ACCEPTED_FILE.name} with a reason",
                file=sys.stderr,
            )
        return 1
    strict = os.environ.get(STRICT_VARIABLE) == "1"
    if not advisories_reachable():
        verdict = "FAILED" if strict else "SKIPPED"
        print(f"audit: {verdict}: PyPI ({PROBE_URL}) cannot be reached (offline?)", file=sys.stderr)
        return 1 if strict else 0
    for acceptance in accepted:
        print(f"audit: accepted until {acceptance.expires}: {acceptance.vulnerability} in {acceptance.package}")
    report_path = args.requirements.with_name("pip-audit.json")
    report_path.unlink(missing_ok=True)
    command = pip_audit_command(args.requirements, args.cache_dir, report_path)
    run = subprocess.run(command, check=False, capture_output=True, text=True)  # noqa: S603
    if not report_path.exists():  # its own "No known vulnerabilities found" is not shown: it also says that
        print(
            f"audit: FAILED: pip-audit wrote no report:\n{run.stderr[-2000:]}", file=sys.stderr
        )  # when it saw nothing
        return 1
    verdict = judge(json.loads(report_path.read_text()), accepted)
    for line in summary(verdict):
        print(line, file=sys.stderr)
    return 0 if verdict.passed(strict=strict) else 1


if __name__ == "__main__":
    raise SystemExit(main())
