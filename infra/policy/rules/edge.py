"""TLS on every ingress: Gateway listeners serve HTTPS with a certificate, plain HTTP only redirects, Ingress has TLS.

The edge is Gateway API (Envoy Gateway, infra/platform/gateway_api.py). A listener is either HTTPS/TLS (with a
certificate when it terminates) or plain HTTP; what makes plain HTTP acceptable is what is attached to it, so that half
is a stack rule joining HTTPRoutes to the listeners they attach to.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from infra.policy.model import Config, Resource, is_unknown, items, lookup, mapping, unknown_along

GATEWAY_GROUP = "gateway.networking.k8s.io"
ENCRYPTED_PROTOCOLS = frozenset({"HTTPS", "TLS"})
PLAIN_HTTP = "HTTP"


def _is(resource: Resource, kind: str, group: str) -> bool:
    return resource.is_kubernetes and resource.kind == kind and resource.type.startswith(f"kubernetes:{group}/")


def _listener_problems(listener: Mapping[str, Any]) -> Iterator[str]:
    name = listener.get("name", "?")
    protocol = listener.get("protocol")
    if is_unknown(protocol) or protocol == PLAIN_HTTP:
        return
    if protocol not in ENCRYPTED_PROTOCOLS:
        yield f"listener {name!r} speaks {protocol}: public listeners are HTTPS, TLS, or HTTP that only redirects"
        return
    if unknown_along(listener, "tls", "mode") or unknown_along(listener, "tls", "certificateRefs"):
        return
    mode = lookup(listener, "tls", "mode") or "Terminate"
    if mode == "Terminate" and not items(lookup(listener, "tls", "certificateRefs")):
        yield f"listener {name!r} terminates {protocol} without a certificateRef"


def tls_on_every_ingress(resource: Resource, config: Config) -> Iterator[str]:
    """Gateways: every listener encrypted (or plain HTTP, see the redirect rule), one HTTPS at least; Ingress: TLS."""
    del config
    if _is(resource, "Gateway", GATEWAY_GROUP):
        listeners = [mapping(listener) for listener in items(lookup(resource.props, "spec", "listeners"))]
        for listener in listeners:
            yield from _listener_problems(listener)
        if listeners and not any(listener.get("protocol") in ENCRYPTED_PROTOCOLS for listener in listeners):
            yield "no HTTPS or TLS listener: the Gateway serves plain text only"
    elif _is(resource, "Ingress", "networking.k8s.io") and not unknown_along(resource.props, "spec", "tls"):
        tls_hosts = {
            host for entry in items(lookup(resource.props, "spec", "tls")) for host in items(lookup(entry, "hosts"))
        }
        if not items(lookup(resource.props, "spec", "tls")):
            yield "Ingress without spec.tls serves plain HTTP"
            return
        for rule in items(lookup(resource.props, "spec", "rules")):
            host = lookup(rule, "host")
            if isinstance(host, str) and host not in tls_hosts:
                yield f"host {host!r} has no TLS entry"


def _redirects_to_https(rule: Mapping[str, Any]) -> bool:
    """A route rule that only answers with a redirect to https (no backend)."""
    if items(rule.get("backendRefs")):
        return False
    redirects = [f for f in items(rule.get("filters")) if lookup(f, "type") == "RequestRedirect"]
    return bool(redirects) and all(lookup(f, "requestRedirect", "scheme") == "https" for f in redirects)


def _plain_http_listeners(
    gateways: Mapping[tuple[str, str], Sequence[Mapping[str, Any]]], route: Resource
) -> list[str]:
    """Names of the plain-HTTP listeners ``route`` attaches to, among the Gateways the stack declares."""
    namespace = lookup(route.props, "metadata", "namespace")
    attached: list[str] = []
    for parent in items(lookup(route.props, "spec", "parentRefs")):
        if (lookup(parent, "kind") or "Gateway") != "Gateway" or (
            lookup(parent, "group") or GATEWAY_GROUP
        ) != GATEWAY_GROUP:
            continue
        key = (str(lookup(parent, "namespace") or namespace), str(lookup(parent, "name")))
        section = lookup(parent, "sectionName")
        port = lookup(parent, "port")
        for listener in gateways.get(key, []):
            if section is not None and listener.get("name") != section:
                continue
            if port is not None and listener.get("port") != port:
                continue
            if listener.get("protocol") == PLAIN_HTTP:
                attached.append(f"{key[0]}/{key[1]}:{listener.get('name')}")
    return attached


def plain_http_only_redirects(resources: Sequence[Resource], config: Config) -> Iterator[tuple[Resource, str]]:
    """Every HTTPRoute on a plain-HTTP listener answers only with a redirect to https."""
    del config
    gateways = {
        (str(lookup(r.props, "metadata", "namespace")), str(lookup(r.props, "metadata", "name"))): [
            mapping(listener) for listener in items(lookup(r.props, "spec", "listeners"))
        ]
        for r in resources
        if _is(r, "Gateway", GATEWAY_GROUP)
    }
    for route in resources:
        if not _is(route, "HTTPRoute", GATEWAY_GROUP):
            continue
        listeners = _plain_http_listeners(gateways, route)
        if not listeners:
            continue
        rules = [mapping(rule) for rule in items(lookup(route.props, "spec", "rules"))]
        if not rules or not all(_redirects_to_https(rule) for rule in rules):
            yield (
                route,
                f"attached to plain-HTTP listener {', '.join(listeners)} but serves content instead of redirecting to https",
            )
