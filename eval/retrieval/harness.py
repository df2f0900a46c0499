"""The retrieval evaluation: the demo help centre imported into a throwaway knowledge database, every labelled
question asked by each method through the service's own ``Retriever``, scored at the article level.

An answer is "found at rank r" when the r-th returned passage belongs to the expected article (a question is
answered by an article; which of its passages ranks first is the chunker's business). Questions without an
article are the negatives of the "I don't know" threshold: what matters for them is the best similarity only.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
from pydantic import SecretStr
from sqlalchemy import select

from app.contracts.knowledge import RetrievalMethod, RetrieveRequest
from app.core.migrations import upgrade_to_head
from app.knowledge.app import MIGRATIONS, build_components, open_database
from app.knowledge.embeddings import EmbeddingClient
from app.knowledge.importer import files_of_folder, import_files
from app.knowledge.models import SCHEMA, Article
from app.knowledge.settings import KnowledgeSettings
from eval.metrics import mean, reciprocal_rank

HERE = Path(__file__).parent
QUESTIONS = HERE / "questions.jsonl"
HELP_CENTRE = Path(__file__).resolve().parents[2] / "app" / "knowledge" / "demo_help_centre"
TENANT = UUID("00000000-0000-4000-8000-00000000e7a1")
#: Passages returned per question: enough for recall@5 and a meaningful MRR (ranks past 10 count as misses).
DEPTH = 10
KS = (1, 3, 5)


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    language: str
    article: str | None


@dataclass
class Outcome:
    """One question under one method: the rank of its article (None: not in the top DEPTH) and best similarity."""

    question: Question
    rank: int | None
    best_similarity: float | None


@dataclass
class Engine:
    """Where embeddings come from: an OpenAI-compatible URL, or an in-process ASGI app (the simulator)."""

    url: str
    model: str
    api_key: str | None = None
    asgi_app: Any = None
    label: str = field(default="")


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    return [Question(**json.loads(line)) for line in path.read_text().splitlines() if line.strip()]


def _client(settings: KnowledgeSettings, engine: Engine) -> EmbeddingClient:
    if engine.asgi_app is None:
        return EmbeddingClient(settings)
    transport = httpx.ASGITransport(app=engine.asgi_app)
    return EmbeddingClient(settings, http_client=httpx.AsyncClient(transport=transport, base_url="http://engine"))


async def _run(settings: KnowledgeSettings, engine: Engine, questions: Sequence[Question]) -> dict[str, list[Outcome]]:
    embeddings = _client(settings, engine)
    database = open_database(settings)
    knowledge = build_components(settings, embeddings)
    try:
        async with database.transaction() as session:
            await import_files(session, knowledge.articles, TENANT, files_of_folder(HELP_CENTRE), publish=True)
        async with database.transaction() as session:
            rows = (await session.execute(select(Article.id, Article.source_path))).all()
            paths = {row.id: row.source_path for row in rows}
            outcomes: dict[str, list[Outcome]] = {}
            for method in RetrievalMethod:
                outcomes[method.value] = []
                for question in questions:
                    request = RetrieveRequest(
                        query=question.question,
                        language=question.language,
                        limit=DEPTH,
                        token_budget=20000,
                        method=method,
                    )
                    retrieval = await knowledge.retriever.retrieve(session, TENANT, request)
                    ranked = [paths[p.article_id] for p in retrieval.passages]
                    rr = reciprocal_rank(ranked, [question.article]) if question.article else 0.0
                    rank = round(1 / rr) if rr else None
                    outcomes[method.value].append(Outcome(question, rank, retrieval.best_similarity))
        return outcomes
    finally:
        await embeddings.aclose()
        await database.dispose()


def run(engine: Engine, questions: Sequence[Question]) -> dict[str, list[Outcome]]:
    """Every method over every question, on a fresh SQLite knowledge database (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="eval-retrieval-") as folder:
        url = f"sqlite+aiosqlite:///{folder}/knowledge.db"
        upgrade_to_head(url, MIGRATIONS, SCHEMA)
        settings = KnowledgeSettings(
            database_url=url,
            embedding_url=engine.url,
            embedding_model=engine.model,
            embedding_api_key=SecretStr(engine.api_key) if engine.api_key else None,
            embedding_timeout_seconds=120,
            log_level="WARNING",
        )
        return asyncio.run(_run(settings, engine, questions))


def ranking_figures(outcomes: Sequence[Outcome]) -> dict[str, float | int]:
    """recall@k and MRR over the questions that have an article."""
    labelled = [o for o in outcomes if o.question.article is not None]
    figures: dict[str, float | int] = {"questions": len(labelled)}
    for k in KS:
        figures[f"recall@{k}"] = mean(1.0 if o.rank is not None and o.rank <= k else 0.0 for o in labelled)
    figures["mrr"] = mean(1.0 / o.rank if o.rank else 0.0 for o in labelled)
    return figures


def calibrate_threshold(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The "I don't know" threshold on the best similarity that best separates answerable questions (their article
    is in the top 5) from the ones the help centre does not answer, by balanced accuracy; ties take the lower
    threshold (answering a covered question matters more than refusing one more uncovered one)."""
    positives = [o.best_similarity or 0.0 for o in outcomes if o.question.article and o.rank and o.rank <= 5]
    negatives = [o.best_similarity or 0.0 for o in outcomes if o.question.article is None]
    best: dict[str, Any] = {}
    for step in range(101):
        threshold = step / 100
        answered = mean(1.0 if s >= threshold else 0.0 for s in positives)
        refused = mean(1.0 if s < threshold else 0.0 for s in negatives)
        balanced = (answered + refused) / 2
        if not best or balanced > best["balanced_accuracy"] + 1e-9:
            best = {
                "threshold": threshold,
                "balanced_accuracy": balanced,
                "answerable_answered": answered,
                "unanswerable_refused": refused,
            }
    best["positives"] = len(positives)
    best["negatives"] = len(negatives)
    return best


def rates_at(outcomes: Sequence[Outcome], threshold: float) -> dict[str, float]:
    """What a given threshold does on the set (the shipped default is reported beside the calibrated one)."""
    positives = [o.best_similarity or 0.0 for o in outcomes if o.question.article and o.rank and o.rank <= 5]
    negatives = [o.best_similarity or 0.0 for o in outcomes if o.question.article is None]
    return {
        "threshold": threshold,
        "answerable_answered": mean(1.0 if s >= threshold else 0.0 for s in positives),
        "unanswerable_refused": mean(1.0 if s < threshold else 0.0 for s in negatives),
    }
