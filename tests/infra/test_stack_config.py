"""Stack config validation: bad values fail before any resource, naming the key, the value and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import yaml

from stacks.config import parse_stack_config
from stacks.render.stack_files import load_stack_settings
from tests.infra.rendering import ROOT
from tests.infra.stack_values import AWS_DEV, AWS_PROD, issues_of


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize("cloud", ["aws", "gcp"])
def test_committed_stacks_are_valid_on_both_clouds(stack: str, cloud: str) -> None:
    settings = load_stack_settings(stack, cloud)
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    secrets = {k.split(":", 1)[1] for k in settings.secret_keys}
    config = parse_stack_config(stack, values, secrets)
    assert config.cloud == cloud
    assert config.is_prod == (stack == "prod")


def test_valid_minimal_aws_dev_takes_defaults() -> None:
    config = parse_stack_config("dev", AWS_DEV)
    assert config.cluster.gpu_pool_min_nodes == 0
    assert config.cluster.gpu_capacity == "spot"
    assert config.cluster.zones == ["us-east-1a"]


def test_unknown_key_is_refused_with_a_suggestion() -> None:
    assert issues_of({**AWS_DEV, "gpuPoolMinNode": "1"}) == [
        "helpline:gpuPoolMinNode = '1': unknown config key; did you mean gpuPoolMinNodes, gpuPoolMaxNodes, systemPoolMinNodes?"
    ]


def test_unknown_cloud_names_the_allowed_values() -> None:
    assert issues_of({**AWS_DEV, "cloud": "azure"}) == ["helpline:cloud = 'azure': Input should be 'aws' or 'gcp'"]


def test_prod_refuses_a_gpu_pool_that_can_scale_to_zero() -> None:
    assert issues_of({**AWS_PROD, "gpuPoolMinNodes": "0"}, stack="prod") == [
        "helpline:gpuPoolMinNodes = 0: prod needs at least 2 GPU nodes"
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (
            {"cloud": "aws", "awsZones": '["us-east-1a"]'},
            "helpline:awsRegion = <unset>: required when cloud is aws",
        ),
        (
            {"cloud": "gcp", "gcpProject": "p", "gcpZones": '["us-central1-a"]'},
            "helpline:gcpRegion = <unset>: required when cloud is gcp",
        ),
    ],
)
def test_missing_region(values: dict[str, str], expected: str) -> None:
    assert expected in issues_of(values)


def test_prod_lists_every_broken_promise_at_once() -> None:
    found = issues_of({**AWS_PROD, "awsZones": '["us-east-1a"]', "gpuCapacity": "spot", "privateEndpoint": "false"})
    assert found == [
        "helpline:gpuCapacity = 'spot': prod allows only on-demand",
        "helpline:awsZones = ['us-east-1a']: prod needs at least 2 zones (3 recommended)",
        "helpline:privateEndpoint = False: prod allows only true",
    ]


def test_gpu_type_must_match_the_machine() -> None:
    assert issues_of({**AWS_DEV, "awsGpuInstanceType": "g5.xlarge"}) == [
        "helpline:gpuType = 'nvidia-l4': g5.xlarge carries nvidia-a10g; set gpuType to it or pick another machine"
    ]


def test_unknown_gpu_family_lists_the_known_ones() -> None:
    (issue,) = issues_of({**AWS_DEV, "awsGpuInstanceType": "m7i.large"})
    assert issue.startswith("helpline:awsGpuInstanceType = 'm7i.large': not a known GPU machine family; allowed: g6.*")


def test_zones_must_belong_to_the_region() -> None:
    assert issues_of({**AWS_DEV, "awsZones": '["eu-west-1a"]'}) == [
        "helpline:awsZones = ['eu-west-1a']: every zone must be in region us-east-1"
    ]


def test_type_errors_name_key_value_and_expectation() -> None:
    assert issues_of({**AWS_DEV, "gpuPoolMaxNodes": "many", "kubernetesVersion": "1.20"}) == [
        "helpline:kubernetesVersion = '1.20': must be one of 1.33, 1.34, 1.35",
        "helpline:gpuPoolMaxNodes = 'many': Input should be a valid integer, unable to parse string as an integer",
    ]


def test_list_values_must_be_lists() -> None:
    assert issues_of({**AWS_DEV, "awsZones": "us-east-1a"})[0].startswith(
        "helpline:awsZones = 'us-east-1a': must be a YAML/JSON list"
    )


def test_public_cidrs_are_refused_for_the_network() -> None:
    assert issues_of({**AWS_DEV, "awsVpcCidr": "8.8.0.0/16"}) == [
        "helpline:awsVpcCidr = '8.8.0.0/16': must be a private (RFC 1918) CIDR such as 10.40.0.0/16"
    ]


def test_render_exits_non_zero_with_the_config_error(tmp_path: Any) -> None:
    """The offline render of a broken stack fails before declaring anything, printing the config error."""
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    broken = yaml.safe_load((ROOT / "Pulumi.prod.yaml").read_text())
    broken["config"]["helpline:gpuPoolMinNodes"] = 0
    broken["config"]["helpline:cloud"] = "azure"
    (tmp_path / "Pulumi.broken.yaml").write_text(yaml.safe_dump(broken))
    command = [sys.executable, "-m", "stacks.render", "--stack", "broken", "--project-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "out")], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 2
    assert "helpline:cloud = 'azure': Input should be 'aws' or 'gcp'" in result.stderr
    assert not (tmp_path / "out").exists()
