"""The data tier in the full renders, per stack and cloud: what the issue promises, property by property.

dev: CloudNativePG and Redis in the cluster on PVCs of the cluster's block class, no managed store.
prod on AWS: RDS Multi-AZ, KMS-encrypted with the stack's key, backups, deletion protection, private subnets, reachable
only from the cluster security group, TLS forced; ElastiCache with TLS, an AUTH token, a replica in another zone.
prod on GCP: Cloud SQL regional, CMEK, backups with point-in-time recovery, private IP only; Memorystore
STANDARD_HA across two zones, AUTH, TLS, CMEK. Everywhere: one role per service, connection details in Secrets only.
"""

from __future__ import annotations

from typing import Any

import pytest

from infra.aws.storage import BLOCK_STORAGE_CLASS as AWS_BLOCK_CLASS
from infra.data.component import REDIS_SECRET, URL_KEY, database_secret_name
from infra.data.provisioning import ROLES_SECRET
from infra.data.redis_policy import MAXMEMORY_POLICY
from infra.gcp.storage import BLOCK_STORAGE_CLASS as GCP_BLOCK_CLASS
from infra.services.catalog import DATABASE_SERVICES
from tests.infra.rendering import Render

MANAGED_TYPES = (
    "aws:rds/instance:Instance",
    "aws:elasticache/replicationGroup:ReplicationGroup",
    "gcp:sql/databaseInstance:DatabaseInstance",
    "gcp:redis/instance:Instance",
)


def ns(render: Render, concern: str) -> str:
    return f"helpline-{render.stack}-{concern}"


def only(render: Render, type_token: str) -> dict[str, Any]:
    (found,) = render.of_type(type_token)
    return found


@pytest.fixture(params=["dev-aws", "dev-gcp"])
def dev(request: pytest.FixtureRequest, renders: dict[str, Render]) -> Render:
    return renders[request.param]


# --- dev: in the cluster ------------------------------------------------------------------------------------------
def test_dev_runs_postgres_and_redis_in_the_cluster_on_the_block_class(dev: Render) -> None:
    block = AWS_BLOCK_CLASS if dev.cloud == "aws" else GCP_BLOCK_CLASS
    data = ns(dev, "data")
    cluster = dev.object("Cluster", "postgres", data)
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    assert cluster["spec"]["storage"]["storageClass"] == block
    (claim,) = dev.object("StatefulSet", "redis", data)["spec"]["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == block
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    release = dev.helm_releases["cloudnative-pg"]
    assert (release["namespace"], release["version"]) == (data, "0.29.0")
    assert release["repositoryOpts"]["repo"] == "https://cloudnative-pg.github.io/charts"
    assert not [r for t in MANAGED_TYPES for r in dev.of_type(t)], "no managed store in dev"


def test_dev_stores_admit_only_the_labelled_app_pods(dev: Render) -> None:
    data, app = ns(dev, "data"), ns(dev, "app")
    for name, port, label in (
        ("postgres", 5432, "helpline.io/postgres-client"),
        ("redis", 6379, "helpline.io/redis-client"),
    ):
        rules = dev.object("NetworkPolicy", name, data)["spec"]["ingress"]
        (client_rule,) = [rule for rule in rules if {"protocol": "TCP", "port": port} in rule["ports"]]
        app_peers = [
            peer["podSelector"]["matchLabels"]
            for peer in client_rule["from"]
            if peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == app
        ]
        assert app_peers == [{label: "true"}]


# --- prod on AWS ----------------------------------------------------------------------------------------------------
def test_prod_aws_rds_is_multi_az_encrypted_backed_up_protected_and_private(renders: dict[str, Render]) -> None:
    render = renders["prod-aws"]
    rds = only(render, "aws:rds/instance:Instance")
    inputs = rds["inputs"]
    cluster_key = only(render, "aws:eks/cluster:Cluster")["inputs"]["encryptionConfig"]["provider"]["keyArn"]
    assert inputs["multiAz"] is True
    assert (inputs["storageEncrypted"], inputs["kmsKeyId"], inputs["performanceInsightsKmsKeyId"]) == (
        True,
        cluster_key,
        cluster_key,
    )
    assert inputs["backupRetentionPeriod"] >= 7
    assert (inputs["deletionProtection"], inputs["skipFinalSnapshot"]) == (True, False)
    assert inputs["publiclyAccessible"] is False
    assert inputs["engine"] == "postgres"
    assert inputs["engineVersion"] == "17"
    assert rds["secretInputs"] == ["password"]
    subnets = only(render, "aws:rds/subnetGroup:SubnetGroup")["inputs"]["subnetIds"]
    private = {r["name"] for r in render.of_type("aws:ec2/subnet:Subnet") if "-private-" in r["name"]}
    assert len(subnets) == 3
    assert all(any(s.startswith(f"{name}-") for name in private) for s in subnets)
    parameters = {
        p["name"]: p["value"] for p in only(render, "aws:rds/parameterGroup:ParameterGroup")["inputs"]["parameters"]
    }
    assert parameters["rds.force_ssl"] == "1"


def test_prod_aws_stores_admit_only_the_cluster_security_group(renders: dict[str, Render]) -> None:
    render = renders["prod-aws"]
    rules = [
        r["inputs"]
        for r in render.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r["name"].startswith("stores-")
    ]
    assert sorted(rule["fromPort"] for rule in rules) == [5432, 6379]
    for rule in rules:
        assert rule["referencedSecurityGroupId"].startswith("sg-")
        assert "cidrIpv4" not in rule
        assert rule["fromPort"] == rule["toPort"]
    egress = render.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert not [r for r in egress if r["name"].startswith("stores-")], "the stores start no connection"


def test_prod_aws_redis_has_tls_an_auth_token_and_a_replica_in_another_zone(renders: dict[str, Render]) -> None:
    render = renders["prod-aws"]
    group = only(render, "aws:elasticache/replicationGroup:ReplicationGroup")
    inputs = group["inputs"]
    assert (inputs["transitEncryptionEnabled"], inputs["transitEncryptionMode"]) == (True, "required")
    assert "authToken" in group["secretInputs"]
    assert (inputs["atRestEncryptionEnabled"], inputs["kmsKeyId"].startswith("arn:aws:kms:")) == (True, True)
    zones = inputs["preferredCacheClusterAzs"]
    assert inputs["numCacheClusters"] == len(zones) == len(set(zones)) == 2
    assert (inputs["automaticFailoverEnabled"], inputs["multiAzEnabled"]) == (True, True)


# --- prod on GCP ----------------------------------------------------------------------------------------------------
def test_prod_gcp_cloud_sql_is_regional_cmek_private_with_point_in_time_recovery(renders: dict[str, Render]) -> None:
    render = renders["prod-gcp"]
    instance = only(render, "gcp:sql/databaseInstance:DatabaseInstance")["inputs"]
    settings = instance["settings"]
    data_key = next(r for r in render.of_type("gcp:container/nodePool:NodePool"))["inputs"]["nodeConfig"][
        "bootDiskKmsKey"
    ]
    assert settings["availabilityType"] == "REGIONAL"
    assert instance["encryptionKeyName"] == data_key
    backups = settings["backupConfiguration"]
    assert (backups["enabled"], backups["pointInTimeRecoveryEnabled"]) == (True, True)
    assert backups["backupRetentionSettings"]["retainedBackups"] >= 7
    ip = settings["ipConfiguration"]
    assert (ip["ipv4Enabled"], ip["sslMode"]) == (False, "ENCRYPTED_ONLY")
    assert ip["privateNetwork"].endswith("/global/networks/helpline-prod-vpc")
    assert (instance["deletionProtection"], settings["deletionProtectionEnabled"]) == (True, True)
    grant = next(
        r
        for r in render.of_type("gcp:kms/cryptoKeyIAMMember:CryptoKeyIAMMember")
        if r["name"] == "stores-postgres-key-user"
    )
    assert grant["inputs"]["cryptoKeyId"] == data_key
    assert grant["inputs"]["member"].endswith("@gcp-sa-cloud-sql.iam.gserviceaccount.com")
    assert only(render, "gcp:sql/user:User")["secretInputs"] == ["password"]


def test_prod_gcp_memorystore_has_auth_tls_cmek_and_a_replica_in_another_zone(renders: dict[str, Render]) -> None:
    render = renders["prod-gcp"]
    inputs = only(render, "gcp:redis/instance:Instance")["inputs"]
    assert inputs["tier"] == "STANDARD_HA"
    assert inputs["alternativeLocationId"] != inputs["locationId"]
    assert (inputs["authEnabled"], inputs["transitEncryptionMode"]) == (True, "SERVER_AUTHENTICATION")
    assert inputs["customerManagedKey"].endswith("/cryptoKeys/data")
    assert (inputs["connectMode"], inputs["authorizedNetwork"]) == (
        "PRIVATE_SERVICE_ACCESS",
        "projects/helpline-prod/global/networks/helpline-prod-vpc",
    )
    # the services trust Memorystore's private CA from a ConfigMap, and the URL names it
    assert render.object("ConfigMap", "redis-ca", ns(render, "app"))["data"]["ca.crt"].startswith("-----BEGIN")


# --- everywhere ------------------------------------------------------------------------------------------------------
def test_each_service_with_a_schema_gets_its_own_role_and_url_secret(render: Render) -> None:
    app, data = ns(render, "app"), ns(render, "data")
    roles = render.object("Secret", ROLES_SECRET, data)
    assert sorted(roles["stringData"]) == sorted(DATABASE_SERVICES)
    for service in DATABASE_SERVICES:
        secret = render.object("Secret", database_secret_name(service), app)
        assert secret["stringData"] == {URL_KEY: "[secret]"}
    assert render.object("Secret", REDIS_SECRET, app)["stringData"] == {URL_KEY: "[secret]"}
    secret_resources = [r for r in render.of_type("kubernetes:core/v1:Secret") if r["name"].startswith(app)]
    assert all(r["secretInputs"] for r in secret_resources), "every Secret's payload is a Pulumi secret"


def test_the_roles_are_provisioned_after_the_server_exists_and_before_any_migration(render: Render) -> None:
    (job,) = [r for r in render.of_type("kubernetes:batch/v1:Job") if "-job-db-roles-" in r["name"]]
    server = {
        "aws": "aws:rds/instance:Instance::stores-postgres-instance",
        "gcp": "gcp:sql/databaseInstance:DatabaseInstance::stores-postgres-instance",
    }
    expected = "kubernetes:postgresql.cnpg.io/v1:Cluster::" if render.stack == "dev" else server[render.cloud]
    assert any(dependency.startswith(expected) for dependency in job["dependsOn"]), job["dependsOn"]
    migrations = [r for r in render.of_type("kubernetes:batch/v1:Job") if "-migrate-" in r["name"]]
    assert len(migrations) == len(DATABASE_SERVICES)
    for migration in migrations:
        assert f"kubernetes:batch/v1:Job::{job['name']}" in migration["dependsOn"]


def test_the_provisioning_job_reads_no_secret_from_its_environment(render: Render) -> None:
    (job,) = [
        obj for obj in render.objects("Job", ns(render, "data")) if obj["metadata"]["name"].startswith("db-roles-")
    ]
    (main,) = job["spec"]["template"]["spec"]["containers"]
    assert not [item for item in main["env"] if "valueFrom" in item]
    env = {item["name"]: item["value"] for item in main["env"]}
    expected_mode = {"dev": "require", "prod-aws": "require", "prod-gcp": "verify-ca"}
    assert env["PGSSLMODE"] == expected_mode.get(render.id, expected_mode.get(render.stack))


def test_redis_never_evicts_security_state_on_any_stack_or_cloud(render: Render) -> None:
    """Key states, login-failure counters and quotas live in Redis: a full Redis must refuse, not forget."""
    assert MAXMEMORY_POLICY == "noeviction"
    if memorystore := render.of_type("gcp:redis/instance:Instance"):
        assert memorystore[0]["inputs"]["redisConfigs"]["maxmemory-policy"] == MAXMEMORY_POLICY
    elif groups := render.of_type("aws:elasticache/parameterGroup:ParameterGroup"):
        assert {"name": "maxmemory-policy", "value": MAXMEMORY_POLICY} in groups[0]["inputs"]["parameters"]
    else:
        config = render.object("ConfigMap", "redis-config", ns(render, "data"))["data"]["redis.conf"]
        assert f"maxmemory-policy {MAXMEMORY_POLICY}" in config.splitlines()
