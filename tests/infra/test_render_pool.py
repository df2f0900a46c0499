"""The warm render pool (render_pool.py) and the variant projects (rendering.py), without rendering a stack."""

from __future__ import annotations

from pathlib import Path

import yaml

from stacks.render.stack_files import load_stack_settings, placeholder_secret
from tests.infra.render_pool import WarmPool, sdk_attribute_paths
from tests.infra.rendering import COMMITTED, SECRET_KEYS, VARIANTS, RenderSpec, write_project

JOB_TIMEOUT_SECONDS = 120


def test_sdk_attribute_paths_follow_aliases_of_lazy_sdks_only() -> None:
    source = (
        "import pulumi\nimport pulumi_aws as aws\nimport pulumi_kubernetes\n"
        "aws.ec2.Vpc('v')\npulumi_kubernetes.core.v1.Namespace('n')\npulumi.Output.secret('x')\n"
    )
    paths = sdk_attribute_paths(source)
    assert ("pulumi_aws", ("ec2", "Vpc")) in paths
    assert ("pulumi_kubernetes", ("core", "v1", "Namespace")) in paths
    assert all(package != "pulumi" for package, _ in paths), "pulumi itself loads eagerly"


def test_a_job_runs_its_module_as_python_m_with_its_own_output(render_pool: WarmPool) -> None:
    result = render_pool.run("zen", "this", []).result(JOB_TIMEOUT_SECONDS)
    assert result.returncode == 0
    assert "Beautiful is better than ugly." in result.stdout


def test_a_failing_job_reports_its_exit_status_and_stderr(render_pool: WarmPool) -> None:
    result = render_pool.run("bad-arguments", "tests.infra.render_pool", ["--bogus"]).result(JOB_TIMEOUT_SECONDS)
    assert result.returncode == 2
    assert "unrecognized arguments: --bogus" in result.stderr


def test_render_ids_name_the_stack_the_cloud_and_the_variant() -> None:
    assert [spec.id for spec in COMMITTED] == ["dev-aws", "dev-gcp", "prod-aws", "prod-gcp"]
    assert RenderSpec("prod", "gcp", "secrets").id == "prod-gcp-secrets"
    assert len({spec.id for spec in (*COMMITTED, *VARIANTS)}) == len(COMMITTED) + len(VARIANTS)


def test_secret_keys_are_the_ones_the_config_declares_secret() -> None:
    assert {"hfToken", "alertPagerWebhookUrl", "alertChatWebhookUrl"} <= SECRET_KEYS


def test_a_variant_project_is_the_committed_stack_with_its_overrides(tmp_path: Path) -> None:
    spec = RenderSpec("dev", "aws", "test", values={"engine": "simulator"}, secrets=frozenset({"hfToken"}))
    project = write_project(spec, tmp_path / "project")
    stack_file = yaml.safe_load((project / "Pulumi.dev.yaml").read_text())["config"]
    assert stack_file["helpline:engine"] == "simulator"
    assert set(stack_file["helpline:hfToken"]) == {"secure"}
    settings = load_stack_settings("dev", "aws", project)
    committed = load_stack_settings("dev", "aws")
    assert settings.config["helpline:hfToken"] == placeholder_secret("helpline:hfToken")
    assert settings.secret_keys == {"helpline:hfToken"}
    unchanged = {k: v for k, v in settings.config.items() if k not in ("helpline:engine", "helpline:hfToken")}
    assert unchanged == {k: v for k, v in committed.config.items() if k != "helpline:engine"}
