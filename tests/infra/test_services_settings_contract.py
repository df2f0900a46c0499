"""The deployment's environment against the services' own settings classes (``app/<service>/settings.py``).

pydantic-settings ignores variables and secret files it does not know, so a misspelt ``HELPLINE_*`` in a Deployment
would silently run the service on a default. Here every variable the pods get and every file of their mounted secrets
directory must be a setting of that service (or a variable the process's libraries read: ``HOME``, ``PGSSLROOTCERT``),
and the settings must validate in ``production`` with that environment and realistic secret values in files laid out
as the Deployment mounts them, as the pod would start. A service whose settings module does not exist yet is
skipped, by name.
"""

from __future__ import annotations

import importlib
import secrets
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic_settings import BaseSettings

from infra.services import workload
from infra.services.spec import SERVICE_NAMES, ServiceName
from tests.infra.test_services_builders import IMAGE, container, mounted_secrets, sample_specs

#: Variables read by the process's libraries rather than by the settings classes.
LIBRARY_VARIABLES = {
    "HOME": "where Python libraries keep caches (the writable /tmp)",
    "PGSSLROOTCERT": "asyncpg reads the CA to verify the database's certificate from it, as libpq does",
}
SETTINGS_CLASSES: dict[ServiceName, str] = {
    "gateway": "GatewaySettings",
    "auth": "AuthSettings",
    "sessions": "SessionsSettings",
    "chat": "ChatSettings",
}


def settings_class(service: ServiceName) -> type[BaseSettings]:
    try:
        module = importlib.import_module(f"app.{service}.settings")
    except ModuleNotFoundError:
        pytest.skip(f"app/{service}/settings.py does not exist yet: nothing to check the deployment against")
    return getattr(module, SETTINGS_CLASSES[service])


def variables_of(cls: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads (its prefix + field name, or the field's alias)."""
    prefix = str(cls.model_config.get("env_prefix") or "")
    names = set()
    for name, field in cls.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"{prefix}{name}".upper())
    return names


def realistic_secret(variable: str) -> str:
    """What the Secrets hold in a real stack, so the settings' checks run as in the pod."""
    if variable == "HELPLINE_JWT_PRIVATE_KEY":
        return (
            Ed25519PrivateKey.generate()
            .private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
            .decode()
        )
    if variable == "HELPLINE_DATABASE_URL":
        return f"postgresql+asyncpg://svc:{secrets.token_hex(20)}@postgres-rw.helpline-dev-data.svc:5432/helpline?ssl=require"
    if variable == "HELPLINE_REDIS_URL":
        return f"redis://:{secrets.token_hex(20)}@redis.helpline-dev-data.svc:6379/0"
    return secrets.token_hex(32)


def pod_of(service: ServiceName, *, managed: bool = False) -> tuple[dict[str, str], set[str]]:
    """The Deployment's environment (all plain values) and the names of the files in its secrets directory."""
    deployment = workload.deployment(
        sample_specs(managed=managed)[service],
        namespace="helpline-dev-app",
        stack="dev",
        image=IMAGE,
        spread_across_zones=False,
        rollout_annotations={},
    )
    pod: dict[str, Any] = deployment["spec"]["template"]["spec"]
    environment = {item["name"]: item["value"] for item in container(deployment)["env"]}
    return environment, set(mounted_secrets(pod))


@pytest.mark.parametrize("managed", [False, True], ids=["in-cluster", "managed"])
@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_variable_and_secret_file_the_pod_gets_is_a_setting_of_its_service(
    service: ServiceName, managed: bool
) -> None:
    cls = settings_class(service)
    environment, files = pod_of(service, managed=managed)
    unknown = (set(environment) | files) - variables_of(cls) - set(LIBRARY_VARIABLES)
    assert not unknown, f"{service}: {sorted(unknown)} are not settings of {cls.__name__}"


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_the_settings_validate_in_production_with_the_pod_environment_and_secret_files(
    service: ServiceName, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cls = settings_class(service)
    environment, files = pod_of(service)
    for variable in variables_of(cls):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in environment.items():
        monkeypatch.setenv(variable, value)
    for name in files:
        (tmp_path / name).write_text(realistic_secret(name) + "\n")
    monkeypatch.setenv(workload.SECRETS_DIR_VARIABLE, str(tmp_path))  # where the Deployment mounts them
    settings = cls()
    assert settings.environment == "production"  # type: ignore[attr-defined]
    assert settings.port == 8080  # type: ignore[attr-defined]
    assert settings.otel_service_name == service  # type: ignore[attr-defined]
    token = (tmp_path / "HELPLINE_INTERNAL_TOKEN_SECRET").read_text().strip()
    assert settings.internal_token_secret.get_secret_value() == token  # type: ignore[attr-defined]
