"""IP range maths for the VPC-native cluster: overlaps, how many nodes the ranges hold, address splitting.

Pure functions over ``ipaddress`` so that the config rules (``stacks.config.cluster``) can refuse a bad plan
before anything is declared, and the tests can check the arithmetic directly.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping

#: GKE's default and the ceiling for Standard clusters; decides the size of each node's slice of the pods range.
MAX_PODS_PER_NODE = 110
#: GCP keeps four addresses of every subnet primary range (network, gateway, second-to-last, broadcast).
SUBNET_RESERVED_ADDRESSES = 4
#: The control plane range of a private cluster is always a /28.
CONTROL_PLANE_PREFIX = 28
#: Private service access allocations smaller than /24 cannot host Cloud SQL (it takes a /24 per region).
PRIVATE_SERVICES_MAX_PREFIX = 24

Network = ipaddress.IPv4Network


def network(cidr: str) -> Network:
    """Parse an IPv4 CIDR strictly (host bits set is an error, not silently masked)."""
    return ipaddress.IPv4Network(cidr, strict=True)


def overlapping_pairs(named: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every pair of names whose ranges overlap, in the mapping's order (the later name second)."""
    items = [(name, network(cidr)) for name, cidr in named.items()]
    return [
        (first, second)
        for index, (first, first_net) in enumerate(items)
        for second, second_net in items[index + 1 :]
        if first_net.overlaps(second_net)
    ]


def pod_block_prefix(max_pods_per_node: int = MAX_PODS_PER_NODE) -> int:
    """GKE gives each node twice its pod count in addresses, rounded up to a power of two (110 pods -> a /24)."""
    if max_pods_per_node < 1:
        raise ValueError("max_pods_per_node must be at least 1")
    return 32 - math.ceil(math.log2(2 * max_pods_per_node))


def nodes_in_subnet(subnet_cidr: str) -> int:
    """Nodes the subnet's primary range can address (one address per node)."""
    return network(subnet_cidr).num_addresses - SUBNET_RESERVED_ADDRESSES


def nodes_in_pods_range(pods_cidr: str, max_pods_per_node: int = MAX_PODS_PER_NODE) -> int:
    """Nodes the pods range can give a pod block to; a range smaller than one block holds none."""
    pods = network(pods_cidr)
    block = pod_block_prefix(max_pods_per_node)
    return 2 ** (block - pods.prefixlen) if pods.prefixlen <= block else 0


def address_and_prefix(cidr: str) -> tuple[str, int]:
    """``10.58.0.0/20`` -> ``("10.58.0.0", 20)``: how a reserved global address takes its range."""
    parsed = network(cidr)
    return str(parsed.network_address), parsed.prefixlen
