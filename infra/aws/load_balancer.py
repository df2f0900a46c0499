"""The AWS Load Balancer Controller, so the ingress controller's ``Service type: LoadBalancer`` becomes an NLB.

The controller runs with the IAM policy it publishes (kept verbatim in policies/), through IRSA. The Service
annotations it needs are part of ``ClusterInterface``: the platform's ingress puts them on its Service and never
learns which cloud it is on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from infra.aws.iam import IRSA_ROLE_ANNOTATION, OidcIssuer, irsa_role
from infra.aws.iam_policies import arn_partition, load_balancer_controller_policy
from infra.aws.versions import LOAD_BALANCER_CONTROLLER_CHART, LOAD_BALANCER_CONTROLLER_IMAGE_TAG
from infra.cluster import POOL_LABEL, SYSTEM_POOL, ServiceAccountRef
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context

NAMESPACE = "kube-system"
SERVICE_ACCOUNT = ServiceAccountRef(NAMESPACE, "aws-load-balancer-controller")
RUN_AS_UID = 65534
_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"


def nlb_service_annotations() -> dict[str, str]:
    """Annotations for an internet-facing NLB in front of the ingress controller.

    ``type: external`` hands the Service to this controller (the in-tree one ignores it); IP targets send traffic
    straight to the ingress pods (no extra kube-proxy hop, health checks see the pods); cross-zone balancing
    keeps zones even when ingress replicas are not; client IP preservation lets the ingress log and rate-limit
    the real caller.
    """
    return {
        f"{_ANNOTATION}type": "external",
        f"{_ANNOTATION}nlb-target-type": "ip",
        f"{_ANNOTATION}scheme": "internet-facing",
        f"{_ANNOTATION}ip-address-type": "ipv4",
        f"{_ANNOTATION}attributes": "load_balancing.cross_zone.enabled=true",
        f"{_ANNOTATION}target-group-attributes": "preserve_client_ip.enabled=true",
    }


def load_balancer_controller_values(
    *, cluster_name: str, region: str, vpc_id: pulumi.Input[str], role_arn: pulumi.Input[str], stack: str
) -> dict[str, Any]:
    """Chart values: region and VPC given explicitly (pods cannot reach instance metadata), Services only."""
    return {
        "clusterName": cluster_name,
        "region": region,
        "vpcId": vpc_id,
        "image": {"tag": LOAD_BALANCER_CONTROLLER_IMAGE_TAG},
        "serviceAccount": {
            "create": True,
            "name": SERVICE_ACCOUNT.name,
            "annotations": {IRSA_ROLE_ANNOTATION: role_arn},
        },
        "replicaCount": 2,  # one leader, one warm standby; the webhooks are served by both
        "podDisruptionBudget": {"maxUnavailable": 1},
        "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
        "priorityClassName": "system-cluster-critical",
        "podSecurityContext": restricted_pod_security_context(uid=RUN_AS_UID),
        "securityContext": restricted_container_security_context(),
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "512Mi"}},
        "defaultTargetType": "ip",
        # The platform runs its own ingress controller behind one NLB: no ALB IngressClass to confuse it with.
        "createIngressClassResource": False,
        "ingressClassParams": {"create": False},
        # The mutating webhook would claim every LoadBalancer Service and, with failurePolicy Fail, block Service
        # creation whenever the controller is down. The annotations above opt the ingress Service in instead.
        "enableServiceMutatorWebhook": False,
        # Keep the chart-generated webhook certificate across upgrades instead of rotating it on every release.
        "keepTLSSecret": True,
        "defaultTags": {"helpline-stack": stack, "managed-by": "aws-load-balancer-controller"},
    }


@dataclass(frozen=True)
class LoadBalancerControllerArgs:
    cluster_name: str
    name_prefix: str
    region: str
    stack: str
    vpc_id: pulumi.Input[str]
    issuer: OidcIssuer


class LoadBalancerController(pulumi.ComponentResource):
    release: k8s.helm.v3.Release

    def __init__(
        self,
        name: str,
        args: LoadBalancerControllerArgs,
        *,
        kubernetes: pulumi.ResourceOptions,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:aws:LoadBalancerController", name, None, opts)
        role = irsa_role(
            f"{name}-role",
            role_name=f"{args.name_prefix}-load-balancer-controller",
            issuer=args.issuer,
            service_accounts=[SERVICE_ACCOUNT],
            description="AWS Load Balancer Controller: NLBs for LoadBalancer Services",
            inline_policies={
                "manage-load-balancers": args.issuer.provider_arn.apply(
                    lambda arn: load_balancer_controller_policy(arn_partition(arn))
                )
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.release = k8s.helm.v3.Release(
            LOAD_BALANCER_CONTROLLER_CHART.name,
            k8s.helm.v3.ReleaseArgs(
                name=LOAD_BALANCER_CONTROLLER_CHART.name,
                chart=LOAD_BALANCER_CONTROLLER_CHART.name,
                version=LOAD_BALANCER_CONTROLLER_CHART.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=LOAD_BALANCER_CONTROLLER_CHART.repo),
                namespace=NAMESPACE,
                values=load_balancer_controller_values(
                    cluster_name=args.cluster_name,
                    region=args.region,
                    vpc_id=args.vpc_id,
                    role_arn=role.arn,
                    stack=args.stack,
                ),
                atomic=True,
                cleanup_on_fail=True,
            ),
            opts=pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=self, depends_on=role.granted), kubernetes),
        )
        self.register_outputs({"release": self.release.name})
