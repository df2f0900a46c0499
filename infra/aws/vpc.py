"""The cluster VPC: private node subnets and public load-balancer subnets per zone, NAT per stack policy.

Nodes and pods live only in private subnets; public subnets hold the NAT gateways and the internet-facing NLB.
Subnets carry the tags the AWS Load Balancer Controller discovers them by. An S3 gateway endpoint keeps model
downloads (tens of GB per replica start) off the NAT gateways, and VPC flow logs record every connection.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from infra.aws.iam import service_role
from infra.aws.iam_policies import flow_logs_policy
from infra.aws.subnets import SubnetPlan, nat_zone_for

#: Subnet role tags the AWS Load Balancer Controller selects subnets by (internet-facing vs internal LBs).
PUBLIC_ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"


def cluster_ownership_tag(cluster_name: str) -> str:
    """``kubernetes.io/cluster/<name>``: marks subnets (and security groups) as belonging to the cluster."""
    return f"kubernetes.io/cluster/{cluster_name}"


def subnet_tags(*, name: str, cluster_name: str, public: bool) -> dict[str, str]:
    """Tags of a cluster subnet: its name, the cluster's ownership, and its load balancer role."""
    return {
        "Name": name,
        cluster_ownership_tag(cluster_name): "owned",
        PUBLIC_ELB_TAG if public else INTERNAL_ELB_TAG: "1",
    }


@dataclass(frozen=True)
class VpcArgs:
    name_prefix: str
    cluster_name: str
    region: str
    plan: SubnetPlan
    single_nat: bool
    log_retention_days: int


class Vpc(pulumi.ComponentResource):
    vpc: aws.ec2.Vpc
    private_subnets: list[aws.ec2.Subnet]
    public_subnets: list[aws.ec2.Subnet]
    nat_gateways: list[aws.ec2.NatGateway]

    def __init__(self, name: str, args: VpcArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("helpline:aws:Vpc", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix
        self.vpc = aws.ec2.Vpc(
            name,
            aws.ec2.VpcArgs(
                cidr_block=args.plan.vpc_cidr,
                enable_dns_hostnames=True,  # EKS nodes register by private DNS name; the private endpoint needs it
                enable_dns_support=True,
                tags={"Name": f"{prefix}-vpc"},
            ),
            opts=child,
        )
        # No rules: nothing may use the default security group by accident.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            aws.ec2.DefaultSecurityGroupArgs(vpc_id=self.vpc.id, tags={"Name": f"{prefix}-default-unused"}),
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", aws.ec2.InternetGatewayArgs(vpc_id=self.vpc.id, tags={"Name": f"{prefix}-igw"}), opts=child
        )
        self.public_subnets = []
        self.private_subnets = []
        for zone in args.plan.zones:
            self.public_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-public-{zone.zone}",
                    aws.ec2.SubnetArgs(
                        vpc_id=self.vpc.id,
                        cidr_block=zone.public_cidr,
                        availability_zone=zone.zone,
                        map_public_ip_on_launch=False,  # only NAT gateways and NLBs live here, with their own IPs
                        tags=subnet_tags(
                            name=f"{prefix}-public-{zone.zone}", cluster_name=args.cluster_name, public=True
                        ),
                    ),
                    opts=child,
                )
            )
            self.private_subnets.append(
                aws.ec2.Subnet(
                    f"{name}-private-{zone.zone}",
                    aws.ec2.SubnetArgs(
                        vpc_id=self.vpc.id,
                        cidr_block=zone.private_cidr,
                        availability_zone=zone.zone,
                        tags=subnet_tags(
                            name=f"{prefix}-private-{zone.zone}", cluster_name=args.cluster_name, public=False
                        ),
                    ),
                    opts=child,
                )
            )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            aws.ec2.RouteTableArgs(
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
                tags={"Name": f"{prefix}-public"},
            ),
            opts=child,
        )
        for zone, subnet in zip(args.plan.zones, self.public_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{zone.zone}",
                aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=public_routes.id),
                opts=child,
            )
        nat_by_zone = self._nat_gateways(name, args, gateway)
        self.nat_gateways = list(nat_by_zone.values())
        private_route_tables, private_associations = self._private_routes(name, args, nat_by_zone)
        #: what a node in a private subnet needs to reach the internet (images, AWS APIs)
        self.egress: list[pulumi.Resource] = [*self.nat_gateways, *private_route_tables, *private_associations]
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            aws.ec2.VpcEndpointArgs(
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{args.region}.s3",
                vpc_endpoint_type="Gateway",
                route_table_ids=[table.id for table in private_route_tables],
                tags={"Name": f"{prefix}-s3"},
            ),
            opts=child,
        )
        self._flow_logs(name, args)
        self.register_outputs({"vpc_id": self.vpc.id})

    def _nat_gateways(
        self, name: str, args: VpcArgs, gateway: aws.ec2.InternetGateway
    ) -> dict[str, aws.ec2.NatGateway]:
        """One NAT gateway in the first zone (``singleNat``) or one per zone, each in its zone's public subnet."""
        child = pulumi.ResourceOptions(parent=self, depends_on=[gateway])
        nat_zones = set(nat_zone_for([z.zone for z in args.plan.zones], args.single_nat).values())
        gateways: dict[str, aws.ec2.NatGateway] = {}
        for zone, subnet in zip(args.plan.zones, self.public_subnets, strict=True):
            if zone.zone not in nat_zones:
                continue
            address = aws.ec2.Eip(
                f"{name}-nat-{zone.zone}",
                aws.ec2.EipArgs(domain="vpc", tags={"Name": f"{args.name_prefix}-nat-{zone.zone}"}),
                opts=child,
            )
            gateways[zone.zone] = aws.ec2.NatGateway(
                f"{name}-{zone.zone}",
                aws.ec2.NatGatewayArgs(
                    allocation_id=address.id,
                    subnet_id=subnet.id,
                    connectivity_type="public",
                    tags={"Name": f"{args.name_prefix}-nat-{zone.zone}"},
                ),
                opts=child,
            )
        return gateways

    def _private_routes(
        self, name: str, args: VpcArgs, nat_by_zone: dict[str, aws.ec2.NatGateway]
    ) -> tuple[list[aws.ec2.RouteTable], list[aws.ec2.RouteTableAssociation]]:
        """A route table per zone whose default route leaves through that zone's NAT (or the single one)."""
        child = pulumi.ResourceOptions(parent=self)
        zones = [z.zone for z in args.plan.zones]
        routes_through = nat_zone_for(zones, args.single_nat)
        tables = []
        associations = []
        for zone, subnet in zip(zones, self.private_subnets, strict=True):
            table = aws.ec2.RouteTable(
                f"{name}-private-{zone}",
                aws.ec2.RouteTableArgs(
                    vpc_id=self.vpc.id,
                    routes=[
                        aws.ec2.RouteTableRouteArgs(
                            cidr_block="0.0.0.0/0", nat_gateway_id=nat_by_zone[routes_through[zone]].id
                        )
                    ],
                    tags={"Name": f"{args.name_prefix}-private-{zone}"},
                ),
                opts=child,
            )
            associations.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-{zone}",
                    aws.ec2.RouteTableAssociationArgs(subnet_id=subnet.id, route_table_id=table.id),
                    opts=child,
                )
            )
            tables.append(table)
        return tables, associations

    def _flow_logs(self, name: str, args: VpcArgs) -> None:
        """Every accepted and rejected flow, kept as long as the control-plane logs (incident forensics)."""
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs",
            aws.cloudwatch.LogGroupArgs(
                name=f"/aws/vpc/{args.name_prefix}/flow-logs", retention_in_days=args.log_retention_days
            ),
            opts=child,
        )
        writer = service_role(
            f"{name}-flow-logs",
            role_name=f"{args.name_prefix}-vpc-flow-logs",
            service="vpc-flow-logs.amazonaws.com",
            description="VPC flow logs delivery into their CloudWatch log group",
            inline_policies={"write-flow-logs": log_group.arn.apply(flow_logs_policy)},
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            aws.ec2.FlowLogArgs(
                vpc_id=self.vpc.id,
                traffic_type="ALL",
                log_destination_type="cloud-watch-logs",
                log_destination=log_group.arn,
                iam_role_arn=writer.arn,
                max_aggregation_interval=60,
                tags={"Name": f"{args.name_prefix}-flow-logs"},
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=writer.granted),
        )

    @property
    def private_subnet_ids(self) -> list[pulumi.Output[str]]:
        return [subnet.id for subnet in self.private_subnets]

    @property
    def public_subnet_ids(self) -> list[pulumi.Output[str]]:
        return [subnet.id for subnet in self.public_subnets]
