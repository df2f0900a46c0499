"""Subnet maths for the cluster VPC: a pure function of the VPC CIDR and the zones, tested without Pulumi.

The VPC is cut into eight equal blocks. Blocks 0-5 are the private subnets of up to six zones (nodes and pods:
the VPC CNI gives every pod a VPC address, so these are large), block 6 is kept free for later tiers, and block 7
is cut into small public subnets (NAT gateways and load balancer ENIs only). A zone's subnets depend only on its
position in the zone list, so appending a zone never renumbers the existing ones.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

#: Most zones a plan serves (us-east-1 has six). Each takes one private block.
MAX_ZONES = 6
#: AWS VPCs may be at most /16.
LARGEST_VPC_PREFIX = 16
#: Private blocks are an eighth of the VPC.
PRIVATE_PREFIX_EXTRA = 3
#: Public subnets are 1/256 of the VPC (a /24 in a /16): a NAT gateway and a few NLB ENIs per zone.
PUBLIC_PREFIX_EXTRA = 8
#: AWS subnets may be at most /28 (16 addresses).
SMALLEST_SUBNET_PREFIX = 28
PUBLIC_BLOCK_INDEX = 7
#: The smallest VPC whose public subnets still reach /28.
SMALLEST_VPC_PREFIX = SMALLEST_SUBNET_PREFIX - PUBLIC_PREFIX_EXTRA
#: ClusterIP range, set explicitly (EKS would otherwise pick 10.100.0.0/16 or 172.20.0.0/16 depending on the VPC);
#: it must not overlap the VPC, or pods could not reach VPC addresses inside it.
KUBERNETES_SERVICE_CIDR = "172.20.0.0/16"


class SubnetPlanError(ValueError):
    """The VPC CIDR and zones cannot be planned; the message says what is allowed."""


@dataclass(frozen=True)
class ZoneSubnets:
    zone: str
    private_cidr: str
    public_cidr: str


@dataclass(frozen=True)
class SubnetPlan:
    vpc_cidr: str
    zones: tuple[ZoneSubnets, ...]

    @property
    def private_cidrs(self) -> list[str]:
        return [zone.private_cidr for zone in self.zones]

    @property
    def public_cidrs(self) -> list[str]:
        return [zone.public_cidr for zone in self.zones]


def checked_vpc_network(vpc_cidr: str) -> ipaddress.IPv4Network:
    """The VPC network, if the layout fits it and it stays clear of the Kubernetes service range."""
    try:
        vpc = ipaddress.IPv4Network(vpc_cidr, strict=True)
    except ValueError as exc:
        raise SubnetPlanError(f"{vpc_cidr!r} is not an IPv4 network address with a prefix ({exc})") from exc
    if vpc.prefixlen < LARGEST_VPC_PREFIX:
        raise SubnetPlanError(f"AWS VPCs are at most /{LARGEST_VPC_PREFIX}; {vpc_cidr} is larger")
    if vpc.prefixlen > SMALLEST_VPC_PREFIX:
        raise SubnetPlanError(
            f"{vpc_cidr} is too small: the layout needs at least a /{SMALLEST_VPC_PREFIX} so that public subnets "
            f"are /{SMALLEST_SUBNET_PREFIX} or larger"
        )
    if vpc.overlaps(ipaddress.IPv4Network(KUBERNETES_SERVICE_CIDR)):
        raise SubnetPlanError(f"{vpc_cidr} overlaps the cluster's Kubernetes service range {KUBERNETES_SERVICE_CIDR}")
    return vpc


def plan_subnets(vpc_cidr: str, zones: Sequence[str]) -> SubnetPlan:
    """Private and public subnet per zone, in zone order; raises ``SubnetPlanError`` when it cannot fit."""
    vpc = checked_vpc_network(vpc_cidr)
    if not zones:
        raise SubnetPlanError("at least one zone is needed")
    if len(set(zones)) != len(zones):
        raise SubnetPlanError(f"zones must be distinct, got {list(zones)}")
    if len(zones) > MAX_ZONES:
        raise SubnetPlanError(f"at most {MAX_ZONES} zones fit the subnet layout, got {len(zones)}")
    blocks = list(vpc.subnets(prefixlen_diff=PRIVATE_PREFIX_EXTRA))
    public_subnets = blocks[PUBLIC_BLOCK_INDEX].subnets(new_prefix=vpc.prefixlen + PUBLIC_PREFIX_EXTRA)
    return SubnetPlan(
        vpc_cidr=str(vpc),
        zones=tuple(
            ZoneSubnets(zone=zone, private_cidr=str(private), public_cidr=str(public))
            for zone, private, public in zip(zones, blocks, public_subnets, strict=False)
        ),
    )


def nat_zone_for(zones: Sequence[str], single_nat: bool) -> dict[str, str]:
    """Which zone's NAT gateway each zone's private subnet routes through: the first zone's, or its own."""
    return {zone: zones[0] if single_nat else zone for zone in zones}
