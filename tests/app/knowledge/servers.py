"""The knowledge service as a real HTTP server on real Postgres (pgvector), with the simulator as its embedding
engine, for the tests of the services in front of it (chat's grounding, the gateway's full path).

Import the fixtures into a test module (as the gateway's full-path test imports chat's).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from app.enginesim.config import SimConfig
from app.enginesim.server import Simulator
from app.knowledge.app import MIGRATIONS, build_app
from app.knowledge.models import SCHEMA
from app.knowledge.settings import SIMULATED_MIN_SIMILARITY, KnowledgeSettings
from tests.app.harness import PostgresDatabase, RunningServer, migrate, serve_app

EMBEDDING_MODEL = "helpline-embedding"


@pytest.fixture(scope="session")
async def knowledge_database(test_database: PostgresDatabase) -> PostgresDatabase:
    await migrate(test_database, MIGRATIONS, SCHEMA)
    return test_database


@pytest.fixture(scope="session")
def embedding_simulator() -> Simulator:
    """The simulator as an embedding engine (``--runner pooling``)."""
    config = SimConfig(
        model="sentence-transformers/all-MiniLM-L6-v2",
        served_model_names=(EMBEDDING_MODEL,),
        max_model_len=512,
        runner="pooling",
    )
    return Simulator(config)


def knowledge_settings(database_url: str, internal_secret: str, embedding_url: str) -> KnowledgeSettings:
    return KnowledgeSettings(
        database_url=database_url,
        environment="test",
        internal_token_secret=SecretStr(internal_secret),
        embedding_url=embedding_url,
        embedding_model=EMBEDDING_MODEL,
        min_similarity=SIMULATED_MIN_SIMILARITY,  # the simulator's embeddings (the default is the real model's)
        database_pool_size=2,
        database_max_overflow=2,
        log_level="WARNING",
    )


@pytest.fixture
async def embedding_server(embedding_simulator: Simulator) -> AsyncIterator[RunningServer]:
    async with serve_app(embedding_simulator.app) as server:
        yield server


@pytest.fixture
async def knowledge_server(
    knowledge_database: PostgresDatabase, internal_secret: str, embedding_server: RunningServer
) -> AsyncIterator[RunningServer]:
    settings = knowledge_settings(knowledge_database.url, internal_secret, f"{embedding_server.base_url}/v1")
    async with serve_app(build_app(settings)) as server:
        yield server
