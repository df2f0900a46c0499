"""Declare a Kubernetes object built as plain data (camelCase, as the API spells it) as its Pulumi resource.

Every component builds its objects with pure functions (tested without Pulumi, and against the Kubernetes schemas);
``declare`` is the one place that turns such an object into a resource: the typed ``pulumi_kubernetes`` class for
the built-in kinds in ``KINDS`` (every top-level field passed on, ``data`` and ``stringData`` included), a
``CustomResource`` for custom resources. ``declaration`` is the pure half, so the mapping is tested on its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

ResourceClass = Callable[..., pulumi.CustomResource]

#: Typed resource classes by (apiVersion, kind): every built-in kind the program declares.
KINDS: dict[tuple[str, str], ResourceClass] = {
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "LimitRange"): k8s.core.v1.LimitRange,
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("v1", "ResourceQuota"): k8s.core.v1.ResourceQuota,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
}
#: API groups of the kinds above: no CRD lives in them, so an unlisted kind there is a gap in ``KINDS``, not a CR.
BUILT_IN_GROUPS = frozenset(api_version.rpartition("/")[0] for api_version, _ in KINDS)
#: The only top-level fields ``CustomResource`` takes besides apiVersion and kind.
CUSTOM_RESOURCE_FIELDS = frozenset({"metadata", "spec"})


@dataclass(frozen=True)
class Declaration:
    """What ``declare`` calls: ``resource_class(name, opts=..., **arguments)``."""

    resource_class: ResourceClass
    name: str
    arguments: dict[str, Any]


def logical_name(obj: Mapping[str, Any]) -> str:
    """``<namespace>-<kind>-<name>`` (``cluster`` for cluster-scoped objects): unique and stable across the stack."""
    metadata = obj["metadata"]
    return f"{metadata.get('namespace', 'cluster')}-{obj['kind'].lower()}-{metadata['name']}"


def argument_name(field: str) -> str:
    """The Python argument of a top-level API field: ``stringData`` -> ``string_data``, ``roleRef`` -> ``role_ref``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", field).lower()


def declaration(obj: Mapping[str, Any], name: str | None = None) -> Declaration:
    """How ``obj`` becomes a resource named ``name`` (default ``logical_name(obj)``); refuses what would lose fields."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    resource_name = name if name is not None else logical_name(obj)
    fields = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind")}
    resource_class = KINDS.get((api_version, kind))
    if resource_class is not None:
        return Declaration(resource_class, resource_name, {argument_name(key): value for key, value in fields.items()})
    if api_version.rpartition("/")[0] in BUILT_IN_GROUPS:
        raise ValueError(f"{api_version} {kind} is a built-in kind: add its typed class to KINDS")
    unknown = set(fields) - CUSTOM_RESOURCE_FIELDS
    if unknown:
        raise ValueError(
            f"{kind} {obj['metadata']['name']}: a custom resource carries only metadata and spec, not {sorted(unknown)}"
        )
    return Declaration(
        k8s.apiextensions.CustomResource,
        resource_name,
        {"api_version": api_version, "kind": kind, "metadata": obj["metadata"], "spec": obj.get("spec")},
    )


def declare(obj: Mapping[str, Any], opts: pulumi.ResourceOptions, *, name: str | None = None) -> pulumi.CustomResource:
    """Declare ``obj`` as its resource; ``name`` overrides the logical name (only to keep an existing URN)."""
    planned = declaration(obj, name)
    return planned.resource_class(planned.name, opts=opts, **planned.arguments)
