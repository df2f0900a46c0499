"""The chat service's business errors (each names its problem type in app.contracts.problems)."""

from __future__ import annotations

from app.contracts import problems
from app.core.errors import ProblemError


class MessageTooLongError(ProblemError):
    problem = problems.MESSAGE_TOO_LONG


class ContextLengthExceededError(ProblemError):
    problem = problems.CONTEXT_LENGTH_EXCEEDED


class EngineUnavailableError(ProblemError):
    problem = problems.ENGINE_UNAVAILABLE


class EngineTimeoutError(ProblemError):
    problem = problems.ENGINE_TIMEOUT


class EngineFailedError(ProblemError):
    problem = problems.ENGINE_ERROR


class EngineMisconfiguredError(ProblemError):
    """The engine refused our own request (unknown model, wrong API key): an operator must fix the config."""

    problem = problems.INTERNAL_ERROR


class RequestInProgressError(ProblemError):
    problem = problems.IDEMPOTENT_REQUEST_IN_PROGRESS


class TokenBudgetExhaustedError(ProblemError):
    """The tenant's token quota (the budget the gateway reserved for this request) cannot fit, or cut, the answer."""

    problem = problems.QUOTA_EXCEEDED
