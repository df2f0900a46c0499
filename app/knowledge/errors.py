"""The knowledge service's business errors (each names its problem type in app.contracts.problems)."""

from __future__ import annotations

from app.contracts import problems
from app.core.errors import ProblemError


class NotFoundError(ProblemError):
    """No such article or curated answer for this tenant (another tenant's ids are reported the same way)."""

    problem = problems.NOT_FOUND


class InvalidImportError(ProblemError):
    problem = problems.BAD_REQUEST
