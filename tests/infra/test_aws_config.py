"""AWS config rules: what EKS would refuse at `pulumi up` is refused before any resource, naming key and fix."""

from __future__ import annotations

import pytest

from stacks.config import parse_stack_config
from stacks.render.stack_files import load_stack_settings
from tests.infra.stack_values import AWS_DEV, AWS_PROD, issues_of


def test_defaults_pin_nothing_and_keep_logs_ninety_days() -> None:
    cluster = parse_stack_config("dev", AWS_DEV).cluster
    assert cluster.aws_addon_versions == []
    assert cluster.aws_log_retention_days == 90
    assert cluster.aws_admin_principal_arns == []


def test_admin_roles_and_users_are_accepted_in_any_partition() -> None:
    arns = '["arn:aws:iam::123456789012:role/ci-deploy", "arn:aws-us-gov:iam::123456789012:user/ops/alice"]'
    cluster = parse_stack_config("dev", {**AWS_DEV, "awsAdminPrincipalArns": arns}).cluster
    assert len(cluster.aws_admin_principal_arns) == 2


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:sts::123456789012:assumed-role/ci-deploy/session", "ci-deploy", "arn:aws:iam::12345:role/short-account"],
)
def test_a_principal_eks_would_refuse_is_refused(arn: str) -> None:
    (issue,) = issues_of({**AWS_DEV, "awsAdminPrincipalArns": f'["{arn}"]'})
    assert issue.startswith("helpline:awsAdminPrincipalArns")
    assert "is not an IAM role or user ARN" in issue


def test_log_retention_must_be_a_cloudwatch_period() -> None:
    (issue,) = issues_of({**AWS_DEV, "awsLogRetentionDays": "45"})
    assert issue.startswith("helpline:awsLogRetentionDays = '45': must be a CloudWatch retention period: 1, 3,")


def test_a_vpc_too_small_for_the_layout_is_refused() -> None:
    assert issues_of({**AWS_DEV, "awsVpcCidr": "10.40.0.0/22"}) == [
        "helpline:awsVpcCidr = '10.40.0.0/22': 10.40.0.0/22 is too small: the layout needs at least a /20 so that "
        "public subnets are /28 or larger"
    ]


def test_a_vpc_overlapping_the_service_range_is_refused() -> None:
    (issue,) = issues_of({**AWS_DEV, "awsVpcCidr": "172.20.0.0/16"})
    assert "overlaps the cluster's Kubernetes service range 172.20.0.0/16" in issue


def test_seven_zones_do_not_fit() -> None:
    zones = '["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f", "us-east-1g"]'
    assert "helpline:awsZones" in issues_of({**AWS_DEV, "awsZones": zones, "systemPoolMaxNodes": "9"})[0]


def test_every_zone_needs_room_for_a_system_node() -> None:
    assert issues_of({**AWS_PROD, "systemPoolMinNodes": "2", "systemPoolMaxNodes": "2"}, stack="prod") == [
        "helpline:systemPoolMaxNodes = 2: must be >= the number of awsZones (3): each zone has its own system node group"
    ]


def test_addon_pins_must_name_installed_addons() -> None:
    (issue,) = issues_of({**AWS_DEV, "awsAddonVersions": '["karpenter=v1.0.0"]'})
    assert issue.startswith("helpline:awsAddonVersions = ['karpenter=v1.0.0']: 'karpenter' is not an add-on")


def test_aws_rules_do_not_apply_to_a_gcp_stack() -> None:
    settings = load_stack_settings("dev", "gcp")
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    values |= {"awsVpcCidr": "10.40.0.0/22", "awsAddonVersions": '["karpenter=v1"]'}
    assert parse_stack_config("dev", values, {k.split(":", 1)[1] for k in settings.secret_keys}).cloud == "gcp"
