"""The platform's network allows exist on every stack and cloud and are exactly as narrow as stated."""

from __future__ import annotations

from typing import Any

from infra.naming import CONCERNS, Naming
from infra.platform.network_baseline import (
    INTERNET,
    NON_INTERNET,
    SCRAPE_PORTS,
    BaselineBuilder,
    ClusterAddresses,
)
from infra.platform.platform import cluster_addresses
from stacks.config import StackConfig, parse_stack_config
from stacks.render.stack_files import load_stack_settings
from tests.infra.platform_harness import platform  # noqa: F401  (fixture)
from tests.infra.rendering import Render

NAME = "app.kubernetes.io/name"


def ns(render: Render, concern: str) -> str:
    return Naming(render.stack).namespace(concern)  # type: ignore[arg-type]


def ports_of(rule: dict[str, Any]) -> set[tuple[str, int]]:
    return {(entry["protocol"], entry["port"]) for entry in rule["ports"]}


def policy(render: Render, concern: str, name: str) -> dict[str, Any]:
    return render.object("NetworkPolicy", name, ns(render, concern))["spec"]


def test_dns_egress_goes_only_to_kube_dns_on_53(platform: Render) -> None:  # noqa: F811
    for concern in CONCERNS:
        spec = policy(platform, concern, "allow-dns")
        assert spec["policyTypes"] == ["Egress"]
        assert spec["podSelector"] == {}
        for rule in spec["egress"]:
            assert rule["to"][0] == {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
            }
            assert rule["to"][1:] in ([], [{"ipBlock": {"cidr": "169.254.20.10/32"}}])
        assert set().union(*(ports_of(rule) for rule in spec["egress"])) == {("UDP", 53), ("TCP", 53)}


def test_prometheus_alone_scrapes_each_namespace_on_its_metrics_ports(platform: Render) -> None:  # noqa: F811
    for concern in CONCERNS:
        (rule,) = policy(platform, concern, "allow-prometheus-scrape")["ingress"]
        assert rule["from"] == [
            {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns(platform, "monitoring")}},
                "podSelector": {"matchLabels": {NAME: "prometheus"}},
            }
        ]
        assert ports_of(rule) == {("TCP", port) for port in SCRAPE_PORTS[concern]}


def test_the_edge_reaches_only_the_gateway_on_8080(platform: Render) -> None:  # noqa: F811
    spec = policy(platform, "app", "allow-edge-to-gateway")
    assert spec["podSelector"] == {"matchLabels": {NAME: "gateway"}}
    (rule,) = spec["ingress"]
    assert ports_of(rule) == {("TCP", 8080)}
    assert rule["from"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": ns(platform, "ingress")}},
            "podSelector": {"matchLabels": {NAME: "envoy", "app.kubernetes.io/component": "proxy"}},
        }
    ]
    egress = policy(platform, "ingress", "allow-envoy-egress")["egress"]
    to_app = [rule for rule in egress if "namespaceSelector" in rule["to"][0]]
    assert [ports_of(rule) for rule in to_app] == [{("TCP", 8080)}]


def test_the_internet_reaches_only_envoy_on_its_listener_ports(platform: Render) -> None:  # noqa: F811
    spec = policy(platform, "ingress", "allow-internet-to-edge")
    assert spec["podSelector"]["matchLabels"][NAME] == "envoy"
    (rule,) = spec["ingress"]
    assert ports_of(rule) == {("TCP", 10080), ("TCP", 10443)}


def internet_egress(render: Render) -> dict[tuple[str, str], set[int]]:
    """(namespace, pod name label) -> ports, for every egress rule to a public address in the render."""
    found: dict[tuple[str, str], set[int]] = {}
    for obj in render.objects("NetworkPolicy"):
        for rule in obj["spec"].get("egress", []):
            for peer in rule.get("to", []):
                if peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0":
                    assert peer == INTERNET, "internet egress must exclude private and link-local ranges"
                    who = obj["spec"]["podSelector"].get("matchLabels", {}).get(NAME, "<every pod>")
                    key = (obj["metadata"]["namespace"], who)
                    found.setdefault(key, set()).update(entry["port"] for entry in rule["ports"])
    return found


def test_internet_egress_only_where_needed(platform: Render) -> None:  # noqa: F811
    assert internet_egress(platform) == {
        (ns(platform, "serving"), "model-loader"): {443},  # model hub and bucket
        (ns(platform, "ingress"), "cert-manager"): {443, 80},  # ACME API and the HTTP-01 self-check
        (ns(platform, "monitoring"), "alertmanager"): {443},  # webhook receivers
        (ns(platform, "app"), "sessions"): {443},  # tenants' webhooks (lifecycle events)
    }
    assert "169.254.0.0/16" in NON_INTERNET  # instance metadata stays unreachable through it


def test_gke_metadata_server_only_for_the_model_loader_on_gcp(platform: Render) -> None:  # noqa: F811
    egress = policy(platform, "serving", "allow-model-download")["egress"]
    metadata = [rule for rule in egress if rule["to"][0]["ipBlock"]["cidr"].startswith("169.254.")]
    assert bool(metadata) == (platform.cloud == "gcp")
    for obj in platform.objects("NetworkPolicy"):
        if obj["metadata"]["name"] != "allow-model-download":
            assert "169.254.169.254/32" not in str(obj)


def test_kube_api_egress_only_for_opted_in_pods_on_443(platform: Render) -> None:  # noqa: F811
    expected_cidr = "10.40.0.0/16" if platform.cloud == "aws" else None
    for concern in CONCERNS:
        spec = policy(platform, concern, "allow-kube-api")
        assert spec["podSelector"] == {"matchLabels": {"helpline.io/kube-api": "true"}}
        (rule,) = spec["egress"]
        assert ports_of(rule) == {("TCP", 443)}
        cidrs = [peer["ipBlock"]["cidr"] for peer in rule["to"]]
        assert len(cidrs) == 1
        if expected_cidr and platform.stack == "dev":
            assert cidrs == [expected_cidr]


def test_xds_acme_solver_and_webhook_allows_are_point_to_point(platform: Render) -> None:  # noqa: F811
    xds = policy(platform, "ingress", "allow-xds-from-envoy")
    assert xds["podSelector"] == {"matchLabels": {"control-plane": "envoy-gateway"}}
    assert ports_of(xds["ingress"][0]) == {("TCP", 18000)}
    solver = policy(platform, "ingress", "allow-acme-solver-from-envoy")
    assert ports_of(solver["ingress"][0]) == {("TCP", 8089)}
    webhook = policy(platform, "ingress", "allow-webhook-from-api-server")
    assert ports_of(webhook["ingress"][0]) == {("TCP", 10250)}
    assert all("ipBlock" in peer for peer in webhook["ingress"][0]["from"])


def test_prometheus_egress_covers_every_scrape_port_and_the_nodes(platform: Render) -> None:  # noqa: F811
    spec = policy(platform, "monitoring", "allow-prometheus-scrape-egress")
    assert spec["podSelector"] == {"matchLabels": {NAME: "prometheus"}}
    by_namespace = {
        rule["to"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]: ports_of(rule)
        for rule in spec["egress"]
        if "namespaceSelector" in rule["to"][0]
    }
    assert by_namespace == {ns(platform, c): {("TCP", p) for p in SCRAPE_PORTS[c]} for c in CONCERNS}
    nodes = [rule for rule in spec["egress"] if "ipBlock" in rule["to"][0]]
    assert [ports_of(rule) for rule in nodes] == [{("TCP", 10250), ("TCP", 9100)}]


def stack_config(cloud: str, **overrides: str) -> StackConfig:
    """The committed dev stack on ``cloud``, with ``overrides`` on top."""
    settings = load_stack_settings("dev", cloud)
    values = {k.split(":", 1)[1]: v for k, v in settings.config.items() if k.startswith("helpline:")}
    return parse_stack_config("dev", {**values, **overrides}, {k.split(":", 1)[1] for k in settings.secret_keys})


def test_api_server_cidrs_are_derived_per_cloud_or_overridden() -> None:
    aws, gcp = stack_config("aws"), stack_config("gcp")
    assert cluster_addresses(aws.cluster, aws.platform).api_server_cidrs == (aws.cluster.aws_vpc_cidr,)
    assert cluster_addresses(gcp.cluster, gcp.platform).api_server_cidrs == (gcp.cluster.gcp_master_cidr,)
    assert cluster_addresses(gcp.cluster, gcp.platform).node_cidrs == (gcp.cluster.gcp_subnet_cidr,)
    override = stack_config("gcp", kubernetesApiCidrs='["34.1.2.3/32"]')
    assert cluster_addresses(override.cluster, override.platform).api_server_cidrs == ("34.1.2.3/32",)


def test_builder_covers_every_namespace_it_is_given() -> None:
    builder = BaselineBuilder(
        {concern: f"x-{concern}" for concern in CONCERNS},
        ClusterAddresses("aws", ("10.0.0.0/16",), ("10.0.0.0/16",)),
        {},
    )
    policies = builder.all()
    keys = [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in policies]
    assert len(keys) == len(set(keys)), "policy names must be unique per namespace"
    assert {namespace for namespace, name in keys if name == "default-deny"} == {f"x-{c}" for c in CONCERNS}


def test_every_pod_that_mounts_an_api_token_may_reach_the_api(platform: Render) -> None:  # noqa: F811
    """A pod that mounts a token talks to the API; without the opt-in label its namespace's default deny blocks it."""
    missing = []
    for obj, spec in platform.pod_specs():
        template = (
            obj["spec"]["jobTemplate"]["spec"]["template"] if obj["kind"] == "CronJob" else obj["spec"]["template"]
        )
        labels = template.get("metadata", {}).get("labels", {})
        if spec.get("automountServiceAccountToken") is True and labels.get("helpline.io/kube-api") != "true":
            missing.append(f"{obj['kind']} {obj['metadata']['namespace']}/{obj['metadata']['name']}")
    assert not missing, missing


def test_node_local_dns_is_reachable_under_default_deny_where_the_cluster_runs_it(render: Render) -> None:
    """GKE's NodeLocal DNSCache answers on 169.254.20.10 from a host-network agent: allow-dns must admit it, in every
    namespace, on both protocols; EKS runs no node-local cache (if it ever does, its address joins the same list)."""
    clusters = render.of_type("gcp:container/cluster:Cluster")
    dns_cache = any(c["inputs"].get("addonsConfig", {}).get("dnsCacheConfig", {}).get("enabled") for c in clusters)
    assert dns_cache == (render.cloud == "gcp")
    for concern in CONCERNS:
        spec = policy(render, concern, "allow-dns")
        node_local = [
            ports_of(rule) for rule in spec["egress"] if {"ipBlock": {"cidr": "169.254.20.10/32"}} in rule["to"]
        ]
        assert (set().union(*node_local) if node_local else set()) == (
            {("UDP", 53), ("TCP", 53)} if dns_cache else set()
        ), f"{render.id} {concern}"
