"""Monitoring config keys: retention grammar, prod HA and SLO-window rules, webhook URLs only as secrets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.config import StackConfigError, parse_stack_config
from stacks.config.cluster import ClusterConfig
from stacks.config.platform import PlatformConfig, retention_hours
from tests.infra.stack_values import PLACEHOLDERS_OK, UNRESOLVED_VLLM_DIGEST_OK
from tests.infra.test_stack_config import AWS_DEV, AWS_PROD, issues_of

PROD_CLUSTER = ClusterConfig.model_validate(
    {key: value for key, value in AWS_PROD.items() if key not in {**UNRESOLVED_VLLM_DIGEST_OK, **PLACEHOLDERS_OK}}
    | {"awsZones": json.loads(AWS_PROD["awsZones"])}
)


def platform_issues(**values: Any) -> list[str]:
    """Only this section's rules, so other sections' prod rules cannot mask or add to what is tested here."""
    return [str(issue) for issue in PlatformConfig.model_validate(values).issues(PROD_CLUSTER)]


@pytest.mark.parametrize(("value", "hours"), [("36h", 36), ("7d", 168), ("2w", 336), ("30d", 720)])
def test_retention_hours(value: str, hours: int) -> None:
    assert retention_hours(value) == hours


@pytest.mark.parametrize("value", ["", "7", "0d", "1.5d", "7days", "1y", "-3d"])
def test_retention_grammar_is_refused_with_examples(value: str) -> None:
    (issue,) = issues_of({**AWS_DEV, "lokiRetention": value})
    assert issue == f"helpline:lokiRetention = {value!r}: retention {value!r} must look like 36h, 15d or 2w"


def test_defaults_satisfy_prod() -> None:
    assert PROD_CLUSTER.is_prod
    assert platform_issues() == []
    defaults = PlatformConfig.model_validate({})
    assert defaults.prometheus_replicas == 2
    assert defaults.alertmanager_replicas >= 2
    assert retention_hours(defaults.prometheus_retention) >= 30 * 24


def test_prod_refuses_single_replicas_and_short_retention() -> None:
    found = platform_issues(prometheusReplicas=1, alertmanagerReplicas=1, prometheusRetention="15d")
    assert found == [
        "helpline:prometheusReplicas = 1: prod needs at least 2",
        "helpline:alertmanagerReplicas = 1: prod needs at least 2",
        "helpline:prometheusRetention = '15d': prod needs at least 30d: the SLO error budget is computed over 30 days",
    ]


def test_dev_may_run_one_cheap_replica() -> None:
    config = parse_stack_config(
        "dev", {**AWS_DEV, "prometheusReplicas": "1", "alertmanagerReplicas": "1", "prometheusRetention": "3d"}
    )
    assert config.platform.prometheus_replicas == 1


def test_webhook_urls_must_be_secrets() -> None:
    assert issues_of({**AWS_DEV, "alertPagerWebhookUrl": "https://hooks.example/x"}) == [
        "helpline:alertPagerWebhookUrl = '<plain text>': must be set with "
        "`pulumi config set --secret alertPagerWebhookUrl`"
    ]
    config = parse_stack_config(
        "dev", {**AWS_DEV, "alertChatWebhookUrl": "secret-value"}, secret_keys=("alertChatWebhookUrl",)
    )
    assert config.platform.alert_chat_webhook_url is True
    assert config.platform.alert_pager_webhook_url is False
    with pytest.raises(StackConfigError):
        parse_stack_config("dev", {**AWS_DEV, "prometheusStorageGi": "1"})
