"""Settings refuse placeholder secrets outside development and name the variable to fix."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.settings import (
    DEVELOPMENT_INTERNAL_TOKEN_SECRET,
    SECRETS_DIR_VARIABLE,
    DatabaseSettings,
    ServiceSettings,
    env_var_name,
    placeholder_reason,
)
from tests.app.harness import random_secret


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("", "is empty"),
        ("   ", "is empty"),
        ("change-me", "is a placeholder (contains 'change-me' or similar)"),
        ("please-CHANGEME-before-production-0123456789", "is a placeholder (contains 'change-me' or similar)"),
        ("dev-something-long-enough-to-pass-the-length-rule", "is a development placeholder (starts with 'dev-')"),
        ("short-but-random-Zq8", "is shorter than 32 characters"),
    ],
)
def test_placeholders_are_recognised(value: str, reason: str) -> None:
    assert placeholder_reason(value) == reason


def test_a_real_secret_is_not_a_placeholder() -> None:
    assert placeholder_reason(random_secret()) is None


@pytest.mark.parametrize("environment", ["test", "production"])
def test_outside_development_a_placeholder_secret_stops_the_service(environment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSettings(environment=environment)  # type: ignore[arg-type]  (the default secret is a dev one)

    message = str(caught.value)
    assert f"refusing to start in {environment}" in message
    assert "HELPLINE_INTERNAL_TOKEN_SECRET is a development placeholder" in message


def test_development_runs_with_the_built_in_secret() -> None:
    settings = ServiceSettings()

    assert settings.is_development
    assert settings.internal_token_secret.get_secret_value() == DEVELOPMENT_INTERNAL_TOKEN_SECRET


def test_settings_come_from_prefixed_and_standard_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = random_secret()
    monkeypatch.setenv("HELPLINE_ENVIRONMENT", "production")
    monkeypatch.setenv("HELPLINE_INTERNAL_TOKEN_SECRET", secret)
    monkeypatch.setenv("HELPLINE_PORT", "9000")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")

    settings = ServiceSettings()

    assert settings.environment == "production"
    assert settings.port == 9000
    assert settings.internal_token_secret.get_secret_value() == secret
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318"
    assert settings.trace_service_name == "helpline"
    assert secret not in repr(settings)  # SecretStr: never in logs or tracebacks


def test_variable_names_for_messages() -> None:
    assert env_var_name("internal_token_secret") == "HELPLINE_INTERNAL_TOKEN_SECRET"
    assert env_var_name("otel_exporter_otlp_endpoint") == "OTEL_EXPORTER_OTLP_ENDPOINT"


def mounted_secret(directory: Path, files: dict[str, str]) -> Path:
    """``files`` laid out as the kubelet mounts a Secret: each name a symlink into ``..data``, itself a symlink."""
    version = directory / "..2026_01_01_00_00_00.000000001"
    version.mkdir(parents=True)
    for name, content in files.items():
        (version / name).write_text(content)
        (directory / name).symlink_to(Path("..data") / name)
    (directory / "..data").symlink_to(version.name)
    return directory


def test_settings_come_from_files_named_like_the_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, url = random_secret(), "postgresql+asyncpg://svc:pw@db.example:5432/helpline"
    directory = mounted_secret(
        tmp_path / "secrets",
        {"HELPLINE_INTERNAL_TOKEN_SECRET": secret + "\n", "HELPLINE_DATABASE_URL": url},
    )
    for variable in ("HELPLINE_INTERNAL_TOKEN_SECRET", "HELPLINE_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("HELPLINE_ENVIRONMENT", "production")
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(directory))

    settings = DatabaseSettings()

    assert settings.internal_token_secret.get_secret_value() == secret  # the trailing newline is not the secret's
    assert settings.database_url == url
    assert settings.secrets_dir == directory


def test_an_environment_variable_wins_over_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = random_secret()
    directory = mounted_secret(tmp_path / "secrets", {"HELPLINE_INTERNAL_TOKEN_SECRET": random_secret()})
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(directory))
    monkeypatch.setenv("HELPLINE_INTERNAL_TOKEN_SECRET", from_env)

    assert ServiceSettings().internal_token_secret.get_secret_value() == from_env


def test_without_a_secrets_directory_files_are_not_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mounted_secret(tmp_path / "secrets", {"HELPLINE_INTERNAL_TOKEN_SECRET": random_secret()})
    monkeypatch.delenv(SECRETS_DIR_VARIABLE, raising=False)
    monkeypatch.delenv("HELPLINE_INTERNAL_TOKEN_SECRET", raising=False)

    settings = ServiceSettings()

    assert settings.secrets_dir is None
    assert settings.internal_token_secret.get_secret_value() == DEVELOPMENT_INTERNAL_TOKEN_SECRET


def test_a_secrets_directory_that_is_not_there_stops_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRETS_DIR_VARIABLE, str(tmp_path / "not-mounted"))

    with pytest.raises(ValidationError, match="secrets_dir"):
        ServiceSettings()
