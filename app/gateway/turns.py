"""A customer message through the gateway: admitted, forwarded to chat, answered as SSE or JSON, charged.

Streams hold a concurrent-stream lease, a token reservation and an engine slot for their whole life
(``model_call``) and are relayed byte for byte; the gateway reads only the first ``delta`` (time to first token)
and the final usage (the settlement). A replayed turn (same Idempotency-Key, marked by chat with
``X-Helpline-Replayed``) is not charged twice.
"""

from __future__ import annotations

from uuid import UUID

import httpx
import orjson
from fastapi import Response

from app.contracts.api import MessageCreate
from app.contracts.internal import SATURATED_HEADER, TURN_MODEL_HEADER, TURN_REPLAYED_HEADER
from app.gateway.components import Gateway
from app.gateway.dependencies import Caller
from app.gateway.forwarding import internal_path
from app.gateway.model_call import begin_model_call
from app.gateway.relay import TurnStreamWatcher, relay_stream, total_tokens_of


def is_replay(headers: httpx.Headers) -> bool:
    return headers.get(TURN_REPLAYED_HEADER, "").lower() == "true"


async def relay_turn(
    gateway: Gateway,
    caller: Caller,
    conversation_id: UUID,
    body: MessageCreate,
    *,
    idempotency_key: str | None,
    stream: bool,
) -> Response:
    """Admit the turn (with its stream lease in the same Redis round trip when streamed), reserve its tokens and
    an engine slot, then answer it."""
    lease = await gateway.gatekeeper.admit(caller.identity, stream=stream)
    call = await begin_model_call(gateway, caller, model=gateway.turn_model, lease=lease)
    path = internal_path(f"/v1/conversations/{conversation_id}/messages")
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    if gateway.engine_admission.saturation(gateway.turn_model).saturated:
        headers[SATURATED_HEADER] = "true"  # chat's degradation ladder reads it (app.chat.ladder)
    if not stream:
        used: int | None = 0  # refused by chat: nothing was generated
        try:
            upstream = await gateway.chat.request("POST", path, json=body, headers={**headers, **call.headers})
            reply = orjson.loads(upstream.content).get("reply") or {}
            used = 0 if is_replay(upstream.headers) else total_tokens_of(reply.get("usage"))
        finally:
            await call.end(used)
        return Response(upstream.content, status_code=upstream.status_code, media_type="application/json")

    def watch(upstream: httpx.Response) -> TurnStreamWatcher:
        return TurnStreamWatcher(
            started_at=caller.started_at,
            model=upstream.headers.get(TURN_MODEL_HEADER, "unknown"),
            chargeable=not is_replay(upstream.headers),
            on_first_token=call.first_token,
        )

    return await relay_stream(gateway, call, path, body=body, headers=headers, make_relay=watch)
