"""``GET /problems/{slug}``: what each problem ``type`` means (RFC 9457 recommends a human-readable page)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from app.contracts.problems import PROBLEM_TYPES
from app.core.errors import NotFoundError
from app.gateway.openapi import problem_responses

router = APIRouter(tags=["problems"])


class ProblemTypeDoc(BaseModel):
    type: str
    status: int
    title: str
    description: str


@router.get("/problems/{slug}", responses=problem_responses(404))
async def problem_type(slug: str) -> ProblemTypeDoc:
    problem = PROBLEM_TYPES.get(slug)
    if problem is None:
        raise NotFoundError(f"No problem type {slug!r}.")
    return ProblemTypeDoc(type=problem.uri, status=problem.status, title=problem.title, description=problem.description)
