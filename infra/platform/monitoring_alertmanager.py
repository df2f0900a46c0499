"""Alertmanager's routing: by severity to receivers whose webhook URLs live only in a Kubernetes Secret.

critical -> ``pager``, warning -> ``chat``, everything else (info, the always-firing Watchdog) -> ``null``. A
receiver whose URL is not configured stays in the tree with no integration, so routes never change shape between
stacks and an unset receiver silently drops (the alert is still visible in Alertmanager's UI). URLs are read from
files Alertmanager mounts (``url_file``): the generated configuration holds paths, never the URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

Receiver = Literal["pager", "chat"]
#: Secret holding the webhook URLs, one key per configured receiver; Alertmanager mounts it (alertmanagerSpec.secrets).
RECEIVERS_SECRET = "alertmanager-receivers"  # noqa: S105  (a Secret's name)
#: Where the Prometheus Operator mounts ``alertmanagerSpec.secrets`` entries.
SECRETS_MOUNT = "/etc/alertmanager/secrets"
NULL_RECEIVER = "null"
SEVERITY_RECEIVERS: Mapping[str, Receiver] = {"critical": "pager", "warning": "chat"}


@dataclass(frozen=True)
class ReceiverUrls:
    """Which receivers have a webhook URL configured (the URLs themselves travel as secrets)."""

    pager: bool
    chat: bool

    def configured(self) -> list[Receiver]:
        return [name for name in ("pager", "chat") if getattr(self, name)]


def secret_key(receiver: Receiver) -> str:
    return f"{receiver}-url"


def url_file(receiver: Receiver) -> str:
    return f"{SECRETS_MOUNT}/{RECEIVERS_SECRET}/{secret_key(receiver)}"


def _receiver(name: Receiver, urls: ReceiverUrls) -> dict[str, Any]:
    if not getattr(urls, name):
        return {"name": name}
    # resolved notifications too: the pager closes the incident, the chat shows it is over
    return {"name": name, "webhook_configs": [{"url_file": url_file(name), "send_resolved": True, "max_alerts": 20}]}


def alertmanager_config(urls: ReceiverUrls) -> dict[str, Any]:
    """The whole Alertmanager configuration (kube-prometheus-stack's ``alertmanager.config``)."""
    routes: list[dict[str, Any]] = [
        # Watchdog always fires to prove the pipeline works; send it to a dead man's switch, not to people
        {"receiver": NULL_RECEIVER, "matchers": ['alertname = "Watchdog"'], "continue": False},
        {"receiver": NULL_RECEIVER, "matchers": ['alertname = "InfoInhibitor"'], "continue": False},
    ]
    for severity, receiver in SEVERITY_RECEIVERS.items():
        route: dict[str, Any] = {"receiver": receiver, "matchers": [f'severity = "{severity}"']}
        if severity == "critical":
            route["repeat_interval"] = "1h"  # page again while it is unresolved
        routes.append(route)
    return {
        "global": {"resolve_timeout": "5m"},
        "route": {
            "receiver": NULL_RECEIVER,
            "group_by": ["alertname", "namespace", "slo"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": [
            # a page makes the same alert's ticket (and its info) redundant
            {
                "source_matchers": ['severity = "critical"'],
                "target_matchers": ['severity =~ "warning|info"'],
                "equal": ["alertname", "namespace", "slo"],
            },
            {
                "source_matchers": ['severity = "warning"'],
                "target_matchers": ['severity = "info"'],
                "equal": ["alertname", "namespace"],
            },
            # a model with no engine at all explains its replicas being down and its queue
            {
                "source_matchers": ['alertname = "VLLMEngineDown"'],
                "target_matchers": ['alertname =~ "VLLMReplicaDown|VLLMEngineNotReady"'],
                "equal": ["namespace"],
            },
        ],
        "receivers": [{"name": NULL_RECEIVER}, _receiver("pager", urls), _receiver("chat", urls)],
        "templates": ["/etc/alertmanager/config/*.tmpl"],
    }
