"""The OpenAI-compatible pass-through for integrations: stateless, relayed byte for byte, metered.

The client's body goes to the engine unchanged except two things: the model must be one of the public names
this deployment offers (``model_catalog``; it is replaced by the served name, and the engine's answers carry the
public name again), and a stream always asks for the usage chunk (``stream_options.include_usage``), because the
gateway charges tokens from it (OpenAI clients accept the extra ``choices: []`` chunk). Errors become problems,
which the gateway renders in OpenAI's shape.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
from starlette.responses import Response, StreamingResponse

from app.chat.background import BackgroundTasks
from app.chat.engine import EngineClient, engine_error_problem, error_message_of
from app.chat.metering import count_tokens
from app.chat.model_catalog import ModelCatalog, model_field_rewriter
from app.chat.records import Records, Usage
from app.chat.settings import ChatSettings
from app.contracts import problems
from app.contracts.internal import IdentityClaims
from app.core.errors import BadRequestError, NotFoundError, ProblemError
from app.core.sse import SSE_HEADERS, SSEParser

PATH = "/chat/completions"


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
        self._engine = engine
        self._records = records
        self._background = background

    def models(self) -> dict[str, Any]:
        return self._catalog.listing()

    async def forward(self, identity: IdentityClaims, body: bytes) -> Response:
        public, model, streamed, body = prepare_body(body, self._catalog)
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
            self._relay(identity, model, upstream, rewrite), media_type="text/event-stream", headers=SSE_HEADERS
        )

    async def _relay(
        self, identity: IdentityClaims, model: str, upstream: httpx.Response, rewrite: tuple[bytes, bytes] | None
    ) -> AsyncIterator[bytes]:
        """The engine's bytes as they come; a parser beside the relay picks the usage chunk out (events may be
        split across reads, so it sees every byte; only events that mention usage are decoded). When the public
        model name differs from the served one, whole events are re-emitted with the name replaced (a raw read
        may end inside the name)."""
        parser = SSEParser()
        usage = None
        try:
            async for chunk in upstream.aiter_raw():
                events = parser.feed(chunk)
                if rewrite is None:
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
