"""EndpointSlice discovery against a real HTTP server speaking the Kubernetes list/watch protocol."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest

from app.router.backoff import Backoff
from app.router.kubernetes import ApiError, ApiServer, EndpointSliceWatch
from tests.app.router.conftest import serve, until
from tests.app.router.fake_kubernetes import FakeKubernetes, endpoint_slice
from tests.app.router.tls import make_tls_files

SERVICE = "chat-model"
URL_1, URL_2, URL_3 = "http://10.0.0.1:8000", "http://10.0.0.2:8000", "http://10.0.0.3:8000"


class Discovered:
    """Collects what the watch reports and lets a test wait for a given replica set."""

    def __init__(self) -> None:
        self.history: list[list[str]] = []
        self._changed = asyncio.Event()

    def __call__(self, urls: list[str]) -> None:
        self.history.append(urls)
        self._changed.set()

    async def until(self, expected: list[str]) -> None:
        async with asyncio.timeout(5):
            while not self.history or self.history[-1] != expected:
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("token-1\n")
    return path


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[FakeKubernetes, str]]:
    fake = FakeKubernetes()
    fake.put(endpoint_slice("chat-model-a", SERVICE, "10.0.0.1"))
    fake.put(endpoint_slice("other-x", "other-model", "10.9.9.9"))
    async with serve(fake.app()) as url:
        yield fake, url
        fake.close_open_watches()


@asynccontextmanager
async def watching(api: ApiServer, discovered: Discovered, **options: object) -> AsyncIterator[None]:
    async with api.create_client() as client:
        watch = EndpointSliceWatch(
            api,
            client,
            namespace="serving",
            service=SERVICE,
            port=8000,
            on_change=discovered,
            backoff=Backoff(base_seconds=0.01, max_seconds=0.05),
            **options,  # type: ignore[arg-type]
        )
        task = asyncio.create_task(watch.run())
        try:
            yield
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task


async def test_lists_then_follows_changes(cluster: tuple[FakeKubernetes, str], token_file: Path) -> None:
    fake, url = cluster
    discovered = Discovered()
    async with watching(ApiServer(url, token_file), discovered):
        await discovered.until([URL_1])
        await until(lambda: fake.open_watches == 1)

        fake.put(endpoint_slice("chat-model-b", SERVICE, "10.0.0.2"))
        await discovered.until([URL_1, URL_2])

        # A pod going away: first marked terminating (dropped at once), then removed from the slice.
        fake.put(endpoint_slice("chat-model-a", SERVICE, "10.0.0.1", ready=False, terminating=True))
        await discovered.until([URL_2])

        fake.delete("chat-model-b")
        await discovered.until([])

        # Another Service's slices never show up.
        fake.put(endpoint_slice("other-y", "other-model", "10.9.9.8"))
        fake.put(endpoint_slice("chat-model-c", SERVICE, "10.0.0.3"))
        await discovered.until([URL_3])
    assert all("10.9.9" not in replica for urls in discovered.history for replica in urls)
    watch_requests = [r for r in fake.requests if r.get("watch")]
    assert watch_requests[0]["allowWatchBookmarks"] == "true"
    assert watch_requests[0]["labelSelector"] == f"kubernetes.io/service-name={SERVICE}"


async def test_rewatches_from_the_last_version_after_a_normal_end(
    cluster: tuple[FakeKubernetes, str], token_file: Path
) -> None:
    fake, url = cluster
    discovered = Discovered()
    async with watching(ApiServer(url, token_file), discovered):
        await until(lambda: fake.open_watches == 1)
        fake.bookmark()
        bookmark_version = str(fake.resource_version)
        fake.close_open_watches()  # after the bookmark in the same stream
        # A change made while the watcher reconnects is delivered from history, not lost.
        fake.put(endpoint_slice("chat-model-b", SERVICE, "10.0.0.2"))
        await discovered.until([URL_1, URL_2])
    lists = [r for r in fake.requests if not r.get("watch")]
    assert len(lists) == 1  # no re-list: the watch resumed from the bookmark's version
    assert [r for r in fake.requests if r.get("watch")][1]["resourceVersion"] == bookmark_version


async def test_relists_when_the_version_is_gone(cluster: tuple[FakeKubernetes, str], token_file: Path) -> None:
    fake, url = cluster
    discovered = Discovered()
    async with watching(ApiServer(url, token_file), discovered):
        await until(lambda: fake.open_watches == 1)
        # While the watch is broken, a slice disappears and the history is compacted.
        fake.close_open_watches()
        fake.delete("chat-model-a")
        fake.put(endpoint_slice("chat-model-b", SERVICE, "10.0.0.2"))
        fake.compact()
        await discovered.until([URL_2])
        await until(lambda: fake.open_watches == 1)

        fake.expire_open_watches()  # a 410 ERROR event in an open watch also forces a re-list
        await until(lambda: len([r for r in fake.requests if not r.get("watch")]) == 3)
    assert discovered.history[-1] == [URL_2]


async def test_paginated_list_and_expired_continue_token(cluster: tuple[FakeKubernetes, str], token_file: Path) -> None:
    fake, url = cluster
    for index in range(2, 8):
        fake.put(endpoint_slice(f"chat-model-{index}", SERVICE, f"10.0.1.{index}"))
    fake.expire_next_continue = True  # the first paginated list breaks half way: start over
    discovered = Discovered()
    async with watching(ApiServer(url, token_file), discovered, page_size=3):
        await until(lambda: len(discovered.history) == 1)
    assert len(discovered.history[0]) == 7
    lists = [r for r in fake.requests if not r.get("watch")]
    assert [("continue" in r) for r in lists] == [False, True, False, True, True]


async def test_keeps_replicas_while_the_api_server_refuses_and_rereads_a_rotated_token(
    cluster: tuple[FakeKubernetes, str], token_file: Path
) -> None:
    fake, url = cluster
    discovered = Discovered()
    async with watching(ApiServer(url, token_file), discovered):
        await discovered.until([URL_1])
        await until(lambda: fake.open_watches == 1)
        fake.token = "token-2"  # the kubelet rotated the projected token; the old one is now refused
        fake.close_open_watches()
        await until(lambda: sum(1 for r in fake.requests if r.get("watch")) >= 3)
        assert discovered.history == [[URL_1]]  # refusals never empty the replica set
        await anyio.Path(token_file).write_text("token-2\n")
        fake.put(endpoint_slice("chat-model-b", SERVICE, "10.0.0.2"))
        await discovered.until([URL_1, URL_2])


async def test_in_cluster_config_speaks_tls_with_the_cluster_ca(tmp_path: Path) -> None:
    service_account = tmp_path / "serviceaccount"
    service_account.mkdir()
    (service_account / "token").write_text("token-1")
    ca_file, cert_file, key_file = make_tls_files(tmp_path)
    (service_account / "ca.crt").write_bytes(ca_file.read_bytes())
    fake = FakeKubernetes()
    fake.put(endpoint_slice("chat-model-a", SERVICE, "10.0.0.1"))
    async with serve(fake.app(), scheme="https", ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as url:
        port = url.rsplit(":", 1)[1]
        api = ApiServer.in_cluster(
            {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}, service_account
        )
        assert api.base_url == url
        discovered = Discovered()
        async with watching(api, discovered):
            await discovered.until([URL_1])
        fake.close_open_watches()

        # Without the cluster CA the connection is refused: no silent fallback to an unverified one.
        other = tmp_path / "other"
        other.mkdir()
        (service_account / "ca.crt").write_bytes(make_tls_files(other)[0].read_bytes())
        async with ApiServer.in_cluster(
            {"KUBERNETES_SERVICE_HOST": "127.0.0.1", "KUBERNETES_SERVICE_PORT": port}, service_account
        ).create_client() as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("/apis/discovery.k8s.io/v1/namespaces/serving/endpointslices")


def test_in_cluster_config_outside_a_pod_is_refused() -> None:
    with pytest.raises(ApiError, match="KUBERNETES_SERVICE_HOST"):
        ApiServer.in_cluster({})


def test_in_cluster_config_brackets_ipv6_hosts(tmp_path: Path) -> None:
    api = ApiServer.in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}, tmp_path)
    assert api.base_url == "https://[fd00::1]:443"
    assert api.ca_file == tmp_path / "ca.crt"
