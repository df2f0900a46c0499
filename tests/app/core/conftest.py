"""A small service built with create_app, with routes that exercise every core behaviour."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, ClassVar

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from app.contracts import problems
from app.contracts.api import Scope
from app.contracts.internal import IdentityClaims
from app.core.app_factory import create_app
from app.core.errors import ProblemError
from app.core.identity import require_scopes
from app.core.logging import bind_log_context, get_logger
from app.core.settings import ServiceSettings
from app.core.sse import SSE_MEDIA_TYPE, format_event

log = get_logger("tests.core")


class DemoSettings(ServiceSettings):
    service_name: ClassVar[str] = "demo"


class ConversationClosedError(ProblemError):
    problem = problems.CONVERSATION_CLOSED


class Item(BaseModel):
    count: int


router = APIRouter()


@router.post("/items/{item_id}")
async def post_item(item_id: int, item: Item) -> dict[str, int]:
    return {"id": item_id, "count": item.count}


@router.get("/closed")
async def closed() -> None:
    raise ConversationClosedError("Conversation 42 is closed.", status_detail="closed", headers={"Retry-After": "5"})


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: password=hunter2")


@router.get("/log")
async def write_log() -> dict[str, str]:
    bind_log_context(conversation_id="c-1")
    log.info("turn_started", content="my card number is 4111", text_chars=22)
    return {"ok": "yes"}


@router.get("/private")
async def private(identity: Annotated[IdentityClaims, Depends(require_scopes(Scope.ADMIN))]) -> dict[str, str]:
    return {"tenant": str(identity.tenant_id)}


@router.get("/stream")
async def stream() -> StreamingResponse:
    async def events() -> AsyncIterator[bytes]:
        yield format_event("delta", {"text": "a"})
        await asyncio.sleep(0.05)
        yield format_event("done", {})

    return StreamingResponse(events(), media_type=SSE_MEDIA_TYPE)


def build_demo_app(settings: DemoSettings | None = None, *, trust_incoming: bool = True, **kwargs: object) -> FastAPI:
    return create_app(
        settings or DemoSettings(log_level="INFO"),
        title="demo",
        routers=[router],
        trust_incoming_request_id=trust_incoming,
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
async def demo_client() -> AsyncIterator[httpx.AsyncClient]:
    app = build_demo_app()
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        yield client
