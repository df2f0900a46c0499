"""What of the gateway the internet may reach: the public API, its docs, the web chat page.

The edge routes only these prefixes (infra/platform/gateway_api.py builds the HTTPRoute from them), so the
operational endpoints every service has (``/metrics``, ``/healthz``, ``/readyz``) stay inside the cluster even
though the gateway serves them on the same port. ``tests/app/gateway`` checks every public route is covered
and no operational one is.
"""

from __future__ import annotations

#: Gateway API PathPrefix matches are segment-wise: "/chat" matches /chat and /chat/assets/..., not /chatter.
PUBLIC_PATH_PREFIXES: tuple[str, ...] = ("/v1", "/chat", "/docs", "/openapi.json", "/.well-known", "/problems")
#: Served by every service for the cluster (probes, Prometheus); never routed from the internet.
OPERATIONAL_PATHS: tuple[str, ...] = ("/metrics", "/healthz", "/readyz")


def is_public(path: str) -> bool:
    """Whether the edge routes ``path``, with Gateway API's segment-wise PathPrefix semantics."""
    return any(path == prefix or path.startswith(prefix.rstrip("/") + "/") for prefix in PUBLIC_PATH_PREFIXES)
