"""vLLM's error responses: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status as ``code``.

Two families, as in vLLM: errors raised while serving (model lookup, context length, sampling parameters) carry
an exception-style ``type`` ("BadRequestError", "NotFoundError", "InternalServerError"); errors from request
validation and routing carry the HTTP reason phrase ("Bad Request", "Not Found"). vLLM never answers 429.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

#: vLLM refuses a text prompt longer than this many characters per token of context without tokenizing it.
CHARS_PER_TOKEN_BOUND = 13
#: What vLLM says when its engine core has died (EngineDeadError).
ENGINE_DEAD_MESSAGE = "EngineCore encountered an issue. See stack trace (above) for the root cause."


class APIError(Exception):
    """An error answered in vLLM's shape; ``status`` is both the HTTP status and the body's ``code``."""

    def __init__(
        self,
        message: str,
        *,
        status: HTTPStatus = HTTPStatus.BAD_REQUEST,
        err_type: str = "BadRequestError",
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.err_type = err_type
        self.param = param

    def body(self) -> dict[str, Any]:
        return error_body(self.message, err_type=self.err_type, status=self.status, param=self.param)


def error_body(message: str, *, err_type: str, status: HTTPStatus, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": err_type, "param": param, "code": status.value}}


def invalid_value(message: str, *, param: str, value: object) -> APIError:
    """A parameter vLLM 0.32 refuses (its VLLMValidationError): the message ends with the parameter and value."""
    return APIError(f"{message} (parameter={param}, value={value})", param=param)


def invalid_request(message: str, *, param: str | None = None) -> APIError:
    """A request that fails schema validation (vLLM's RequestValidationError handler: type = reason phrase)."""
    return APIError(message, err_type=HTTPStatus.BAD_REQUEST.phrase, param=param)


def model_not_found(model: str, served: Sequence[str]) -> APIError:
    return APIError(
        f"The model `{model}` does not exist. Valid aliases: {', '.join(served)}.",
        status=HTTPStatus.NOT_FOUND,
        err_type="NotFoundError",
        param="model",
    )


def engine_dead() -> APIError:
    return APIError(ENGINE_DEAD_MESSAGE, status=HTTPStatus.INTERNAL_SERVER_ERROR, err_type="InternalServerError")


def generation_failed() -> APIError:
    """A request that failed inside the engine (vLLM's GenerationError)."""
    return APIError("Internal server error", status=HTTPStatus.INTERNAL_SERVER_ERROR, err_type="InternalServerError")


def prompt_chars_too_long(*, max_model_len: int, prompt_chars: int) -> APIError:
    """vLLM refuses a text prompt this long before tokenizing it (no tokenizer packs more per token)."""
    bound = max_model_len * CHARS_PER_TOKEN_BOUND
    return APIError(
        f"This model's maximum context length is {max_model_len} tokens. However, your prompt contains "
        f"{prompt_chars} characters (more than {bound} characters, which is the upper bound for {max_model_len} "
        f"input tokens). Please reduce the length of the input prompt. (parameter=input_text, value={prompt_chars})",
        param="input_text",
    )


def prompt_too_long(*, max_model_len: int, prompt_tokens: int) -> APIError:
    return APIError(
        f"This model's maximum context length is {max_model_len} tokens. However, your prompt contains "
        f"{prompt_tokens} input tokens, which exceeds this limit even without any output tokens. Please reduce "
        f"the length of the input prompt. (parameter=input_tokens, value={prompt_tokens})",
        param="input_tokens",
    )


def max_tokens_too_large(*, max_model_len: int, max_tokens: int) -> APIError:
    """Only a max_tokens above the whole context is refused; one that does not fit beside the prompt is clamped."""
    return APIError(
        f"max_tokens={max_tokens} cannot be greater than max_model_len={max_model_len}. Please request fewer "
        f"output tokens. (parameter=max_tokens, value={max_tokens})",
        param="max_tokens",
    )
