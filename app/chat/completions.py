"""The OpenAI-compatible pass-through for integrations: stateless, relayed byte for byte, metered.

The client's body goes to the engine unchanged except two things: the model must be one of the public names
this deployment offers (``model_catalog``; it is replaced by the served name, and the engine's answers carry the
public name again), and a stream always asks for the usage chunk (``stream_options.include_usage``), because the
gateway charges tokens from it (OpenAI clients accept the extra ``choices: []`` chunk). Errors become problems,
which the gateway renders in OpenAI's shape.

Under a tenant's token quota the gateway names the tokens reserved for the request (``X-Helpline-Token-Budget``):
``max_tokens`` is capped to what the prompt's estimate leaves of it (per choice), and a stream the cap cut short
(``finish_reason: length``) gets an in-band ``insufficient_quota`` error before ``[DONE]``, as vLLM reports errors.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from starlette.responses import Response, StreamingResponse

from app.chat.background import BackgroundTasks
from app.chat.engine import EngineClient, engine_error_problem, error_message_of
from app.chat.errors import TokenBudgetExhaustedError
from app.chat.metering import count_tokens
from app.chat.model_catalog import ModelCatalog, model_field_rewriter
from app.chat.prompt import MIN_ANSWER_TOKENS, PROMPT_OVERHEAD_TOKENS, estimate_tokens
from app.chat.records import Records, Usage
from app.chat.settings import ChatSettings
from app.contracts import problems
from app.contracts.internal import IdentityClaims
from app.core.errors import BadRequestError, NotFoundError, ProblemError
from app.core.sse import SSE_HEADERS, SSEParser

PATH = "/chat/completions"
#: The in-band error that ends a stream the tenant's quota cut short (vLLM's error shape inside a 200 stream).
QUOTA_CUT_EVENT = (
    b"data: "
    + orjson.dumps(
        {
            "error": {
                "message": "The tenant's token quota for today ran out during this answer.",
                "type": "insufficient_quota",  # as the gateway renders a 429 quota-exceeded in OpenAI's shape
                "param": None,
                "code": "quota-exceeded",
            }
        }
    )
    + b"\n\n"
)


def prepare_body(body: bytes, catalog: ModelCatalog) -> tuple[str, str, bool, bytes]:
    """(public model, served model, streamed, body to send): validates what the router needs, maps the public
    model name to the served one and forces usage on streams."""
    try:
        document: Any = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ProblemError.of(problems.INVALID_JSON, f"Invalid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise BadRequestError("The request body must be a JSON object.")
    model = document.get("model")
    if not isinstance(model, str):
        raise BadRequestError("The `model` field is required.", param="model")
    served = catalog.served_name(model)
    if served is None:
        raise NotFoundError(f"The model `{model}` does not exist.", param="model")
    streamed = document.get("stream") is True
    if streamed:
        options = document.get("stream_options")
        document["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
    if streamed or served != model:
        document["model"] = served
        body = orjson.dumps(document)
    return model, served, streamed, body


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
    return ""


def cap_to_budget(body: bytes, token_budget: int, chars_per_token: float) -> tuple[bytes, bool]:
    """``body`` with ``max_tokens`` capped so that the prompt's estimate plus every choice's answer fits the
    budget, and whether the cap is below what the client asked (its answer may end on the quota)."""
    document: dict[str, Any] = orjson.loads(body)
    messages = document.get("messages") or []
    prompt = PROMPT_OVERHEAD_TOKENS + sum(
        estimate_tokens(_text_of(m.get("content")), chars_per_token) for m in messages if isinstance(m, dict)
    )
    n = document.get("n")
    choices = n if isinstance(n, int) and n > 0 else 1
    room = (token_budget - prompt) // choices
    if room < MIN_ANSWER_TOKENS:
        raise TokenBudgetExhaustedError(
            "What is left of the tenant's token quota today cannot fit this prompt and an answer.",
            tokens_left=token_budget,
        )
    requested = document.get("max_completion_tokens") or document.get("max_tokens")
    if isinstance(requested, int) and requested <= room:
        return body, False
    document.pop("max_completion_tokens", None)
    document["max_tokens"] = room
    return orjson.dumps(document), True


def usage_of(document: Any) -> dict[str, int] | None:
    usage = document.get("usage") if isinstance(document, dict) else None
    if not isinstance(usage, dict):
        return None
    return {
        "prompt_tokens": int(usage.get("prompt_tokens", 0)),
        "completion_tokens": int(usage.get("completion_tokens", 0)),
    }


class CompletionsProxy:
    def __init__(
        self, *, settings: ChatSettings, engine: EngineClient, records: Records, background: BackgroundTasks
    ) -> None:
        self._catalog = ModelCatalog.from_settings(settings)
        self._chars_per_token = settings.chars_per_token
        self._engine = engine
        self._records = records
        self._background = background

    def models(self) -> dict[str, Any]:
        return self._catalog.listing()

    async def forward(self, identity: IdentityClaims, body: bytes, *, token_budget: int | None = None) -> Response:
        public, model, streamed, body = prepare_body(body, self._catalog)
        budget_limited = False
        if token_budget is not None:
            body, budget_limited = cap_to_budget(body, token_budget, self._chars_per_token)
        rewrite = model_field_rewriter(model, public)
        upstream = await self._engine.send_raw(model, PATH, body)
        if upstream.status_code >= 400:
            content = await upstream.aread()
            await upstream.aclose()
            raise engine_error_problem(upstream.status_code, error_message_of(content), client_request=True)
        if not streamed:
            content = await upstream.aread()
            await upstream.aclose()
            self._meter(identity, model, usage_of(_json_or_none(content)))
            if rewrite is not None:
                content = content.replace(*rewrite, 1)
            return Response(content, media_type="application/json")
        return StreamingResponse(
            self._relay(identity, model, upstream, rewrite, budget_limited=budget_limited),
            media_type="text/event-stream",
            headers=SSE_HEADERS,
        )

    async def _relay(
        self,
        identity: IdentityClaims,
        model: str,
        upstream: httpx.Response,
        rewrite: tuple[bytes, bytes] | None,
        *,
        budget_limited: bool,
    ) -> AsyncIterator[bytes]:
        """The engine's bytes as they come; a parser beside the relay picks the usage chunk out (events may be
        split across reads, so it sees every byte; only events that mention usage are decoded). When the public
        model name differs from the served one, or the quota may cut the answer, whole events are re-emitted (a
        raw read may end inside the name; the quota's error goes just before ``[DONE]``)."""
        parser = SSEParser()
        usage = None
        cut_by_quota = False
        try:
            async for chunk in upstream.aiter_raw():
                events = parser.feed(chunk)
                if budget_limited:
                    for event in events:
                        cut_by_quota = cut_by_quota or '"finish_reason":"length"' in event.data.replace(" ", "")
                        if event.data == "[DONE]" and cut_by_quota:
                            yield QUOTA_CUT_EVENT
                        data = event.data.encode()
                        yield b"data: " + (data.replace(*rewrite, 1) if rewrite else data) + b"\n\n"
                elif rewrite is None:
                    yield chunk
                elif events:
                    yield b"".join(b"data: " + event.data.encode().replace(*rewrite, 1) + b"\n\n" for event in events)
                for event in events:
                    if '"usage"' in event.data:
                        usage = usage_of(_json_or_none(event.data.encode())) or usage
        finally:
            await upstream.aclose()
            self._meter(identity, model, usage)

    def _meter(self, identity: IdentityClaims, model: str, usage: dict[str, int] | None) -> None:
        if usage is None:
            return
        count_tokens(model, identity.tenant_id, usage)
        record = Usage(
            tenant_id=identity.tenant_id,
            key_id=identity.key_id,
            conversation_id=None,
            message_id=None,
            kind="completion",
            model=model,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )
        self._background.spawn(self._records.add_usage(record), name="completion usage")


def _json_or_none(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return None
