"""Every rule of the pack, with its description, remediation and config schema (the one list CrossGuard gets)."""

from __future__ import annotations

from infra.policy.model import ResourceRule, StackRule
from infra.policy.rules.data import claims_use_declared_storage_classes, encryption_at_rest, no_public_database
from infra.policy.rules.edge import plain_http_only_redirects, tls_on_every_ingress
from infra.policy.rules.namespaces import pod_security_labels
from infra.policy.rules.workloads import (
    gpu_memory_utilization,
    images_pinned_by_digest,
    no_host_namespaces_or_privilege,
    no_trust_remote_code,
    probes_and_limits,
)

#: vLLM's share of GPU memory below which prod GPUs idle capacity (docs/serving.md sizes the KV cache from it).
PROD_MIN_GPU_MEMORY_UTILIZATION = 0.85

RESOURCE_RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "no-host-namespaces-or-privileged",
        "Pods share no host namespace (network, PID, IPC) and run no privileged container.",
        "Remove hostNetwork/hostPID/hostIPC and securityContext.privileged; node agents come from their Helm charts in "
        "the platform namespace.",
        no_host_namespaces_or_privilege,
    ),
    ResourceRule(
        "no-trust-remote-code",
        "No vLLM engine runs with --trust-remote-code (a model repository's Python would run in the pod).",
        "Serve a model vLLM supports natively, pinned by revision; never pass --trust-remote-code.",
        no_trust_remote_code,
    ),
    ResourceRule(
        "probes-and-limits",
        "Every container has CPU and memory limits; every long-running container has liveness and readiness probes.",
        "Set resources.limits.cpu/memory on each container and livenessProbe/readinessProbe on each serving one.",
        probes_and_limits,
    ),
    ResourceRule(
        "images-pinned-by-digest",
        "Every container image is pinned by digest (repository@sha256:...).",
        "Reference images as <repository>[:<tag>]@sha256:<digest>; CI sets helpline:appImage to the pushed digest.",
        images_pinned_by_digest,
    ),
    ResourceRule(
        "gpu-memory-utilization",
        "vLLM engines give the KV cache at least the configured share of GPU memory (--gpu-memory-utilization).",
        "Raise the model's gpuMemoryUtilization in the stack config (prod: at least 0.85).",
        gpu_memory_utilization,
        {
            "minimum": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": PROD_MIN_GPU_MEMORY_UTILIZATION,
                "description": "Lowest --gpu-memory-utilization allowed.",
            }
        },
    ),
    ResourceRule(
        "tls-on-every-ingress",
        "Every Gateway listener is HTTPS/TLS with a certificate (or plain HTTP that only redirects); every Ingress "
        "has TLS for each host.",
        "Terminate TLS on the listener with a certificateRefs entry (cert-manager issues it); keep port 80 for "
        "redirects and ACME challenges only.",
        tls_on_every_ingress,
    ),
    ResourceRule(
        "pod-security-labels",
        "Every namespace carries Pod Security enforce/audit/warn labels; only allowed namespaces enforce 'privileged'.",
        "Create namespaces through infra/platform/namespaces.py, which labels them from infra/platform/pod_security.py.",
        pod_security_labels,
        {
            "privilegedNamespaces": {
                "type": "array",
                "items": {"type": "string"},
                "default": ["*-platform"],
                "description": "Namespace name patterns that may enforce 'privileged' (node agents only).",
            }
        },
    ),
    ResourceRule(
        "encryption-at-rest",
        "Databases, caches, file systems, EBS storage classes and the cluster's Secrets are encrypted at rest.",
        "Set storageEncrypted / atRestEncryptionEnabled / encrypted, EBS parameters.encrypted 'true', and envelope "
        "encryption of Secrets with the cluster's KMS key.",
        encryption_at_rest,
    ),
    ResourceRule(
        "no-public-database",
        "No database or cache is reachable from the internet.",
        "Keep RDS publiclyAccessible false, Cloud SQL on a private IP only (ipv4Enabled false), no 0.0.0.0/0 rule on "
        "a database port, no LoadBalancer/NodePort Service in front of Postgres or Redis.",
        no_public_database,
        {
            "databasePorts": {
                "type": "array",
                "items": {"type": "integer"},
                "default": [5432, 6379],
                "description": "Ports that mean 'a database or cache' (Postgres, Redis).",
            }
        },
    ),
)

STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "plain-http-only-redirects",
        "Routes attached to a plain-HTTP listener only redirect to https.",
        "Attach content routes to the HTTPS listener (sectionName: https); the HTTP listener carries the redirect.",
        plain_http_only_redirects,
    ),
    StackRule(
        "claims-use-declared-storage-classes",
        "Every persistent volume comes from a StorageClass the stack declares (so its encryption is checked).",
        "Name ClusterInterface.block_storage_class (or another class this stack declares) in the claim.",
        claims_use_declared_storage_classes,
    ),
)


def rule_names() -> list[str]:
    return [rule.name for rule in (*RESOURCE_RULES, *STACK_RULES)]
