"""``POST /v1/chat/completions``: the OpenAI-compatible pass-through for integrations.

Stateless (no conversation is stored), metered and limited like the domain API, errors in OpenAI's shape.
The gateway asks for usage on every stream (tokens are charged from it) and hides it from clients that did
not ask for it.
"""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import orjson
from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, ConfigDict, Field

from app.contracts.access import COMPLETIONS
from app.contracts.api import Tier
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller, GatewayDep, authenticated
from app.gateway.forwarding import internal_path
from app.gateway.model_call import ModelCall, begin_model_call
from app.gateway.openapi import AUTHENTICATED, event_stream_alternative
from app.gateway.passthrough import check_passthrough
from app.gateway.relay import CompletionStreamRelay, relay_stream, total_tokens_of

PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
router = APIRouter(tags=["integrations"])


class ChatCompletionRequest(BaseModel):
    """The fields the gateway needs; the others are checked against the tier's allowlist (``passthrough``)."""

    model_config = ConfigDict(extra="allow")  # extras are refused by check_passthrough, all named in one 400

    model: str = Field(min_length=1, max_length=200)
    messages: list[dict[str, Any]] = Field(min_length=1, max_length=1000)
    stream: bool = False
    stream_options: dict[str, Any] | None = None


class OpenAIErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None
    code: str | None


class OpenAIError(BaseModel):
    error: OpenAIErrorDetail


def _error_docs() -> dict[int | str, dict[str, Any]]:
    statuses = sorted({*AUTHENTICATED, 400, 404})  # 400: a field not allowed; 404: a model not served here
    return {status: {"model": OpenAIError, "description": "OpenAI-shaped error"} for status in statuses}


class ModelCard(BaseModel):
    id: str
    object: str = "model"
    created: int
    owned_by: str
    max_model_len: int


class ModelList(BaseModel):
    object: str = "list"
    data: list[ModelCard]


@router.get(MODELS_PATH, response_model=ModelList, responses=_error_docs())
async def list_models(_caller: Annotated[Caller, Depends(authenticated(COMPLETIONS))], gateway: GatewayDep) -> Response:
    """The models `model` may name (OpenAI-compatible; `client.models.list()`): stable public names, the same
    on a laptop and in every cluster."""
    upstream = await gateway.chat.request("GET", internal_path(MODELS_PATH))
    return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")


def upstream_body(request: ChatCompletionRequest) -> dict[str, Any]:
    body = request.model_dump(exclude_none=True)
    if request.stream:
        body["stream_options"] = {**(request.stream_options or {}), "include_usage": True}
    return body


def client_wants_usage(request: ChatCompletionRequest) -> bool:
    return bool((request.stream_options or {}).get("include_usage"))


@router.post(
    PATH,
    responses={
        **_error_docs(),
        **event_stream_alternative("With `stream: true`: `data:` chunks, then `data: [DONE]`."),
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    caller: Annotated[Caller, Depends(authenticated(COMPLETIONS))],
    gateway: GatewayDep,
) -> Response:
    """Create a chat completion (OpenAI-compatible; streamed with `stream: true`).

    Only an allowlist of fields is forwarded, per key tier (free: chat and sampling; standard and enterprise add
    `response_format`, `tools`, `tool_choice`, `logprobs`); anything else is a 400 `fields-not-allowed` naming
    every refused field. Message content parts must be text.
    """
    check_passthrough(body.model_dump(exclude_unset=True), caller.identity.tier or Tier.FREE)
    lease = await gateway.gatekeeper.open_stream(caller.identity) if body.stream else None
    call = await begin_model_call(gateway, caller, model=body.model, lease=lease)
    if not body.stream:
        used: int | None = 0  # refused by chat: nothing was generated
        try:
            upstream = await gateway.chat.request(
                "POST", internal_path(PATH), json=upstream_body(body), headers=call.headers
            )
            used = total_tokens_of(orjson.loads(upstream.content).get("usage"))
        finally:
            await call.end(used)
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")
    return await _stream(gateway, call, body)


async def _stream(gateway: Gateway, call: ModelCall, body: ChatCompletionRequest) -> Response:
    def reshape(_upstream: httpx.Response) -> CompletionStreamRelay:
        return CompletionStreamRelay(
            started_at=call.caller.started_at,
            model=body.model,
            client_wants_usage=client_wants_usage(body),
            on_first_token=call.first_token,
        )

    return await relay_stream(
        gateway, call, internal_path(PATH), body=upstream_body(body), headers={}, make_relay=reshape
    )
