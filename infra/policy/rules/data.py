"""Data at rest and databases' reach: encrypted databases, caches, file systems, volumes and cluster secrets; no
database reachable from the internet.

Written from the providers' resource schemas (pulumi-aws 7, pulumi-gcp 10, Kubernetes), so the rules hold for the data
tier's RDS/ElastiCache/Cloud SQL/Memorystore and the in-cluster Postgres/Redis alike. Google encrypts Cloud SQL,
Memorystore and persistent disks at rest whatever the inputs say, so on GCP the encryption rule checks the one thing
that can be left off: envelope encryption of the cluster's Secrets.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from infra.policy.kubernetes import CNPG_CLUSTER, pod_spec
from infra.policy.model import Config, Resource, is_unknown, items, lookup, unknown_along

EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def _must_be_true(resource: Resource, field: str, why: str) -> Iterator[str]:
    value = resource.props.get(field)
    if value is not True and not is_unknown(value):
        yield f"{field} is {value!r}: {why}"


def _elasticache_member(resource: Resource) -> Iterator[str]:
    if not resource.props.get("replicationGroupId"):
        yield "a stand-alone cache cluster cannot encrypt at rest: use a replication group with atRestEncryptionEnabled"


def _eks_secrets(resource: Resource) -> Iterator[str]:
    config = resource.props.get("encryptionConfig")
    if unknown_along(config, "resources") or unknown_along(config, "provider", "keyArn"):
        return
    if "secrets" not in items(lookup(config, "resources")) or not lookup(config, "provider", "keyArn"):
        yield "encryptionConfig must envelope-encrypt 'secrets' with a KMS key (provider.keyArn)"


def _gke_secrets(resource: Resource) -> Iterator[str]:
    encryption = resource.props.get("databaseEncryption")
    if unknown_along(encryption, "state") or unknown_along(encryption, "keyName"):
        return
    if lookup(encryption, "state") != "ENCRYPTED" or not lookup(encryption, "keyName"):
        yield "databaseEncryption must be ENCRYPTED with a Cloud KMS keyName (application-layer Secrets encryption)"


def _storage_class(resource: Resource) -> Iterator[str]:
    if resource.props.get("provisioner") in EBS_PROVISIONERS:
        encrypted = lookup(resource.props, "parameters", "encrypted")
        if encrypted != "true" and not unknown_along(resource.props, "parameters", "encrypted"):
            yield f"EBS volumes of this class are not encrypted (parameters.encrypted is {encrypted!r}, not 'true')"


ENCRYPTION_CHECKS: dict[str, Callable[[Resource], Iterator[str]]] = {
    "aws:rds/instance:Instance": lambda r: _must_be_true(r, "storageEncrypted", "RDS storage must be encrypted"),
    "aws:rds/cluster:Cluster": lambda r: _must_be_true(r, "storageEncrypted", "Aurora storage must be encrypted"),
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda r: _must_be_true(
        r, "atRestEncryptionEnabled", "the cache's snapshots and swap must be encrypted"
    ),
    "aws:elasticache/cluster:Cluster": _elasticache_member,
    "aws:efs/fileSystem:FileSystem": lambda r: _must_be_true(r, "encrypted", "the file system must be encrypted"),
    "aws:eks/cluster:Cluster": _eks_secrets,
    "gcp:container/cluster:Cluster": _gke_secrets,
    "kubernetes:storage.k8s.io/v1:StorageClass": _storage_class,
}


def encryption_at_rest(resource: Resource, config: Config) -> Iterator[str]:
    del config
    check = ENCRYPTION_CHECKS.get(resource.type)
    if check is not None:
        yield from check(resource)


def _class_at(value: Any, *path: str) -> Any:
    """The storage class name at ``path``; an unknown sentinel when the preview cannot know it yet."""
    return "[unknown]" if unknown_along(value, *path) else lookup(value, *path)


def _claimed_classes(resource: Resource) -> list[tuple[str, Any]]:
    """(what claims, storage class name or None for the default) for PVCs, StatefulSet templates, CNPG clusters."""
    if resource.type == CNPG_CLUSTER:
        return [
            (f"spec.{part}", _class_at(resource.props, "spec", part, "storageClass"))
            for part in ("storage", "walStorage")
            if isinstance(lookup(resource.props, "spec", part), Mapping)
        ]
    if resource.is_kubernetes and resource.kind == "PersistentVolumeClaim":
        return [("the claim", _class_at(resource.props, "spec", "storageClassName"))]
    if resource.is_kubernetes and resource.kind == "StatefulSet" and pod_spec(resource) is not None:
        return [
            (f"volumeClaimTemplate {lookup(t, 'metadata', 'name')!r}", _class_at(t, "spec", "storageClassName"))
            for t in items(lookup(resource.props, "spec", "volumeClaimTemplates"))
        ]
    return []


def claims_use_declared_storage_classes(
    resources: Sequence[Resource], config: Config
) -> Iterator[tuple[Resource, str]]:
    """Every persistent volume the stack claims comes from a StorageClass the stack declares (and so the encryption
    rule has checked), or from the stack's default class: never from whatever default the cluster happens to have."""
    del config
    classes = {
        str(lookup(r.props, "metadata", "name")): r
        for r in resources
        if r.type == "kubernetes:storage.k8s.io/v1:StorageClass"
    }
    defaults = [
        name
        for name, r in classes.items()
        if lookup(r.props, "metadata", "annotations", DEFAULT_CLASS_ANNOTATION) == "true"
    ]
    for resource in resources:
        for what, class_name in _claimed_classes(resource):
            if is_unknown(class_name):
                continue
            if class_name is None and not defaults:
                yield resource, f"{what} names no StorageClass and the stack declares no default class"
            elif isinstance(class_name, str) and class_name not in classes:
                yield resource, f"{what} uses StorageClass {class_name!r}, which this stack does not declare"


def _public(cidr: Any) -> bool:
    if not isinstance(cidr, str) or is_unknown(cidr):
        return False
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def _covers(from_port: Any, to_port: Any, ports: Sequence[int]) -> list[int]:
    if not isinstance(from_port, int) or not isinstance(to_port, int):
        return []
    if from_port == -1 or to_port == -1:  # all traffic
        return list(ports)
    return [port for port in ports if from_port <= port <= to_port]


def _security_group_ingress(resource: Resource, ports: Sequence[int]) -> Iterator[str]:
    rules: list[Any] = []
    if resource.type == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        props = resource.props
        if _public(props.get("cidrIpv4")) or _public(props.get("cidrIpv6")):
            protocol = props.get("ipProtocol")
            from_port, to_port = (-1, -1) if protocol in ("-1", -1) else (props.get("fromPort"), props.get("toPort"))
            rules = [(from_port, to_port)]
    elif resource.type == "aws:ec2/securityGroupRule:SecurityGroupRule" and resource.props.get("type") == "ingress":
        cidrs = [*items(resource.props.get("cidrBlocks")), *items(resource.props.get("ipv6CidrBlocks"))]
        if any(_public(cidr) for cidr in cidrs):
            rules = [(resource.props.get("fromPort"), resource.props.get("toPort"))]
    elif resource.type == "aws:ec2/securityGroup:SecurityGroup":
        for rule in items(resource.props.get("ingress")):
            cidrs = [*items(lookup(rule, "cidrBlocks")), *items(lookup(rule, "ipv6CidrBlocks"))]
            if any(_public(cidr) for cidr in cidrs):
                rules.append((lookup(rule, "fromPort"), lookup(rule, "toPort")))
    for from_port, to_port in rules:
        exposed = _covers(from_port, to_port, ports)
        if exposed:
            yield f"opens database port(s) {', '.join(map(str, exposed))} to the whole internet"


def _exposing_service(resource: Resource, ports: Sequence[int]) -> Iterator[str]:
    if not (resource.is_kubernetes and resource.kind == "Service"):
        return
    service_type = lookup(resource.props, "spec", "type")
    if service_type not in ("LoadBalancer", "NodePort"):
        return
    for port in items(lookup(resource.props, "spec", "ports")):
        numbers = {lookup(port, "port"), lookup(port, "targetPort")}
        exposed = sorted(p for p in ports if p in numbers)
        if exposed:
            yield f"a {service_type} Service exposes database port {exposed[0]} outside the cluster"


def no_public_database(resource: Resource, config: Config) -> Iterator[str]:
    """Databases and caches answer on private addresses only."""
    ports = [int(port) for port in items(config.get("databasePorts"))]
    props = resource.props
    if resource.type in ("aws:rds/instance:Instance", "aws:rds/clusterInstance:ClusterInstance"):
        if props.get("publiclyAccessible") is True:
            yield "publiclyAccessible is true"
    elif resource.type == "gcp:sql/databaseInstance:DatabaseInstance":
        ip = lookup(props, "settings", "ipConfiguration")
        enabled = lookup(ip, "ipv4Enabled")
        if enabled is not False and not unknown_along(props, "settings", "ipConfiguration", "ipv4Enabled"):
            yield "settings.ipConfiguration.ipv4Enabled must be false (the provider gives Cloud SQL a public IP otherwise)"
        for network in items(lookup(ip, "authorizedNetworks")):
            if _public(lookup(network, "value")):
                yield f"authorized network {lookup(network, 'value')!r} admits the whole internet"
    else:
        yield from _security_group_ingress(resource, ports)
        yield from _exposing_service(resource, ports)
