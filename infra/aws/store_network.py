"""What RDS and ElastiCache share: a security group that admits the EKS cluster and nothing else.

Both stores sit in the cluster's private subnets; every node and pod carries the EKS cluster security group, so a
rule referencing that group (not the VPC's CIDR) admits exactly the cluster, on the store's one port. The groups
have no egress rules of their own: a store never starts a connection.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from infra.cluster import AwsNetwork


def cluster_only_security_group(
    name: str, *, identifier: str, store: str, port: int, network: AwsNetwork, opts: pulumi.ResourceOptions
) -> aws.ec2.SecurityGroup:
    """``<name>-sg`` named ``identifier``, with one ingress rule ``<name>-from-cluster`` for ``store`` on ``port``."""
    security_group = aws.ec2.SecurityGroup(
        f"{name}-sg",
        aws.ec2.SecurityGroupArgs(
            name=identifier,
            description=f"{store} from the EKS cluster only",
            vpc_id=network.vpc_id,
            tags={"Name": identifier},
        ),
        opts=opts,
    )
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-from-cluster",
        aws.vpc.SecurityGroupIngressRuleArgs(
            security_group_id=security_group.id,
            referenced_security_group_id=network.cluster_security_group_id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{store} from EKS nodes and pods (cluster security group)",
        ),
        opts=opts,
    )
    return security_group
