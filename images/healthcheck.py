"""Container HEALTHCHECK for every Helpline service: GET the liveness URL on loopback, exit 0 on 2xx, 1 otherwise.

Standard library only (it runs in the service image beside the app, before anything else is imported). The URL is
``HELPLINE_HEALTHCHECK_URL`` when set (the engine simulator: ``http://127.0.0.1:8000/health``), else ``/healthz`` on
``HELPLINE_PORT`` (8080 by default), the liveness route every service's app factory serves. Kubernetes ignores
Docker's HEALTHCHECK and uses the pod's probes; this one serves ``docker run`` and Compose.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping

DEFAULT_PORT = "8080"
LIVENESS_PATH = "/healthz"
TIMEOUT_SECONDS = 2.0


def liveness_url(environ: Mapping[str, str]) -> str:
    """The URL to probe, from the same variables the services read."""
    explicit = environ.get("HELPLINE_HEALTHCHECK_URL")
    if explicit:
        return explicit
    return f"http://127.0.0.1:{environ.get('HELPLINE_PORT', DEFAULT_PORT)}{LIVENESS_PATH}"


def probe(url: str, timeout: float = TIMEOUT_SECONDS) -> tuple[bool, str]:
    """(healthy, what happened); never raises, so the container's health log says why it failed."""
    if not url.startswith(("http://127.0.0.1", "http://localhost", "http://[::1]")):
        return False, f"refusing to probe {url}: the healthcheck only talks to loopback"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310  (loopback http, checked above)
            status = response.status
    except urllib.error.HTTPError as error:
        return False, f"{url} answered {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"{url} unreachable: {error}"
    return 200 <= status < 300, f"{url} answered {status}"


def main() -> int:
    healthy, detail = probe(liveness_url(os.environ))
    print(detail, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
