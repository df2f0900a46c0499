"""The data tier's objects and URLs as built, checked without Pulumi: schemas (CloudNativePG's CRD included),
Redis's configuration and probes, the provisioning Job, the data namespace's policies, and URL round trips."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from redis.asyncio.connection import parse_url
from sqlalchemy.engine import make_url

from infra.data import cnpg, provisioning, redis
from infra.data.endpoints import NetworkLocation, pem_bundle
from infra.data.network import POSTGRES_CLIENT, REDIS_CLIENT, postgres_policies, provisioning_policy, redis_policy
from infra.data.urls import postgres_url, redis_url
from infra.data.zones import replica_zones
from tests.infra.schemas import validate_object

DATA, APP = "helpline-dev-data", "helpline-dev-app"
LABELS = {"app.kubernetes.io/part-of": "helpline"}
IMAGE = "ghcr.io/helpline-dev/helpline@sha256:" + "a" * 64


def in_cluster_objects() -> list[dict[str, Any]]:
    return [
        cnpg.postgres_cluster(namespace=DATA, labels=LABELS, storage_class="gp3", storage_gi=20),
        cnpg.pod_monitor(DATA, LABELS),
        cnpg.admin_secret(DATA, LABELS, "x"),
        redis.config_map(DATA, LABELS),
        redis.auth_secret(DATA, LABELS, "x", "requirepass x\n"),
        redis.stateful_set(
            namespace=DATA,
            labels={**LABELS, "app.kubernetes.io/name": "redis"},
            storage_class="gp3",
            storage_gi=2,
            config_hash="h",
        ),
        redis.service(DATA, LABELS),
        *postgres_policies(DATA, APP, ["10.40.0.0/16"], LABELS),
        redis_policy(DATA, APP, LABELS),
    ]


def provisioning_objects(ca: str | None) -> list[dict[str, Any]]:
    return [
        provisioning.script_config_map(DATA, LABELS),
        provisioning.roles_secret(DATA, LABELS, {"auth": "x"}),
        provisioning_policy(DATA, NetworkLocation(5432, cidrs=["10.78.0.0/20"]), LABELS),
        provisioning.provisioning_job(
            name="db-roles-0123456789",
            namespace=DATA,
            labels={**LABELS, "app.kubernetes.io/name": provisioning.NAME},
            image=IMAGE,
            host="10.78.0.3",
            port=5432,
            database="helpline",
            admin_user="helpline_admin",
            admin_secret=cnpg.ADMIN_SECRET,
            ssl_mode="verify-ca" if ca else "require",
            ca_config_map=ca,
            connection_limit=100,
        ),
    ]


def test_every_object_passes_strict_schema_validation() -> None:
    for obj in [*in_cluster_objects(), *provisioning_objects(None), *provisioning_objects("postgres-ca")]:
        validate_object(obj, "1.34")


def test_postgres_runs_one_instance_on_the_block_class_with_a_non_superuser_administrator() -> None:
    spec = cnpg.postgres_cluster(namespace=DATA, labels=LABELS, storage_class="gp3", storage_gi=20)["spec"]
    assert spec["storage"] == {"storageClass": "gp3", "size": "20Gi", "resizeInUseVolumes": True}
    assert spec["enableSuperuserAccess"] is False
    assert "@sha256:" in spec["imageName"]
    (admin,) = spec["managed"]["roles"]
    assert (admin["name"], admin["createrole"], admin.get("superuser", False)) == (cnpg.ADMIN_ROLE, True, False)
    assert spec["bootstrap"]["initdb"]["owner"] == cnpg.ADMIN_ROLE
    assert "hostnossl all all 0.0.0.0/0 reject" in spec["postgresql"]["pg_hba"], "TLS for every client"
    assert spec["inheritedMetadata"]["labels"]["helpline.io/kube-api"] == "true"


def test_the_operator_watches_only_the_data_namespace_from_a_pinned_image() -> None:
    values = cnpg.operator_values(DATA)
    assert values["config"]["clusterWide"] is False
    assert values["image"]["tag"].startswith("1.30.0@sha256:")
    assert values["podLabels"] == {"helpline.io/kube-api": "true"}


def test_redis_keeps_its_password_out_of_argv_and_the_pod_spec() -> None:
    stateful_set = redis.stateful_set(namespace=DATA, labels=LABELS, storage_class="gp3", storage_gi=2, config_hash="h")
    pod = stateful_set["spec"]["template"]["spec"]
    (server,) = pod["containers"]
    assert server["command"] == ["redis-server", "/etc/redis/redis.conf"]
    assert "env" not in server
    assert "include /etc/redis/auth/auth.conf" in redis.redis_config()
    assert "appendonly yes" in redis.redis_config()
    assert "REDISCLI_AUTH=" in server["readinessProbe"]["exec"]["command"][2]
    assert server["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] >= 10000
    (claim,) = stateful_set["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "gp3"
    assert stateful_set["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"] == "Retain"


@pytest.mark.parametrize("password", ["has space", 'has"quote', "has#hash", ""])
def test_redis_refuses_a_password_its_config_file_would_misread(password: str) -> None:
    with pytest.raises(ValueError, match="Redis password"):
        redis.requirepass_line(password)


def test_the_provisioning_job_reads_passwords_from_files_and_is_renamed_by_what_it_does() -> None:
    job = provisioning_objects("postgres-ca")[-1]
    (main,) = job["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in main["env"]}
    assert not any("valueFrom" in item for item in main["env"]), "no secret in the environment"
    assert env["PGSSLMODE"] == "verify-ca"
    assert env["PGSSLROOTCERT"] == "/etc/helpline/tls/postgres/ca.crt"
    assert main["command"] == ["python", "/opt/helpline/provision/provision_roles.py"]
    base = {
        "roles": ["auth", "chat"],
        "image": IMAGE,
        "target": "managed:x",
        "credentials_version": 1,
        "connection_limit": 100,
    }
    name = provisioning.job_name(**base)  # type: ignore[arg-type]
    assert provisioning.job_name(**{**base, "roles": ["chat", "auth"]}) == name  # type: ignore[arg-type]
    for change in ({"credentials_version": 2}, {"target": "in-cluster:x"}, {"image": IMAGE[:-1] + "b"}):
        assert provisioning.job_name(**{**base, **change}) != name  # type: ignore[arg-type]


def test_only_labelled_app_pods_reach_the_stores() -> None:
    postgres, operator = postgres_policies(DATA, APP, ["10.40.0.0/16"], LABELS)
    sources = postgres["spec"]["ingress"][0]["from"]
    app_sources = [s for s in sources if s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == APP]
    assert [s["podSelector"]["matchLabels"] for s in app_sources] == [POSTGRES_CLIENT]
    assert postgres["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 5432}]
    (rule,) = redis_policy(DATA, APP, LABELS)["spec"]["ingress"]
    assert [s["podSelector"]["matchLabels"] for s in rule["from"]] == [REDIS_CLIENT]
    assert operator["spec"]["ingress"][0]["from"] == [{"ipBlock": {"cidr": "10.40.0.0/16"}}]


def test_a_network_location_is_pods_or_addresses_never_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        NetworkLocation(5432, namespace=DATA, cidrs=["10.0.0.0/8"])
    with pytest.raises(ValueError, match="not both"):
        NetworkLocation(5432)


PASSWORDS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=64)


@given(password=PASSWORDS)
def test_postgres_urls_carry_any_printable_password_intact(password: str) -> None:
    url = make_url(
        postgres_url(
            user="auth", password=password, host="db.internal", port=5432, database="helpline", ssl_mode="require"
        )
    )
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql+asyncpg",
        "auth",
        password,
        "db.internal",
        5432,
        "helpline",
    )
    assert url.query == {"ssl": "require"}


@given(password=PASSWORDS)
def test_redis_urls_carry_any_printable_password_intact(password: str) -> None:
    parsed = parse_url(redis_url(password=password, host="10.0.0.4", port=6378, tls=True, ca_file="/etc/ca.crt"))
    assert parsed["password"] == password
    assert (parsed["host"], parsed["port"], parsed["db"]) == ("10.0.0.4", 6378, 0)
    assert parsed["ssl_ca_certs"] == "/etc/ca.crt"
    assert parsed["ssl_check_hostname"] is False
    assert parsed["connection_class"].__name__ == "SSLConnection"


def test_plain_redis_has_no_tls_and_a_ca_needs_tls() -> None:
    assert redis_url(password="p", host="redis", port=6379, tls=False) == "redis://:p@redis:6379/0"
    assert redis_url(password="p", host="h", port=6379, tls=True) == "rediss://:p@h:6379/0"
    with pytest.raises(ValueError, match="TLS"):
        redis_url(password="p", host="h", port=6379, tls=False, ca_file="/ca")
    assert quote("a/b", safe="") in postgres_url(
        user="u", password="a/b", host="h", port=1, database="d", ssl_mode="disable"
    )


def test_every_listed_ca_is_trusted_so_a_ca_rotation_breaks_no_client() -> None:
    old, new = (
        "-----BEGIN CERTIFICATE-----\nold\n-----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----\nnew\n-----END CERTIFICATE-----\n",
    )
    assert pem_bundle([{"cert": old}, {"cert": new, "commonName": "x"}]) == f"{old}\n{new}"
    with pytest.raises(ValueError, match="no CA"):
        pem_bundle([{"cert": ""}])


def test_a_redis_replica_goes_to_another_zone_than_its_primary() -> None:
    zones = ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert replica_zones(zones, highly_available=True) == ["us-east-1a", "us-east-1b"]
    assert replica_zones(zones, highly_available=False) == ["us-east-1a"]
    with pytest.raises(ValueError, match="at least two zones"):
        replica_zones(["us-east-1a"], highly_available=True)
    with pytest.raises(ValueError, match="at least two zones"):
        replica_zones(["us-east-1a", "us-east-1a"], highly_available=True)
    with pytest.raises(ValueError, match="a zone for its primary"):
        replica_zones([], highly_available=False)
