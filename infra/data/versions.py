"""Versions of the data tier, pinned in one place: the in-cluster images and chart, and the managed engines.

Images are pinned by digest (``repository:tag@sha256:...``). Each digest was read from several independent public
records of that exact tag (no registry is reachable from where this was written); verify with
``crane digest <repository>:<tag>`` before the first ``pulumi up`` and bump tag and digest together.

One PostgreSQL major everywhere (17): dev on CloudNativePG runs the same server major as prod on RDS or Cloud SQL,
so a migration that works in dev works in prod. Redis speaks the same protocol on 7.x everywhere.
"""

from __future__ import annotations

from infra.platform.charts import ChartRef, Image

POSTGRES_MAJOR = 17
#: RDS picks the newest minor of the major and upgrades minors in the maintenance window.
RDS_ENGINE_VERSION = str(POSTGRES_MAJOR)
RDS_PARAMETER_FAMILY = f"postgres{POSTGRES_MAJOR}"
CLOUD_SQL_DATABASE_VERSION = f"POSTGRES_{POSTGRES_MAJOR}"
#: ElastiCache's newest Redis OSS engine; Memorystore's newest Redis version.
ELASTICACHE_ENGINE_VERSION = "7.1"
ELASTICACHE_PARAMETER_FAMILY = "redis7"
MEMORYSTORE_REDIS_VERSION = "REDIS_7_2"

#: CloudNativePG: chart 0.29.0 ships operator 1.30.0 (its appVersion).
CNPG_CHART = ChartRef("cloudnative-pg", "0.29.0", "https://cloudnative-pg.github.io/charts")
CNPG_OPERATOR_IMAGE = Image(
    "ghcr.io/cloudnative-pg/cloudnative-pg",
    "1.30.0",
    "sha256:a2701eb97cdd2a34b1fdb2cb51987f544b706e40bec72ae7146cd8580efefebb",
)
#: The "minimal" operand: PostgreSQL and nothing else (no Barman, no extra extensions), a dated immutable tag.
POSTGRES_IMAGE = Image(
    "ghcr.io/cloudnative-pg/postgresql",
    "17.11-202608170816-minimal-trixie",
    "sha256:445ead3fd811466950a002b682a97c2a4907078b46fae8796b6637a763266a07",
)
#: The official image (Redis 7.4, Alpine): Bitnami's images moved behind a subscription in 2025.
REDIS_IMAGE = Image(
    "docker.io/library/redis",
    "7.4.11-alpine",
    "sha256:ff02b58f971e7d7d156a1267e283fcbbeee91773b6aa36c49dac28ecfe28eadf",
)
