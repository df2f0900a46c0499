"""Backend discovery from a Service's EndpointSlices, through the Kubernetes API (list, then watch).

The protocol, as client-go's reflector speaks it: list the slices (paginated) and remember the list's
``resourceVersion``; watch from there (``allowWatchBookmarks`` so idle watches still advance the version, and a
server-side ``timeoutSeconds`` with jitter so connections are recycled); on a normal end, watch again from the
last version seen; on ``410 Gone`` (the version was compacted away), list again. Connection failures back off
with jitter and keep the last known replicas (the health checks still eject dead ones): losing the API server
must not empty the router.

Credentials are the pod's service-account token and the cluster CA, both re-read from the projected volume
(the kubelet rotates the token; a token read once at start expires after about an hour).
"""

from __future__ import annotations

import os
import random
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import orjson

from app.core.logging import get_logger
from app.router.backoff import Backoff
from app.router.endpointslices import SERVICE_NAME_LABEL, SliceSet

log = get_logger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
LIST_PAGE_SIZE = 500
#: Server-side watch duration; each watch picks a value in [1x, 2x) so replicas do not reconnect together.
WATCH_TIMEOUT_SECONDS = 300


class ApiError(Exception):
    """The API server refused a request (401/403 mean the RBAC or the token is wrong)."""


class ResourceExpiredError(ApiError):
    """410 Gone: the resourceVersion we hold was compacted; a fresh list is needed."""


@dataclass(frozen=True)
class ApiServer:
    """Where the Kubernetes API is and how to authenticate to it."""

    base_url: str
    token_file: Path
    ca_file: Path | None = None

    @classmethod
    def in_cluster(
        cls, environ: Mapping[str, str] = os.environ, service_account_dir: Path = SERVICE_ACCOUNT_DIR
    ) -> ApiServer:
        """The API server a pod reaches through the ``kubernetes`` Service, as client-go's in-cluster config."""
        host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
        if not host or not port:
            raise ApiError("not in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset")
        if ":" in host:
            host = f"[{host}]"
        return cls(f"https://{host}:{port}", service_account_dir / "token", service_account_dir / "ca.crt")

    def authorization(self) -> dict[str, str]:
        """The bearer header, read fresh from the projected token file each time."""
        return {"Authorization": f"Bearer {self.token_file.read_text().strip()}"}

    def create_client(self) -> httpx.AsyncClient:
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(self.ca_file)) if self.ca_file else True
        return httpx.AsyncClient(
            base_url=self.base_url,
            verify=verify,
            timeout=httpx.Timeout(10.0, read=2 * WATCH_TIMEOUT_SECONDS + 30.0),
            headers={"Accept": "application/json"},
        )


class EndpointSliceWatch:
    """Keeps ``on_change`` told of the routable replicas of one Service, for as long as ``run`` runs."""

    def __init__(
        self,
        api: ApiServer,
        client: httpx.AsyncClient,
        *,
        namespace: str,
        service: str,
        port: int,
        on_change: Callable[[list[str]], None],
        watch_timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
        page_size: int = LIST_PAGE_SIZE,
        backoff: Backoff | None = None,
    ) -> None:
        self._api = api
        self._client = client
        self._path = f"/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices"
        self._selector = f"{SERVICE_NAME_LABEL}={service}"
        self._slices = SliceSet(port)
        self._on_change = on_change
        self._watch_timeout = watch_timeout_seconds
        self._page_size = page_size
        self._backoff = backoff or Backoff()
        self._log = log.bind(namespace=namespace, kubernetes_service=service)

    async def run(self) -> None:
        """List and watch until cancelled; never raises for API or network trouble."""
        resource_version: str | None = None
        expired_before = False
        while True:
            try:
                if resource_version is None:
                    resource_version = await self._list()
                resource_version = await self._watch(resource_version)
                self._backoff.reset()
                expired_before = False
            except ResourceExpiredError:
                # The first 410 re-lists at once; more in a row (a misbehaving server) back off.
                self._log.info("endpointslice watch expired; listing again")
                resource_version = None
                if expired_before:
                    await anyio.sleep(self._backoff.next_delay())
                expired_before = True
            except (ApiError, httpx.HTTPError, OSError, ValueError, KeyError) as exc:
                delay = self._backoff.next_delay()
                self._log.warning("endpointslice discovery failed", error=repr(exc), retry_in_seconds=round(delay, 2))
                await anyio.sleep(delay)

    async def _list(self) -> str:
        items: list[dict[str, Any]] = []
        params: dict[str, str | int] = {"labelSelector": self._selector, "limit": self._page_size}
        while True:
            response = await self._client.get(self._path, params=params, headers=self._api.authorization())
            _raise_for_status(response)
            body = orjson.loads(response.content)
            items.extend(body.get("items") or ())
            continue_token = (body.get("metadata") or {}).get("continue")
            if not continue_token:
                break
            params = {**params, "continue": continue_token}
        self._slices.replace(items)
        self._publish()
        return body["metadata"]["resourceVersion"]

    async def _watch(self, resource_version: str) -> str:
        params: dict[str, str | int] = {
            "labelSelector": self._selector,
            "watch": 1,
            "allowWatchBookmarks": "true",
            "resourceVersion": resource_version,
            "timeoutSeconds": self._watch_timeout + random.randrange(self._watch_timeout),  # noqa: S311
        }
        async with self._client.stream("GET", self._path, params=params, headers=self._api.authorization()) as stream:
            if stream.status_code != httpx.codes.OK:
                await stream.aread()
                _raise_for_status(stream)
            async for line in stream.aiter_lines():
                if line:
                    resource_version = self._handle_event(orjson.loads(line), resource_version)
        return resource_version

    def _handle_event(self, event: Mapping[str, Any], resource_version: str) -> str:
        kind, item = event["type"], event["object"]
        if kind == "ERROR":
            if item.get("code") == httpx.codes.GONE:
                raise ResourceExpiredError(item.get("message", "resource version expired"))
            raise ApiError(f"watch error {item.get('code')}: {item.get('message')}")
        if kind != "BOOKMARK" and self._slices.apply(kind, item):
            self._publish()
        return item["metadata"].get("resourceVersion") or resource_version

    def _publish(self) -> None:
        urls = self._slices.urls()
        self._log.info("engine replicas discovered", replicas=len(urls))
        self._on_change(urls)


def _raise_for_status(response: httpx.Response) -> None:
    if response.status_code == httpx.codes.OK:
        return
    try:
        message = orjson.loads(response.content).get("message", "")
    except orjson.JSONDecodeError:
        message = response.text[:200]
    error = ResourceExpiredError if response.status_code == httpx.codes.GONE else ApiError
    raise error(f"{response.request.method} {response.request.url.path}: {response.status_code} {message}")
