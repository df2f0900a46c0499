"""The model-weights bucket and the one identity allowed to read it.

Private (public access blocked, ACLs disabled), SSE-KMS with the cluster key, versioned (a bad upload can be
rolled back; old versions expire), TLS-only. Readable by exactly one Kubernetes service account, through an
IRSA role whose trust policy names it; everything else, including the nodes, is denied by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.iam import OidcIssuer, irsa_role, role_arn_annotation
from infra.aws.iam_policies import model_reader_policy, tls_only_bucket_policy, to_json
from infra.cluster import ModelStoreAccess, ServiceAccountRef

#: Days an overwritten or deleted weight file stays recoverable.
NONCURRENT_VERSION_DAYS = 30


@dataclass(frozen=True)
class ModelBucketArgs:
    name_prefix: str
    region: str
    kms_key_arn: pulumi.Input[str]
    issuer: OidcIssuer
    reader: ServiceAccountRef
    #: prod refuses to delete a bucket that still holds weights; dev can be torn down whole
    force_destroy: bool


class ModelBucket(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    access: ModelStoreAccess

    def __init__(self, name: str, args: ModelBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:ModelBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # S3 names are global: a prefix plus a generated suffix avoids collisions with other accounts.
        self.bucket = aws.s3.Bucket(
            name,
            aws.s3.BucketArgs(
                bucket_prefix=f"{args.name_prefix}-models-",
                force_destroy=args.force_destroy,
                tags={"Name": f"{args.name_prefix}-models"},
            ),
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            name,
            aws.s3.BucketPublicAccessBlockArgs(
                bucket=self.bucket.id,
                block_public_acls=True,
                block_public_policy=True,
                ignore_public_acls=True,
                restrict_public_buckets=True,
            ),
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            name,
            aws.s3.BucketOwnershipControlsArgs(
                bucket=self.bucket.id,
                rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            ),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            name,
            aws.s3.BucketServerSideEncryptionConfigurationInitArgs(
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                        apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                            sse_algorithm="aws:kms", kms_master_key_id=args.kms_key_arn
                        ),
                        bucket_key_enabled=True,  # one KMS call per object instead of per request: cheaper, faster
                    )
                ],
            ),
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            name,
            aws.s3.BucketVersioningInitArgs(
                bucket=self.bucket.id,
                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            ),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            name,
            aws.s3.BucketLifecycleConfigurationArgs(
                bucket=self.bucket.id,
                rules=[
                    aws.s3.BucketLifecycleConfigurationRuleArgs(
                        id="expire-old-versions",
                        status="Enabled",
                        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                        noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                            noncurrent_days=NONCURRENT_VERSION_DAYS
                        ),
                        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                            days_after_initiation=7
                        ),
                    )
                ],
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        aws.s3.BucketPolicy(
            name,
            aws.s3.BucketPolicyArgs(
                bucket=self.bucket.id,
                policy=self.bucket.arn.apply(lambda arn: to_json(tls_only_bucket_policy(arn))),
            ),
            # S3 refuses policy writes racing the public access block on a new bucket.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        reader_policy = pulumi.Output.all(self.bucket.arn, args.kms_key_arn).apply(
            lambda values: model_reader_policy(values[0], values[1], args.region)
        )
        reader = irsa_role(
            f"{name}-reader",
            role_name=f"{args.name_prefix}-model-reader",
            issuer=args.issuer,
            service_accounts=[args.reader],
            description=f"Read-only access to the model bucket for {args.reader.subject}",
            inline_policies={"read-models": reader_policy},
            opts=child,
        )
        self.access = ModelStoreAccess(
            bucket_uri=self.bucket.bucket.apply(lambda bucket: f"s3://{bucket}"),
            reader=args.reader,
            service_account_annotations=reader.arn.apply(role_arn_annotation),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "reader_role_arn": reader.arn})
