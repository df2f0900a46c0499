"""No endpoint lets one tenant see or touch another's knowledge: ids of others are 404, lists and retrieval
show only the caller's own, and customers cannot use the admin endpoints."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import httpx
import pytest

from tests.app.knowledge.conftest import Caller, Callers

Ids = dict[str, str]
Call = Callable[[Caller, Ids], Awaitable[httpx.Response]]
ARTICLE = {"title": "Refunds", "body": "# Refunds\n\nRefunds take 5 business days to reach your card."}

BY_ID: dict[str, Call] = {
    "get": lambda c, ids: c.get(f"/articles/{ids['article']}"),
    "update": lambda c, ids: c.put(f"/articles/{ids['article']}", {**ARTICLE, "body": "hijacked"}),
    "publish": lambda c, ids: c.post(f"/articles/{ids['article']}/publish"),
    "unpublish": lambda c, ids: c.post(f"/articles/{ids['article']}/unpublish"),
    "delete": lambda c, ids: c.delete(f"/articles/{ids['article']}"),
    "versions": lambda c, ids: c.get(f"/articles/{ids['article']}/versions"),
    "delete-curated": lambda c, ids: c.delete(f"/curated-answers/{ids['curated']}"),
}


async def owned(owner: Caller) -> Ids:
    article = await owner.article(**ARTICLE, status="published")
    curated = await owner.post("/curated-answers", {"question": "Do you ship to Mars?", "answer": "No."})
    return {"article": article["id"], "curated": curated.json()["id"]}


@pytest.mark.parametrize("endpoint", BY_ID)
async def test_another_tenant_gets_404_and_changes_nothing(callers: Callers, tenant: UUID, endpoint: str) -> None:
    owner = callers.admin(tenant)
    ids = await owned(owner)
    response = await BY_ID[endpoint](callers.admin(uuid4()), ids)
    assert response.status_code == 404, response.text
    article = (await owner.get(f"/articles/{ids['article']}")).json()
    assert article["version"] == 1
    assert article["status"] == "published"
    assert article["body"] == ARTICLE["body"]
    assert len((await owner.get("/curated-answers")).json()) == 1


async def test_lists_retrieval_settings_and_gaps_show_only_the_own_tenant(callers: Callers, tenant: UUID) -> None:
    owner = callers.admin(tenant)
    await owned(owner)
    await callers.customer(tenant).post("/gaps", {"question": "Do you sell gift cards?"})
    await owner.put("/settings", {"min_similarity": 0.9})
    stranger = callers.admin(uuid4())
    assert (await stranger.get("/articles")).json()["items"] == []
    assert (await stranger.get("/curated-answers")).json() == []
    assert (await stranger.get("/gaps")).json() == []
    assert (await stranger.get("/settings")).json()["min_similarity"] != 0.9
    found = await callers.customer(uuid4()).retrieve("Do you ship to Mars? How long do refunds take?")
    assert found["passages"] == []
    assert found["curated"] is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/articles"),
        ("POST", "/articles"),
        ("POST", "/imports"),
        ("GET", "/curated-answers"),
        ("POST", "/curated-answers"),
        ("GET", "/gaps"),
        ("PUT", "/settings"),
    ],
)
async def test_customers_cannot_administer(callers: Callers, tenant: UUID, method: str, path: str) -> None:
    customer = callers.customer(tenant)
    response = await customer.http.request(
        method, f"/internal/v1/knowledge{path}", json=ARTICLE, headers=customer.headers
    )
    assert response.status_code == 403, response.text


async def test_no_identity_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/internal/v1/knowledge/retrieve", json={"query": "refunds"})
    assert response.status_code == 401
