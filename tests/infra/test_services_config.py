"""Services config: one replica range per service from flat keys; prod keeps two of everything."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

import pytest

from app.chat.settings import ChatSettings
from infra.services.catalog import Models, service_specs
from infra.services.spec import SERVICE_NAMES, Replicas
from stacks.config import StackConfigError, parse_stack_config
from tests.infra.test_data_config import AWS_DEV, AWS_PROD, issues_of
from tests.infra.test_services_builders import sample_inputs


def test_each_service_has_its_own_replica_range() -> None:
    config = parse_stack_config("dev", {**AWS_DEV, "gatewayServiceMaxReplicas": "10", "chatServiceMinReplicas": "3"})
    assert config.services.replicas("gateway") == Replicas(2, 10, 70)
    assert config.services.replicas("chat") == Replicas(3, 6, 70)
    # the serving section's chat *model* keys stay separate
    assert config.serving.model("chat").min_replicas == 1


def test_prod_refuses_a_single_replica_of_any_service() -> None:
    issues = issues_of({**AWS_PROD, "sessionsServiceMinReplicas": "1"}, stack="prod")
    assert issues == ["helpline:sessionsServiceMinReplicas = 1: prod needs at least 2"]


def test_a_range_must_be_a_range() -> None:
    issues = issues_of({**AWS_DEV, "authServiceMinReplicas": "4", "authServiceMaxReplicas": "3"})
    assert issues == ["helpline:authServiceMaxReplicas = 3: must be >= authServiceMinReplicas (4)"]


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_every_service_has_both_keys(service: str) -> None:
    config = parse_stack_config("dev", {**AWS_DEV, f"{service}ServiceMinReplicas": "1"})
    assert config.services.replicas(service).minimum == 1  # type: ignore[arg-type]


def test_the_image_must_be_pinned_by_digest() -> None:
    with pytest.raises(StackConfigError, match="pinned by digest"):
        parse_stack_config("dev", {**AWS_DEV, "appImage": "ghcr.io/helpline-dev/helpline:latest"})


def test_the_fallback_model_is_the_classifier_unless_turned_off() -> None:
    assert parse_stack_config("dev", AWS_DEV).services.fallback_model == "classifier"
    assert parse_stack_config("dev", {**AWS_DEV, "fallbackModel": "none"}).services.fallback_model == "none"
    with pytest.raises(StackConfigError, match="fallbackModel") as refused:
        parse_stack_config("dev", {**AWS_DEV, "fallbackModel": "gpt-4"})
    assert "classifier" in str(refused.value)  # the allowed values are named


def test_without_a_fallback_model_chat_gets_none() -> None:
    """``fallbackModel: none`` renders an empty fallback: chat's ladder goes from the chat model to everything down."""
    models = Models("http://router/v1", "chat", "classifier", 8192, 64, fallback_model=None)
    env = _chat_env(models)
    assert (env["HELPLINE_FALLBACK_MODEL"], env["HELPLINE_DEGRADATION_LADDER"]) == ("", "true")
    assert ChatSettings(fallback_model=env["HELPLINE_FALLBACK_MODEL"]).fallback_model is None


def _chat_env(models: Models) -> Mapping[str, str]:
    inputs = replace(sample_inputs(), models=models)
    return service_specs(inputs)["chat"].env
