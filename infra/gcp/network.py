"""The cluster's VPC: one custom-mode network, a node subnet with pod and service ranges, Cloud NAT, and the
private service access range through which Filestore, Cloud SQL and Memorystore join the network.

Nodes have no external addresses; Cloud NAT gives them (and their pods) egress for images and model
downloads, and Private Google Access reaches Google APIs without it. Firewall rules stay minimal: GKE creates
the rules a private cluster needs (control plane to kubelet and 443, node to node), the VPC denies all other
ingress implicitly, and we add only the webhook ports the platform's add-ons serve to the control plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from infra.gcp.options import child_options
from infra.gcp.ranges import address_and_prefix
from infra.naming import Naming

#: Ports the control plane must reach on nodes beyond the 443/10250 GKE already opens: KEDA's metrics API
#: server (6443) and the admission webhooks of KEDA and Envoy Gateway (9443) and others that default to 8443.
CONTROL_PLANE_WEBHOOK_PORTS = ("6443", "8443", "9443")
#: Dynamic NAT ports per node: enough for image pulls and model downloads without exhausting the NAT address.
NAT_MIN_PORTS_PER_VM = 64
NAT_MAX_PORTS_PER_VM = 4096
PRIVATE_SERVICES_PEERING = "servicenetworking.googleapis.com"


@dataclass(frozen=True)
class NetworkRanges:
    """The VPC's address plan (validated by the stack config: disjoint, large enough)."""

    nodes: str
    pods: str
    services: str
    control_plane: str
    private_services: str


@dataclass(frozen=True)
class SecondaryRangeNames:
    """Names of the subnet's secondary ranges, which the cluster's IP allocation policy refers to."""

    pods: str = "pods"
    services: str = "services"


class ClusterNetwork(pulumi.ComponentResource):
    """VPC, subnet, router + NAT, the webhook firewall rule, and private service access."""

    def __init__(
        self,
        name: str,
        *,
        naming: Naming,
        project: str,
        region: str,
        ranges: NetworkRanges,
        node_service_account: pulumi.Input[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("helpline:gcp:ClusterNetwork", name, None, opts)
        child = child_options(self, opts)
        self.secondary_ranges = SecondaryRangeNames()
        self.network = gcp.compute.Network(
            f"{name}-vpc",
            name=naming.resource("vpc"),
            project=project,
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            description=f"Helpline {naming.stack}: GKE nodes, pods and private services",
            opts=child,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=naming.resource("nodes"),
            project=project,
            region=region,
            network=self.network.self_link,
            ip_cidr_range=ranges.nodes,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.secondary_ranges.pods, ip_cidr_range=ranges.pods
                ),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(
                    range_name=self.secondary_ranges.services, ip_cidr_range=ranges.services
                ),
            ],
            private_ip_google_access=True,
            stack_type="IPV4_ONLY",
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_MIN", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ),
            opts=child,
        )
        router = gcp.compute.Router(
            f"{name}-router", name=naming.resource("router"), region=region, network=self.network.self_link, opts=child
        )
        self.nat = gcp.compute.RouterNat(
            f"{name}-nat",
            name=naming.resource("nat"),
            router=router.name,
            region=region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="LIST_OF_SUBNETWORKS",
            # ALL_IP_RANGES: the pods' alias ranges need egress too, not only the nodes' primary addresses.
            subnetworks=[
                gcp.compute.RouterNatSubnetworkArgs(
                    name=self.subnet.self_link, source_ip_ranges_to_nats=["ALL_IP_RANGES"]
                )
            ],
            enable_dynamic_port_allocation=True,
            enable_endpoint_independent_mapping=False,
            min_ports_per_vm=NAT_MIN_PORTS_PER_VM,
            max_ports_per_vm=NAT_MAX_PORTS_PER_VM,
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        self.webhook_firewall = gcp.compute.Firewall(
            f"{name}-control-plane-webhooks",
            name=naming.resource("allow-control-plane-webhooks"),
            network=self.network.self_link,
            description="The private control plane calls admission webhooks and aggregated APIs on the nodes",
            direction="INGRESS",
            priority=1000,
            source_ranges=[ranges.control_plane],
            target_service_accounts=[node_service_account],
            allows=[gcp.compute.FirewallAllowArgs(protocol="tcp", ports=list(CONTROL_PLANE_WEBHOOK_PORTS))],
            log_config=gcp.compute.FirewallLogConfigArgs(metadata="INCLUDE_ALL_METADATA"),
            opts=child,
        )
        address, prefix_length = address_and_prefix(ranges.private_services)
        self.private_services_range = gcp.compute.GlobalAddress(
            f"{name}-private-services",
            name=naming.resource("private-services"),
            description="Private service access: Filestore, Cloud SQL and Memorystore addresses",
            purpose="VPC_PEERING",
            address_type="INTERNAL",
            address=address,
            prefix_length=prefix_length,
            network=self.network.self_link,
            opts=child,
        )
        self.private_services_connection = gcp.servicenetworking.Connection(
            f"{name}-private-services",
            network=self.network.self_link,
            service=PRIVATE_SERVICES_PEERING,
            reserved_peering_ranges=[self.private_services_range.name],
            # Deleting the peering fails while a Cloud SQL or Filestore instance uses it; leave it to the VPC.
            deletion_policy="ABANDON",
            opts=child,
        )
        # The data tier puts Cloud SQL and Memorystore on this network: handing it out through the peering's output
        # makes every consumer wait for private service access without knowing it exists.
        self.network_self_link: pulumi.Output[str] = pulumi.Output.all(
            self.network.self_link, self.private_services_connection.id
        ).apply(lambda values: str(values[0]))
        self.network_id: pulumi.Output[str] = pulumi.Output.all(
            self.network.name, self.private_services_connection.id
        ).apply(lambda values: f"projects/{project}/global/networks/{values[0]}")
        self.register_outputs(
            {
                "network": self.network_self_link,
                "subnet": self.subnet.self_link,
                "privateServicesRange": self.private_services_range.name,
            }
        )
