"""The model bucket and the one identity that may read it.

Weights are mirrored into a regional bucket next to the GPUs (no cross-region egress, no dependency on the
Hugging Face Hub at scale-out time). The bucket is private by construction: uniform bucket-level access (no
object ACLs), public access prevention enforced, versioning so an overwritten or deleted revision can be
restored, with old versions expiring after 30 days. One Google service account may read it, and only the
model-loader Kubernetes service account may act as it, through Workload Identity.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from infra.cluster import ModelStoreAccess, ServiceAccountRef
from infra.gcp.names import model_bucket_name, service_account_id
from infra.gcp.options import child_options
from infra.gcp.principals import workload_identity_member
from infra.naming import Naming

#: The annotation GKE's metadata server reads to know which Google service account a pod acts as.
WORKLOAD_IDENTITY_ANNOTATION = "iam.gke.io/gcp-service-account"
READER_ROLE = "roles/storage.objectViewer"
WORKLOAD_IDENTITY_USER = "roles/iam.workloadIdentityUser"
NONCURRENT_VERSION_DAYS = 30


class ModelStore(pulumi.ComponentResource):
    """Bucket, reader service account, read grant, and the Workload Identity binding to ``reader``."""

    def __init__(
        self,
        name: str,
        *,
        naming: Naming,
        project: str,
        region: str,
        reader: ServiceAccountRef,
        force_destroy: bool,
        workload_pool_owner: pulumi.Resource,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``workload_pool_owner`` is the cluster: the project's Workload Identity pool exists only once it does."""
        super().__init__("helpline:gcp:ModelStore", name, None, opts)
        child = child_options(self, opts)
        bucket = gcp.storage.Bucket(
            f"{name}-bucket",
            name=model_bucket_name(naming, project),
            location=region,
            storage_class="STANDARD",
            uniform_bucket_level_access=True,
            public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            lifecycle_rules=[
                gcp.storage.BucketLifecycleRuleArgs(
                    action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                    condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                        days_since_noncurrent_time=NONCURRENT_VERSION_DAYS
                    ),
                )
            ],
            force_destroy=force_destroy,
            opts=child,
        )
        account = gcp.serviceaccount.Account(
            f"{name}-reader",
            account_id=service_account_id(naming, "model-reader"),
            project=project,
            display_name=f"Helpline {naming.stack} model reader",
            description=f"Reads the model bucket; only {reader.namespace}/{reader.name} may act as it",
            opts=child,
        )
        gcp.storage.BucketIAMMember(
            f"{name}-reader-objects", bucket=bucket.name, role=READER_ROLE, member=account.member, opts=child
        )
        gcp.serviceaccount.IAMMember(
            f"{name}-reader-workload-identity",
            service_account_id=account.name,
            role=WORKLOAD_IDENTITY_USER,
            member=workload_identity_member(project, reader),
            opts=child_options(self, opts, depends_on=[workload_pool_owner]),
        )
        self.access = ModelStoreAccess(
            bucket_uri=bucket.url,
            reader=reader,
            service_account_annotations=account.email.apply(lambda email: {WORKLOAD_IDENTITY_ANNOTATION: email}),
        )
        self.register_outputs({"bucket": bucket.url, "reader": account.email})
