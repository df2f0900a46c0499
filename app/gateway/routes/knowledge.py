"""The tenant's knowledge base (admin user token, or an API key with the admin scope), owned by knowledge.

Not in the readiness checks on purpose: a knowledge outage must not take the chat API out of service (chat
then answers "cannot answer, want a person?").
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request, Response

from app.contracts.access import ADMIN
from app.contracts.api import MAX_PAGE_SIZE
from app.contracts.knowledge import (
    Article,
    ArticleCreate,
    ArticlePage,
    ArticleStatus,
    ArticleVersion,
    ArticleWrite,
    ContentGap,
    CuratedAnswer,
    CuratedAnswerWrite,
    ImportResult,
    KnowledgeSettings,
)
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import forward, internal_path
from app.gateway.openapi import problem_responses

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"])
Admin = Annotated[Caller, Depends(authenticated(ADMIN))]
ARCHIVE_BODY = {
    "requestBody": {
        "required": True,
        "description": "A zip or tar.gz archive (also accepted as application/zip or application/gzip).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


def _path(tail: str) -> str:
    return internal_path(f"/v1/knowledge{tail}")


@router.post("/articles", status_code=201, response_model=Article, responses=problem_responses(422, 503))
async def create_article(body: ArticleCreate, _admin: Admin, gateway: GatewayDep) -> Response:
    """Create an article (a draft unless `status` is `published`; published articles are indexed at once)."""
    return await forward(gateway.knowledge, "POST", _path("/articles"), body=body)


@router.get("/articles", response_model=ArticlePage, responses=problem_responses(422))
async def list_articles(
    _admin: Admin,
    gateway: GatewayDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
    cursor: Annotated[UUID | None, Query(description="next_cursor of the previous page.")] = None,
    status: ArticleStatus | None = None,
    q: Annotated[str | None, Query(max_length=200, description="Title or body contains this.")] = None,
) -> Response:
    params = {"limit": limit, "cursor": cursor, "status": status, "q": q}
    return await forward(gateway.knowledge, "GET", _path("/articles"), params=params)


@router.get("/articles/{article_id}", response_model=Article, responses=problem_responses(404))
async def get_article(article_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "GET", _path(f"/articles/{article_id}"))


@router.put("/articles/{article_id}", response_model=Article, responses=problem_responses(404, 422, 503))
async def update_article(article_id: UUID, body: ArticleWrite, _admin: Admin, gateway: GatewayDep) -> Response:
    """Replace the content; a new version, and only this article is re-indexed."""
    return await forward(gateway.knowledge, "PUT", _path(f"/articles/{article_id}"), body=body)


@router.post("/articles/{article_id}/publish", response_model=Article, responses=problem_responses(404, 503))
async def publish_article(article_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "POST", _path(f"/articles/{article_id}/publish"))


@router.post("/articles/{article_id}/unpublish", response_model=Article, responses=problem_responses(404))
async def unpublish_article(article_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    """Back to draft: its passages leave retrieval at once."""
    return await forward(gateway.knowledge, "POST", _path(f"/articles/{article_id}/unpublish"))


@router.delete("/articles/{article_id}", status_code=204, response_class=Response, responses=problem_responses(404))
async def delete_article(article_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "DELETE", _path(f"/articles/{article_id}"))


@router.get("/articles/{article_id}/versions", response_model=list[ArticleVersion], responses=problem_responses(404))
async def list_versions(article_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "GET", _path(f"/articles/{article_id}/versions"))


@router.post(
    "/imports",
    response_model=ImportResult,
    responses=problem_responses(400, 413, 415, 503),
    openapi_extra=ARCHIVE_BODY,
)
async def import_archive(
    request: Request,
    _admin: Admin,
    gateway: GatewayDep,
    publish: Annotated[bool, Query(description="Publish what is imported (front matter `status` wins).")] = True,
) -> Response:
    """A zip or tar.gz of Markdown/HTML files. Idempotent by path: a file updates the article it created."""
    content_type = request.headers.get("content-type", "application/octet-stream")
    return await forward(
        gateway.knowledge,
        "POST",
        _path("/imports"),
        params={"publish": str(publish).lower()},
        headers={"Content-Type": content_type},
        content=await request.body(),
    )


@router.post("/curated-answers", status_code=201, response_model=CuratedAnswer, responses=problem_responses(409, 422))
async def create_curated_answer(body: CuratedAnswerWrite, _admin: Admin, gateway: GatewayDep) -> Response:
    """Pin the answer to a question: served as is, without the model, and cited as a curated answer."""
    return await forward(gateway.knowledge, "POST", _path("/curated-answers"), body=body)


@router.get("/curated-answers", response_model=list[CuratedAnswer], responses=problem_responses())
async def list_curated_answers(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "GET", _path("/curated-answers"))


@router.delete(
    "/curated-answers/{curated_id}", status_code=204, response_class=Response, responses=problem_responses(404)
)
async def delete_curated_answer(curated_id: UUID, _admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "DELETE", _path(f"/curated-answers/{curated_id}"))


@router.get("/settings", response_model=KnowledgeSettings, responses=problem_responses())
async def get_settings(_admin: Admin, gateway: GatewayDep) -> Response:
    return await forward(gateway.knowledge, "GET", _path("/settings"))


@router.put("/settings", response_model=KnowledgeSettings, responses=problem_responses(422))
async def put_settings(body: KnowledgeSettings, _admin: Admin, gateway: GatewayDep) -> Response:
    """`min_similarity`: below it the assistant says it cannot answer and offers a person."""
    return await forward(gateway.knowledge, "PUT", _path("/settings"), body=body)


@router.get("/gaps", response_model=list[ContentGap], responses=problem_responses())
async def list_gaps(_admin: Admin, gateway: GatewayDep) -> Response:
    """Questions the assistant could not answer from the knowledge base, most asked first."""
    return await forward(gateway.knowledge, "GET", _path("/gaps"))
