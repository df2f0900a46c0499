"""Pure builders for the core objects every area writes the same way: Secrets, ConfigMaps, ServiceAccounts.

One shape per kind keeps what the render and the policy pack check (labels on everything, Secrets typed, tokens not
mounted unless asked for) decided in one place instead of once per component.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: A Secret of arbitrary keys.
OPAQUE = "Opaque"
#: ``username`` and ``password``, as operators that read credentials expect (CloudNativePG).
BASIC_AUTH = "kubernetes.io/basic-auth"


def object_metadata(name: str, namespace: str, labels: Mapping[str, str], annotations: Any = None) -> dict[str, Any]:
    """``metadata`` of a namespaced object; ``annotations`` may be an Output (e.g. a role ARN the cloud computes)."""
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels)}
    if annotations is not None:
        metadata["annotations"] = annotations
    return metadata


def secret(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    string_data: Mapping[str, Any],
    *,
    secret_type: str = OPAQUE,
) -> dict[str, Any]:
    """A Secret written through ``stringData``: values may be (secret) Outputs, the API server encodes them."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_metadata(name, namespace, labels),
        "type": secret_type,
        "stringData": dict(string_data),
    }


def config_map(
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    data: Mapping[str, Any],
    *,
    immutable: bool = False,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A ConfigMap; ``immutable`` for content-named ones (a change is a new name, so the kubelet need not watch it)."""
    obj: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": object_metadata(name, namespace, labels, dict(annotations) if annotations is not None else None),
    }
    if immutable:
        obj["immutable"] = True
    obj["data"] = dict(data)
    return obj


def service_account(
    name: str, namespace: str, labels: Mapping[str, str], *, automount: bool, annotations: Any = None
) -> dict[str, Any]:
    """An identity of its own; ``automount`` only for pods that call the Kubernetes API."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": object_metadata(name, namespace, labels, annotations),
        "automountServiceAccountToken": automount,
    }
