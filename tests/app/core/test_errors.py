"""Every error leaves a service as RFC 9457 problem+json carrying the request id."""

from __future__ import annotations

import importlib
import pkgutil

import httpx
from fastapi.responses import JSONResponse

import app
from app.contracts.problems import PROBLEM_TYPES
from app.core.errors import ProblemError, RemoteProblemError
from tests.app.core.conftest import build_demo_app

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["type"] == type_
    assert body["status"] == status
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_a_business_error_keeps_its_detail_members_and_headers(demo_client: httpx.AsyncClient) -> None:
    response = await demo_client.get("/closed")

    body = assert_problem(response, 409, "/problems/conversation-closed")
    assert body["title"] == "Conversation closed"
    assert body["detail"] == "Conversation 42 is closed."
    assert body["instance"] == "/closed"
    assert body["status_detail"] == "closed"
    assert response.headers["retry-after"] == "5"


async def test_a_schema_violation_is_a_422_listing_each_field_without_echoing_input(
    demo_client: httpx.AsyncClient,
) -> None:
    response = await demo_client.post("/items/1", json={"count": "my secret text"})

    body = assert_problem(response, 422, "/problems/validation-error")
    assert body["errors"] == [
        {
            "loc": ["body", "count"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]
    assert "my secret text" not in response.text


async def test_a_body_that_is_not_json_is_a_400(demo_client: httpx.AsyncClient) -> None:
    response = await demo_client.post("/items/1", content=b'{"count": ', headers={"content-type": "application/json"})

    body = assert_problem(response, 400, "/problems/invalid-json")
    assert str(body["detail"]).startswith("Invalid JSON at position")


async def test_unknown_routes_and_methods_are_problems_too(demo_client: httpx.AsyncClient) -> None:
    assert_problem(await demo_client.get("/nowhere"), 404, "/problems/not-found")
    response = await demo_client.get("/items/1")
    assert_problem(response, 405, "/problems/method-not-allowed")
    assert response.headers["allow"] == "POST"


async def test_an_unhandled_exception_is_a_500_that_reveals_nothing(demo_client: httpx.AsyncClient) -> None:
    response = await demo_client.get("/boom")

    body = assert_problem(response, 500, "/problems/internal-error")
    assert "detail" not in body
    assert "hunter2" not in response.text


async def test_a_route_family_can_render_problems_in_another_shape() -> None:
    def openai_shape(error: ProblemError, request_id: str) -> JSONResponse:
        return JSONResponse({"error": {"message": error.detail, "code": error.type}}, status_code=error.status)

    app = build_demo_app(problem_renderers=[("/closed", openai_shape)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://demo") as client:
        response = await client.get("/closed")

    assert response.status_code == 409
    assert response.json() == {
        "error": {"message": "Conversation 42 is closed.", "code": "/problems/conversation-closed"}
    }
    assert response.headers["x-request-id"]


def test_a_remote_problem_keeps_what_the_downstream_said() -> None:
    error = RemoteProblemError(
        status=404, type_="/problems/not-found", title="Not found", detail="No such conversation.", extra={"id": "x"}
    )

    body = error.to_problem(request_id="r1", instance="/v1/conversations/x")

    assert body == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "No such conversation.",
        "instance": "/v1/conversations/x",
        "id": "x",
        "request_id": "r1",
    }


def _all_problem_errors() -> set[type[ProblemError]]:
    for module in pkgutil.walk_packages(app.__path__, "app."):
        if ".migrations" not in module.name and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found: set[type[ProblemError]] = set()
    pending: list[type[ProblemError]] = [ProblemError]
    while pending:
        cls = pending.pop()
        found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_problem_error_in_the_app_names_a_catalog_type_with_its_status() -> None:
    for cls in _all_problem_errors():
        if cls.__module__.startswith("tests."):
            continue
        assert PROBLEM_TYPES.get(cls.problem.slug) == cls.problem, (
            f"{cls.__qualname__}: {cls.problem.slug} not in the catalog"
        )
