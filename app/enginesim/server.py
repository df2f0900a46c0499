"""The HTTP server: vLLM's OpenAI-compatible endpoints in front of the simulated engine.

Endpoints as vLLM serves them: ``/health`` (200; 503 in the moment between the engine's death and the exit), ``/metrics``, ``/v1/models``,
``/v1/chat/completions``, ``/v1/completions``; ``--api-key`` guards ``/v1/*`` only. The simulator adds
``/sim/faults`` (fault injection), which exists only when a control token is configured.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from http import HTTPStatus
from typing import Any, NoReturn, TypeVar

import anyio
import orjson
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive

from app.enginesim.auth import ApiKeyMiddleware
from app.enginesim.config import SimConfig
from app.enginesim.embeddings import EmbeddingRequest, embeddings_response
from app.enginesim.engine import Engine, Outcome
from app.enginesim.engine import Sequence as EngineSequence
from app.enginesim.errors import APIError, engine_dead, error_body, generation_failed, model_not_found
from app.enginesim.faults import FaultBoard, FaultKind, FaultSpec
from app.enginesim.metrics import EngineMetrics
from app.enginesim.planning import GenerationPlan, plan_chat, plan_completion
from app.enginesim.protocol import ChatCompletionRequest, ChatMessage, CompletionRequest, SamplingRequest, parse_body
from app.enginesim.serialize import DONE, Endpoint, ResponseHeader, StreamRenderer, full_response, sse

log = logging.getLogger(__name__)

#: Exit status of a simulated crash (what a supervisor or Kubernetes sees).
CRASH_EXIT_CODE = 1

RequestT = TypeVar("RequestT", bound=SamplingRequest)


def json_response(content: Any, status: int = HTTPStatus.OK) -> Response:
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def crash_process(reason: str) -> NoReturn:
    """Die like a crashed engine: no shutdown, no goodbye to clients, open connections reset."""
    log.critical("simulated crash: %s", reason)
    for handler in logging.getLogger().handlers:
        handler.flush()
    sys.stderr.flush()
    os._exit(CRASH_EXIT_CODE)


def shut_down_process(reason: str) -> None:
    """Exit as vLLM 0.32's API server does when its engine core dies: a graceful shutdown (uvicorn's, on SIGTERM)
    once the requests in flight have had their error. The pod restarts; nothing is left answering 503."""
    log.critical("engine core died (%s): the API server shuts down", reason)
    asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)


class Simulator:
    """One simulated engine and its control surface; ``app`` serves it."""

    def __init__(
        self,
        config: SimConfig,
        *,
        faults: Sequence[FaultSpec] = (),
        crash: Callable[[str], NoReturn] = crash_process,
        on_engine_death: Callable[[str], None] = shut_down_process,
    ) -> None:
        self.config = config
        self.metrics = EngineMetrics(model_name=config.served_model_name, max_model_len=config.max_model_len)
        self.engine = Engine(config, self.metrics)
        self.engine.on_death = on_engine_death
        self.faults = FaultBoard(tuple(faults))
        self.started_at = int(time.time())
        self._crash = crash
        self.app = self._build_app()

    @property
    def healthy(self) -> bool:
        return not self.faults.dead and self.engine.failure is None

    def _build_app(self) -> ASGIApp:
        routes = [
            Route("/health", self.health, methods=["GET"]),
            Route("/metrics", self.prometheus, methods=["GET"]),
            Route("/v1/models", self.models, methods=["GET"]),
            *self._serving_routes(),
            Route("/sim/faults", self.list_faults, methods=["GET"]),
            Route("/sim/faults", self.arm_fault, methods=["POST"]),
            Route("/sim/faults", self.clear_faults, methods=["DELETE"]),
        ]
        app: ASGIApp = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={
                APIError: _api_error_response,
                HTTPException: _http_error_response,
                Exception: _internal_error_response,
            },
        )
        if self.config.api_keys:
            app = ApiKeyMiddleware(app, self.config.api_keys)
        return app

    def _serving_routes(self) -> list[Route]:
        """As vLLM registers only the endpoints its runner supports: embeddings, or chat and completions."""
        if self.config.runner == "pooling":
            return [Route("/v1/embeddings", self.embeddings, methods=["POST"])]
        return [
            Route("/v1/chat/completions", self.chat_completions, methods=["POST"]),
            Route("/v1/completions", self.completions, methods=["POST"]),
        ]

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        await self._warm_up()
        self.engine.start()
        if self.faults.dead:  # armed on the command line: the engine core dies as the server starts
            self.engine.die("dead fault armed at start")
        try:
            yield
        finally:
            await self.engine.stop()

    async def _warm_up(self) -> None:
        """Pay one-off costs before listening, as vLLM warms up before /health: the first request must not.

        Streaming responses import anyio's asyncio backend on first use (~0.4 s on a small CPU), and the first
        plan compiles the tokenizer and keyword patterns.
        """
        async with anyio.create_task_group():
            pass
        warm = ChatCompletionRequest(messages=[ChatMessage(role="user", content="Hello, I need help with my order.")])
        plan_chat(warm, self.config)

    # --- operational endpoints -------------------------------------------------------------------------------
    async def health(self, _request: Request) -> Response:
        return Response(status_code=HTTPStatus.OK if self.healthy else HTTPStatus.SERVICE_UNAVAILABLE)

    async def prometheus(self, _request: Request) -> Response:
        return Response(generate_latest(self.metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def models(self, _request: Request) -> Response:
        return json_response(
            {"object": "list", "data": [self._model_card(name) for name in self.config.served_model_names]}
        )

    def _model_card(self, name: str) -> dict[str, Any]:
        permission = {
            "id": f"modelperm-{uuid.uuid4().hex}",
            "object": "model_permission",
            "created": self.started_at,
            "allow_create_engine": False,
            "allow_sampling": True,
            "allow_logprobs": True,
            "allow_search_indices": False,
            "allow_view": True,
            "allow_fine_tuning": False,
            "organization": "*",
            "group": None,
            "is_blocking": False,
        }
        return {
            "id": name,
            "object": "model",
            "created": self.started_at,
            "owned_by": "vllm",
            "root": self.config.model,
            "parent": None,
            "max_model_len": self.config.max_model_len,
            "permission": [permission],
        }

    async def embeddings(self, request: Request) -> Response:
        body = parse_body(await request.body(), request.headers.get("content-type"), EmbeddingRequest)
        if body.model is not None and body.model not in self.config.served_model_names:
            raise model_not_found(body.model, self.config.served_model_names)
        if not self.healthy:
            raise engine_dead()
        return json_response(
            embeddings_response(body, model=self.config.served_model_name, max_model_len=self.config.max_model_len)
        )

    # --- generation ------------------------------------------------------------------------------------------
    async def chat_completions(self, request: Request) -> Response:
        return await self._generate(request, ChatCompletionRequest, plan_chat, "chat")

    async def completions(self, request: Request) -> Response:
        return await self._generate(request, CompletionRequest, plan_completion, "completion")

    async def _generate(
        self,
        request: Request,
        model: type[RequestT],
        planner: Callable[[RequestT, SimConfig], GenerationPlan],
        endpoint: Endpoint,
    ) -> Response:
        body = parse_body(await request.body(), request.headers.get("content-type"), model)
        if body.model is not None and body.model not in self.config.served_model_names:
            raise model_not_found(body.model, self.config.served_model_names)
        if not self.healthy:
            raise engine_dead()
        plan = planner(body, self.config)
        faults = self.faults.take()
        if faults.terminal == "crash" and faults.after_tokens == 0:
            self._crash("crash fault on request arrival")
        prefix = "chatcmpl-" if endpoint == "chat" else "cmpl-"
        request_id = prefix + (request.headers.get("x-request-id") or uuid.uuid4().hex)
        seq = EngineSequence(request_id, plan.prompt_tokens, plan.completion, faults=faults)
        self.engine.submit(seq)
        header = ResponseHeader(
            endpoint=endpoint,
            request_id=request_id,
            created=int(time.time()),
            model=self.config.served_model_name,
            prompt_tokens_details=self.config.enable_prompt_tokens_details,
        )
        if body.stream:
            options = body.stream_options
            renderer = StreamRenderer(
                header,
                include_usage=bool(options and options.include_usage),
                continuous_usage=bool(options and options.include_usage and options.continuous_usage_stats),
            )
            return StreamingResponse(self._stream(seq, renderer), media_type="text/event-stream")
        return await self._respond_when_done(request, seq, header)

    async def _stream(self, seq: EngineSequence, renderer: StreamRenderer) -> AsyncIterator[bytes]:
        sent = 0
        try:
            while True:
                await seq.progress.wait()
                seq.progress.clear()
                emitted = seq.emitted
                if emitted > sent:
                    opening = renderer.opening() if sent == 0 else b""
                    yield opening + renderer.tokens(seq, sent, emitted)
                    sent = emitted
                if seq.outcome is not None:
                    break
            if seq.outcome is Outcome.CRASH:
                self._crash(f"crash fault after {sent} streamed tokens")
            elif seq.outcome is Outcome.FINISHED:
                yield renderer.closing(seq)
            else:
                yield sse(self._failure().body()) + DONE
        finally:
            self.engine.abort(seq)

    async def _respond_when_done(self, request: Request, seq: EngineSequence, header: ResponseHeader) -> Response:
        outcome = await _outcome_unless_disconnected(seq, request.receive)
        if outcome is None:
            self.engine.abort(seq)
            return json_response(generation_failed().body(), HTTPStatus.INTERNAL_SERVER_ERROR)
        if outcome is Outcome.CRASH:
            self._crash(f"crash fault after {seq.emitted} generated tokens")
        if outcome is not Outcome.FINISHED:
            raise self._failure()
        return json_response(full_response(header, seq))

    def _failure(self) -> APIError:
        """Why a request failed inside the engine: its death (EngineDeadError), or this request alone."""
        return engine_dead() if self.engine.failure is not None else generation_failed()

    # --- fault control ---------------------------------------------------------------------------------------
    async def list_faults(self, request: Request) -> Response:
        self._authorize_control(request)
        return json_response(self._fault_state())

    async def arm_fault(self, request: Request) -> Response:
        self._authorize_control(request)
        try:
            fault = FaultRequest.model_validate(orjson.loads(await request.body()))
        except (orjson.JSONDecodeError, ValidationError) as exc:
            raise APIError(f"invalid fault: {exc}", err_type=HTTPStatus.BAD_REQUEST.phrase) from exc
        self.faults.add(
            FaultSpec(kind=fault.kind, after_tokens=fault.after_tokens, factor=fault.factor, count=fault.count)
        )
        log.warning("fault armed: %s", fault.model_dump())
        if fault.kind == "dead" and self.engine.failure is None:
            self.engine.die("dead fault")
        return json_response(self._fault_state(), HTTPStatus.CREATED)

    async def clear_faults(self, request: Request) -> Response:
        self._authorize_control(request)
        self.faults.clear()
        log.warning("faults cleared")
        return json_response(self._fault_state())

    def _fault_state(self) -> dict[str, Any]:
        return {"dead": self.faults.dead, "pending": [spec.to_json() for spec in self.faults.pending]}

    def _authorize_control(self, request: Request) -> None:
        token = self.config.control_token
        if token is None:
            raise HTTPException(HTTPStatus.NOT_FOUND)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(credentials.encode(), token.encode()):
            raise APIError("Unauthorized", status=HTTPStatus.UNAUTHORIZED, err_type=HTTPStatus.UNAUTHORIZED.phrase)


class FaultRequest(BaseModel):
    """Body of ``POST /sim/faults``."""

    model_config = ConfigDict(extra="forbid")

    kind: FaultKind
    after_tokens: int = Field(default=0, ge=0)
    factor: float = Field(default=1.0, gt=0)
    count: int | None = Field(default=1, ge=1)


async def _outcome_unless_disconnected(seq: EngineSequence, receive: Receive) -> Outcome | None:
    """Wait for the sequence to end; None if the client disconnects first (vLLM aborts such requests too)."""

    async def outcome() -> Outcome:
        while seq.outcome is None:
            await seq.progress.wait()
            seq.progress.clear()
        return seq.outcome

    async def disconnect() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    finished = asyncio.ensure_future(outcome())
    gone = asyncio.ensure_future(disconnect())
    try:
        await asyncio.wait({finished, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        finished.cancel()
    return finished.result() if finished.done() and not finished.cancelled() else None


async def _api_error_response(_request: Request, exc: Exception) -> Response:
    error = exc if isinstance(exc, APIError) else generation_failed()
    return json_response(error.body(), error.status)


async def _http_error_response(_request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) in FastAPI's default shape, as vLLM 0.32 answers them."""
    status = HTTPStatus(exc.status_code) if isinstance(exc, HTTPException) else HTTPStatus.INTERNAL_SERVER_ERROR
    return json_response({"detail": status.phrase}, status)


async def _internal_error_response(_request: Request, exc: Exception) -> Response:
    log.error("unhandled error: %s", exc, exc_info=exc)
    return json_response(
        error_body(str(exc), err_type="InternalServerError", status=HTTPStatus.INTERNAL_SERVER_ERROR), 500
    )
