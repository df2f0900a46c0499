"""Stack outputs: the chat API URL, how to reach Grafana (not public: an in-cluster URL and a port-forward), and the
kubeconfig, which stays a Pulumi secret."""

from __future__ import annotations

from infra.services.stack_outputs import grafana_outputs
from tests.infra.rendering import Render


def test_every_stack_exports_the_chat_api_grafana_and_a_secret_kubeconfig(render: Render) -> None:
    outputs = render.outputs
    host = {"dev": "chat.dev.helpline.example.com", "prod": "chat.helpline.example.com"}[render.stack]
    monitoring = f"helpline-{render.stack}-monitoring"
    assert outputs["chatApiUrl"] == f"https://{host}"
    assert outputs["grafanaUrl"] == f"http://grafana.{monitoring}.svc.cluster.local:80"
    assert outputs["grafanaPortForward"].startswith(f"kubectl -n {monitoring} port-forward svc/grafana 3000:80")
    assert outputs["kubeconfig"] == "[secret]"
    # the Grafana Service the outputs name is the one the monitoring stage deploys, and nothing routes to it
    release = render.helm_releases["kube-prometheus-stack"]
    assert release["values"]["grafana"]["fullnameOverride"] == "grafana"
    routes = [route["spec"]["rules"] for route in render.objects("HTTPRoute")]
    backends = {backend["name"] for rules in routes for rule in rules for backend in rule.get("backendRefs", [])}
    assert "grafana" not in backends


def test_grafana_outputs_are_derived_from_the_monitoring_service() -> None:
    assert grafana_outputs("helpline-x-monitoring/grafana", 8080) == {
        "grafanaUrl": "http://grafana.helpline-x-monitoring.svc.cluster.local:8080",
        "grafanaPortForward": "kubectl -n helpline-x-monitoring port-forward svc/grafana 3000:8080"
        " # then open http://localhost:3000",
    }
