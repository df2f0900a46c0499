"""The auth service's business errors (each names its problem type in app.contracts.problems)."""

from __future__ import annotations

from app.contracts import problems
from app.core.errors import ProblemError


class TenantExistsError(ProblemError):
    problem = problems.TENANT_EXISTS


class EmailTakenError(ProblemError):
    problem = problems.EMAIL_TAKEN


class TierNotAllowedError(ProblemError):
    problem = problems.TIER_NOT_ALLOWED


class KeyLimitReachedError(ProblemError):
    problem = problems.KEY_LIMIT_REACHED


class InvalidLoginError(ProblemError):
    problem = problems.INVALID_LOGIN


class InvalidApiKeyError(ProblemError):
    """Unknown, malformed or revoked key: one answer, so a caller learns nothing about which keys exist."""

    problem = problems.UNAUTHORIZED


class ApiKeyRequiredError(ProblemError):
    """Widget tokens are charged to the key that issues them, so only an API key may issue them."""

    problem = problems.FORBIDDEN
