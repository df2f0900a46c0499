"""Kubeconfig for an EKS cluster, as a pure function: no credentials inside, tokens come from ``aws eks get-token``.

The exec plugin asks the AWS CLI for a short-lived token each time kubectl (or Pulumi's Kubernetes provider)
connects, with whatever AWS identity the caller has (``AWS_PROFILE`` and the like pass through); that identity
needs an EKS access entry.
"""

from __future__ import annotations

import json
from typing import Any

EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"


def eks_kubeconfig(*, cluster_name: str, endpoint: str, certificate_authority_data: str, region: str) -> dict[str, Any]:
    """A kubeconfig document with one cluster, one user (the exec plugin) and one current context."""
    if not endpoint.startswith("https://"):
        raise ValueError(f"EKS endpoint must be an https URL, got {endpoint!r}")
    if not certificate_authority_data:
        raise ValueError("the cluster CA (base64 PEM) is required")
    token_command = {
        "apiVersion": EXEC_API_VERSION,
        "command": "aws",
        "args": ["--region", region, "eks", "get-token", "--cluster-name", cluster_name, "--output", "json"],
        "interactiveMode": "Never",
        "provideClusterInfo": False,
    }
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster_name,
                "cluster": {"server": endpoint, "certificate-authority-data": certificate_authority_data},
            }
        ],
        "users": [{"name": cluster_name, "user": {"exec": token_command}}],
        "contexts": [{"name": cluster_name, "context": {"cluster": cluster_name, "user": cluster_name}}],
        "current-context": cluster_name,
    }


def eks_kubeconfig_text(*, cluster_name: str, endpoint: str, certificate_authority_data: str, region: str) -> str:
    """``eks_kubeconfig`` serialised as JSON (valid YAML, and what the Kubernetes provider accepts)."""
    document = eks_kubeconfig(
        cluster_name=cluster_name,
        endpoint=endpoint,
        certificate_authority_data=certificate_authority_data,
        region=region,
    )
    return json.dumps(document, indent=2)
