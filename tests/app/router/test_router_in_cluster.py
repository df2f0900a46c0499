"""The router as deployed: replicas from a (fake, TLS) Kubernetes API, readiness on sync, and removal at once.

Two engine replicas listen on the same port on two loopback addresses (127.0.0.1 and 127.0.0.2), as pods of
one Deployment do on their pod IPs; the EndpointSlice lists the addresses and the router adds the port.
"""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from app.router.app import create_router_app
from app.router.rendezvous import rank
from app.router.settings import KubernetesBackends, KubernetesService, RouterSettings
from tests.app.router.conftest import serve, until
from tests.app.router.fake_engine import FakeReplica, free_port
from tests.app.router.fake_kubernetes import FakeKubernetes, endpoint, endpoint_slice
from tests.app.router.tls import make_tls_files

SERVICE = "chat-model"


async def test_router_follows_the_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service_account = tmp_path / "serviceaccount"
    service_account.mkdir()
    ca_file, cert_file, key_file = make_tls_files(tmp_path)
    await anyio.Path(service_account / "ca.crt").write_bytes(ca_file.read_bytes())
    await anyio.Path(service_account / "token").write_text("not-yet-bound")

    engine_port = free_port()
    first, second = FakeReplica("pod-1"), FakeReplica("pod-2")
    fake = FakeKubernetes(token="router-token")
    fake.put(endpoint_slice("chat-model-abc", SERVICE, "127.0.0.1", "127.0.0.2"))

    async with (
        serve(first.app(), host="127.0.0.1", port=engine_port),
        serve(second.app(), host="127.0.0.2", port=engine_port),
        serve(fake.app(), scheme="https", ssl_certfile=str(cert_file), ssl_keyfile=str(key_file)) as api_url,
    ):
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", api_url.rsplit(":", 1)[1])
        settings = RouterSettings(
            backends={
                "chat": KubernetesBackends(
                    kubernetes=KubernetesService(namespace="serving", service=SERVICE, port=engine_port)
                )
            },
            kubernetes_service_account_dir=service_account,
            health_check_interval_seconds=60.0,
        )
        app = create_router_app(settings)
        async with serve(app) as router_url, httpx.AsyncClient(base_url=router_url, timeout=10) as client:
            # The API refuses the token: discovery has not synced, so the router is not ready.
            await until(lambda: len(fake.requests) >= 1)
            not_ready = await client.get("/readyz")
            assert not_ready.status_code == 503
            assert not_ready.json()["checks"] == {"discovery": "failed: DiscoveryNotSyncedError"}

            await anyio.Path(service_account / "token").write_text("router-token")
            await until(lambda: fake.open_watches == 1)
            assert (await client.get("/readyz")).status_code == 200

            urls = [f"http://127.0.0.1:{engine_port}", f"http://127.0.0.2:{engine_port}"]
            names = {urls[0]: "pod-1", urls[1]: "pod-2"}
            sessions = [f"conv-{i}" for i in range(12)]
            for session in sessions:
                response = await client.post(
                    "/v1/chat/completions", json={"model": "chat"}, headers={"X-Session-Id": session}
                )
                assert response.json()["replica"] == names[rank(session, urls)[0]]

            # pod-1 starts terminating: the control plane marks it not ready; it gets nothing from then on.
            fake.put(
                endpoint_slice(
                    "chat-model-abc", SERVICE, endpoint("127.0.0.1", ready=False, terminating=True), "127.0.0.2"
                )
            )
            pool = app.state.registry.pools["chat"]
            await until(lambda: [backend.url for backend in pool.backends()] == [urls[1]])
            served_before = len(first.requests)
            for session in sessions:
                response = await client.post(
                    "/v1/chat/completions", json={"model": "chat"}, headers={"X-Session-Id": session}
                )
                assert response.json()["replica"] == "pod-2"
            assert len(first.requests) == served_before
        fake.close_open_watches()
