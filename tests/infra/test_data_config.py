"""Data tier config: where the stores run per environment, and the prod promises (managed, a week of backups)."""

from __future__ import annotations

import pytest

from stacks.config import parse_stack_config
from tests.infra import stack_values
from tests.infra.stack_values import AWS_DEV, issues_of

#: Prod with room for eight GPU nodes.
AWS_PROD = {**stack_values.AWS_PROD, "gpuPoolMaxNodes": "8"}


def test_auto_runs_the_stores_in_the_cluster_in_dev_and_managed_in_prod() -> None:
    dev, prod = parse_stack_config("dev", AWS_DEV), parse_stack_config("prod", AWS_PROD)
    assert dev.data.mode(dev.cluster) == "in-cluster"
    assert prod.data.mode(prod.cluster) == "managed"


def test_a_dev_stack_may_opt_into_managed_stores() -> None:
    config = parse_stack_config("dev", {**AWS_DEV, "dataTier": "managed"})
    assert config.data.mode(config.cluster) == "managed"


def test_prod_refuses_in_cluster_stores_and_short_backups() -> None:
    issues = issues_of({**AWS_PROD, "dataTier": "in-cluster", "backupRetentionDays": "3"}, stack="prod")
    assert "helpline:dataTier = 'in-cluster': prod allows auto or managed" in issues[0]
    assert issues[1] == "helpline:backupRetentionDays = 3: prod needs at least 7"


def test_storage_can_only_grow_and_backups_stay_within_what_rds_keeps() -> None:
    issues = issues_of({**AWS_DEV, "postgresStorageGi": "100", "postgresMaxStorageGi": "50"})
    assert issues == ["helpline:postgresMaxStorageGi = 50: must be >= postgresStorageGi (100)"]
    assert "backupRetentionDays" in issues_of({**AWS_DEV, "backupRetentionDays": "36"})[0]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("awsPostgresInstanceClass", "m7g.large", "RDS instance class"),
        ("awsRedisNodeType", "db.m7g.large", "ElastiCache node type"),
        ("gcpPostgresTier", "n2-standard-4", "Cloud SQL tier"),
        ("dataTier", "cloud", "'auto', 'in-cluster' or 'managed'"),
    ],
)
def test_sizes_are_checked_with_a_message_that_names_the_form(key: str, value: str, expected: str) -> None:
    assert expected in issues_of({**AWS_DEV, key: value})[0]
