"""An OpenAI-compatible engine whose next answers a test scripts exactly (status, chunks, breaks, silence).

The engine simulator is the engine for behaviour tests; this one exists for the engine client's rules, which
need failures at an exact point and a record of every request (headers included) the client made.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass(frozen=True)
class Answer:
    """One scripted response: ``status`` with ``error`` (a JSON error body), or a stream of ``tokens``, optionally
    failing in-band after ``error_after`` tokens, ending without ``[DONE]``, or silent before its first chunk.
    A request without ``stream`` gets the tokens joined as one message."""

    tokens: tuple[str, ...] = ("Hello", " there", ".")
    status: int = 200
    error: str | None = None
    error_after: int | None = None
    without_done: bool = False
    silent: bool = False
    finish_reason: str = "stop"


def chunk(**fields: Any) -> bytes:
    return b"data: " + orjson.dumps({"id": "chatcmpl-1", "object": "chat.completion.chunk", **fields}) + b"\n\n"


@dataclass
class ScriptedEngine:
    script: deque[Answer] = field(default_factory=deque)
    requests: list[dict[str, Any]] = field(default_factory=list)

    def then(self, *answers: Answer) -> None:
        self.script.extend(answers)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._completions, methods=["POST"]),
                Route("/health", self._health),  # as vLLM: the router ejects a replica whose health check fails
            ]
        )

    async def _health(self, _request: Request) -> Response:
        return Response(status_code=200)

    async def _completions(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.requests.append({"headers": dict(request.headers), "body": body})
        answer = self.script.popleft() if self.script else Answer()
        if answer.status != 200:
            error = {
                "message": answer.error or "failed",
                "type": "BadRequestError",
                "param": None,
                "code": answer.status,
            }
            return JSONResponse({"error": error}, status_code=answer.status)
        if not body.get("stream"):
            content = "".join(answer.tokens)
            return JSONResponse(
                {
                    "id": "chatcmpl-2",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body["model"],
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": answer.finish_reason,
                        }
                    ],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
                }
            )
        return StreamingResponse(self._stream(answer), media_type="text/event-stream")

    async def _stream(self, answer: Answer) -> AsyncIterator[bytes]:
        if answer.silent:
            yield b""
            await asyncio.sleep(3600)
        if answer.error_after != 0:  # vLLM sends the role with the first output; an early failure comes first
            yield chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        for index, token in enumerate(answer.tokens):
            if index == answer.error_after:
                yield b"data: " + orjson.dumps({"error": {"message": "engine died", "code": 500}}) + b"\n\n"
                return
            yield chunk(choices=[{"index": 0, "delta": {"content": token}, "finish_reason": None}])
        if answer.without_done:
            return
        yield chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
        yield chunk(choices=[], usage={"prompt_tokens": 7, "completion_tokens": len(answer.tokens), "total_tokens": 0})
        yield b"data: [DONE]\n\n"
