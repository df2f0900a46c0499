"""A small real HTTP server that speaks the Kubernetes API's EndpointSlice list/watch protocol.

Enough of the API server's behaviour to test discovery for real, over HTTP: bearer-token auth, label-selector
filtering, paginated lists (``limit``/``continue``), watches from a resourceVersion with bookmarks and a
server-side ``timeoutSeconds``, ``410 Gone`` as an ERROR event for a compacted version (what the real server
sends on a watch) and as a status for an expired ``continue`` token.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SERVICE_NAME_LABEL = "kubernetes.io/service-name"


def endpoint(address: str, *, ready: bool = True, terminating: bool = False) -> dict[str, Any]:
    return {"addresses": [address], "conditions": {"ready": ready, "serving": ready, "terminating": terminating}}


def endpoint_slice(
    name: str, service: str, *endpoints: str | dict[str, Any], ready: bool = True, terminating: bool = False
) -> dict[str, Any]:
    """A slice of ``service``; plain addresses get the ``ready``/``terminating`` conditions given."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {"name": name, "namespace": "serving", "labels": {SERVICE_NAME_LABEL: service}},
        "addressType": "IPv4",
        "endpoints": [
            item if isinstance(item, dict) else endpoint(item, ready=ready, terminating=terminating)
            for item in endpoints
        ],
        "ports": [{"name": "http", "port": 8000, "protocol": "TCP"}],
    }


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass
class FakeKubernetes:
    token: str = "token-1"
    resource_version: int = 100
    compacted_below: int = 0
    slices: dict[str, dict] = field(default_factory=dict)
    history: list[tuple[int, str, dict]] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)
    expire_next_continue: bool = False
    _watchers: list[asyncio.Queue[dict | None]] = field(default_factory=list)

    # --- test controls ----------------------------------------------------------------------------------------
    def put(self, item: dict) -> None:
        """Create or update a slice (ADDED or MODIFIED to every open watch)."""
        name = item["metadata"]["name"]
        kind = "MODIFIED" if name in self.slices else "ADDED"
        self._commit(kind, copy.deepcopy(item))

    def delete(self, name: str) -> None:
        self._commit("DELETED", self.slices[name])

    def bookmark(self) -> None:
        """Advance the version without a change (as the real server does for idle watches)."""
        self.resource_version += 1
        self._send(
            {
                "type": "BOOKMARK",
                "object": {"kind": "EndpointSlice", "metadata": {"resourceVersion": str(self.resource_version)}},
            }
        )

    def compact(self) -> None:
        """Forget history: a watch from any version older than the current one gets 410 Gone."""
        self.compacted_below = self.resource_version
        self.history.clear()

    def expire_open_watches(self) -> None:
        """Send 410 to open watches (etcd compaction while watching)."""
        self._send({"type": "ERROR", "object": status(410, "Expired", "too old resource version")})

    def close_open_watches(self) -> None:
        """End open watches normally (server-side timeout or API server restart)."""
        for queue in self._watchers:
            queue.put_nowait(None)

    @property
    def open_watches(self) -> int:
        return len(self._watchers)

    def _commit(self, kind: str, item: dict) -> None:
        self.resource_version += 1
        item["metadata"]["resourceVersion"] = str(self.resource_version)
        if kind == "DELETED":
            del self.slices[item["metadata"]["name"]]
        else:
            self.slices[item["metadata"]["name"]] = item
        self.history.append((self.resource_version, kind, item))
        self._send({"type": kind, "object": item})

    def _send(self, event: dict) -> None:
        for queue in self._watchers:
            queue.put_nowait(event)

    # --- the HTTP API -----------------------------------------------------------------------------------------
    def app(self) -> Starlette:
        return Starlette(
            routes=[Route("/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices", self._endpoint)]
        )

    async def _endpoint(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.requests.append(params)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse(status(401, "Unauthorized", "Unauthorized"), status_code=401)
        selector = params.get("labelSelector", "")
        if params.get("watch") in ("1", "true"):
            return self._watch(selector, int(params["resourceVersion"]), float(params.get("timeoutSeconds", 60)))
        return self._list(selector, int(params.get("limit", 0)), params.get("continue"))

    def _matches(self, item: dict, selector: str) -> bool:
        key, _, value = selector.partition("=")
        return not selector or item["metadata"]["labels"].get(key) == value

    def _list(self, selector: str, limit: int, continue_token: str | None) -> Response:
        items = sorted(
            (s for s in self.slices.values() if self._matches(s, selector)), key=lambda s: s["metadata"]["name"]
        )
        start = 0
        if continue_token:
            version, _, offset = continue_token.partition(":")
            if int(version) < self.compacted_below or self.expire_next_continue:
                self.expire_next_continue = False
                return JSONResponse(status(410, "Expired", "continue token expired"), status_code=410)
            start = int(offset)
        page = items[start : start + limit] if limit else items[start:]
        metadata: dict[str, str] = {"resourceVersion": str(self.resource_version)}
        if limit and start + limit < len(items):
            metadata["continue"] = f"{self.resource_version}:{start + limit}"
        body = {"kind": "EndpointSliceList", "apiVersion": "discovery.k8s.io/v1", "metadata": metadata, "items": page}
        return Response(orjson.dumps(body), media_type="application/json")

    def _watch(self, selector: str, since: int, timeout: float) -> Response:
        queue: asyncio.Queue[dict | None] = asyncio.Queue()
        if since < self.compacted_below:
            queue.put_nowait({"type": "ERROR", "object": status(410, "Expired", "too old resource version")})
            queue.put_nowait(None)
        else:
            for version, kind, item in self.history:
                if version > since:
                    queue.put_nowait({"type": kind, "object": item})

        self._watchers.append(queue)  # now, not when the body starts: no change may fall between the two

        async def events() -> AsyncIterator[bytes]:
            try:
                async with asyncio.timeout(timeout):
                    while (event := await queue.get()) is not None:
                        if event["type"] in ("ERROR", "BOOKMARK") or self._matches(event["object"], selector):
                            yield orjson.dumps(event) + b"\n"
            except TimeoutError:
                return
            finally:
                self._watchers.remove(queue)

        return StreamingResponse(events(), media_type="application/json")
