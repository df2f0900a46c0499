"""The stack's outputs: where the chat API answers, how to reach Grafana, and the kubeconfig (a secret).

Grafana is not public (no route reaches it, by design: docs/platform.md), so its output is the in-cluster URL and
the port-forward that reaches it from a workstation with the stack's kubeconfig, not a URL to click.
"""

from __future__ import annotations

from typing import Any

import pulumi

#: The Grafana chart's Service port (it forwards to the container's 3000).
GRAFANA_SERVICE_PORT = 80
LOCAL_GRAFANA_PORT = 3000


def grafana_outputs(service: str, port: int = GRAFANA_SERVICE_PORT) -> dict[str, str]:
    """``service`` is ``<namespace>/<name>`` as the monitoring stage names it."""
    namespace, name = service.split("/", 1)
    return {
        "grafanaUrl": f"http://{name}.{namespace}.svc.cluster.local:{port}",
        "grafanaPortForward": (
            f"kubectl -n {namespace} port-forward svc/{name} {LOCAL_GRAFANA_PORT}:{port}"
            f" # then open http://localhost:{LOCAL_GRAFANA_PORT}"
        ),
    }


def stack_outputs(*, chat_api_url: str, grafana_service: str, kubeconfig: pulumi.Input[str]) -> dict[str, Any]:
    """Everything the stack exports; the kubeconfig stays a Pulumi secret (``pulumi stack output --show-secrets``)."""
    return {
        "chatApiUrl": chat_api_url,
        **grafana_outputs(grafana_service),
        "kubeconfig": pulumi.Output.secret(kubeconfig),
    }
