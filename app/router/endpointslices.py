"""Turning a Service's EndpointSlices into the engine replica URLs to route to (pure functions and state).

A Service's endpoints are spread over several EndpointSlice objects (up to 100 endpoints each, replaced and
split by the control plane at will), so the replica set is the union over the slices currently known, keyed
by slice name. An endpoint is routable when it is ready (an absent ``ready`` means ready, as the API defines
it) and not terminating: a pod being deleted leaves at once, before its engine stops, so no new request is
sent to a replica that is draining.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def endpoint_url(address: str, port: int, address_type: str) -> str:
    """``http://address:port``; IPv6 literals need brackets in a URL."""
    host = f"[{address}]" if address_type == "IPv6" else address
    return f"http://{host}:{port}"


def is_routable(endpoint: Mapping[str, Any]) -> bool:
    conditions = endpoint.get("conditions") or {}
    return conditions.get("ready") is not False and conditions.get("terminating") is not True


def slice_urls(endpoint_slice: Mapping[str, Any], port: int) -> frozenset[str]:
    """The routable replica URLs of one EndpointSlice (every address of every ready endpoint)."""
    address_type = endpoint_slice.get("addressType", "IPv4")
    return frozenset(
        endpoint_url(address, port, address_type)
        for endpoint in endpoint_slice.get("endpoints") or ()
        if is_routable(endpoint)
        for address in endpoint.get("addresses") or ()
    )


class SliceSet:
    """The EndpointSlices of one Service as last reported by the API server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._by_slice: dict[str, frozenset[str]] = {}

    def replace(self, slices: Iterable[Mapping[str, Any]]) -> None:
        """A full list: forget everything not in it (slices deleted while the watch was down)."""
        self._by_slice = {item["metadata"]["name"]: slice_urls(item, self.port) for item in slices}

    def apply(self, event_type: str, endpoint_slice: Mapping[str, Any]) -> bool:
        """Apply one watch event (ADDED, MODIFIED, DELETED); True if the replica set changed."""
        before = self.urls()
        name = endpoint_slice["metadata"]["name"]
        if event_type == "DELETED":
            self._by_slice.pop(name, None)
        elif event_type in ("ADDED", "MODIFIED"):
            self._by_slice[name] = slice_urls(endpoint_slice, self.port)
        return self.urls() != before

    def urls(self) -> list[str]:
        """Every routable replica, sorted so the result does not depend on event order."""
        return sorted(set().union(*self._by_slice.values())) if self._by_slice else []
