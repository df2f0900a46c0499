"""The engine client: OpenAI-compatible calls to vLLM (through the router), with deadlines, retries before the
first token only, a circuit per model, and vLLM's errors turned into precise problems.

The official ``openai`` SDK (``AsyncOpenAI`` on our one pooled, instrumented httpx client, its own retries off:
the rules below are ours) owns the protocol: base URL, API key, timeouts, SSE decoding, in-band
``{"error": ...}`` events (``APIError``) and error statuses (``APIStatusError``, ``APIConnectionError``,
``APITimeoutError``). It is used through its low-level request API: ``post`` with the body already dumped by
orjson and chunks left as plain dicts (``cast_to=object``), not the typed ``chat.completions.create``, whose
parameter transform and per-chunk pydantic models cost more than the rest of a token's path. Client CPU per
streamed answer (80 tokens, an 11-message history, 200 calls against the simulator, 8 | 32 concurrent):
hand-written over httpx 7.2 | 5.8 ms, this path 8.2 | 7.5 ms, typed ``create`` 16.7 | 14.0 ms. The
pass-through (``send_raw``) relays the client's bytes both ways, so it stays on the httpx client, with the
SDK's base URL and key.

Failure rules:
- before the first chunk: connection errors, 5xx, an in-band error and the first-token deadline are retried
  (up to ``engine_retries`` more attempts, with a short jittered pause); a first-token timeout retries without
  the session id, so the router picks the least loaded replica instead of the one that hung;
- 4xx are never retried: a context overflow is the customer's (400 ``context-length-exceeded``), anything
  else (unknown model, wrong key) is our misconfiguration (500, logged as an error);
- after the first chunk the request is never re-sent as it was (the customer already has part of an answer): a
  mid-stream ``data: {"error": ...}``, a dropped connection, a stream without its end (the usage chunk we ask
  for, the last before ``[DONE]``: the SDK ends iteration on ``[DONE]`` and on a closed stream alike) or a stall
  raise ``EngineStreamError``, and ``app.chat.failover`` continues the answer from its partial text.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import httpx
import openai
import orjson

from app.chat.circuit import CircuitBreaker, CircuitOpenError, CircuitState
from app.chat.errors import (
    ContextLengthExceededError,
    EngineFailedError,
    EngineMisconfiguredError,
    EngineTimeoutError,
    EngineUnavailableError,
)
from app.chat.settings import ChatSettings
from app.core.errors import BadRequestError, NotFoundError, ProblemError
from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.core.tracing import instrument_client

log = get_logger(__name__)

SESSION_HEADER = "X-Session-Id"
#: The router names the replica that served a stream (opaque id) and tries a named one last on request.
BACKEND_HEADER = "x-helpline-backend"
AVOID_HEADER = "X-Helpline-Avoid-Backend"
CHAT_PATH = "/chat/completions"
#: How the router's 503 begins when a model has no ready replica (app.router.proxy).
NO_REPLICA_MESSAGE = "No replica of model"
RETRY_PAUSE_SECONDS = 0.1
#: Idle connections kept per client. httpcore scans its whole pool on every request (and polls each idle
#: socket), so a pool far larger than the concurrency costs CPU on every call.
KEEPALIVE_CONNECTIONS = 64
#: The key sent to a vLLM started without ``--api-key`` (vLLM's own convention: it ignores the header).
NO_API_KEY = "EMPTY"
#: Room for the classifier's JSON object (about 15 tokens compact) with the whitespace a model may put in it;
#: a document cut at this limit is not JSON and classifies nothing.
CLASSIFIER_MAX_TOKENS = 48
_CONTEXT_OVERFLOW = re.compile(r"context length|context window|max_model_len|maximum model length", re.IGNORECASE)

Outcome = Literal["ok", "retried", "error", "timeout", "circuit_open", "context_overflow"]
Usage = dict[str, int]
#: Streamed chunks as the JSON decoder returns them: ``cast_to=object`` skips the SDK's per-chunk models.
_Chunks = openai.AsyncStream[object]


class EngineStreamError(Exception):
    """The stream broke after it started (mid-stream error event, dropped connection, missing end, a stall)."""

    def __init__(self, reason: str, *, stalled: bool = False) -> None:
        super().__init__(reason)
        self.stalled = stalled


class _RetryableError(Exception):
    """An attempt failed before its first chunk in a way another attempt may fix."""

    def __init__(self, reason: str, *, timed_out: bool = False, no_replica: bool = False) -> None:
        super().__init__(reason)
        self.timed_out = timed_out
        self.no_replica = no_replica


@dataclass(frozen=True)
class AnswerRequest:
    model: str
    messages: list[dict[str, str]]
    temperature: float
    max_tokens: int
    session_id: str | None
    #: The partial answer to continue (vLLM's ``continue_final_message``), after a replica failed mid-answer.
    continuation: str | None = None
    #: The replica (router's opaque id) that failed this answer: tried last.
    avoid_backend: str | None = None

    def body(self) -> bytes:
        document: dict[str, Any] = {
            "model": self.model,
            "messages": self.messages,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.continuation is not None:
            document["messages"] = [*self.messages, {"role": "assistant", "content": self.continuation}]
            document["continue_final_message"] = True
            document["add_generation_prompt"] = False
        return orjson.dumps(document)

    def headers(self) -> dict[str, str]:
        headers = {SESSION_HEADER: self.session_id} if self.session_id else {}
        if self.avoid_backend:
            headers[AVOID_HEADER] = self.avoid_backend
        return headers


@dataclass
class AnswerStream:
    """An open answer: iterate for text pieces; afterwards ``finish_reason`` and ``usage`` are set."""

    _chunks: _Chunks
    finish_reason: str | None = None
    usage: Usage | None = None
    #: Text chunks received: vLLM streams one token per chunk, so the tokens generated when there is no usage.
    tokens: int = 0
    _pending: str = field(default="", init=False)  # the first chunk's text, read before the stream was handed out
    _ended: bool = field(default=False, init=False)  # the final usage chunk arrived

    @property
    def backend(self) -> str | None:
        """The router's opaque id of the replica serving this stream (None when talking to vLLM directly)."""
        return self._chunks.response.headers.get(BACKEND_HEADER)

    async def texts(self, stall_seconds: float | None = None) -> AsyncIterator[str]:
        """The answer's text pieces; a gap over ``stall_seconds`` between chunks is a stalled replica."""
        chunks = aiter(self._chunks)
        try:
            if self._pending:
                yield self._pending
            while True:
                try:
                    async with asyncio.timeout(stall_seconds):
                        chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                text = self._read(chunk)
                if text:
                    yield text
        except TimeoutError as exc:
            raise EngineStreamError(f"no token for {stall_seconds:g} s", stalled=True) from exc
        except openai.APIConnectionError as exc:  # timeouts included
            raise EngineStreamError(f"the engine connection broke: {_transport_failure(exc)}") from exc
        except openai.APIError as exc:  # an in-band error event
            raise EngineStreamError(f"the engine failed mid-answer: {exc.message}") from exc
        if not self._ended:
            raise EngineStreamError("the engine stream ended without its final event")

    def _read(self, item: object) -> str:
        chunk = cast("dict[str, Any]", item)
        choices = chunk.get("choices")
        usage = chunk.get("usage")
        if usage:
            self.usage = _usage_of(usage)
            self._ended = not choices  # the final chunk; any other carrying usage is a running count
        if not choices:
            return ""
        choice = choices[0]
        if choice.get("finish_reason"):
            self.finish_reason = choice["finish_reason"]
        text = (choice.get("delta") or {}).get("content") or ""
        if text:
            self.tokens += 1
        return text

    async def aclose(self) -> None:
        """Close the engine response (an unfinished generation is aborted by vLLM when the connection closes)."""
        await self._chunks.close()


class EngineClient:
    def __init__(self, settings: ChatSettings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(
                settings.engine_total_timeout_seconds,
                connect=settings.engine_connect_timeout_seconds,
                pool=settings.engine_connect_timeout_seconds,
            ),
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE_CONNECTIONS),
        )
        instrument_client(self._http)  # traceparent on every engine call: chat -> router -> engine is one trace
        key = settings.engine_api_key.get_secret_value() if settings.engine_api_key else NO_API_KEY
        # The SDK takes the httpx client's timeouts as its own; it accepts an httpx.AsyncClient at run time,
        # though its signature names only httpx2's.
        self._openai = openai.AsyncOpenAI(
            base_url=settings.engine_url, api_key=key, max_retries=0, http_client=cast("Any", self._http)
        )
        self._raw_base = str(self._openai.base_url)  # ends with "/"
        self._raw_headers = {"Content-Type": "application/json", **self._openai.auth_headers}
        self._breakers: dict[str, CircuitBreaker] = {}
        self._random = random.Random()  # noqa: S311  (retry jitter, not security)

    async def aclose(self) -> None:
        await self._openai.close()  # closes the httpx client

    def available(self, model: str) -> bool:
        """The model answers as far as chat knows: its circuit is closed (half-open still waits for its probe)."""
        return self.breaker(model).state == "closed"

    def breaker(self, model: str) -> CircuitBreaker:
        breaker = self._breakers.get(model)
        if breaker is None:
            gauge = METRICS.engine_circuit_open.labels(model=model)
            gauge.set(0)

            def on_change(state: CircuitState) -> None:
                gauge.set(1 if state == "open" else 0)
                log.warning("engine circuit changed", model=model, state=state)

            breaker = CircuitBreaker(
                failure_threshold=self._settings.circuit_failure_threshold,
                reset_seconds=self._settings.circuit_reset_seconds,
                on_change=on_change,
            )
            self._breakers[model] = breaker
        return breaker

    # --- streamed answers ---------------------------------------------------------------------------------------
    async def open_answer(self, request: AnswerRequest) -> AnswerStream:
        """Start an answer and wait for its first chunk, retrying failures that happen before it."""
        breaker = self._admit(request.model)
        body = request.body()
        headers = request.headers()
        failure: _RetryableError | None = None
        for attempt in range(self._settings.engine_retries + 1):
            if attempt:
                await asyncio.sleep(RETRY_PAUSE_SECONDS * (2 ** (attempt - 1)) * (1 + self._random.random()))
            try:
                stream = await self._attempt(request.model, body, headers)
            except _RetryableError as exc:
                failure = exc
                log.info("engine attempt failed", model=request.model, attempt=attempt + 1, reason=str(exc))
                if exc.no_replica:
                    break  # the router already tried every replica: another attempt now finds none either
                if exc.timed_out:
                    # the affine replica hung: let the router choose the least loaded one
                    headers = {k: v for k, v in headers.items() if k != SESSION_HEADER}
                continue
            except BaseException:
                breaker.release()
                raise
            breaker.record_success()
            self._count(request.model, "retried" if attempt else "ok")
            return stream
        assert failure is not None
        if failure.no_replica:
            breaker.trip()  # no replica is ready: the model is down now, not after N more failed turns
            self._count(request.model, "error")
            raise EngineUnavailableError(f"No replica of the language model is ready ({failure}).")
        breaker.record_failure()
        if failure.timed_out:
            self._count(request.model, "timeout")
            raise EngineTimeoutError("The language model did not start answering in time.")
        self._count(request.model, "error")
        raise EngineFailedError(f"The language model failed to answer ({failure}).")

    async def _attempt(self, model: str, body: bytes, headers: dict[str, str]) -> AnswerStream:
        """One request, up to its first chunk; failures another attempt may fix become ``_RetryableError``."""
        try:
            return await self._first_chunk(body, headers)
        except TimeoutError as exc:
            raise _RetryableError("no first token before the deadline", timed_out=True) from exc
        except openai.APIStatusError as exc:
            raise self._status_problem(model, exc) from exc
        except openai.APIConnectionError as exc:  # timeouts included
            raise _RetryableError(_transport_failure(exc)) from exc
        except openai.APIError as exc:  # an in-band error event before any token
            raise _RetryableError(f"the engine failed before answering: {exc.message}") from exc

    async def _first_chunk(self, body: bytes, headers: dict[str, str]) -> AnswerStream:
        async with asyncio.timeout(self._settings.engine_first_token_timeout_seconds):
            chunks = await self._openai.post(
                CHAT_PATH,
                cast_to=object,
                content=body,
                stream=True,
                stream_cls=_Chunks,
                options={"headers": headers} if headers else {},
            )
            try:
                first = await anext(chunks, None)
            except BaseException:
                await chunks.close()
                raise
        if first is None:
            raise _RetryableError("the engine closed the stream before answering")
        stream = AnswerStream(chunks)
        stream._pending = stream._read(first)
        return stream

    def _status_problem(self, model: str, exc: openai.APIStatusError) -> Exception:
        status, message = exc.status_code, _error_message(exc)
        if status >= httpx.codes.INTERNAL_SERVER_ERROR:
            no_replica = status == httpx.codes.SERVICE_UNAVAILABLE and message.startswith(NO_REPLICA_MESSAGE)
            return _RetryableError(f"engine answered {status}: {message}", no_replica=no_replica)
        problem = engine_error_problem(status, message, client_request=False)
        if isinstance(problem, ContextLengthExceededError):
            self._count(model, "context_overflow")
        else:
            self._count(model, "error")
            log.error("engine refused our request", model=model, status=status, error=message)
        return problem

    # --- raw pass-through (the OpenAI-compatible endpoint) -------------------------------------------------------
    async def send_raw(self, model: str, path: str, body: bytes) -> httpx.Response:
        """POST ``body`` as is to the engine and return the response with its body unread (the caller streams
        it and must close it). The circuit counts connection errors and 5xx; 4xx are the caller's business."""
        breaker = self._admit(model)
        request = self._http.build_request(
            "POST", self._raw_base + path.lstrip("/"), content=body, headers=self._raw_headers
        )
        try:
            response = await self._http.send(request, stream=True)
        except httpx.TimeoutException as exc:
            breaker.record_failure()
            self._count(model, "timeout")
            raise EngineTimeoutError("The language model did not answer in time.") from exc
        except httpx.HTTPError as exc:
            breaker.record_failure()
            self._count(model, "error")
            raise EngineUnavailableError("The language model cannot be reached.") from exc
        except BaseException:
            breaker.release()
            raise
        if response.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
            breaker.record_failure()
            self._count(model, "error")
        else:
            breaker.record_success()
            self._count(model, "ok" if response.status_code < httpx.codes.BAD_REQUEST else "error")
        return response

    # --- classification -----------------------------------------------------------------------------------------
    async def classify(
        self, model: str, instruction: str, text: str, schema: Mapping[str, Any]
    ) -> tuple[dict[str, Any] | None, Usage | None]:
        """A JSON object about ``text`` constrained by ``schema`` (vLLM structured outputs), and the call's usage.

        (None, None) when the engine is unavailable; (None, usage) when the answer is not a JSON object. Never
        raises for engine trouble: classification is an extra, a failed one changes no answer.
        """
        try:
            breaker = self._admit(model)
        except EngineUnavailableError:
            return None, None
        body = orjson.dumps(
            {
                "model": model,
                "messages": [{"role": "system", "content": instruction}, {"role": "user", "content": text}],
                "temperature": 0,
                "max_tokens": CLASSIFIER_MAX_TOKENS,
                "structured_outputs": {"json": schema},
            }
        )
        try:
            completion = await self._openai.post(
                CHAT_PATH, cast_to=object, content=body, options={"timeout": self._settings.classifier_timeout_seconds}
            )
        except openai.APIStatusError as exc:
            if exc.status_code >= httpx.codes.INTERNAL_SERVER_ERROR:
                breaker.record_failure()
            else:
                breaker.release()
                log.error("classifier refused our request", model=model, status=exc.status_code)
            self._count(model, "error")
            return None, None
        except openai.APIConnectionError as exc:
            breaker.record_failure()
            self._count(model, "timeout" if isinstance(exc, openai.APITimeoutError) else "error")
            return None, None
        except BaseException:
            breaker.release()
            raise
        breaker.record_success()
        self._count(model, "ok")
        if not isinstance(completion, dict):  # not JSON: the SDK hands back the text
            return None, None
        completion = cast("dict[str, Any]", completion)
        return _answer_object(completion.get("choices")), _usage_of(completion.get("usage"))

    # --- helpers ------------------------------------------------------------------------------------------------
    def _admit(self, model: str) -> CircuitBreaker:
        breaker = self.breaker(model)
        try:
            breaker.before_call()
        except CircuitOpenError as exc:
            self._count(model, "circuit_open")
            raise EngineUnavailableError(
                "The language model is failing; retry shortly.",
                headers={"Retry-After": str(max(1, round(exc.retry_after)))},
            ) from exc
        return breaker

    @staticmethod
    def _count(model: str, outcome: Outcome) -> None:
        METRICS.engine_requests_total.labels(model=model, outcome=outcome).inc()


def _answer_object(choices: object) -> dict[str, Any] | None:
    """The JSON object the first choice's message holds, or None (missing, not JSON, or not an object).

    Under ``structured_outputs.json`` a model may pad the object with whitespace until ``max_tokens`` and be cut
    before its closing brace (``finish_reason: length``; seen on vLLM 0.32). Such an answer is complete but for
    the brace: closing it recovers the labels. Anything else cut short (a half-written value) stays None.
    """
    first = cast("list[Any]", choices)[0] if isinstance(choices, list) and choices else None
    choice = cast("dict[str, Any]", first) if isinstance(first, dict) else {}
    message = choice.get("message")
    content = cast("dict[str, Any]", message).get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        return None
    document = _json_or_none(content)
    if document is None and choice.get("finish_reason") == "length":
        document = _json_or_none(content.rstrip().removesuffix(",") + "}")
        if document is not None:
            log.warning("classifier answer cut at max_tokens; closed its object", max_tokens=CLASSIFIER_MAX_TOKENS)
    return cast("dict[str, Any]", document) if isinstance(document, dict) else None


def _json_or_none(text: str) -> object | None:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _usage_of(raw: object) -> Usage | None:
    """Token counts of a completion's ``usage``, or None when they are missing or not integers."""
    if not isinstance(raw, dict):
        return None
    usage = cast("dict[str, Any]", raw)
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return {"prompt_tokens": prompt, "completion_tokens": completion}


def _transport_failure(exc: openai.APIConnectionError) -> str:
    """What broke underneath the SDK's connection error (``ConnectError``, ``ReadTimeout``, ...)."""
    return type(exc.__cause__ or exc).__name__


def engine_error_problem(status: int, message: str, *, client_request: bool) -> ProblemError:
    """The problem for an error status from vLLM.

    400 naming the context length is a context overflow (the customer's conversation is too long). Any other
    4xx means the request was wrong: the client's fault when the body came from the client (the pass-through),
    ours otherwise (unknown model, wrong API key: an operator must fix the configuration). 5xx: the engine failed.
    """
    if status >= httpx.codes.INTERNAL_SERVER_ERROR:
        return EngineFailedError(f"The language model failed ({status}): {message}")
    if status == httpx.codes.BAD_REQUEST and _CONTEXT_OVERFLOW.search(message):
        return ContextLengthExceededError(f"The conversation no longer fits the model's context: {message}")
    if client_request and status == httpx.codes.BAD_REQUEST:
        return BadRequestError(message)
    if client_request and status == httpx.codes.NOT_FOUND:
        return NotFoundError(message)
    return EngineMisconfiguredError("The assistant is misconfigured; the operators have been notified.")


def error_message_of(content: bytes) -> str:
    """vLLM's error message from a response body (``{"error": {"message": ...}}``, or whatever it is)."""
    fallback = content[:300].decode(errors="replace")
    try:
        body = orjson.loads(content)
    except orjson.JSONDecodeError:
        return fallback
    return _message_in(body) or fallback


def _error_message(exc: openai.APIStatusError) -> str:
    """vLLM's error message from an error status the SDK raised (its ``body``: decoded JSON, else the text)."""
    return _message_in(exc.body) or (str(exc.body)[:300] if exc.body is not None else exc.message)


def _message_in(body: object) -> str | None:
    inner = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(inner, dict) and isinstance(message := inner.get("message"), str):
        return message
    return None
