"""Prod refuses the committed example values (stacks/config/placeholders.py) unless the stack accepts each by name."""

from __future__ import annotations

from stacks.config import parse_stack_config
from tests.infra.stack_values import AWS_DEV, AWS_PROD, PLACEHOLDERS_OK, issues_of

NOT_ACCEPTED = {key: value for key, value in AWS_PROD.items() if key not in PLACEHOLDERS_OK}
HINT = "set a real value, or add {} to acceptPlaceholders to render anyway (no real deployment works)"


def test_prod_lists_every_example_value_at_once_with_the_fix() -> None:
    values = {**NOT_ACCEPTED, "awsAdminPrincipalArns": '["arn:aws:iam::123456789012:role/ci"]'}
    found = issues_of(values, "prod")
    assert found == [
        "helpline:appImage = 'ghcr.io/helpline-dev/helpline@sha256:8f3c2b1a5d7e9f0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f"
        "607182': the committed example digest, never built (CI passes the digest it pushed); "
        + HINT.format("appImage"),
        "helpline:awsAdminPrincipalArns = ['arn:aws:iam::123456789012:role/ci']: account 123456789012 is the committed "
        "example (name your CI deploy and break-glass roles); " + HINT.format("awsAdminPrincipalArns"),
        "helpline:alertPagerWebhookUrl = <unset>: critical alerts would page no one (`pulumi config set --secret "
        "alertPagerWebhookUrl <url>`); " + HINT.format("alertPagerWebhookUrl"),
    ]


def test_the_gcp_project_number_example_is_refused_in_prod() -> None:
    values = {
        **{k: v for k, v in NOT_ACCEPTED.items() if not k.startswith("aws")},
        "cloud": "gcp",
        "gcpProject": "helpline-prod",
        "gcpProjectNumber": "100000000002",
        "gcpRegion": "us-central1",
        "gcpZones": '["us-central1-a", "us-central1-b"]',
        "acceptPlaceholders": '["appImage", "alertPagerWebhookUrl"]',
    }
    assert issues_of(values, "prod") == [
        "helpline:gcpProjectNumber = '100000000002': the committed example (`gcloud projects describe <project> "
        "--format='value(projectNumber)'`); " + HINT.format("gcpProjectNumber")
    ]


def test_real_values_need_no_acceptance_and_dev_accepts_examples() -> None:
    real = {
        **NOT_ACCEPTED,
        "appImage": "ghcr.io/acme/helpline@sha256:" + "1" * 64,
        "awsAdminPrincipalArns": '["arn:aws:iam::210987654321:role/ci"]',
        "alertPagerWebhookUrl": "v1:ciphertext",
    }
    assert parse_stack_config("prod", real, {"alertPagerWebhookUrl"}).is_prod
    assert not parse_stack_config("dev", AWS_DEV).is_prod


def test_an_accepted_name_must_be_a_placeholder_key() -> None:
    found = issues_of({**AWS_DEV, "acceptPlaceholders": '["appImage", "chatHost"]'})
    assert found == [
        "helpline:acceptPlaceholders = ['appImage', 'chatHost']: 'chatHost' is not one of ['alertPagerWebhookUrl', "
        "'appImage', 'awsAdminPrincipalArns', 'gcpProjectNumber']"
    ]
