"""Pod Security admission labels on every namespace the stack declares; ``privileged`` only where allowed."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator

from infra.policy.kubernetes import labels
from infra.policy.model import Config, Resource, items, lookup, unknown_along

LABEL_PREFIX = "pod-security.kubernetes.io"
LEVELS = frozenset({"privileged", "baseline", "restricted"})
MODES = ("enforce", "audit", "warn")


def pod_security_labels(resource: Resource, config: Config) -> Iterator[str]:
    """enforce/audit/warn set to a valid level; enforce=privileged only in namespaces the config allows."""
    if not (resource.is_kubernetes and resource.kind == "Namespace" and resource.type.startswith("kubernetes:core/")):
        return
    if unknown_along(resource.props, "metadata", "labels"):
        return
    namespace_labels = labels(resource)
    for mode in MODES:
        level = namespace_labels.get(f"{LABEL_PREFIX}/{mode}")
        if level not in LEVELS:
            yield f"label {LABEL_PREFIX}/{mode} is {level!r}, not one of {', '.join(sorted(LEVELS))}"
    name = str(lookup(resource.props, "metadata", "name") or resource.name)
    allowed = [str(pattern) for pattern in items(config.get("privilegedNamespaces"))]
    if namespace_labels.get(f"{LABEL_PREFIX}/enforce") == "privileged" and not any(
        fnmatch.fnmatch(name, pattern) for pattern in allowed
    ):
        yield f"enforces 'privileged' but only {', '.join(allowed) or 'no namespace'} may"
