"""RFC 9457 problem details: the one error shape of the domain API, with the request id in every body.

Business errors are ``ProblemError`` subclasses declared next to the code that raises them, each naming its
entry in ``app.contracts.problems``. The handlers installed here also render what the framework raises by
itself (validation, unknown routes, body limits) and anything unhandled (500 without internals), so no error
leaves a service in another shape.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from app.contracts import problems
from app.contracts.problems import ProblemType
from app.core.logging import get_logger
from app.core.request_context import REQUEST_ID_HEADER, request_id_of

PROBLEM_MEDIA_TYPE = "application/problem+json"
_RESERVED_MEMBERS = frozenset({"type", "title", "status", "detail", "instance", "request_id"})

log = get_logger(__name__)


class ProblemError(Exception):
    """An error the API reports as a problem; subclasses set ``problem`` and are raised with a ``detail``.

    Extra keyword arguments become extension members of the problem (``required_scopes=[...]``); ``headers``
    are sent with the response (``Retry-After``...).
    """

    problem: ClassVar[ProblemType] = problems.INTERNAL_ERROR

    def __init__(self, detail: str | None = None, *, headers: Mapping[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail or self.problem.title)
        self.status: int = self.problem.status
        self.type: str = self.problem.uri
        self.title: str = self.problem.title
        self.detail = detail
        self.headers: dict[str, str] = dict(headers or {})
        self.extra: dict[str, Any] = {key: value for key, value in extra.items() if key not in _RESERVED_MEMBERS}

    @classmethod
    def of(
        cls,
        problem_type: ProblemType,
        detail: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> ProblemError:
        """A problem of a catalog type without a dedicated subclass (framework errors, validation)."""
        error = cls(detail, headers=headers, **extra)
        error.status, error.type, error.title = problem_type.status, problem_type.uri, problem_type.title
        return error

    def to_problem(self, *, request_id: str, instance: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status}
        if self.detail is not None:
            body["detail"] = self.detail
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        body["request_id"] = request_id
        return body


class RemoteProblemError(ProblemError):
    """A problem a downstream service answered with, re-raised upstream unchanged (type, status, members)."""

    def __init__(
        self,
        *,
        status: int,
        type_: str,
        title: str,
        detail: str | None,
        extra: Mapping[str, Any],
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail, headers=headers, **extra)
        self.status, self.type, self.title = status, type_, title


class BadRequestError(ProblemError):
    problem = problems.BAD_REQUEST


class NotFoundError(ProblemError):
    """An unknown id, or one of another tenant (deliberately indistinguishable)."""

    problem = problems.NOT_FOUND


class ProblemHTTPException(StarletteHTTPException):
    """An HTTP error raised where only ``HTTPException`` gets through (inside ``receive``, while FastAPI reads the
    body), carrying extension members for its problem."""

    def __init__(self, status_code: int, detail: str, **members: Any) -> None:
        super().__init__(status_code, detail)
        self.members = members


def problem_from_status(
    status: int, detail: str | None, headers: Mapping[str, str] | None = None, **members: Any
) -> ProblemError:
    """The generic problem for an HTTP status raised by the framework (404 route, 405, 413...)."""
    problem_type = problems.PROBLEM_BY_STATUS.get(status)
    if problem_type is None:  # a status without a catalog entry: RFC 9457's "about:blank" with the status
        error = ProblemError(detail, headers=headers, **members)
        error.status, error.type, error.title = status, "about:blank", f"HTTP {status}"
        return error
    same_as_title = (detail or "").lower() == problem_type.title.lower()
    return ProblemError.of(problem_type, None if same_as_title else detail, headers=headers, **members)


def validation_problem(exc: RequestValidationError) -> ProblemError:
    """422 listing each invalid field, or 400 when the body is not JSON at all.

    The ``input`` FastAPI echoes is dropped: it can hold a customer's message, which must not be reflected into
    logs or caches.
    """
    errors = list(exc.errors())
    json_error = next((error for error in errors if error.get("type") == "json_invalid"), None)
    if json_error is not None:
        position = json_error["loc"][-1] if json_error.get("loc") else "?"
        reason = (json_error.get("ctx") or {}).get("error", "malformed JSON")
        return ProblemError.of(problems.INVALID_JSON, f"Invalid JSON at position {position}: {reason}")
    summary = [
        {"loc": list(error.get("loc", ())), "msg": error.get("msg", ""), "type": error.get("type", "")}
        for error in errors
    ]
    return ProblemError.of(problems.VALIDATION_ERROR, _validation_detail(summary), errors=summary)


def _validation_detail(summary: Sequence[Mapping[str, Any]]) -> str:
    first = summary[0] if summary else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"]) or "request"
    more = f" (and {len(summary) - 1} more)" if len(summary) > 1 else ""
    return f"{where}: {first['msg']}{more}"


#: Renders a problem for a family of routes in another shape (the OpenAI-compatible endpoint uses this).
ProblemRenderer = Callable[[ProblemError, str], Response]


def problem_response(error: ProblemError, *, request_id: str, instance: str | None) -> Response:
    body = orjson.dumps(error.to_problem(request_id=request_id, instance=instance), default=str)
    headers = {**error.headers, REQUEST_ID_HEADER: request_id}
    return Response(body, status_code=error.status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def install_problem_handlers(app: FastAPI, *, renderers: Sequence[tuple[str, ProblemRenderer]] = ()) -> None:
    """Render every error as problem+json; ``renderers`` maps a path prefix to another shape."""

    def render(request: Request, error: ProblemError) -> Response:
        request_id = request_id_of(request.scope)
        path = request.url.path
        for prefix, renderer in renderers:
            if path.startswith(prefix):
                response = renderer(error, request_id)
                response.headers[REQUEST_ID_HEADER] = request_id
                return response
        return problem_response(error, request_id=request_id, instance=path)

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ProblemError)
        if exc.status >= 500:
            log.warning("problem", status=exc.status, type=exc.type, detail=exc.detail)
        return render(request, exc)

    async def on_validation(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return render(request, validation_problem(exc))

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        members = exc.members if isinstance(exc, ProblemHTTPException) else {}
        return render(request, problem_from_status(exc.status_code, exc.detail, exc.headers, **members))

    async def on_unhandled(request: Request, exc: Exception) -> Response:
        log.error("unhandled_exception", exc_info=exc, path=request.url.path)
        return render(request, ProblemError())

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unhandled)
