"""The one interface both GPU cluster components hand to the rest of the program.

Everything after the cluster (platform, data, serving, services) takes a ``ClusterInterface`` and never asks
which cloud it is on, except the data tier's managed databases, which read ``network`` (cloud-specific by
nature: RDS needs subnets, Cloud SQL needs a VPC peering).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_kubernetes as k8s

#: Taint on every GPU node: only pods that tolerate it (vLLM, GPU plumbing) land there.
GPU_TAINT_KEY = "nvidia.com/gpu"
GPU_TAINT_VALUE = "present"
GPU_TAINT_EFFECT = "NoSchedule"
#: Label on every node of our pools, cloud-agnostic, so selectors do not depend on the provider's labels.
POOL_LABEL = "helpline.io/pool"
GPU_POOL = "gpu"
SYSTEM_POOL = "system"
#: The ReadWriteMany StorageClass each cluster creates for the shared model cache (EFS on AWS, Filestore on GCP).
MODEL_CACHE_STORAGE_CLASS = "model-cache"


@dataclass(frozen=True)
class GpuScheduling:
    """Where GPU workloads must go and what lets them in."""

    node_selector: Mapping[str, str]
    tolerations: Sequence[Mapping[str, str]]
    #: extended resource name the device plugin advertises
    resource_name: str = "nvidia.com/gpu"

    def pod_spec(self) -> dict[str, Any]:
        """The fields to merge into a pod spec (camelCase, as the Kubernetes API spells them)."""
        return {"nodeSelector": dict(self.node_selector), "tolerations": [dict(t) for t in self.tolerations]}


def gpu_scheduling() -> GpuScheduling:
    """Both clouds label and taint GPU nodes identically, so the constraints are the same everywhere."""
    return GpuScheduling(
        node_selector={POOL_LABEL: GPU_POOL},
        tolerations=[{"key": GPU_TAINT_KEY, "operator": "Equal", "value": GPU_TAINT_VALUE, "effect": GPU_TAINT_EFFECT}],
    )


@dataclass(frozen=True)
class ServiceAccountRef:
    """A Kubernetes service account named before the cluster exists (cloud IAM trusts it by name)."""

    namespace: str
    name: str

    @property
    def subject(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"


@dataclass(frozen=True)
class ModelStoreAccess:
    """The bucket holding model weights and the workload-identity binding that lets one service account read it.

    Put ``service_account_annotations`` on the Kubernetes ServiceAccount ``reader``: IRSA's role ARN on AWS,
    the Google service account on GKE. Nothing else can read the bucket.
    """

    bucket_uri: pulumi.Output[str]
    reader: ServiceAccountRef
    service_account_annotations: pulumi.Output[Mapping[str, str]]


@dataclass(frozen=True)
class AwsNetwork:
    vpc_id: pulumi.Output[str]
    vpc_cidr: str
    private_subnet_ids: Sequence[pulumi.Output[str]]
    cluster_security_group_id: pulumi.Output[str]
    kms_key_arn: pulumi.Output[str]


@dataclass(frozen=True)
class GcpNetwork:
    network_id: pulumi.Output[str]
    network_self_link: pulumi.Output[str]
    subnet_self_link: pulumi.Output[str]
    kms_key_id: pulumi.Output[str]
    project: str
    region: str


@dataclass(frozen=True)
class ClusterInterface:
    """What a GPU cluster component gives the rest of the program, identical in shape on both clouds."""

    cloud: Literal["aws", "gcp"]
    name: pulumi.Output[str]
    provider: k8s.Provider
    #: kubeconfig for the stack output; a Pulumi secret
    kubeconfig: pulumi.Output[str]
    gpu: GpuScheduling
    #: name of the ReadWriteMany StorageClass for the shared model cache
    model_cache_storage_class: str
    #: name of the encrypted ReadWriteOnce StorageClass for databases and Prometheus (gp3 / pd-balanced)
    block_storage_class: str
    #: annotations the ingress controller's LoadBalancer Service needs on this cloud (NLB type, scheme, ...)
    ingress_service_annotations: Mapping[str, str]
    model_store: ModelStoreAccess
    zones: Sequence[str]
    network: AwsNetwork | GcpNetwork
    #: resources workloads must wait for (node pools, CSI drivers); pass as ``depends_on``
    ready: Sequence[pulumi.Resource] = field(default_factory=list)

    def resource_options(self, **overrides: Any) -> pulumi.ResourceOptions:
        """Options for a Kubernetes resource on this cluster: its provider, after the cluster is ready."""
        return pulumi.ResourceOptions(provider=self.provider, depends_on=list(self.ready), **overrides)
