"""CI/CD offline: the workflows and Dependabot config against SchemaStore's schemas and the project's own rules
(actions by commit SHA, least privilege, OIDC only, pins that agree with the repository). checkov's GitHub Actions
checks run in the session's one checkov process (test_checkov.py)."""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.infra.rendering import ROOT
from tests.support.shared_data import shared_file

GITHUB = ROOT / ".github"
WORKFLOWS = sorted((GITHUB / "workflows").glob("*.yml"))
REUSABLE = "./.github/workflows/pulumi-stack.yml"
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
VERSION_COMMENT = re.compile(r"uses: \S+@[0-9a-f]{40} # v\d+\.\d+\.\d+$")
DIGEST_PINNED = re.compile(r"^[\w.\-/:]+@sha256:[0-9a-f]{64}$")


@cache
def workflow(path: Path) -> dict[str, Any]:
    """The workflow as GitHub reads it (PyYAML reads the key ``on`` as the boolean True)."""
    document = yaml.safe_load(path.read_text())
    if True in document:
        document["on"] = document.pop(True)
    return document


def by_name(name: str) -> dict[str, Any]:
    return workflow(GITHUB / "workflows" / name)


def steps(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in document["jobs"].values() for step in job.get("steps", [])]


def test_there_are_the_three_workflows() -> None:
    assert [p.name for p in WORKFLOWS] == ["ci.yml", "deploy.yml", "pulumi-stack.yml", "rollback.yml"]


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_schemastore_schema(path: Path) -> None:
    schema = json.loads(shared_file("json-schemas", "github-workflow.json").read_text())
    jsonschema.validate(workflow(path), schema)


def test_dependabot_config_matches_its_schema_and_covers_every_pin() -> None:
    schema = json.loads(shared_file("json-schemas", "dependabot-2.0.json").read_text())
    config = yaml.safe_load((GITHUB / "dependabot.yml").read_text())
    jsonschema.validate(config, schema)
    covered = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert covered == {("docker", "/images"), ("github-actions", "/"), ("uv", "/"), ("pip", "/images")}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_with_its_version_named(path: Path) -> None:
    for step in steps(workflow(path)):
        if "uses" in step:
            assert PINNED_ACTION.match(step["uses"]), step["uses"]
    for line in path.read_text().splitlines():
        if line.strip().startswith(("uses:", "- uses:")) and not line.strip().endswith(".yml"):
            assert VERSION_COMMENT.search(line), f"say which release the SHA is: {line.strip()}"


def test_permissions_are_least_privilege() -> None:
    for name in ("ci.yml", "deploy.yml", "rollback.yml"):
        document = by_name(name)
        assert document["permissions"] == {}, f"{name}: nothing by default, each job asks"
        for job_name, job in document["jobs"].items():
            granted = job["permissions"]
            assert "write-all" not in str(granted)
            writes = {scope for scope, level in granted.items() if level == "write"}
            allowed = {"pull-requests", "id-token", "packages"}
            assert writes <= allowed, f"{name}:{job_name} writes {writes - allowed}"
    deploy = by_name("deploy.yml")["jobs"]
    assert deploy["image"]["permissions"] == {"contents": "read", "packages": "write"}
    for stack in ("dev", "prod"):
        assert deploy[stack]["permissions"] == {"contents": "read", "id-token": "write"}, "deploys never comment"
    assert by_name("ci.yml")["jobs"]["test"]["permissions"] == {"contents": "read"}


def test_no_long_lived_cloud_keys_anywhere() -> None:
    text = "\n".join(path.read_text() for path in WORKFLOWS)
    for forbidden in ("aws-access-key-id", "aws-secret-access-key", "credentials_json", "AWS_SECRET_ACCESS_KEY"):
        assert forbidden not in text
    reusable = by_name("pulumi-stack.yml")
    uses = {step["uses"].split("@")[0]: step for step in steps(reusable) if "uses" in step}
    assert "role-to-assume" in uses["aws-actions/configure-aws-credentials"]["with"]
    assert "workload_identity_provider" in uses["google-github-actions/auth"]["with"]


def test_checkouts_do_not_persist_the_token() -> None:
    for path in WORKFLOWS:
        for step in steps(workflow(path)):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, path.name


def test_concurrency_cancels_superseded_checks_but_never_a_deploy() -> None:
    assert by_name("ci.yml")["concurrency"]["cancel-in-progress"] is True
    assert by_name("deploy.yml")["concurrency"]["cancel-in-progress"] is False
    job = by_name("pulumi-stack.yml")["jobs"]["pulumi"]
    assert job["concurrency"]["cancel-in-progress"] is False
    assert "inputs.stack" in job["concurrency"]["group"]


def test_test_job_has_postgres_and_redis_pinned_by_digest() -> None:
    services = by_name("ci.yml")["jobs"]["test"]["services"]
    assert set(services) == {"postgres", "redis"}
    for service in services.values():
        assert DIGEST_PINNED.match(service["image"]), service["image"]
    assert services["postgres"]["ports"] == ["127.0.0.1:5432:5432"]
    assert services["redis"]["ports"] == ["127.0.0.1:6379:6379"]


def test_pull_requests_get_lint_tests_render_diff_and_previews() -> None:
    ci = by_name("ci.yml")
    assert "pull_request" in ci["on"]
    assert "pull_request_target" not in ci["on"], "never run PR code with the base repository's secrets"
    jobs = ci["jobs"]
    assert {"lint", "test", "render-diff", "preview"} <= set(jobs)
    runs = " ".join(step.get("run", "") for step in jobs["render-diff"]["steps"])
    assert "make render-all" in runs
    assert "python -m stacks.render_diff" in runs
    assert "github.event.pull_request.base.sha" in json.dumps(jobs["render-diff"])
    comment = next(s for s in jobs["render-diff"]["steps"] if "sticky-pull-request-comment" in s.get("uses", ""))
    assert comment["with"] == {"header": "render-diff", "path": "build/render-diff/comment.md"}
    preview = jobs["preview"]
    assert "head.repo.full_name == github.repository" in preview["if"], "no previews of fork code"
    assert preview["uses"] == REUSABLE
    assert preview["strategy"]["matrix"]["stack"] == ["dev", "prod"]
    assert preview["with"]["command"] == "preview"
    assert preview["with"]["comment-on-pr"] is True


def test_main_builds_once_then_deploys_dev_then_prod_behind_approval() -> None:
    deploy = by_name("deploy.yml")
    assert deploy["on"]["push"]["branches"] == ["main"]
    jobs = deploy["jobs"]
    build = next(s for s in jobs["image"]["steps"] if s.get("id") == "build")  # the push (after the scan)
    assert build["with"]["file"] == "images/app.Dockerfile"
    assert (ROOT / build["with"]["file"]).exists()
    assert build["with"]["push"] is True
    assert "steps.build.outputs.digest" in json.dumps(jobs["image"])
    assert jobs["image"]["outputs"]["ref"] == "${{ steps.ref.outputs.ref }}"
    assert jobs["dev"]["with"] == {
        "command": "up",
        "stack": "dev",
        "environment": "dev",
        "app-image": "${{ needs.image.outputs.ref }}",
    }
    assert jobs["prod"]["needs"] == ["image", "dev"]
    assert jobs["prod"]["with"]["environment"] == "production"
    assert jobs["prod"]["with"]["app-image"] == "${{ needs.image.outputs.ref }}"
    assert "PULUMI_PROD_RUNNER" in jobs["prod"]["with"]["runs-on"], "prod's API is private: a runner in the VPC"


def test_rollback_deploys_a_given_digest_without_building() -> None:
    rollback, deploy = by_name("rollback.yml"), by_name("deploy.yml")
    assert "inputs" not in (deploy["on"].get("workflow_dispatch") or {}), "the build takes no user input (SLSA)"
    assert rollback["on"]["workflow_dispatch"]["inputs"]["image"]["required"] is True
    assert rollback["concurrency"]["group"] == "deploy-refs/heads/main", "one train with deploy.yml on main"
    text = json.dumps(rollback)
    assert "build-push-action" not in text
    assert "@sha256:[0-9a-f]{64}$" in rollback["jobs"]["image"]["steps"][0]["run"]
    assert rollback["jobs"]["prod"]["needs"] == ["image", "dev"]
    assert rollback["jobs"]["prod"]["with"]["environment"] == "production"


def test_callers_pass_only_declared_inputs() -> None:
    declared = by_name("pulumi-stack.yml")["on"]["workflow_call"]["inputs"]
    required = {name for name, spec in declared.items() if spec.get("required")}
    for name in ("ci.yml", "deploy.yml", "rollback.yml"):
        for job in by_name(name)["jobs"].values():
            if job.get("uses") == REUSABLE:
                assert set(job["with"]) <= set(declared)
                assert required <= set(job["with"])
                assert job["secrets"] == "inherit"


def test_every_pulumi_run_uses_the_policy_pack_with_the_stack_profiles_config() -> None:
    pulumi = next(s for s in steps(by_name("pulumi-stack.yml")) if s.get("uses", "").startswith("pulumi/actions@"))
    options = pulumi["with"]
    assert options["policyPacks"] == "infra/policy"
    assert (ROOT / "infra" / "policy" / "PulumiPolicy.yaml").exists()
    assert options["policyPackConfigs"] == "infra/policy/config/${{ steps.stack.outputs.profile }}.json"
    for profile in ("dev", "prod"):
        assert (ROOT / "infra" / "policy" / "config" / f"{profile}.json").exists()
    assert "helpline:appImage" in options["config-map"]
    assert pulumi["if"] == "steps.gate.outputs.configured == 'true'"


def test_pulumi_steps_skip_cleanly_without_credentials() -> None:
    job = by_name("pulumi-stack.yml")["jobs"]["pulumi"]
    gate, *rest = job["steps"]
    assert gate["id"] == "gate"
    assert "configured=false" in gate["run"]
    assert "::notice" in gate["run"]
    assert all("steps.gate.outputs.configured == 'true'" in step["if"] for step in rest)


def test_pins_agree_with_the_repository() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text()
    pulumi_pin = re.search(r'"pulumi==([\d.]+)"', pyproject)
    uv_pin = re.search(r"^UV_VERSION := ([\d.]+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert pulumi_pin
    assert uv_pin
    assert by_name("pulumi-stack.yml")["env"]["PULUMI_VERSION"] == pulumi_pin.group(1), "CLI and SDK move together"
    for name in ("ci.yml", "pulumi-stack.yml"):
        assert by_name(name)["env"]["UV_VERSION"] == uv_pin.group(1)
        assert by_name(name)["env"]["PYTHON_VERSION"] == "3.11"
