"""OpenAPI details FastAPI cannot infer: problem+json error bodies, SSE alternatives, the problem catalog."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.contracts.api import DeltaEvent, DoneEvent, ErrorEvent, MessageEvent, Problem
from app.contracts.problems import PROBLEM_BY_STATUS
from app.core.errors import PROBLEM_MEDIA_TYPE

PROBLEM_REF = "#/components/schemas/Problem"

#: Errors any authenticated endpoint can answer.
AUTHENTICATED = (400, 401, 403, 413, 422, 429, 500, 502, 503, 504)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` entries documenting each status as a Problem (moved to problem+json by ``build_openapi``)."""
    return {
        status: {"model": Problem, "description": PROBLEM_BY_STATUS[status].title}
        for status in sorted({*AUTHENTICATED, *statuses})
    }


def event_stream_alternative(description: str, events: dict[str, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """Documents ``text/event-stream`` next to the JSON body of a 200 answer: the schema of one event.

    ``events`` maps event names to the schema their JSON ``data`` follows (as ``contentSchema``); without it,
    events are unnamed (``message``) and ``data`` is free text, as in OpenAI-style streams.
    """
    data: dict[str, Any] = {"type": "string"}
    event: dict[str, Any] = {"type": "string"}
    if events:
        event["enum"] = list(events)
        data.update(
            contentMediaType="application/json",
            contentSchema={"oneOf": [{"$ref": f"#/components/schemas/{name}"} for name in events.values()]},
        )
    schema = {
        "type": "object",
        "required": ["data"],
        "properties": {"event": event, "data": data, "id": {"type": "string"}},
    }
    return {200: {"content": {"text/event-stream": {"schema": schema}}, "description": description}}


def _problem_bodies_as_problem_json(document: dict[str, Any]) -> None:
    for operation in (op for path in document.get("paths", {}).values() for op in path.values()):
        for response in operation.get("responses", {}).values():
            content = response.get("content", {})
            json_body = content.get("application/json")
            if json_body and json_body.get("schema", {}).get("$ref") == PROBLEM_REF:
                content[PROBLEM_MEDIA_TYPE] = content.pop("application/json")


def _pattern_keys_are_exclusive(node: Any) -> None:
    """pydantic renders ``dict[PatternStr, V]`` as ``patternProperties`` but refuses other keys; say so in the
    schema (``additionalProperties: false``), or clients and fuzzers believe any key is accepted."""
    if isinstance(node, dict):
        if "patternProperties" in node:
            node.setdefault("additionalProperties", False)
        for value in node.values():
            _pattern_keys_are_exclusive(value)
    elif isinstance(node, list):
        for value in node:
            _pattern_keys_are_exclusive(value)


#: Schemas referenced only from SSE event documentation (no route returns them as a body).
STREAM_EVENT_MODELS: tuple[type[BaseModel], ...] = (MessageEvent, DeltaEvent, DoneEvent, ErrorEvent)


def _add_schemas(document: dict[str, Any], models: tuple[type[BaseModel], ...]) -> None:
    _, definitions = models_json_schema(
        [(model, "serialization") for model in models], ref_template="#/components/schemas/{model}"
    )
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in definitions.get("$defs", {}).items():
        schemas.setdefault(name, schema)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    """The gateway's OpenAPI document, generated once."""
    if app.openapi_schema is None:
        document = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
        )
        _add_schemas(document, STREAM_EVENT_MODELS)
        _problem_bodies_as_problem_json(document)
        _pattern_keys_are_exclusive(document)
        app.openapi_schema = document
    return app.openapi_schema
