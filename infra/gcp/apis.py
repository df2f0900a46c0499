"""The Google APIs the cluster uses, enabled by the stack so that a fresh project works on the first ``pulumi up``.

Services stay enabled when the stack is destroyed (``disable_on_destroy=False``): other stacks or people in the
same project may use them, and disabling an API deletes its resources.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.gcp.options import child_options

#: What each API is needed for, so that nobody removes one by accident.
REQUIRED_APIS: dict[str, str] = {
    "compute.googleapis.com": "VPC, subnet, Cloud NAT, firewall, node VMs and disks",
    "container.googleapis.com": "the GKE cluster and its node pools",
    "containerfilesystem.googleapis.com": "image streaming on the nodes (large vLLM images start sooner)",
    "cloudkms.googleapis.com": "the keys for Kubernetes Secrets and disks",
    "file.googleapis.com": "Filestore instances behind the model-cache StorageClass",
    "servicenetworking.googleapis.com": "private service access for Filestore, Cloud SQL and Memorystore",
    "iam.googleapis.com": "the node and model-reader service accounts",
    "iamcredentials.googleapis.com": "Workload Identity exchanging pod tokens for Google tokens",
    "storage.googleapis.com": "the model bucket",
    "logging.googleapis.com": "system and workload logs",
    "monitoring.googleapis.com": "system metrics",
}


def api_resource_name(api: str) -> str:
    """``container.googleapis.com`` -> ``container``."""
    return api.split(".", 1)[0]


class ProjectApis(pulumi.ComponentResource):
    """Enables ``REQUIRED_APIS`` in the project; everything else in the cluster waits for ``services``."""

    def __init__(self, name: str, *, project: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:gcp:ProjectApis", name, None, opts)
        child = child_options(self, opts)
        self.services: list[pulumi.Resource] = [
            gcp.projects.Service(
                f"{name}-{api_resource_name(api)}",
                project=project,
                service=api,
                disable_on_destroy=False,
                disable_dependent_services=False,
                opts=child,
            )
            for api in REQUIRED_APIS
        ]
        self.register_outputs({})
