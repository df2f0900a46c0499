"""Answers grounded in the tenant's knowledge, through real chat, sessions, knowledge, router and simulators:
the answer states what the article states and cites it, a question the knowledge does not cover gets "cannot
answer, want a person?" (counted, listed as a gap), a curated answer is served without the model, and another
tenant's articles are never cited."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from app.chat.grounding import NO_ANSWER_TEXT
from app.core.metrics import REGISTRY
from tests.app.chat.conftest import Desk
from tests.app.harness import RunningServer
from tests.app.knowledge.servers import embedding_server, embedding_simulator, knowledge_database, knowledge_server

__all__ = ["embedding_server", "embedding_simulator", "knowledge_database", "knowledge_server"]

RETURNS = """# Returns and refunds

## Return window

You can return any unused item within 30 days of delivery. Start a return from the Orders page.

## When the refund arrives

Refunds reach your original payment method within 5 business days of the parcel arriving at our warehouse.
"""


@pytest.fixture
def chat_options(knowledge_server: RunningServer) -> dict[str, Any]:
    return {"knowledge_url": knowledge_server.base_url}


async def _publish(desk: Desk, knowledge: RunningServer, tenant_id: Any, **article: Any) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=knowledge.base_url) as client:
        response = await client.post(
            "/internal/v1/knowledge/articles",
            json={**article, "status": "published"},
            headers=desk.admin_headers(tenant_id),
        )
    assert response.status_code == 201, response.text
    return response.json()


def _counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("helpline_knowledge_answers_total", {"outcome": outcome}) or 0.0


async def test_an_answer_states_what_the_article_says_and_cites_it(desk: Desk, knowledge_server: RunningServer) -> None:
    customer = desk.customer()
    article = await _publish(
        desk,
        knowledge_server,
        customer.tenant_id,
        title="Returns and refunds",
        body=RETURNS,
        url="https://help.example/returns",
    )
    before = _counted("grounded")
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "How many days do I have to return an item?")
    assert turn.status == 200
    assert "30 days" in turn.text
    done = turn.named("done")[0]["message"]
    assert done["no_answer"] is False
    assert done["sources"] == [
        {
            "kind": "article",
            "article_id": article["id"],
            "curated_answer_id": None,
            "title": "Returns and refunds",
            "url": "https://help.example/returns",
            "passage": "Returns and refunds > Return window",
        }
    ]
    stored = (await customer.messages(conversation))[-1]
    assert stored["content"] == turn.text
    assert stored["sources"] == done["sources"]
    assert _counted("grounded") == before + 1


async def test_a_question_the_knowledge_does_not_cover_gets_i_dont_know_and_a_gap(
    desk: Desk, knowledge_server: RunningServer
) -> None:
    customer = desk.customer()
    await _publish(desk, knowledge_server, customer.tenant_id, title="Returns and refunds", body=RETURNS)
    before = _counted("no_answer")
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "What is the boiling point of mercury?")
    assert turn.text == NO_ANSWER_TEXT
    done = turn.named("done")[0]["message"]
    assert done["no_answer"] is True
    assert done["sources"] == []
    assert _counted("no_answer") == before + 1
    async with httpx.AsyncClient(base_url=knowledge_server.base_url) as client:
        gaps = await client.get("/internal/v1/knowledge/gaps", headers=desk.admin_headers(customer.tenant_id))
    assert [gap["question"] for gap in gaps.json()] == ["What is the boiling point of mercury?"]


async def test_a_curated_answer_is_served_as_pinned(desk: Desk, knowledge_server: RunningServer) -> None:
    customer = desk.customer()
    await _publish(desk, knowledge_server, customer.tenant_id, title="Returns and refunds", body=RETURNS)
    async with httpx.AsyncClient(base_url=knowledge_server.base_url) as client:
        pinned = await client.post(
            "/internal/v1/knowledge/curated-answers",
            json={"question": "Do you ship to Mars?", "answer": "Not yet, but we are working on it."},
            headers=desk.admin_headers(customer.tenant_id),
        )
    conversation = await customer.conversation()
    turn = await customer.send(conversation, "do you ship to mars")
    assert turn.text == "Not yet, but we are working on it."
    done = turn.named("done")[0]["message"]
    assert done["sources"][0]["kind"] == "curated"
    assert done["sources"][0]["curated_answer_id"] == pinned.json()["id"]
    assert done["usage"] is None  # no model call


async def test_another_tenants_articles_are_never_cited(desk: Desk, knowledge_server: RunningServer) -> None:
    owner, stranger = desk.customer(), desk.customer()
    await _publish(desk, knowledge_server, owner.tenant_id, title="Returns and refunds", body=RETURNS)
    conversation = await stranger.conversation()
    turn = await stranger.send(conversation, "How many days do I have to return an item?")
    assert "30 days" not in turn.text
    assert turn.named("done")[0]["message"]["sources"] == []  # no knowledge base: the profile alone answers
