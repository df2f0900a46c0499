"""The cluster's customer-managed KMS key: Kubernetes Secrets (envelope encryption), EBS volumes, EFS, the model
bucket, and the data tier's databases (through ``AwsNetwork.kms_key_arn``).

One key per cluster keeps the blast radius at the stack and the audit trail in one place. The key policy is the
AWS default (the account's IAM policies decide who may use it), so each consumer's role carries exactly the KMS
actions it needs (see ``iam_policies``) and nothing is granted to the whole account by a key policy statement.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

#: Days a scheduled deletion can still be cancelled (the maximum): losing this key loses every Secret and volume.
DELETION_WINDOW_DAYS = 30


class ClusterKey(pulumi.ComponentResource):
    key: aws.kms.Key

    def __init__(self, name: str, *, alias: str, description: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:ClusterKey", name, None, opts)
        self.key = aws.kms.Key(
            name,
            aws.kms.KeyArgs(
                description=description,
                enable_key_rotation=True,
                deletion_window_in_days=DELETION_WINDOW_DAYS,
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                tags={"Name": alias},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.kms.Alias(
            name,
            aws.kms.AliasArgs(name=f"alias/{alias}", target_key_id=self.key.key_id),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"arn": self.key.arn})

    @property
    def arn(self) -> pulumi.Output[str]:
        return self.key.arn
