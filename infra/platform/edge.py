"""The public edge: Envoy Gateway, cert-manager, the Gateway with its certificate, and the routes to the gateway."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi

from infra.k8s.labels import standard_labels
from infra.k8s.resources import declare
from infra.platform.charts import CERT_MANAGER_CHART, ENVOY_GATEWAY_CHART, RAW_CHART
from infra.platform.envoy_gateway import edge_policy_values, envoy_gateway_values, envoy_proxy_defaults
from infra.platform.gateway_api import (
    GATEWAY_NAME,
    HTTPS_LISTENER,
    EdgeAttachment,
    ServiceRef,
    chat_route,
    gateway,
    gateway_class,
    redirect_route,
    tls_secret_name,
)
from infra.platform.helm import helm_release
from infra.platform.network_baseline import GATEWAY_PORT
from infra.platform.tls import (
    ACME_SERVERS,
    AcmeEnvironment,
    cert_manager_values,
    cluster_issuer,
    edge_certificate,
    issuer_name,
)

#: The Service the services stage must create for the public API (namespace from ``EdgeArgs.app_namespace``).
PUBLIC_SERVICE_NAME = "gateway"


@dataclass(frozen=True)
class EdgeArgs:
    stack: str
    gateway_class_name: str
    ingress_namespace: str
    app_namespace: str
    hostname: str
    acme_email: str
    acme_environment: AcmeEnvironment
    request_body_limit_kib: int
    stream_timeout_seconds: int
    proxy_replicas: int
    #: controllers (Envoy Gateway, cert-manager): two in prod for leader-elected failover
    controller_replicas: int
    #: ``ClusterInterface.ingress_service_annotations``: what the cloud's load balancer needs
    load_balancer_annotations: Mapping[str, str]


class Edge(pulumi.ComponentResource):
    """Installs the controllers, then declares the Gateway API objects and the certificate they serve."""

    attachment: EdgeAttachment

    def __init__(
        self,
        name: str,
        args: EdgeArgs,
        after: Sequence[pulumi.Resource] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``after``: the namespaces the edge lands in."""
        super().__init__("helpline:platform:Edge", name, None, opts)
        labels = standard_labels("edge", "ingress", args.stack)
        self.attachment = EdgeAttachment(
            gateway_class=args.gateway_class_name,
            gateway_name=GATEWAY_NAME,
            gateway_namespace=args.ingress_namespace,
            https_listener=HTTPS_LISTENER,
            hostname=args.hostname,
            backend=ServiceRef(args.app_namespace, PUBLIC_SERVICE_NAME, GATEWAY_PORT),
            tls_secret_name=tls_secret_name("chat-api"),
            cluster_issuer=issuer_name(args.acme_environment),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=list(after))
        proxy = envoy_proxy_defaults(args.proxy_replicas, args.stream_timeout_seconds)
        controller = helm_release(
            "envoy-gateway",
            ENVOY_GATEWAY_CHART,
            args.ingress_namespace,
            envoy_gateway_values([args.ingress_namespace, args.app_namespace], args.controller_replicas, proxy),
            child,
        )
        after_controller = pulumi.ResourceOptions(parent=self, depends_on=[controller])
        # cert-manager watches Gateway API objects, so their CRDs (installed by Envoy Gateway) must exist first.
        cert_manager = helm_release(
            "cert-manager",
            CERT_MANAGER_CHART,
            args.ingress_namespace,
            cert_manager_values(args.controller_replicas),
            after_controller,
        )
        after_cert_manager = pulumi.ResourceOptions(parent=self, depends_on=[cert_manager])
        for environment in ACME_SERVERS:
            declare(cluster_issuer(environment, args.acme_email, self.attachment, labels), after_cert_manager)
        declare(edge_certificate(self.attachment, labels), after_cert_manager)
        declare(gateway_class(args.gateway_class_name, labels), after_controller)
        edge_gateway = declare(
            gateway(self.attachment, args.app_namespace, args.load_balancer_annotations, labels), after_controller
        )
        after_gateway = pulumi.ResourceOptions(parent=self, depends_on=[controller, edge_gateway])
        declare(redirect_route(self.attachment, labels), after_gateway)
        declare(chat_route(self.attachment, args.stream_timeout_seconds, labels), after_gateway)
        helm_release(
            "edge-policies",
            RAW_CHART,
            args.ingress_namespace,
            edge_policy_values(self.attachment, args.request_body_limit_kib, labels),
            after_gateway,
        )
        self.register_outputs({"gateway": GATEWAY_NAME, "hostname": args.hostname})
