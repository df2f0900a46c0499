"""Minimal valid stack values for the config tests, and the config errors a set of values produces."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pytest

from stacks.config import StackConfigError, parse_stack_config

#: The smallest valid dev stack on AWS: one zone, everything else default.
AWS_DEV: dict[str, Any] = {"cloud": "aws", "awsRegion": "us-east-1", "awsZones": '["us-east-1a"]'}
#: Prod's acknowledgement of the vLLM image's unresolved digest (stacks/config/serving.py UNRESOLVED_DIGEST), as the
#: committed Pulumi.prod.yaml carries it until the digest is resolved.
UNRESOLVED_VLLM_DIGEST_OK = {"allowUnresolvedVllmDigest": "true"}
#: prod test values accept the committed example values (stacks/config/placeholders.py), as Pulumi.prod.yaml does
PLACEHOLDERS_OK = {
    "acceptPlaceholders": '["appImage", "gcpProjectNumber", "awsAdminPrincipalArns", "alertPagerWebhookUrl"]'
}
#: The smallest valid prod stack on AWS: three zones, on-demand GPUs with two nodes at least, private API.
AWS_PROD: dict[str, Any] = {
    **AWS_DEV,
    "environment": "prod",
    "awsZones": '["us-east-1a", "us-east-1b", "us-east-1c"]',
    "gpuCapacity": "on-demand",
    "gpuPoolMinNodes": "2",
    "gpuPoolMaxNodes": "4",  # every model at its maximum plus one rollout surge replica each
    "privateEndpoint": "true",
    "singleNat": "false",
    **UNRESOLVED_VLLM_DIGEST_OK,
    **PLACEHOLDERS_OK,
}


def issues_of(values: Mapping[str, Any], stack: str = "dev", secret_keys: Collection[str] = ()) -> list[str]:
    """The config errors ``values`` produce, as the messages a user reads (the values must be invalid)."""
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config(stack, values, secret_keys)
    return [str(issue) for issue in caught.value.issues]
