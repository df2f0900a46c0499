"""The role-provisioning Job: ``provision_roles.py`` run in the app image against whichever Postgres the stack has.

It runs in the data namespace (where the administrator's credentials live) before any migration: the migration
Jobs and the services depend on it in the resource graph. Its name is a hash of everything that changes what it
does (script, roles, image, target, credentials version), so Pulumi replaces it, and the cluster re-runs it,
exactly when one of them changes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.cluster import POOL_LABEL, SYSTEM_POOL
from infra.data import provision_roles
from infra.data.urls import POSTGRES_CA_ENV, SslMode
from infra.k8s.objects import config_map, secret
from infra.k8s.security import restricted_container_security_context, restricted_pod_security_context

NAME = "db-roles"
SCRIPT_KEY = "provision_roles.py"
SCRIPT_DIR = "/opt/helpline/provision"
ROLES_SECRET = "postgres-roles"  # noqa: S105  (a name, not a value)
ROLES_DIR = "/var/run/secrets/helpline/roles"
ADMIN_DIR = "/var/run/secrets/helpline/admin"
CA_DIR = "/etc/helpline/tls/postgres"
#: Covers the script's own wait for a fresh server (5 minutes) plus a few retries.
DEADLINE_SECONDS = 900


def script_text() -> str:
    return Path(provision_roles.__file__).read_text()


def script_digest() -> str:
    return hashlib.sha256(script_text().encode()).hexdigest()[:10]


def script_config_map(namespace: str, labels: Mapping[str, str]) -> dict[str, Any]:
    """The script, named by its content hash and immutable: a changed script is a new ConfigMap and a new Job."""
    return config_map(
        f"{NAME}-script-{script_digest()}", namespace, labels, {SCRIPT_KEY: script_text()}, immutable=True
    )


def roles_secret(namespace: str, labels: Mapping[str, str], passwords: Mapping[str, Any]) -> dict[str, Any]:
    """One key per role (key = role name, value = its password): mounted as one file per role."""
    return secret(ROLES_SECRET, namespace, labels, passwords)


def job_name(*, roles: Sequence[str], image: str, target: str, credentials_version: int, connection_limit: int) -> str:
    """``db-roles-<hash>``: a new name whenever a re-run is needed."""
    fingerprint = json.dumps(
        {
            "script": script_digest(),
            "roles": sorted(roles),
            "image": image,
            "target": target,
            "credentials": credentials_version,
            "limit": connection_limit,
        },
        sort_keys=True,
    )
    return f"{NAME}-{hashlib.sha256(fingerprint.encode()).hexdigest()[:10]}"


def provisioning_job(
    *,
    name: str,
    namespace: str,
    labels: Mapping[str, str],
    image: str,
    host: Any,
    port: int,
    database: str,
    admin_user: str,
    admin_secret: str,
    ssl_mode: SslMode,
    ca_config_map: str | None,
    connection_limit: int,
) -> dict[str, Any]:
    """Passwords as files from Secrets, connection details as libpq variables, nothing secret in the spec."""
    volumes: list[dict[str, Any]] = [
        {"name": "script", "configMap": {"name": f"{NAME}-script-{script_digest()}"}},
        {"name": "admin", "secret": {"secretName": admin_secret, "items": [{"key": "password", "path": "password"}]}},
        {"name": "roles", "secret": {"secretName": ROLES_SECRET}},
        {"name": "tmp", "emptyDir": {"sizeLimit": "16Mi"}},
    ]
    mounts: list[dict[str, Any]] = [
        {"name": "script", "mountPath": SCRIPT_DIR, "readOnly": True},
        {"name": "admin", "mountPath": ADMIN_DIR, "readOnly": True},
        {"name": "roles", "mountPath": ROLES_DIR, "readOnly": True},
        {"name": "tmp", "mountPath": "/tmp"},  # noqa: S108  (a private emptyDir)
    ]
    env: list[dict[str, Any]] = [
        {"name": "PGHOST", "value": host},
        {"name": "PGPORT", "value": str(port)},
        {"name": "PGDATABASE", "value": database},
        {"name": "PGUSER", "value": admin_user},
        {"name": "PGSSLMODE", "value": ssl_mode},
        {"name": "HELPLINE_ADMIN_PASSWORD_FILE", "value": f"{ADMIN_DIR}/password"},
        {"name": "HELPLINE_ROLE_PASSWORDS_DIR", "value": ROLES_DIR},
        {"name": "HELPLINE_ROLE_CONNECTION_LIMIT", "value": str(connection_limit)},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108
    ]
    if ca_config_map is not None:
        volumes.append({"name": "ca", "configMap": {"name": ca_config_map}})
        mounts.append({"name": "ca", "mountPath": CA_DIR, "readOnly": True})
        env.append({"name": POSTGRES_CA_ENV, "value": f"{CA_DIR}/ca.crt"})
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": {
            "backoffLimit": 4,
            "activeDeadlineSeconds": DEADLINE_SECONDS,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": NAME,
                    "automountServiceAccountToken": False,
                    "enableServiceLinks": False,
                    "securityContext": restricted_pod_security_context(),
                    "nodeSelector": {POOL_LABEL: SYSTEM_POOL},
                    "containers": [
                        {
                            "name": NAME,
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["python", f"{SCRIPT_DIR}/{SCRIPT_KEY}"],
                            "env": env,
                            "resources": {
                                "requests": {"cpu": "50m", "memory": "64Mi"},
                                "limits": {"cpu": "500m", "memory": "256Mi"},
                            },
                            "securityContext": restricted_container_security_context(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
