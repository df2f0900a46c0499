"""Cluster storage: the encrypted gp3 default StorageClass and the EFS-backed ReadWriteMany model cache.

The model cache is one EFS file system (KMS-encrypted, elastic throughput, TLS-only) with a mount target in
each private subnet, reachable on NFS only from the cluster's security group. Volumes are provisioned as EFS
access points, so each PersistentVolumeClaim gets its own directory and POSIX identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from infra.aws.iam_policies import tls_only_file_system_policy, to_json
from infra.cluster import MODEL_CACHE_STORAGE_CLASS
from infra.k8s.labels import standard_labels

#: Name of the ReadWriteOnce StorageClass (``ClusterInterface.block_storage_class``).
BLOCK_STORAGE_CLASS = "gp3"
EBS_PROVISIONER = "ebs.csi.aws.com"
EFS_PROVISIONER = "efs.csi.aws.com"
NFS_PORT = 2049
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def block_storage_parameters(kms_key_arn: str, stack: str) -> dict[str, str]:
    """gp3, encrypted with the cluster key, ext4, tagged with the stack (for cost reports and orphan hunting)."""
    return {
        "type": "gp3",
        "encrypted": "true",
        "kmsKeyId": kms_key_arn,
        "csi.storage.k8s.io/fstype": "ext4",
        "tagSpecification_1": f"helpline-stack={stack}",
    }


def model_cache_parameters(file_system_id: str) -> dict[str, str]:
    """Dynamic provisioning through access points under /model-cache, directories private to their owner."""
    return {
        "provisioningMode": "efs-ap",
        "fileSystemId": file_system_id,
        "directoryPerms": "700",
        "basePath": "/model-cache",
    }


@dataclass(frozen=True)
class ClusterStorageArgs:
    name_prefix: str
    stack: str
    vpc_id: pulumi.Input[str]
    private_subnet_by_zone: Mapping[str, pulumi.Input[str]]
    cluster_security_group_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    #: prod keeps released EBS volumes (a deleted PVC must not delete a database's data)
    retain_block_volumes: bool


class ClusterStorage(pulumi.ComponentResource):
    file_system: aws.efs.FileSystem
    mount_targets: list[aws.efs.MountTarget]
    storage_classes: list[k8s.storage.v1.StorageClass]

    def __init__(
        self,
        name: str,
        args: ClusterStorageArgs,
        *,
        kubernetes: pulumi.ResourceOptions,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``kubernetes`` carries the Kubernetes provider and what the StorageClasses wait for (the CSI drivers)."""
        super().__init__("helpline:aws:ClusterStorage", name, None, opts)
        self.file_system, self.mount_targets = self._model_cache_file_system(name, args)
        on_cluster = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self), kubernetes)
        labels = standard_labels("storage", "storage", args.stack)
        block = k8s.storage.v1.StorageClass(
            f"{name}-{BLOCK_STORAGE_CLASS}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=BLOCK_STORAGE_CLASS, labels=labels, annotations={DEFAULT_CLASS_ANNOTATION: "true"}
            ),
            provisioner=EBS_PROVISIONER,
            parameters=pulumi.Output.from_input(args.kms_key_arn).apply(
                lambda arn: block_storage_parameters(arn, args.stack)
            ),
            reclaim_policy="Retain" if args.retain_block_volumes else "Delete",
            volume_binding_mode="WaitForFirstConsumer",  # create the volume in the zone the pod lands in
            allow_volume_expansion=True,
            opts=on_cluster,
        )
        model_cache = k8s.storage.v1.StorageClass(
            f"{name}-{MODEL_CACHE_STORAGE_CLASS}",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=MODEL_CACHE_STORAGE_CLASS, labels=labels),
            provisioner=EFS_PROVISIONER,
            parameters=self.file_system.id.apply(model_cache_parameters),
            reclaim_policy="Delete",  # a cache: weights are downloaded again from the model bucket
            volume_binding_mode="Immediate",  # EFS is regional: no zone to wait for
            mount_options=["tls"],
            opts=on_cluster,
        )
        self.storage_classes = [block, model_cache]
        self.register_outputs({"file_system_id": self.file_system.id})

    def _model_cache_file_system(
        self, name: str, args: ClusterStorageArgs
    ) -> tuple[aws.efs.FileSystem, list[aws.efs.MountTarget]]:
        child = pulumi.ResourceOptions(parent=self)
        file_system = aws.efs.FileSystem(
            name,
            aws.efs.FileSystemArgs(
                encrypted=True,
                kms_key_id=args.kms_key_arn,
                performance_mode="generalPurpose",
                throughput_mode="elastic",  # bursts of parallel model loads without provisioning for the peak
                tags={"Name": f"{args.name_prefix}-model-cache"},
            ),
            opts=child,
        )
        aws.efs.FileSystemPolicy(
            name,
            aws.efs.FileSystemPolicyArgs(
                file_system_id=file_system.id,
                policy=file_system.arn.apply(lambda arn: to_json(tls_only_file_system_policy(arn))),
            ),
            opts=child,
        )
        security_group = aws.ec2.SecurityGroup(
            f"{name}-nfs",
            aws.ec2.SecurityGroupArgs(
                name=f"{args.name_prefix}-model-cache-nfs",
                description="NFS to the model cache EFS mount targets, from the EKS cluster only",
                vpc_id=args.vpc_id,
                tags={"Name": f"{args.name_prefix}-model-cache-nfs"},
            ),
            opts=child,
        )
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-nfs-from-cluster",
            aws.vpc.SecurityGroupIngressRuleArgs(
                security_group_id=security_group.id,
                referenced_security_group_id=args.cluster_security_group_id,
                ip_protocol="tcp",
                from_port=NFS_PORT,
                to_port=NFS_PORT,
                description="NFS from EKS nodes (cluster security group)",
            ),
            opts=child,
        )
        mount_targets = [
            aws.efs.MountTarget(
                f"{name}-{zone}",
                aws.efs.MountTargetArgs(
                    file_system_id=file_system.id, subnet_id=subnet_id, security_groups=[security_group.id]
                ),
                opts=child,
            )
            for zone, subnet_id in args.private_subnet_by_zone.items()
        ]
        return file_system, mount_targets

    @property
    def ready(self) -> list[pulumi.Resource]:
        """What a pod mounting either class needs in place."""
        return [*self.storage_classes, *self.mount_targets]
