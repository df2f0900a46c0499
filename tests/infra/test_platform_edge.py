"""The TLS edge on every stack and cloud: one load balancer, ACME issuers per environment, HSTS, TLS 1.2+, limits,
stream-friendly timeouts, pinned charts and images, and nothing else exposed."""

from __future__ import annotations

from typing import Any

import pytest

from app.contracts.edge import PUBLIC_PATH_PREFIXES
from infra.naming import Naming
from infra.platform.charts import ENVOY_GATEWAY_IMAGE, ENVOY_PROXY_IMAGE
from stacks.config import StackConfigError, parse_stack_config
from stacks.render.stack_files import load_stack_settings
from tests.infra.platform_harness import (
    LB_ANNOTATIONS,
    platform,  # noqa: F401  (fixture)
)
from tests.infra.rendering import Render

HOSTS = {"dev": "chat.dev.helpline.example.com", "prod": "chat.helpline.example.com"}
STREAM_TIMEOUT = "600s"  # streamTimeoutSeconds default


def ns(render: Render, concern: str) -> str:
    return Naming(render.stack).namespace(concern)  # type: ignore[arg-type]


def helm_values(render: Render, release: str) -> dict[str, Any]:
    return render.helm_releases[release]["values"]


def test_no_load_balancer_service_is_rendered_and_the_gateway_carries_the_cloud_annotations(
    platform: Render,  # noqa: F811
) -> None:
    """Envoy Gateway creates the one LoadBalancer Service at runtime from the Gateway: none is rendered."""
    assert not [s for s in platform.objects("Service") if s["spec"].get("type") == "LoadBalancer"]
    annotations = platform.object("Gateway", "edge", ns(platform, "ingress"))["spec"]["infrastructure"]["annotations"]
    if platform.path.name.startswith("platform-"):  # rendered alone, on the stand-in cluster's annotations
        assert annotations == LB_ANNOTATIONS[platform.cloud]
    else:
        assert annotations, "the cluster must hand the edge its load balancer annotations"
    proxy = helm_values(platform, "envoy-gateway")["config"]["envoyGateway"]["envoyProxy"]
    assert proxy["provider"]["kubernetes"]["envoyService"]["type"] == "LoadBalancer"


def test_listeners_serve_the_configured_host_and_only_the_app_namespace_attaches_to_https(
    platform: Render,  # noqa: F811
) -> None:
    listeners = {item["name"]: item for item in platform.object("Gateway", "edge")["spec"]["listeners"]}
    assert {name: item["hostname"] for name, item in listeners.items()} == {
        "http": HOSTS[platform.stack],
        "https": HOSTS[platform.stack],
    }
    https = listeners["https"]
    assert (https["protocol"], https["port"]) == ("HTTPS", 443)
    assert https["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": "chat-api-tls"}]
    assert https["allowedRoutes"]["namespaces"] == {
        "from": "Selector",
        "selector": {"matchLabels": {"kubernetes.io/metadata.name": ns(platform, "app")}},
    }
    assert listeners["http"]["allowedRoutes"]["namespaces"] == {"from": "Same"}


def test_both_acme_issuers_exist_and_the_certificate_uses_the_environment_s(platform: Render) -> None:  # noqa: F811
    servers = {i["metadata"]["name"]: i["spec"]["acme"]["server"] for i in platform.objects("ClusterIssuer")}
    assert servers == {
        "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
        "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
    }
    for issuer in platform.objects("ClusterIssuer"):
        (solver,) = issuer["spec"]["acme"]["solvers"]
        (parent,) = solver["http01"]["gatewayHTTPRoute"]["parentRefs"]
        assert (parent["name"], parent["namespace"], parent["sectionName"]) == ("edge", ns(platform, "ingress"), "http")
    certificate = platform.object("Certificate", "chat-api", ns(platform, "ingress"))["spec"]
    expected = {"dev": "letsencrypt-staging", "prod": "letsencrypt-production"}[platform.stack]
    assert certificate["issuerRef"] == {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": expected}
    assert certificate["dnsNames"] == [HOSTS[platform.stack]]
    assert certificate["secretName"] == "chat-api-tls"


def test_chat_route_sets_hsts_and_stream_long_timeouts_to_the_gateway_service(platform: Render) -> None:  # noqa: F811
    route = platform.object("HTTPRoute", "chat-api", ns(platform, "app"))["spec"]
    (rule,) = route["rules"]
    assert rule["backendRefs"] == [{"group": "", "kind": "Service", "name": "gateway", "port": 8080}]
    (hsts,) = rule["filters"]
    assert hsts["responseHeaderModifier"]["set"] == [
        {"name": "Strict-Transport-Security", "value": "max-age=31536000; includeSubDomains"}
    ]
    assert rule["timeouts"] == {"request": STREAM_TIMEOUT, "backendRequest": STREAM_TIMEOUT}
    assert route["parentRefs"][0]["sectionName"] == "https"
    # only the public API, its docs and the web chat: /metrics and the probes stay inside the cluster
    prefixes = [match["path"]["value"] for match in rule["matches"]]
    assert prefixes == list(PUBLIC_PATH_PREFIXES)
    assert all(match["path"]["type"] == "PathPrefix" for match in rule["matches"])


def test_plain_http_only_redirects_to_https(platform: Render) -> None:  # noqa: F811
    (rule,) = platform.object("HTTPRoute", "https-redirect", ns(platform, "ingress"))["spec"]["rules"]
    assert rule == {"filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]}


def edge_policies(render: Render) -> dict[str, dict[str, Any]]:
    return {obj["kind"]: obj for obj in helm_values(render, "edge-policies")["resources"]}


def test_tls_floor_client_timeouts_and_body_limit_are_in_the_edge_policies(platform: Render) -> None:  # noqa: F811
    policies = edge_policies(platform)
    client = policies["ClientTrafficPolicy"]["spec"]
    assert client["tls"]["minVersion"] == "1.2"
    assert client["targetRefs"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "edge"}]
    assert client["timeout"]["http"]["requestReceivedTimeout"] == "30s"
    assert client["timeout"]["http"]["streamIdleTimeout"] == "300s"
    backend = policies["BackendTrafficPolicy"]
    assert backend["metadata"]["namespace"] == ns(platform, "app")
    assert backend["spec"]["targetRefs"][0] == {
        "group": "gateway.networking.k8s.io",
        "kind": "HTTPRoute",
        "name": "chat-api",
    }
    assert backend["spec"]["requestBuffer"] == {"limit": "1024Ki"}


def test_proxies_drain_streams_run_pinned_and_are_highly_available_in_prod(platform: Render) -> None:  # noqa: F811
    values = helm_values(platform, "envoy-gateway")
    proxy = values["config"]["envoyGateway"]["envoyProxy"]
    assert proxy["shutdown"]["drainTimeout"] == STREAM_TIMEOUT
    deployment = proxy["provider"]["kubernetes"]["envoyDeployment"]
    assert deployment["container"]["image"] == ENVOY_PROXY_IMAGE.reference
    assert values["global"]["images"]["envoyGateway"]["image"] == ENVOY_GATEWAY_IMAGE.reference
    replicas = {"dev": 1, "prod": 3}[platform.stack]
    assert deployment["replicas"] == replicas
    assert ("envoyPDB" in proxy["provider"]["kubernetes"]) == (platform.stack == "prod")
    watched = values["config"]["envoyGateway"]["provider"]["kubernetes"]["watch"]["namespaces"]
    assert watched == [ns(platform, "ingress"), ns(platform, "app")]


def test_every_helm_release_is_pinned_with_an_explicit_repository_and_images_by_digest(platform: Render) -> None:  # noqa: F811
    platform_releases = {"envoy-gateway", "cert-manager", "edge-policies", "dcgm-exporter", "nvidia-device-plugin"}
    for name, release in platform.helm_releases.items():
        if name not in platform_releases:
            continue
        assert release["version"], name
        assert release["chart"].startswith("oci://") or release["repositoryOpts"]["repo"].startswith("https://"), name
        text = str(release["values"])
        for image_field in ("image", "tag"):
            assert f"'{image_field}': ''" not in text
        if name != "edge-policies":
            assert "@sha256:" in text or "'digest': 'sha256:" in text, name
    cert_manager = helm_values(platform, "cert-manager")
    for component in ("webhook", "cainjector", "startupapicheck", "acmesolver"):
        assert cert_manager[component]["image"]["digest"].startswith("sha256:")
    assert cert_manager["image"]["digest"].startswith("sha256:")
    assert cert_manager["config"]["enableGatewayAPI"] is True


def test_grafana_and_prometheus_are_not_routed_from_the_edge(platform: Render) -> None:  # noqa: F811
    """Every route that can attach to the public Gateway sends traffic to the gateway Service only."""
    for route in platform.objects("HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for backend in rule.get("backendRefs", []):
                assert backend["name"] == "gateway", route["metadata"]["name"]
    assert not platform.objects("Ingress")


def dev_values(**overrides: str) -> dict[str, str]:
    settings = load_stack_settings("dev", "aws")
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return {**values, **overrides}


def prod_values(**overrides: str) -> dict[str, str]:
    settings = load_stack_settings("prod", "aws")
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return {**values, **overrides}


def issues(stack: str, values: dict[str, str]) -> list[str]:
    with pytest.raises(StackConfigError) as caught:
        parse_stack_config(stack, values)
    return [str(issue) for issue in caught.value.issues]


def test_prod_refuses_staging_certificates_and_a_single_proxy() -> None:
    assert issues("prod", prod_values(acmeIssuer="staging", edgeReplicas="1")) == [
        "helpline:acmeIssuer = 'staging': prod allows auto or production",
        "helpline:edgeReplicas = 1: prod needs at least 2",
    ]


def test_issuer_choice_follows_the_environment_unless_set() -> None:
    dev = parse_stack_config("dev", dev_values())
    assert dev.platform.acme_environment(dev.cluster) == "staging"
    prod = parse_stack_config("prod", prod_values())
    assert prod.platform.acme_environment(prod.cluster) == "production"
    trusted_dev = parse_stack_config("dev", dev_values(acmeIssuer="production"))
    assert trusted_dev.platform.acme_environment(trusted_dev.cluster) == "production"


@pytest.mark.parametrize(
    ("key", "value", "problem"),
    [
        ("chatHost", "https://chat.example.com", "must be a lower-case DNS name"),
        ("chatHost", "*.example.com", "must be a lower-case DNS name"),
        ("acmeEmail", "nobody", "must be an e-mail address"),
        ("requestBodyLimitKib", "1", "greater than or equal to 16"),
        ("streamTimeoutSeconds", "5", "greater than or equal to 30"),
    ],
)
def test_edge_keys_are_validated(key: str, value: str, problem: str) -> None:
    (issue,) = issues("dev", dev_values(**{key: value}))
    assert issue.startswith(f"helpline:{key} = ")
    assert problem in issue


def test_the_route_s_backend_is_the_gateway_service_and_its_pods_listen_where_the_policy_allows(
    platform: Render,  # noqa: F811
) -> None:
    """Once the services stage is in the render: the Service the edge routes to exists, and its target port is the
    container port the edge's NetworkPolicy opens (policies see pod ports, not Service ports)."""
    services = [s for s in platform.objects("Service", ns(platform, "app")) if s["metadata"]["name"] == "gateway"]
    if not services:
        pytest.skip("the services stage is not in this render")
    (port,) = [p for p in services[0]["spec"]["ports"] if p["port"] == 8080]
    deployment = platform.object("Deployment", "gateway", ns(platform, "app"))
    container_ports = {
        (p.get("name"), p["containerPort"])
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for p in c.get("ports", [])
    }
    target = port["targetPort"]
    assert any(target in (name, number) and number == 8080 for name, number in container_ports), container_ports
