"""One namespace per concern, each with Pod Security labels, a network baseline, a quota and container defaults."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.k8s.labels import standard_labels
from infra.k8s.resources import declare
from infra.naming import CONCERNS, Concern, Naming
from infra.platform.network_baseline import BaselineBuilder, ClusterAddresses
from infra.platform.pod_security import POD_SECURITY, pod_security_labels
from infra.platform.quotas import QuotaSize, limit_range, resource_quota

CONCERN_LABEL = "helpline.io/concern"


def namespace_object(name: str, concern: Concern, stack: str, kubernetes_version: str) -> dict[str, Any]:
    labels = {
        **standard_labels("namespace", "platform", stack),
        CONCERN_LABEL: concern,
        **pod_security_labels(POD_SECURITY[concern].enforce, kubernetes_version),
    }
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


@dataclass(frozen=True)
class NamespacesArgs:
    naming: Naming
    kubernetes_version: str
    quotas: Mapping[Concern, QuotaSize]
    addresses: ClusterAddresses


class Namespaces(pulumi.ComponentResource):
    """Creates every concern's namespace first, then its policies, quota and defaults inside it."""

    #: concern -> namespace name (known before anything exists: later stages use it in their own objects)
    names: dict[Concern, str]
    #: concern -> Namespace resource (later stages pass it in ``depends_on``)
    resources: dict[Concern, pulumi.Resource]

    def __init__(
        self,
        name: str,
        args: NamespacesArgs,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: what must exist first (the cluster's node pools); children do not inherit a component's deps."""
        super().__init__("helpline:platform:Namespaces", name, None, opts)
        stack = args.naming.stack
        labels = standard_labels("platform", "network-baseline", stack)
        self.names = {concern: args.naming.namespace(concern) for concern in CONCERNS}
        self.resources = {}
        for concern in CONCERNS:
            namespace = declare(
                namespace_object(self.names[concern], concern, stack, args.kubernetes_version),
                pulumi.ResourceOptions(parent=self, depends_on=list(after)),
            )
            self.resources[concern] = namespace
            inside = pulumi.ResourceOptions(parent=self, depends_on=[namespace])
            quota_labels = standard_labels("platform", "quota", stack)
            declare(resource_quota(self.names[concern], args.quotas[concern], quota_labels), inside)
            declare(limit_range(self.names[concern], quota_labels), inside)
        builder = BaselineBuilder(self.names, args.addresses, labels)
        all_namespaces = list(self.resources.values())
        for policy in builder.all():
            declare(policy, pulumi.ResourceOptions(parent=self, depends_on=all_namespaces))
        self.register_outputs({"names": self.names})
