"""The sessions service's business errors (each names its problem type in app.contracts.problems)."""

from __future__ import annotations

from app.contracts import problems
from app.core.errors import ProblemError


class ConversationClosedError(ProblemError):
    problem = problems.CONVERSATION_CLOSED


class ConversationStateError(ProblemError):
    """The action does not apply in the conversation's status (raised with ``conversation_status=<current>``)."""

    problem = problems.CONVERSATION_STATE


class AlreadyClaimedError(ProblemError):
    problem = problems.ALREADY_CLAIMED


class IdempotencyKeyReusedError(ProblemError):
    problem = problems.IDEMPOTENCY_KEY_REUSED


class IdempotentRequestInProgressError(ProblemError):
    problem = problems.IDEMPOTENT_REQUEST_IN_PROGRESS


class FeedbackNotAllowedError(ProblemError):
    problem = problems.FEEDBACK_NOT_ALLOWED


class InvalidCursorError(ProblemError):
    problem = problems.BAD_REQUEST
