"""Subnet maths of the cluster VPC, as plain functions: sizes, no overlap, inside the VPC, stable, clear errors."""

from __future__ import annotations

import ipaddress
import itertools

import pytest

from infra.aws.subnets import (
    KUBERNETES_SERVICE_CIDR,
    MAX_ZONES,
    SubnetPlanError,
    checked_vpc_network,
    nat_zone_for,
    plan_subnets,
)

THREE_ZONES = ["us-east-1a", "us-east-1b", "us-east-1c"]
SIX_ZONES = [f"us-east-1{letter}" for letter in "abcdef"]


def networks(plan_cidrs: list[str]) -> list[ipaddress.IPv4Network]:
    return [ipaddress.IPv4Network(cidr) for cidr in plan_cidrs]


def test_a_slash_16_gets_slash_19_private_and_slash_24_public_subnets() -> None:
    plan = plan_subnets("10.40.0.0/16", THREE_ZONES)
    assert [z.zone for z in plan.zones] == THREE_ZONES
    assert plan.private_cidrs == ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"]
    assert plan.public_cidrs == ["10.40.224.0/24", "10.40.225.0/24", "10.40.226.0/24"]


@pytest.mark.parametrize("vpc_cidr", ["10.40.0.0/16", "10.60.0.0/17", "192.168.0.0/18", "172.31.0.0/20"])
@pytest.mark.parametrize("zones", [THREE_ZONES[:1], THREE_ZONES, SIX_ZONES])
def test_subnets_stay_inside_the_vpc_and_never_overlap(vpc_cidr: str, zones: list[str]) -> None:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    plan = plan_subnets(vpc_cidr, zones)
    subnets = networks(plan.private_cidrs + plan.public_cidrs)
    assert len(subnets) == 2 * len(zones)
    assert all(subnet.subnet_of(vpc) for subnet in subnets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(subnets, 2))


@pytest.mark.parametrize("vpc_cidr", ["10.40.0.0/16", "172.31.0.0/20"])
def test_private_subnets_are_an_eighth_of_the_vpc_and_public_ones_never_below_slash_28(vpc_cidr: str) -> None:
    vpc = ipaddress.IPv4Network(vpc_cidr)
    plan = plan_subnets(vpc_cidr, THREE_ZONES)
    assert {n.prefixlen for n in networks(plan.private_cidrs)} == {vpc.prefixlen + 3}
    assert {n.prefixlen for n in networks(plan.public_cidrs)} == {min(vpc.prefixlen + 8, 28)}
    # the VPC CNI gives every pod a VPC address: private subnets hold many more than public ones
    assert all(
        p.num_addresses >= 32 * q.num_addresses
        for p, q in zip(networks(plan.private_cidrs), networks(plan.public_cidrs), strict=True)
    )


def test_the_plan_is_deterministic() -> None:
    assert plan_subnets("10.40.0.0/16", THREE_ZONES) == plan_subnets("10.40.0.0/16", list(THREE_ZONES))


def test_appending_a_zone_never_renumbers_the_existing_ones() -> None:
    two = plan_subnets("10.40.0.0/16", THREE_ZONES[:2])
    three = plan_subnets("10.40.0.0/16", THREE_ZONES)
    assert three.zones[:2] == two.zones


def test_the_block_between_private_and_public_stays_free_for_later_tiers() -> None:
    plan = plan_subnets("10.40.0.0/16", SIX_ZONES)
    reserved = ipaddress.IPv4Network("10.40.192.0/19")
    assert not any(subnet.overlaps(reserved) for subnet in networks(plan.private_cidrs + plan.public_cidrs))


@pytest.mark.parametrize(
    ("vpc_cidr", "zones", "message"),
    [
        ("10.40.0.0/16", [f"z{i}" for i in range(MAX_ZONES + 1)], "at most 6 zones"),
        ("10.40.0.0/21", THREE_ZONES, "too small: the layout needs at least a /20"),
        ("10.0.0.0/15", THREE_ZONES, "AWS VPCs are at most /16"),
        ("10.40.0.1/16", THREE_ZONES, "not an IPv4 network address"),
        ("2001:db8::/56", THREE_ZONES, "not an IPv4 network address"),
        ("10.40.0.0/16", [], "at least one zone"),
        ("10.40.0.0/16", ["us-east-1a", "us-east-1a"], "zones must be distinct"),
        ("172.20.0.0/16", THREE_ZONES, f"overlaps the cluster's Kubernetes service range {KUBERNETES_SERVICE_CIDR}"),
    ],
)
def test_impossible_layouts_are_refused_with_the_reason(vpc_cidr: str, zones: list[str], message: str) -> None:
    with pytest.raises(SubnetPlanError, match=message):
        plan_subnets(vpc_cidr, zones)


def test_vpc_check_alone_accepts_the_default_and_returns_the_network() -> None:
    assert checked_vpc_network("10.40.0.0/16") == ipaddress.IPv4Network("10.40.0.0/16")


def test_single_nat_routes_every_zone_through_the_first_zone() -> None:
    assert nat_zone_for(THREE_ZONES, single_nat=True) == dict.fromkeys(THREE_ZONES, "us-east-1a")


def test_nat_per_zone_keeps_each_zone_on_its_own_gateway() -> None:
    assert nat_zone_for(THREE_ZONES, single_nat=False) == {zone: zone for zone in THREE_ZONES}
