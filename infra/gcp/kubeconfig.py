"""The kubeconfig for a GKE cluster, as a pure function of its name, endpoint and CA.

It carries no credential: ``gke-gcloud-auth-plugin`` fetches a short-lived token from whoever runs it (the
deployer's gcloud login or CI's workload identity), so the file can be handed out and never goes stale. The
stack still exports it as a secret, because the endpoint of a private cluster is an internal detail.
"""

from __future__ import annotations

from typing import Any

import yaml

AUTH_PLUGIN = "gke-gcloud-auth-plugin"
EXEC_API_VERSION = "client.authentication.k8s.io/v1beta1"
INSTALL_HINT = (
    "Install gke-gcloud-auth-plugin (gcloud components install gke-gcloud-auth-plugin), see "
    "https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin"
)


def context_name(project: str, location: str, cluster: str) -> str:
    """The context name ``gcloud container clusters get-credentials`` writes, so both tools agree."""
    return f"gke_{project}_{location}_{cluster}"


def api_server_url(endpoint: str) -> str:
    """GKE reports a bare IP address or DNS name; clients need an https URL."""
    return endpoint if endpoint.startswith("https://") else f"https://{endpoint}"


def gke_kubeconfig(*, context: str, endpoint: str, ca_certificate: str | None) -> str:
    """A one-cluster kubeconfig that authenticates through the gcloud auth plugin.

    ``ca_certificate`` is the base64 PEM GKE reports for the IP endpoints; pass ``None`` for the DNS endpoint,
    which presents a publicly trusted certificate.
    """
    cluster: dict[str, Any] = {"server": api_server_url(endpoint)}
    if ca_certificate:
        cluster["certificate-authority-data"] = ca_certificate
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context}}],
        "current-context": context,
        "preferences": {},
        "users": [
            {
                "name": context,
                "user": {
                    "exec": {
                        "apiVersion": EXEC_API_VERSION,
                        "command": AUTH_PLUGIN,
                        "provideClusterInfo": True,
                        "installHint": INSTALL_HINT,
                    }
                },
            }
        ],
    }
    return yaml.safe_dump(config, sort_keys=False)
