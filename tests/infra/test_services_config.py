"""Services config: one replica range per service from flat keys; prod keeps two of everything."""

from __future__ import annotations

import pytest

from infra.services.spec import SERVICE_NAMES, Replicas
from stacks.config import StackConfigError, parse_stack_config
from tests.infra.test_data_config import AWS_DEV, AWS_PROD, issues_of


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
