"""Retrieval with a real embedding model: all-MiniLM-L6-v2 served by the session's vLLM (``--runner pooling``),
the knowledge service on Postgres with pgvector. A customer who words a question unlike the article (no shared
keyword) still gets the right article, and the shipped threshold (calibrated on this model by
``make eval-retrieval``) answers it and refuses a question the help centre does not cover. Both backends: pgvector's
HNSW index and SQLite's brute-force cosine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr

from app.core.migrations import upgrade_to_head
from app.knowledge.app import MIGRATIONS, build_app
from app.knowledge.models import SCHEMA
from app.knowledge.settings import DEFAULT_MIN_SIMILARITY
from tests.app.harness import IdentityFactory, PostgresDatabase, rolled_back
from tests.app.knowledge.conftest import Callers
from tests.app.knowledge.servers import knowledge_settings
from tests.support.vllm_fixtures import RealVllm

HELP_CENTRE = {
    "Refunds": "# Refunds\n\n## Timing\n\nWe issue the refund within 5 working days after your return reaches our "
    "warehouse. Card refunds take another 3 to 5 working days to show on your statement.",
    "Shipping": "# Shipping\n\n## Delivery times\n\nStandard delivery takes 3 to 5 working days within the country.",
    "Passwords": "# Account\n\n## Resetting your password\n\nChoose 'Forgot password' on the sign-in page and "
    "follow the link we email you.",
}
#: Shares no word (stemmed or not) with the Refunds article: only meaning connects them.
PARAPHRASE = "When do I get my money back?"


@pytest.fixture(params=["postgres", "sqlite"])
async def real_callers(
    request: pytest.FixtureRequest,
    internal_secret: str,
    identities: IdentityFactory,
    real_embedding_vllm: RealVllm,
    tmp_path: Path,
) -> AsyncIterator[Callers]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'knowledge.db'}"
        await asyncio.to_thread(upgrade_to_head, url, MIGRATIONS, SCHEMA)
    else:
        database: PostgresDatabase = request.getfixturevalue("knowledge_database")
        url = database.url
    settings = knowledge_settings(url, internal_secret, real_embedding_vllm.v1_url)
    settings = settings.model_copy(
        update={
            "embedding_model": real_embedding_vllm.model,
            "embedding_api_key": SecretStr(real_embedding_vllm.api_key) if real_embedding_vllm.api_key else None,
            "embedding_timeout_seconds": 60.0,
            "min_similarity": DEFAULT_MIN_SIMILARITY,  # the production default, calibrated on this model
        }
    )
    app = build_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://knowledge") as http:
        if request.param == "sqlite":
            yield Callers(http, identities)
            await app.state.database.dispose()
        else:
            async with rolled_back(app.state.database):
                yield Callers(http, identities)


async def test_a_paraphrase_finds_the_article_keywords_cannot(real_callers: Callers) -> None:
    tenant = uuid4()
    admin = real_callers.admin(tenant)
    ids = {}
    for title, body in HELP_CENTRE.items():
        ids[title] = (await admin.article(title=title, body=body, status="published"))["id"]
    customer = real_callers.customer(tenant)

    keyword = await customer.retrieve(PARAPHRASE, method="keyword")
    vector = await customer.retrieve(PARAPHRASE, method="vector")
    hybrid = await customer.retrieve(PARAPHRASE, method="hybrid")

    assert ids["Refunds"] not in [p["article_id"] for p in keyword["passages"]]
    assert vector["passages"][0]["article_id"] == ids["Refunds"]
    assert hybrid["passages"][0]["article_id"] == ids["Refunds"]
    assert hybrid["answerable"] is True, hybrid["best_similarity"]

    off_topic = await customer.retrieve("What is the boiling point of mercury?")
    assert off_topic["answerable"] is False, off_topic["best_similarity"]
    assert off_topic["best_similarity"] < hybrid["best_similarity"]
