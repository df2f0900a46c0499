"""EndpointSlice objects to replica URLs: readiness, termination, IPv6, several slices per Service."""

from __future__ import annotations

from typing import Any

from app.router.endpointslices import SliceSet, slice_urls


def endpoint(address: str, **conditions: bool) -> dict[str, Any]:
    return {"addresses": [address], "conditions": conditions}


def endpoint_slice(name: str, *endpoints: dict[str, Any], address_type: str = "IPv4") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/service-name": "chat-model"}},
        "addressType": address_type,
        "endpoints": list(endpoints),
        "ports": [{"name": "http", "port": 8000, "protocol": "TCP"}],
    }


def test_only_ready_and_not_terminating_endpoints_are_routable() -> None:
    item = endpoint_slice(
        "s1",
        endpoint("10.0.0.1", ready=True, serving=True, terminating=False),
        endpoint("10.0.0.2"),  # no conditions: the API says unknown readiness means ready
        endpoint("10.0.0.3", ready=False, serving=False),
        endpoint("10.0.0.4", ready=True, serving=True, terminating=True),  # publishNotReadyAddresses
        endpoint("10.0.0.5", ready=False, serving=True, terminating=True),  # draining
    )
    assert slice_urls(item, 8000) == {"http://10.0.0.1:8000", "http://10.0.0.2:8000"}


def test_ipv6_addresses_are_bracketed() -> None:
    item = endpoint_slice("s1", endpoint("fd00::1", ready=True), address_type="IPv6")
    assert slice_urls(item, 8000) == {"http://[fd00::1]:8000"}


def test_slice_without_endpoints_is_empty() -> None:
    assert slice_urls({"metadata": {"name": "s"}, "addressType": "IPv4", "endpoints": None}, 8000) == frozenset()


def test_union_over_slices_and_watch_events() -> None:
    slices = SliceSet(8000)
    slices.replace([endpoint_slice("s1", endpoint("10.0.0.1")), endpoint_slice("s2", endpoint("10.0.0.2"))])
    assert slices.urls() == ["http://10.0.0.1:8000", "http://10.0.0.2:8000"]

    assert slices.apply("MODIFIED", endpoint_slice("s1", endpoint("10.0.0.1", ready=False)))
    assert slices.urls() == ["http://10.0.0.2:8000"]
    assert not slices.apply("MODIFIED", endpoint_slice("s1", endpoint("10.0.0.1", ready=False)))

    assert slices.apply("ADDED", endpoint_slice("s3", endpoint("10.0.0.3")))
    assert slices.apply("DELETED", endpoint_slice("s2"))
    assert slices.urls() == ["http://10.0.0.3:8000"]


def test_an_address_moving_between_slices_stays_routable() -> None:
    slices = SliceSet(8000)
    slices.replace([endpoint_slice("s1", endpoint("10.0.0.1"))])
    # The control plane may add the endpoint to a new slice before removing it from the old one.
    assert not slices.apply("ADDED", endpoint_slice("s2", endpoint("10.0.0.1")))
    assert not slices.apply("MODIFIED", endpoint_slice("s1"))
    assert slices.urls() == ["http://10.0.0.1:8000"]


def test_a_relist_forgets_slices_deleted_while_disconnected() -> None:
    slices = SliceSet(8000)
    slices.replace([endpoint_slice("s1", endpoint("10.0.0.1")), endpoint_slice("s2", endpoint("10.0.0.2"))])
    slices.replace([endpoint_slice("s2", endpoint("10.0.0.2"))])
    assert slices.urls() == ["http://10.0.0.2:8000"]
