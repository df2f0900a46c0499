"""Errors the router answers itself, in vLLM's (OpenAI's) shape: its callers are OpenAI clients.

``{"error": {"message", "type", "param", "code"}}`` with ``type`` derived from the status as vLLM does
(``NotFoundError``, ``BadRequestError``, ``InternalServerError``...), so an OpenAI SDK raises the matching
exception class whether the error came from the router or from an engine behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

import orjson
from starlette.responses import Response

from app.core.errors import ProblemError


def error_type(status: int) -> str:
    """``NotFoundError`` for 404, ``ServiceUnavailableError`` for 503...: the status phrase in CamelCase."""
    phrase = HTTPStatus(status).phrase.replace("-", " ")
    name = "".join(word[:1].upper() + word[1:] for word in phrase.split())
    return name if name.endswith("Error") else f"{name}Error"


def openai_error(
    status: int, message: str, *, param: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    body = {"error": {"message": message, "type": error_type(status), "param": param, "code": status}}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=headers)


def render_problem_as_openai_error(error: ProblemError, _request_id: str) -> Response:
    """The core's problem renderer hook for ``/v1/``: framework errors (405, 422, 500) in the OpenAI shape."""
    return openai_error(error.status, error.detail or error.title, headers=error.headers)
