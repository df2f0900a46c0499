"""Mid-stream failover: an answer whose replica fails after the first token continues on another replica.

Why here and not in the router: chat already holds what a continuation needs (the prompt's messages, the text
the customer has seen, the answer's remaining token budget) and parses every chunk anyway; the router relays
bytes unparsed for every caller (the pass-through API included, where ``n``, ``logprobs`` or tools make a
continuation meaningless), and parsing and re-framing each token there would cost the CPU its relay was built
to save. The router helps in two ways: it ejects a replica whose connection broke, and it tries last the
replica chat names in ``X-Helpline-Avoid-Backend`` (a stalled one stays ready to the router).

How: the request is sent again with the partial answer as a final assistant message and vLLM's
``continue_final_message: true`` + ``add_generation_prompt: false``, so the model writes the rest of that very
message; the deltas go on to the customer's stream as if nothing happened (no marker, no repeated text) and the
stored answer is the concatenation the customer saw. Bounded by ``engine_failovers`` continuations per answer
and by the answer's overall deadline (``engine_total_timeout_seconds``); each continuation's own first token
follows the first-token rules (retries before it, the circuit). When none can be opened, the break is raised as
before and the turn ends with what was generated, marked partial.

Usage is the engine work actually done: a broken attempt sent no usage chunk, so its completion tokens are its
text chunks and its prompt tokens are the next attempt's minus them (that prompt is this one plus the partial).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Literal

from app.chat.engine import AnswerRequest, AnswerStream, EngineClient, EngineStreamError, Usage
from app.core.errors import ProblemError
from app.core.logging import get_logger
from app.core.metrics import METRICS

log = get_logger(__name__)

FailoverResult = Literal["continued", "failed", "exhausted"]


class FailoverAnswer:
    """The text of one answer across as many replicas as it takes (at most ``1 + max_failovers``)."""

    def __init__(
        self,
        engine: EngineClient,
        request: AnswerRequest,
        first: AnswerStream,
        *,
        max_failovers: int,
        stall_seconds: float | None,
        quota_capped: bool = False,
    ) -> None:
        self._engine = engine
        self._request = request
        self._stream = first
        self._max_failovers = max_failovers
        self._stall_seconds = stall_seconds
        self.quota_capped = quota_capped  # max_tokens was lowered to fit the tenant's token budget
        self._pieces: list[str] = []
        self._broken_tokens: list[int] = []  # text chunks of each attempt that broke, in order
        self.failovers = 0

    @property
    def finish_reason(self) -> str | None:
        return self._stream.finish_reason

    @property
    def usage(self) -> Usage | None:
        """Prompt and completion tokens over every attempt (see the module docstring); None without a final usage."""
        last = self._stream.usage
        if last is None:
            return None
        prompt, total_prompt, completion = last["prompt_tokens"], last["prompt_tokens"], last["completion_tokens"]
        for generated in reversed(self._broken_tokens):
            prompt = max(0, prompt - generated)
            total_prompt += prompt
            completion += generated
        return {"prompt_tokens": total_prompt, "completion_tokens": completion}

    async def texts(self) -> AsyncIterator[str]:
        while True:
            try:
                async for text in self._stream.texts(self._stall_seconds):
                    self._pieces.append(text)
                    yield text
                return
            except EngineStreamError as exc:
                await self._continue_after(exc)

    async def _continue_after(self, exc: EngineStreamError) -> None:
        """Open the continuation on another replica, or raise ``exc`` (the partial-answer path) when none can be."""
        broken = self._stream
        reason = "stalled" if exc.stalled else "broken"
        generated = sum(self._broken_tokens) + broken.tokens
        remaining = self._request.max_tokens - generated
        await broken.aclose()  # a stalled replica's generation is aborted by vLLM when the connection closes
        if self.failovers >= self._max_failovers or remaining < 1:
            self._count(reason, "exhausted")
            raise exc
        continuation = replace(
            self._request,
            continuation="".join(self._pieces),
            max_tokens=remaining,
            avoid_backend=broken.backend,
        )
        try:
            self._stream = await self._engine.open_answer(continuation)
        except ProblemError as failed:
            self._count(reason, "failed")
            log.warning("answer could not be continued", model=self._request.model, reason=str(exc))
            raise EngineStreamError(f"{exc}; no replica could continue it ({failed.detail})") from failed
        self._broken_tokens.append(broken.tokens)
        self.failovers += 1
        self._count(reason, "continued")
        log.info(
            "answer continued on another replica",
            model=self._request.model,
            reason=str(exc),
            generated_tokens=generated,
            failover=self.failovers,
        )

    async def aclose(self) -> None:
        await self._stream.aclose()

    def _count(self, reason: str, result: FailoverResult) -> None:
        METRICS.chat_failovers_total.labels(model=self._request.model, reason=reason, result=result).inc()
