"""The label set on everything we deploy, and the names network policies select on."""

from __future__ import annotations

PART_OF = "helpline"
NAME_LABEL = "app.kubernetes.io/name"
COMPONENT_LABEL = "app.kubernetes.io/component"
#: Pods that talk to the Kubernetes API carry this label: the namespace baseline lets only them reach it.
KUBE_API_ACCESS_LABEL = "helpline.io/kube-api"
KUBE_API_ACCESS = {KUBE_API_ACCESS_LABEL: "true"}
#: Namespace label Kubernetes sets itself; policies select namespaces by it.
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def standard_labels(name: str, component: str, stack: str) -> dict[str, str]:
    """Recommended labels (https://kubernetes.io/docs/concepts/overview/working-with-objects/common-labels/)."""
    return {
        NAME_LABEL: name,
        COMPONENT_LABEL: component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/instance": stack,
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector_labels(name: str) -> dict[str, str]:
    """The immutable subset used in selectors (a Deployment's selector cannot change after creation)."""
    return {NAME_LABEL: name, "app.kubernetes.io/part-of": PART_OF}
