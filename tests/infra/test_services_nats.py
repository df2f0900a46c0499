"""NATS with JetStream for the lifecycle events: the builders (pure) and what a rendered stack deploys.

The render runs the whole program under Pulumi's mocks; the schema, checkov and Pod Security admission tests read
the same manifests, so the StatefulSet is also validated strictly and admitted under the restricted profile there.
"""

from __future__ import annotations

import pytest

from infra.services import nats
from tests.infra.rendering import Render

APP = "helpline-dev-app"


def test_one_server_has_no_cluster_block_and_three_route_to_each_other() -> None:
    single = nats.server_config(APP, 1)
    assert "cluster {" not in single
    assert "jetstream {" in single
    assert f'store_dir: "{nats.DATA_DIR}"' in single
    assert "include auth.conf" in single, "the token comes from a Secret, never the ConfigMap"
    assert "token" not in single
    clustered = nats.server_config(APP, 3)
    for index in range(3):
        assert f"nats://nats-{index}.nats-cluster.{APP}.svc.cluster.local:6222" in clustered


def test_the_client_url_carries_the_token_encoded() -> None:
    assert nats.client_url(APP, "abc123") == f"nats://abc123@nats.{APP}.svc.cluster.local:4222"
    assert nats.client_url(APP, "a/b@c").startswith("nats://a%2Fb%40c@")
    with pytest.raises(ValueError, match="empty"):
        nats.client_url(APP, "")


def test_the_server_runs_restricted_with_its_token_from_a_secret() -> None:
    server = nats.stateful_set(
        namespace=APP, labels={}, replicas=3, storage_class="block", config_hash="h", spread_across_zones=True
    )
    pod = server["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert "@sha256:" in container["image"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["automountServiceAccountToken"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert all("secretKeyRef" not in str(variable) for variable in container["env"]), "secrets as files only"
    (config,) = [volume for volume in pod["volumes"] if volume["name"] == "config"]
    (_, auth) = config["projected"]["sources"]
    assert auth["secret"] == {"name": "nats-server", "items": [{"key": "auth.conf", "path": "auth.conf"}]}
    assert nats.auth_config("s3cret") == 'authorization {\n  token: "s3cret"\n}\n'
    assert server["spec"]["replicas"] == 3
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert server["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "block"


def test_only_labelled_clients_reach_the_client_port() -> None:
    policy = nats.policy(APP, {})["spec"]
    client_rule, route_rule = policy["ingress"]
    assert client_rule["from"][0]["podSelector"]["matchLabels"] == nats.NATS_CLIENT
    assert client_rule["ports"] == [{"protocol": "TCP", "port": 4222}]
    assert route_rule["from"][0]["podSelector"]["matchLabels"] == nats.NATS_POD
    assert route_rule["ports"] == [{"protocol": "TCP", "port": 6222}]


def test_each_stack_deploys_nats_and_points_sessions_at_it(render: Render) -> None:
    objects = render.manifests
    servers = 3 if render.stack == "prod" else 1
    (server,) = [o for o in objects if o["kind"] == "StatefulSet" and o["metadata"]["name"] == "nats"]
    assert server["metadata"]["namespace"] == f"helpline-{render.stack}-app"
    assert server["spec"]["replicas"] == servers
    (sessions,) = [o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "sessions"]
    labels = sessions["spec"]["template"]["metadata"]["labels"]
    assert labels.items() >= nats.NATS_CLIENT.items()
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {("Secret", "nats-server"), ("Secret", "nats-client"), ("NetworkPolicy", "nats")} <= names
    assert {("Service", "nats"), ("Service", "nats-cluster"), ("ConfigMap", "nats-config")} <= names
