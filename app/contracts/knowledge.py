"""The knowledge API's schemas: articles (admin), retrieval (chat), curated answers and content gaps.

Public paths are ``/v1/knowledge/...`` on the gateway; the knowledge service serves the same paths under
``/internal``. Retrieval is internal only: chat calls it with the customer's identity token.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import Field, StringConstraints

from app.contracts.api import MAX_MESSAGE_CHARS, Citation, Model

__all__ = ["Citation"]  # re-exported: knowledge's callers cite with it

MAX_ARTICLE_CHARS = 200_000
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pt")

Title = Annotated[str, StringConstraints(min_length=1, max_length=300, strip_whitespace=True)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.-]+$")]
Language = Annotated[str, StringConstraints(pattern=r"^(en|de|fr|es|it|nl|pt)$")]
Url = Annotated[str, StringConstraints(max_length=2000, pattern=r"^https?://\S+$")]
SourcePath = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[^\x00]+$")]


class ArticleStatus(StrEnum):
    DRAFT = "draft"  # stored and versioned, never retrieved
    PUBLISHED = "published"  # indexed and retrievable


class BodyFormat(StrEnum):
    MARKDOWN = "markdown"
    HTML = "html"
    TEXT = "text"


class ArticleWrite(Model):
    title: Title
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_ARTICLE_CHARS)]
    format: BodyFormat = BodyFormat.MARKDOWN
    url: Url | None = Field(default=None, description="Where customers can read the article (cited in answers).")
    language: Language = "en"
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    source_path: SourcePath | None = Field(
        default=None, description="The file it came from; bulk imports update the article with the same path."
    )


class ArticleCreate(ArticleWrite):
    status: ArticleStatus = ArticleStatus.DRAFT


class Article(Model):
    id: UUID
    title: str
    body: str
    format: BodyFormat
    url: str | None
    language: str
    tags: list[str]
    source_path: str | None
    status: ArticleStatus
    version: int = Field(description="Starts at 1; every change of content or status adds one.")
    passages: int = Field(description="Indexed passages (0 unless published).")
    created_at: datetime
    updated_at: datetime


class ArticleVersion(Model):
    version: int
    title: str
    body: str
    status: ArticleStatus
    created_at: datetime


class ArticlePage(Model):
    items: list[Article]
    next_cursor: str | None = None


class ImportedArticle(Model):
    source_path: str
    article_id: UUID
    outcome: Literal["created", "updated", "unchanged"]


class ImportResult(Model):
    created: int
    updated: int
    unchanged: int
    articles: list[ImportedArticle]


# --- retrieval ------------------------------------------------------------------------------------------------
class RetrievalMethod(StrEnum):
    KEYWORD = "keyword"
    VECTOR = "vector"
    HYBRID = "hybrid"


class RetrieveRequest(Model):
    query: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
    language: Language | None = Field(default=None, description="Only articles in this language; null: any.")
    limit: int = Field(default=5, ge=1, le=50)
    token_budget: int = Field(default=1500, ge=50, le=20000, description="Passages beyond this total are dropped.")
    method: RetrievalMethod = RetrievalMethod.HYBRID


class RetrievedPassage(Model):
    passage_id: UUID
    article_id: UUID
    title: str
    url: str | None
    heading_path: list[str]
    text: str
    score: float = Field(description="The fused (or single-method) ranking score; higher is better.")
    similarity: float | None = Field(description="Cosine similarity of the passage to the query, when computed.")


class CuratedMatch(Model):
    id: UUID
    question: str
    answer: str


class Retrieval(Model):
    passages: list[RetrievedPassage]
    answerable: bool = Field(description="Whether the best passage clears the tenant's confidence threshold.")
    best_similarity: float | None
    threshold: float
    curated: CuratedMatch | None = Field(default=None, description="A pinned answer for this question, if any.")


# --- curated answers, settings, content gaps ---------------------------------------------------------------------
class CuratedAnswerWrite(Model):
    question: Annotated[str, StringConstraints(min_length=3, max_length=500, strip_whitespace=True)] = Field(
        description="The question it answers; matched against customers' messages after normalisation."
    )
    answer: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
    match: Literal["exact", "contains"] = Field(
        default="exact",
        description="exact: the whole message is the question (case, spacing and punctuation ignored); "
        "contains: the question occurs inside the message.",
    )


class CuratedAnswer(CuratedAnswerWrite):
    id: UUID
    created_at: datetime


class KnowledgeSettings(Model):
    min_similarity: float = Field(
        ge=0.0, le=1.0, description="Below this best-passage similarity the assistant says it does not know."
    )


class ContentGap(Model):
    question: str
    asked: int
    last_asked_at: datetime


class UnansweredQuestion(Model):
    question: Annotated[str, StringConstraints(min_length=1, max_length=MAX_MESSAGE_CHARS)]
    conversation_id: UUID | None = Field(
        default=None, description="Where it was asked: an erasure of that end user removes the ask."
    )
