"""Example values the committed stack files ship, which prod refuses unless the stack accepts each one by name.

A prod stack that renders with the example services image (never built), the example GCP project number or AWS
account, or no pager receiver would `pulumi up` into something broken or silent (critical alerts paging no one).
``acceptPlaceholders`` lets a stack render anyway for offline renders and previews, each key named explicitly; the
committed prod stack does so, marked GAP, until a real deployment sets them (README, "Deploying").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stacks.config.base import ConfigIssue
from stacks.config.services import EXAMPLE_APP_IMAGE

if TYPE_CHECKING:
    from stacks.config.stack import StackConfig

#: The project numbers Pulumi.dev.yaml and Pulumi.prod.yaml ship (a real project's number is assigned by Google).
EXAMPLE_GCP_PROJECT_NUMBERS = frozenset({"100000000001", "100000000002"})
#: The AWS account id of the committed admin role ARNs (AWS's documentation example account).
EXAMPLE_AWS_ACCOUNT = "123456789012"


def _app_image(config: StackConfig) -> str | None:
    if config.services.app_image == EXAMPLE_APP_IMAGE:
        return "the committed example digest, never built (CI passes the digest it pushed)"
    return None


def _project_number(config: StackConfig) -> str | None:
    number = config.cluster.gcp_project_number
    if config.cloud == "gcp" and number in EXAMPLE_GCP_PROJECT_NUMBERS:
        return "the committed example (`gcloud projects describe <project> --format='value(projectNumber)'`)"
    return None


def _admin_principals(config: StackConfig) -> str | None:
    arns = config.cluster.aws_admin_principal_arns
    if config.cloud == "aws" and any(f":{EXAMPLE_AWS_ACCOUNT}:" in arn for arn in arns):
        return f"account {EXAMPLE_AWS_ACCOUNT} is the committed example (name your CI deploy and break-glass roles)"
    return None


def _pager(config: StackConfig) -> str | None:
    if not config.platform.alert_pager_webhook_url:
        return "critical alerts would page no one (`pulumi config set --secret alertPagerWebhookUrl <url>`)"
    return None


#: key -> what is wrong with its value when it is still the example (None when it is real)
PLACEHOLDER_CHECKS: dict[str, Callable[[StackConfig], str | None]] = {
    "appImage": _app_image,
    "gcpProjectNumber": _project_number,
    "awsAdminPrincipalArns": _admin_principals,
    "alertPagerWebhookUrl": _pager,
}


def placeholder_issues(config: StackConfig) -> list[ConfigIssue]:
    """Prod only: every example value the stack has not accepted by name, and every accepted name that is unknown."""
    accepted = set(config.cluster.accept_placeholders)
    issues = [
        ConfigIssue("acceptPlaceholders", sorted(accepted), f"{name!r} is not one of {sorted(PLACEHOLDER_CHECKS)}")
        for name in sorted(accepted - set(PLACEHOLDER_CHECKS))
    ]
    if not config.is_prod:
        return issues
    for name, check in PLACEHOLDER_CHECKS.items():
        problem = check(config)
        if problem and name not in accepted:
            hint = f"set a real value, or add {name} to acceptPlaceholders to render anyway (no real deployment works)"
            issues.append(
                ConfigIssue(
                    name, None if name == "alertPagerWebhookUrl" else _shown(config, name), f"{problem}; {hint}"
                )
            )
    return issues


def _shown(config: StackConfig, name: str) -> object:
    return {
        "appImage": config.services.app_image,
        "gcpProjectNumber": config.cluster.gcp_project_number,
        "awsAdminPrincipalArns": config.cluster.aws_admin_principal_arns,
    }[name]
