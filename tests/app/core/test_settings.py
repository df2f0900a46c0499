"""Settings refuse placeholder secrets outside development and name the variable to fix."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.core.settings import DEVELOPMENT_INTERNAL_TOKEN_SECRET, ServiceSettings, env_var_name, placeholder_reason
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
