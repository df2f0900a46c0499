"""Deterministic outputs for mocked resources.

The cloud computes some outputs (ARNs, endpoints, generated passwords); the program uses them to build
kubeconfigs, IAM trust policies and Kubernetes Secrets. Here each type that the program reads an output of
gets a plausible, stable value derived from the resource's name, so renders diff cleanly between commits.
Generated secret values are returned separately so tests can prove none of them leaks into a manifest.

Add a fabricator to ``FABRICATORS`` when a component starts reading a computed output of a new type.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from typing import Any

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
GCP_PROJECT = "helpline-offline"

Inputs = dict[str, Any]
Fabricated = tuple[dict[str, Any], list[str]]  # extra outputs, secret values among them


def digest(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def mock_secret(kind: str, name: str) -> str:
    """A fabricated secret value: recognisable (tests grep for it), unique per resource."""
    return f"mock-{kind}-{digest(kind, name)}"


def _aws_arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{resource}"


def _random_password(inputs: Inputs, name: str) -> Fabricated:
    value = mock_secret("password", name)[: int(inputs.get("length", 32))]
    return {"result": value, "bcryptHash": f"$2a$10${digest(value, length=53)}"}, [value]


def _random_id(inputs: Inputs, name: str) -> Fabricated:
    hex_value = digest("id", name, length=2 * int(inputs.get("byteLength", 8)))
    return {"hex": hex_value, "b64Url": base64.urlsafe_b64encode(bytes.fromhex(hex_value)).decode()}, []


def _tls_private_key(inputs: Inputs, name: str) -> Fabricated:
    del inputs
    pem = f"-----BEGIN PRIVATE KEY-----\n{mock_secret('tls-key', name)}\n-----END PRIVATE KEY-----\n"
    public = f"-----BEGIN PUBLIC KEY-----\n{digest('pub', name, length=44)}\n-----END PUBLIC KEY-----\n"
    return {"privateKeyPem": pem, "privateKeyPemPkcs8": pem, "publicKeyPem": public}, [pem]


def _eks_cluster(inputs: Inputs, name: str) -> Fabricated:
    cluster_name = inputs.get("name", name)
    issuer = f"https://oidc.eks.{REGION}.amazonaws.com/id/{digest('oidc', name, length=32).upper()}"
    return {
        "arn": _aws_arn("eks", f"cluster/{cluster_name}"),
        "endpoint": f"https://{digest('eks', name, length=32).upper()}.gr7.{REGION}.eks.amazonaws.com",
        "certificateAuthority": {"data": base64.b64encode(f"mock-ca-{name}".encode()).decode()},
        "identities": [{"oidcs": [{"issuer": issuer}]}],
        "vpcConfig": {
            **(inputs.get("vpcConfig") or {}),
            "clusterSecurityGroupId": f"sg-{digest('cluster-sg', name, length=17)}",
            "vpcId": f"vpc-{digest('vpc', name, length=17)}",
        },
        "clusterId": digest("cluster-id", name),
        "platformVersion": "eks.1",
        "status": "ACTIVE",
    }, []


def _gke_cluster(inputs: Inputs, name: str) -> Fabricated:
    """Endpoint, CA and DNS endpoint merged into the echoed inputs (the program reads them for the kubeconfig)."""
    cluster_name = inputs.get("name", name)
    location = inputs.get("location", "x")
    endpoints = dict(inputs.get("controlPlaneEndpointsConfig") or {})
    dns = {**(endpoints.get("dnsEndpointConfig") or {}), "endpoint": f"gke-{digest('dns', name)}.{location}.gke.goog"}
    return {
        "endpoint": f"10.{int(digest('ip', name, length=2), 16) % 250}.0.2",
        "masterAuth": {
            **(inputs.get("masterAuth") or {}),
            "clusterCaCertificate": base64.b64encode(f"mock-ca-{name}".encode()).decode(),
        },
        "controlPlaneEndpointsConfig": {**endpoints, "dnsEndpointConfig": dns},
        "selfLink": f"https://container.googleapis.com/v1/projects/{GCP_PROJECT}/locations/{location}/clusters/{cluster_name}",
    }, []


def _gcs_bucket(inputs: Inputs, name: str) -> Fabricated:
    bucket = inputs.get("name") or name
    return {"url": f"gs://{bucket}", "selfLink": f"https://www.googleapis.com/storage/v1/b/{bucket}"}, []


def _eks_node_group(inputs: Inputs, name: str) -> Fabricated:
    """The node group's Auto Scaling group, named the way EKS names it (the program tags it for the autoscaler)."""
    group = (
        inputs.get("nodeGroupName") or f"{inputs.get('nodeGroupNamePrefix', '')}{digest('ng-name', name, length=26)}"
    )
    asg = f"eks-{group}-{digest('asg', name, length=8)}-{digest('asg-uuid', name, length=4)}"
    return {
        "arn": _aws_arn(
            "eks", f"nodegroup/{inputs.get('clusterName', 'cluster')}/{group}/{digest('ng', name, length=8)}"
        ),
        "resources": [{"autoscalingGroups": [{"name": asg}], "remoteAccessSecurityGroupId": ""}],
        "status": "ACTIVE",
    }, []


def _launch_template(inputs: Inputs, name: str) -> Fabricated:
    del inputs
    return {
        "latestVersion": 1,
        "defaultVersion": 1,
        "arn": _aws_arn("ec2", f"launch-template/lt-{digest('lt', name, length=17)}"),
    }, []


def _kms_key(inputs: Inputs, name: str) -> Fabricated:
    del inputs
    key_id = "-".join(digest("kms", name, length=32)[i:j] for i, j in ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32)))
    return {"keyId": key_id, "arn": _aws_arn("kms", f"key/{key_id}")}, []


def _s3_bucket(inputs: Inputs, name: str) -> Fabricated:
    """A prefix-named bucket gets the generated suffix S3 names need to be globally unique."""
    bucket = inputs.get("bucket") or f"{inputs.get('bucketPrefix', name)}{digest('bucket', name, length=26)}"
    return {
        "bucket": bucket,
        "arn": f"arn:aws:s3:::{bucket}",
        "bucketRegionalDomainName": f"{bucket}.s3.{REGION}.amazonaws.com",
    }, []


def _mock_certificate(name: str) -> str:
    body = base64.b64encode(f"mock-ca-certificate-{name}".encode()).decode()
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def _private_ip(kind: str, name: str) -> str:
    return f"10.{int(digest(kind, 'net', name, length=2), 16) % 250}.{int(digest(kind, name, length=2), 16)}.3"


def _rds_instance(inputs: Inputs, name: str) -> Fabricated:
    identifier = inputs.get("identifier") or name
    address = f"{identifier}.{digest('rds', name, length=12)}.{REGION}.rds.amazonaws.com"
    port = inputs.get("port") or 5432
    return {"address": address, "endpoint": f"{address}:{port}", "port": port, "hostedZoneId": "Z2R2ITUGPM61AM"}, []


def _elasticache_replication_group(inputs: Inputs, name: str) -> Fabricated:
    group = inputs.get("replicationGroupId") or name
    suffix = f"{group}.{digest('elasticache', name, length=6)}.use1.cache.amazonaws.com"
    return {"primaryEndpointAddress": f"master.{suffix}", "readerEndpointAddress": f"replica.{suffix}"}, []


def _cloud_sql_instance(inputs: Inputs, name: str) -> Fabricated:
    instance = inputs.get("name") or name
    project, region = inputs.get("project", GCP_PROJECT), inputs.get("region", "x")
    certificate = {"cert": _mock_certificate(name), "commonName": "Google Cloud SQL Server CA"}
    return {
        "privateIpAddress": _private_ip("sql", name),
        "connectionName": f"{project}:{region}:{instance}",
        "serverCaCerts": [certificate],
        "selfLink": f"https://sqladmin.googleapis.com/sql/v1beta4/projects/{project}/instances/{instance}",
    }, []


def _memorystore_instance(inputs: Inputs, name: str) -> Fabricated:
    auth = mock_secret("redis-auth", name) if inputs.get("authEnabled") else ""
    tls = inputs.get("transitEncryptionMode") == "SERVER_AUTHENTICATION"
    return {
        "host": _private_ip("redis", name),
        "port": 6378 if tls else 6379,
        "authString": auth,
        "serverCaCerts": [{"cert": _mock_certificate(name)}] if tls else [],
    }, [auth] if auth else []


def _aws_generic(service: str, kind: str) -> Callable[[Inputs, str], Fabricated]:
    def fabricate(inputs: Inputs, name: str) -> Fabricated:
        resource_name = inputs.get("name") or name
        return {"arn": _aws_arn(service, f"{kind}/{resource_name}")}, []

    return fabricate


def _gcp_service_account(inputs: Inputs, name: str) -> Fabricated:
    account = inputs.get("accountId", name)
    email = f"{account}@{inputs.get('project', GCP_PROJECT)}.iam.gserviceaccount.com"
    return {
        "email": email,
        "member": f"serviceAccount:{email}",
        "name": f"projects/-/serviceAccounts/{email}",
    }, []


def _gcp_self_link(kind: str) -> Callable[[Inputs, str], Fabricated]:
    """``kind`` may name ``{region}``; project and region come from the inputs when the program sets them."""

    def fabricate(inputs: Inputs, name: str) -> Fabricated:
        resource_name = inputs.get("name") or name
        project = inputs.get("project", GCP_PROJECT)
        path = kind.format(region=inputs.get("region", "x"))
        link = f"https://www.googleapis.com/compute/v1/projects/{project}/{path}/{resource_name}"
        return {"selfLink": link}, []

    return fabricate


FABRICATORS: dict[str, Callable[[Inputs, str], Fabricated]] = {
    "random:index/randomPassword:RandomPassword": _random_password,
    "random:index/randomId:RandomId": _random_id,
    "tls:index/privateKey:PrivateKey": _tls_private_key,
    "aws:eks/cluster:Cluster": _eks_cluster,
    "aws:iam/role:Role": _aws_generic("iam", "role"),
    "aws:iam/policy:Policy": _aws_generic("iam", "policy"),
    "aws:kms/key:Key": _kms_key,
    "aws:eks/nodeGroup:NodeGroup": _eks_node_group,
    "aws:ec2/launchTemplate:LaunchTemplate": _launch_template,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _elasticache_replication_group,
    "gcp:sql/databaseInstance:DatabaseInstance": _cloud_sql_instance,
    "gcp:redis/instance:Instance": _memorystore_instance,
    "aws:s3/bucketV2:BucketV2": _aws_generic("s3", "bucket"),
    "aws:s3/bucket:Bucket": _s3_bucket,
    "aws:efs/fileSystem:FileSystem": _aws_generic("elasticfilesystem", "file-system"),
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": _aws_generic("iam", "oidc-provider"),
    "gcp:container/cluster:Cluster": _gke_cluster,
    "gcp:storage/bucket:Bucket": _gcs_bucket,
    "gcp:serviceaccount/account:Account": _gcp_service_account,
    "gcp:compute/network:Network": _gcp_self_link("global/networks"),
    "gcp:compute/subnetwork:Subnetwork": _gcp_self_link("regions/{region}/subnetworks"),
}


def fabricate_outputs(type_token: str, name: str, inputs: Inputs, stack: str) -> Fabricated:
    """Inputs echoed back (as the engine does) plus fabricated computed outputs for known types."""
    del stack
    outputs = dict(inputs)
    if type_token.startswith("aws:") and "arn" not in outputs:
        outputs["arn"] = _aws_arn(type_token.split(":")[1].split("/", maxsplit=1)[0], f"{name}")
    fabricator = FABRICATORS.get(type_token)
    secrets: list[str] = []
    if fabricator is not None:
        extra, secrets = fabricator(inputs, name)
        outputs.update(extra)
    outputs.setdefault("name", inputs.get("name", name))
    return outputs, secrets
