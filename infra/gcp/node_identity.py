"""The nodes' own Google service account, instead of the Compute Engine default account (project Editor).

It holds only what a node itself needs: writing logs and metrics and reading autoscaler metrics, which GKE
bundles as ``roles/container.defaultNodeServiceAccount``. Pods never act as it: Workload Identity
(``GKE_METADATA``) hides the node's identity from them, and each workload that needs Google APIs gets its own
service account (the model reader is one). Pulling private images from Artifact Registry would add
``roles/artifactregistry.reader``; the images we run today are public or on ghcr.io.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.gcp.names import service_account_id
from infra.gcp.options import child_options
from infra.naming import Naming

NODE_ROLES = ("roles/container.defaultNodeServiceAccount",)


class NodeServiceAccount(pulumi.ComponentResource):
    """The service account every node pool runs as, with its project roles (``grants`` to depend on)."""

    def __init__(self, name: str, *, naming: Naming, project: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:gcp:NodeServiceAccount", name, None, opts)
        child = child_options(self, opts)
        account = gcp.serviceaccount.Account(
            f"{name}-account",
            account_id=service_account_id(naming, "nodes"),
            project=project,
            display_name=f"Helpline {naming.stack} GKE nodes",
            description="Runs the GKE nodes: logs and metrics only; workloads use Workload Identity",
            opts=child,
        )
        self.email: pulumi.Output[str] = account.email
        self.grants: list[pulumi.Resource] = [
            gcp.projects.IAMMember(
                f"{name}-{role.removeprefix('roles/').replace('.', '-').lower()}",
                project=project,
                role=role,
                member=account.member,
                opts=child,
            )
            for role in NODE_ROLES
        ]
        self.register_outputs({"email": self.email})
