"""Request bodies of the OpenAI-compatible endpoints, parsed once per request (never per token).

Like vLLM's protocol models, unknown fields are accepted and ignored (vLLM logs them): clients send
``guided_choice``, ``logprobs`` or vendor extensions and expect a 200, not a 400.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.enginesim.errors import APIError, invalid_request


class _OpenAIModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class StreamOptions(_OpenAIModel):
    include_usage: bool | None = True
    continuous_usage_stats: bool | None = False


class StructuredOutputs(_OpenAIModel):
    """vLLM's ``structured_outputs`` (0.12 and later); ``guided_*`` fields are gone and ignored like any extra."""

    choice: list[str] | None = None
    json_schema: dict[str, Any] | str | None = Field(default=None, alias="json")
    regex: str | None = None
    grammar: str | None = None
    json_object: bool | None = None
    structural_tag: str | None = None


class JsonSchemaFormat(_OpenAIModel):
    name: str = "response"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")


class ResponseFormat(_OpenAIModel):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


class ContentPart(_OpenAIModel):
    type: str
    text: str | None = None


class ChatMessage(_OpenAIModel):
    role: str
    content: str | list[ContentPart] | None = None


class SamplingRequest(_OpenAIModel):
    """Fields both endpoints share."""

    model: str | None = None
    max_tokens: int | None = None
    n: int | None = 1
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    stream: bool | None = False
    stream_options: StreamOptions | None = None
    # vLLM extensions
    ignore_eos: bool = False
    min_tokens: int = 0
    structured_outputs: StructuredOutputs | None = None
    response_format: ResponseFormat | None = None

    def stop_strings(self) -> tuple[str, ...]:
        if self.stop is None:
            return ()
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop)


class ChatCompletionRequest(SamplingRequest):
    messages: list[ChatMessage]
    max_completion_tokens: int | None = None
    add_generation_prompt: bool = True
    #: Continue the last (assistant) message instead of starting a new one: vLLM's "prefill".
    continue_final_message: bool = False

    def requested_max_tokens(self) -> int | None:
        return self.max_completion_tokens if self.max_completion_tokens is not None else self.max_tokens


class CompletionRequest(SamplingRequest):
    prompt: str | list[str] | list[int] | list[list[int]]
    #: The OpenAI completions default, which vLLM keeps.
    max_tokens: int | None = 16

    def requested_max_tokens(self) -> int | None:
        return self.max_tokens


class EmbeddingRequest(_OpenAIModel):
    model: str | None = None
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] = "float"
    dimensions: int | None = None
    truncate_prompt_tokens: int | None = Field(default=None, ge=-1)
    user: str | None = None


RequestT = TypeVar("RequestT", bound=_OpenAIModel)


def parse_body(raw: bytes, content_type: str | None, model: type[RequestT]) -> RequestT:
    """Decode and validate a JSON body, raising vLLM's 400s (as its RequestValidationError handler shapes them)."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type != "application/json":
        raise invalid_request("Unsupported Media Type: Only 'application/json' is allowed")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_request(f"JSON decode error: {exc}") from exc
    if not isinstance(data, dict):
        raise invalid_request("The request body must be a JSON object")
    if data.get("stream_options") and not data.get("stream"):
        raise APIError(
            "Stream options can only be defined when `stream=True`. (parameter=stream_options)", param="stream_options"
        )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _validation_error(exc) from exc


def _validation_error(exc: ValidationError) -> APIError:
    errors = exc.errors(include_url=False, include_input=False)
    details = "; ".join(f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in errors)
    first_location = errors[0]["loc"] if errors else ()
    # vLLM 0.32 names the field by its place in the request, as FastAPI does: body.max_tokens
    param = "body." + str(first_location[0]) if first_location else None
    return invalid_request(f"{exc.error_count()} validation error(s): {details}", param=param)
