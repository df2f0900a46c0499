"""The cluster's two StorageClasses: a ReadWriteMany model cache on Filestore and encrypted block volumes.

Model cache: Filestore (NFS) through GKE's managed Filestore CSI driver, rather than the Cloud Storage FUSE
driver. The interface promises a ReadWriteMany *StorageClass* that the serving component claims from, the same
way as EFS on AWS; Filestore provisions volumes dynamically from one, while FUSE volumes are static (one
bucket per PersistentVolume, or inline in the pod). The loader writes the cache with ordinary POSIX calls
(Hugging Face downloads rename temporary files and take file locks), which NFS supports and FUSE only partly.
Instances take their addresses from the private service access range, next to Cloud SQL and Memorystore,
instead of a peering range of their own. The cost is the tier minimum: 1 TiB per volume (2.5 TiB on premium).

Block volumes: PD CSI (built into GKE) with our data key, so databases and Prometheus data sit under a key we
control and can revoke; pd-balanced is what GKE's own default class uses, and works on every machine family
we run. It is not the default class: consumers ask for it by name (``ClusterInterface.block_storage_class``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.cluster import MODEL_CACHE_STORAGE_CLASS
from infra.k8s.labels import standard_labels

FILESTORE_PROVISIONER = "filestore.csi.storage.gke.io"
PD_PROVISIONER = "pd.csi.storage.gke.io"
BLOCK_STORAGE_CLASS = "pd-balanced-cmek"
BLOCK_DISK_TYPE = "pd-balanced"


def gcp_labels_parameter(labels: Mapping[str, str]) -> str:
    """The CSI drivers take labels for the instances and disks they create as ``k1=v1,k2=v2``."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def storage_class(
    name: str,
    *,
    provisioner: str,
    parameters: Mapping[str, pulumi.Input[str]],
    stack: str,
    retain_volumes: bool = False,
) -> dict[str, Any]:
    """A StorageClass that binds where the first pod lands and can grow. Its volumes go with their claims unless
    ``retain_volumes`` (prod's databases: a deleted claim must not take the data with it)."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "labels": standard_labels(name, "storage", stack)},
        "provisioner": provisioner,
        "parameters": dict(parameters),
        # Zonal volumes must be created in the zone of the pod that first uses them.
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowVolumeExpansion": True,
        "reclaimPolicy": "Retain" if retain_volumes else "Delete",
    }


def model_cache_storage_class(
    *,
    tier: str,
    network: pulumi.Input[str],
    reserved_range: pulumi.Input[str],
    resource_labels: Mapping[str, str],
    stack: str,
) -> dict[str, Any]:
    """ReadWriteMany Filestore volumes, addressed from the private service access range."""
    return storage_class(
        MODEL_CACHE_STORAGE_CLASS,
        provisioner=FILESTORE_PROVISIONER,
        parameters={
            "tier": tier,
            "network": network,
            "connect-mode": "PRIVATE_SERVICE_ACCESS",
            "reserved-ip-range": reserved_range,
            "labels": gcp_labels_parameter(resource_labels),
        },
        stack=stack,
    )


def block_storage_class(
    *, kms_key: pulumi.Input[str], resource_labels: Mapping[str, str], stack: str, retain_volumes: bool
) -> dict[str, Any]:
    """ReadWriteOnce persistent disks encrypted with our data key, kept after their claim is deleted in prod (as
    the AWS gp3 class does)."""
    return storage_class(
        BLOCK_STORAGE_CLASS,
        provisioner=PD_PROVISIONER,
        parameters={
            "type": BLOCK_DISK_TYPE,
            "disk-encryption-kms-key": kms_key,
            "labels": gcp_labels_parameter(resource_labels),
        },
        stack=stack,
        retain_volumes=retain_volumes,
    )


def create_storage_class(
    resource_name: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> k8s.storage.v1.StorageClass:
    """Declare ``manifest`` (a StorageClass built above) on the cluster."""
    return k8s.storage.v1.StorageClass(
        resource_name,
        metadata=manifest["metadata"],
        provisioner=manifest["provisioner"],
        parameters=manifest["parameters"],
        volume_binding_mode=manifest["volumeBindingMode"],
        allow_volume_expansion=manifest["allowVolumeExpansion"],
        reclaim_policy=manifest["reclaimPolicy"],
        opts=opts,
    )
