"""Errors of the OpenAI-compatible endpoint in OpenAI's shape: ``{"error": {message, type, param, code}}``.

Integrations use OpenAI client libraries, which read this shape (and retry 429/5xx by status). ``code`` is our
problem slug, so the precise reason is kept; ``type`` uses OpenAI's families.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from app.contracts import problems
from app.core.errors import ProblemError

_TYPE_BY_STATUS = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_error_type(error: ProblemError) -> str:
    if error.type == problems.QUOTA_EXCEEDED.uri:
        return "insufficient_quota"
    if error.status >= 500:
        return "server_error"
    return _TYPE_BY_STATUS.get(error.status, "invalid_request_error")


def openai_param(error: ProblemError) -> str | None:
    """The offending field of a validation error, dotted (``messages.0.content``), like OpenAI's ``param``."""
    if isinstance(param := error.extra.get("param"), str):
        return param
    errors: Any = error.extra.get("errors")
    if isinstance(errors, list) and errors:
        location = [str(part) for part in errors[0].get("loc", []) if part != "body"]
        return ".".join(location) or None
    return None


def openai_error_response(error: ProblemError, request_id: str) -> JSONResponse:
    body = {
        "error": {
            "message": error.detail or error.title,
            "type": openai_error_type(error),
            "param": openai_param(error),
            "code": error.type.removeprefix("/problems/"),
        }
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers)
