"""Traffic that crosses two stages' namespaces must be allowed on both sides of both default denies."""

from __future__ import annotations

from typing import Any

from infra.k8s.labels import KUBE_API_ACCESS
from infra.naming import Naming
from infra.platform.network_baseline import ENVOY_PROXY
from tests.infra.netpol import Pod, allowed, explain
from tests.infra.rendering import Render


def _allows(
    policy: dict[str, Any], direction: str, peer_namespace: str, peer_labels: dict[str, str], port: int
) -> bool:
    key = "from" if direction == "ingress" else "to"
    for rule in policy["spec"].get(direction, []):
        ports = {p["port"] for p in rule.get("ports", [])}
        for peer in rule.get(key, []):
            namespace = peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
            pods = peer.get("podSelector", {}).get("matchLabels", {})
            if namespace == peer_namespace and pods.items() <= peer_labels.items() and port in ports:
                return True
    return False


def _selects(policy: dict[str, Any], labels: dict[str, str]) -> bool:
    return policy["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()


def test_keda_may_query_prometheus_through_both_default_denies(render: Render) -> None:
    naming = Naming(render.stack)
    serving, monitoring = naming.namespace("serving"), naming.namespace("monitoring")
    keda = {"app": "keda-operator"}
    prometheus = {"app.kubernetes.io/name": "prometheus"}
    egress = [p for p in render.objects("NetworkPolicy", serving) if _selects(p, keda)]
    ingress = [p for p in render.objects("NetworkPolicy", monitoring) if _selects(p, prometheus)]
    assert any(_allows(p, "egress", monitoring, prometheus, 9090) for p in egress), "KEDA's egress to Prometheus"
    assert any(_allows(p, "ingress", serving, keda, 9090) for p in ingress), "Prometheus' ingress from KEDA"


# --- the request path, through every namespace's default deny --------------------------------------------------
def _template_pod(render: Render, namespace: str, kind: str, name: str) -> Pod:
    obj = render.object(kind, name, namespace)
    return Pod(namespace, obj["spec"]["template"]["metadata"]["labels"])


def _engines(render: Render, serving: str) -> list[Pod]:
    return [
        Pod(serving, d["spec"]["template"]["metadata"]["labels"])
        for d in render.objects("Deployment", serving)
        if d["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") == "engine"
    ]


def _paths(render: Render) -> tuple[list[tuple[str, Pod, Pod, int]], list[tuple[str, Pod, Pod, int]]]:
    """(paths that must be open, paths that must stay closed), named for the failure message."""
    naming = Naming(render.stack)
    app, serving, data, monitoring, ingress = (
        naming.namespace(c) for c in ("app", "serving", "data", "monitoring", "ingress")
    )
    svc = {name: _template_pod(render, app, "Deployment", name) for name in ("gateway", "auth", "sessions", "chat")}
    router = _template_pod(render, serving, "Deployment", "router")
    engines = _engines(render, serving)
    envoy = Pod(ingress, ENVOY_PROXY)
    prometheus = Pod(monitoring, {"app.kubernetes.io/name": "prometheus", **KUBE_API_ACCESS})
    collector = Pod(monitoring, {"app.kubernetes.io/name": "opentelemetry-collector"})
    must = [
        ("edge -> gateway", envoy, svc["gateway"], 8080),
        *[(f"gateway -> {name}", svc["gateway"], svc[name], 8080) for name in ("auth", "sessions", "chat")],
        ("chat -> sessions", svc["chat"], svc["sessions"], 8080),
        ("chat -> router", svc["chat"], router, 8080),
        *[(f"router -> {e.labels['app.kubernetes.io/name']}", router, e, 8000) for e in engines],
        *[(f"{name} -> otel collector", pod, collector, 4318) for name, pod in svc.items()],
        *[(f"prometheus -> {name}", prometheus, pod, 8080) for name, pod in svc.items()],
        ("prometheus -> router", prometheus, router, 8080),
        *[(f"prometheus -> {e.labels['app.kubernetes.io/name']}", prometheus, e, 8000) for e in engines],
    ]
    must_not = [
        ("edge -> auth", envoy, svc["auth"], 8080),
        ("edge -> chat", envoy, svc["chat"], 8080),
        ("gateway -> router", svc["gateway"], router, 8080),
        *[(f"gateway -> {e.labels['app.kubernetes.io/name']}", svc["gateway"], e, 8000) for e in engines],
        *[(f"sessions -> {e.labels['app.kubernetes.io/name']}", svc["sessions"], e, 8000) for e in engines],
    ]
    if render.stack != "prod":  # prod's databases are managed services, reached by address, not pods
        postgres, redis = (
            Pod(data, {"cnpg.io/cluster": "postgres"}),
            _template_pod(render, data, "StatefulSet", "redis"),
        )
        must += [(f"{name} -> postgres", svc[name], postgres, 5432) for name in ("auth", "sessions", "chat")]
        must += [(f"{name} -> redis", svc[name], redis, 6379) for name in ("gateway", "auth")]
        must_not += [
            ("gateway -> postgres", svc["gateway"], postgres, 5432),
            ("chat -> redis", svc["chat"], redis, 6379),
        ]
        must_not += [(f"{e.labels['app.kubernetes.io/name']} -> postgres", e, postgres, 5432) for e in engines]
    return must, must_not


def test_the_request_path_is_open_through_every_default_deny_and_nothing_else_is(render: Render) -> None:
    policies = render.objects("NetworkPolicy")
    must, must_not = _paths(render)
    closed = [
        f"{name}: {explain(policies, a, b, port)}" for name, a, b, port in must if not allowed(policies, a, b, port)
    ]
    opened = [name for name, a, b, port in must_not if allowed(policies, a, b, port)]
    assert not closed, "paths the product needs are blocked:\n" + "\n".join(closed)
    assert not opened, "paths nobody needs are open:\n" + "\n".join(opened)


# --- scraping ---------------------------------------------------------------------------------------------------
def _monitor_selects(monitor: dict[str, Any], service: dict[str, Any]) -> bool:
    spec = monitor["spec"]
    namespaces = spec.get("namespaceSelector", {}).get("matchNames", [monitor["metadata"]["namespace"]])
    labels = service["metadata"].get("labels", {})
    port_names = {port.get("name") for port in service["spec"].get("ports", [])}
    return (
        service["metadata"]["namespace"] in namespaces
        and spec["selector"].get("matchLabels", {}).items() <= labels.items()
        and any(endpoint.get("port") in port_names for endpoint in spec.get("endpoints", []))
    )


def test_every_service_of_ours_with_metrics_is_scraped_exactly_once(render: Render) -> None:
    """Gateway, auth, sessions, chat, the router and every engine: one ServiceMonitor each, no double scrapes.

    Ours with metrics are the Services with an ``http`` port (each serves ``/metrics`` there). NATS's Services carry
    only its client and cluster protocols: its monitoring endpoint is JSON, not Prometheus, and the exporter that
    would translate it is not deployed (a gap the README names)."""
    naming = Naming(render.stack)
    monitors = render.objects("ServiceMonitor")
    ours = [
        service
        for namespace in (naming.namespace("app"), naming.namespace("serving"))
        for service in render.objects("Service", namespace)
        if service["metadata"].get("labels", {}).get("app.kubernetes.io/part-of") == "helpline"
        and any(port.get("name") == "http" for port in service["spec"].get("ports", []))
    ]
    counts = {s["metadata"]["name"]: sum(_monitor_selects(m, s) for m in monitors) for s in ours}
    assert {"gateway", "auth", "sessions", "chat", "router"} <= counts.keys()
    assert {name: count for name, count in counts.items() if count != 1} == {}
