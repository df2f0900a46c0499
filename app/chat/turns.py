"""One customer message, end to end: store it, answer it from the engine as it streams, store the answer, apply
the escalation rules.

The answer is produced by its own task (``_produce``) that feeds a queue the response reads from. The task,
not the response, owns the engine stream and the final write: when the customer disconnects the response is
cancelled, the task is told to stop, and it still stores what was generated as a partial answer. Deadlines
live in that task too, where a timeout cannot fire into someone else's ``await``.

Per token the work is one chunk parse (in the engine client), one queue hop and one SSE frame built with
orjson: no pydantic model and no database write per token.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import partial
from typing import Literal
from uuid import UUID

from app.chat.background import BackgroundTasks
from app.chat.degraded_answers import FALLBACK_NOTE, everything_down_text, extractive
from app.chat.engine import AnswerRequest, EngineClient, EngineStreamError
from app.chat.errors import (
    EngineFailedError,
    EngineTimeoutError,
    EngineUnavailableError,
    MessageTooLongError,
    RequestInProgressError,
    TokenBudgetExhaustedError,
)
from app.chat.escalation import (
    CLASSIFIER_SCHEMA,
    NEGATIVE_STREAK,
    Classification,
    classification_of,
    escalation_reason,
)
from app.chat.failover import FailoverAnswer
from app.chat.grounding import GroundedTurn, Grounding, decide, grounded_messages
from app.chat.knowledge_client import KnowledgeClient
from app.chat.ladder import DegradationLadder, Level
from app.chat.metering import count_tokens
from app.chat.profiles import ProfileStore
from app.chat.prompt import ContextBudget, build_messages, fits_alone, within_token_budget
from app.chat.records import Records, Usage
from app.chat.safety import AnswerFilter, Inbound, TurnSafety
from app.chat.sessions_client import SessionsClient
from app.chat.settings import ChatSettings
from app.contracts import problems
from app.contracts.api import (
    AssistantProfile,
    Conversation,
    Degradation,
    DoneEvent,
    Message,
    MessageEvent,
    MessageStatus,
)
from app.contracts.api import Usage as ApiUsage
from app.contracts.internal import FinishAnswer, IdentityClaims, TurnStart, TurnStarted
from app.contracts.knowledge import RetrieveRequest
from app.core.errors import ProblemError
from app.core.logging import get_logger
from app.core.metrics import METRICS

log = get_logger(__name__)

CLASSIFY_INSTRUCTION = (
    "Classify the customer's message: its intent, and the emotion it expresses. "
    'Answer with a JSON object {"intent": <one label>, "emotion": <one label>} and nothing else.'
)


@dataclass(frozen=True)
class TurnRequest:
    identity: IdentityClaims
    conversation_id: UUID
    content: str
    idempotency_key: str | None
    received_at: float  # time.perf_counter() when the request arrived: time to first token counts from here
    token_budget: int | None = None  # tokens the gateway reserved from the tenant's quota (None: no quota)
    #: The gateway's admission control has the model saturated (``SATURATED_HEADER``): a saturated level too.
    gateway_saturated: bool = False


@dataclass(frozen=True)
class StartedTurn:
    request: TurnRequest
    started: TurnStarted
    profile: AssistantProfile
    inbound: Inbound


#: What a turn emits, in order: ("message", MessageEvent), ("delta", text)*, then ("done", DoneEvent) or
#: ("error", problem); ("heartbeat", None) whenever the stream has been silent for the heartbeat interval.
#: Plain tuples: built once per token, they must cost nothing.
TurnEvent = (
    tuple[Literal["message"], MessageEvent]
    | tuple[Literal["delta"], str]
    | tuple[Literal["done"], DoneEvent]
    | tuple[Literal["error"], ProblemError]
    | tuple[Literal["heartbeat"], None]
)
HEARTBEAT: TurnEvent = ("heartbeat", None)
#: A model that failed to start answering in one of these ways is down for this turn: the ladder's next rung.
MODEL_DOWN_ERRORS = (EngineUnavailableError, EngineFailedError, EngineTimeoutError)


@dataclass
class _Pulse:
    """When the stream last carried something (the consumer stamps it; the heartbeat task reads it)."""

    last: float = field(default_factory=time.monotonic)


@dataclass
class _Progress:
    """What an answer has become so far, whatever ends it: stored from here."""

    grounded: GroundedTurn = field(default_factory=lambda: GroundedTurn(Grounding.UNGROUNDED))
    stream: FailoverAnswer | None = None
    pieces: list[str] = field(default_factory=list)  # text not produced by the model (sent whole)
    degradation: Degradation | None = None
    suffix: str = ""  # what the ladder adds after the model's text (the fallback's note)

    def say(self, text: str, queue: asyncio.Queue[TurnEvent]) -> None:
        self.pieces.append(text)
        queue.put_nowait(("delta", text))


class TurnService:
    def __init__(
        self,
        *,
        settings: ChatSettings,
        sessions: SessionsClient,
        engine: EngineClient,
        profiles: ProfileStore,
        records: Records,
        background: BackgroundTasks,
        safety: TurnSafety,
        ladder: DegradationLadder,
        knowledge: KnowledgeClient | None = None,
    ) -> None:
        self._settings = settings
        self._ladder = ladder
        self._knowledge = knowledge
        self._safety = safety
        self._sessions = sessions
        self._engine = engine
        self._profiles = profiles
        self._records = records
        self._background = background

    def budget(self, profile: AssistantProfile, *, fallback: bool = False) -> ContextBudget:
        settings = self._settings
        return ContextBudget(
            max_model_len=settings.fallback_max_model_len if fallback else settings.max_model_len,
            max_tokens=min(profile.max_tokens, settings.fallback_max_tokens) if fallback else profile.max_tokens,
            margin_tokens=self._settings.prompt_margin_tokens,
            chars_per_token=self._settings.chars_per_token,
        )

    async def start(self, request: TurnRequest) -> StartedTurn:
        """Everything that can refuse the message with a plain problem response, before anything streams.

        A message that cannot fit the context even alone is refused before it is stored (no half-done turn).
        """
        profile = await self._profiles.get(request.identity.tenant_id)
        if not fits_alone(profile.system_prompt, request.content, self.budget(profile)):
            raise MessageTooLongError("The message is too long for the assistant's context window; shorten it.")
        budget = self.budget(profile)
        essential = budget.estimate(profile.system_prompt) + budget.estimate(request.content)
        if request.token_budget is not None and within_token_budget(budget, request.token_budget, essential) is None:
            raise TokenBudgetExhaustedError(
                "What is left of the tenant's token quota today cannot fit this message and an answer.",
                tokens_left=request.token_budget,
            )
        # PII is replaced before the message is stored or reaches the model (app.chat.safety).
        inbound = await self._safety.inbound(
            request.identity.tenant_id, request.conversation_id, request.content, profile
        )
        started = await self._sessions.start_turn(
            request.conversation_id,
            TurnStart(
                content=inbound.content,
                idempotency_key=request.idempotency_key,
                history_limit=self._settings.history_limit,
            ),
        )
        answer = started.assistant_message
        if started.replayed and answer is not None and answer.status == MessageStatus.STREAMING:
            raise RequestInProgressError(
                "The original request with this Idempotency-Key is still being answered.",
                headers={"Retry-After": "2"},
            )
        return StartedTurn(request=request, started=started, profile=profile, inbound=inbound)

    async def events(self, turn: StartedTurn) -> AsyncIterator[TurnEvent]:
        started = turn.started
        queue: asyncio.Queue[TurnEvent] = asyncio.Queue()
        producer = None
        if started.mode == "bot" and not started.replayed and started.assistant_message is not None:
            # Started before the first event is sent: the engine call does not wait for the customer's socket.
            # A message the input guardrail flagged gets the policy's reply instead of the model's.
            answer = (
                self._produce(turn, queue) if turn.inbound.verdict is None else self._answer_flagged_input(turn, queue)
            )
            producer = self._background.spawn(answer, name=f"answer {started.assistant_message.id}")
            producer.add_done_callback(partial(_end_stream_if_failed, queue))
        shown = started.customer_message.model_copy(
            update={"content": turn.inbound.shown(started.customer_message.content)}
        )
        yield "message", MessageEvent(message=shown, conversation=started.conversation)
        if producer is None:
            for event in self._without_engine(started):
                yield event
            return
        first_token = True
        pulse = _Pulse()
        heartbeat = asyncio.create_task(self._heartbeat(queue, pulse), name="heartbeat")
        held: TurnEvent | None = None  # the event that ended a run of coalesced deltas, sent next
        try:
            while True:
                event, held = (held, None) if held is not None else (await queue.get(), None)
                if event[0] == "delta":
                    event, held = coalesce_deltas(event, queue)
                pulse.last = time.monotonic()
                if event[0] == "delta" and first_token:
                    first_token = False
                    METRICS.time_to_first_token_seconds.labels(service="chat", model=turn.profile.model).observe(
                        time.perf_counter() - turn.request.received_at
                    )
                yield event
                if event[0] in ("done", "error"):
                    return
        finally:
            heartbeat.cancel()
            if not producer.done():
                producer.cancel()  # the customer is gone: stop generating; the producer stores what it has

    async def _heartbeat(self, queue: asyncio.Queue[TurnEvent], pulse: _Pulse) -> None:
        """A heartbeat into a stream silent for ``sse_heartbeat_seconds`` (a long queue at the engine), so
        proxies and load balancers do not close it as idle. One timer per stream, nothing per token."""
        interval = self._settings.sse_heartbeat_seconds
        while True:
            silent_for = time.monotonic() - pulse.last
            if silent_for >= interval:
                queue.put_nowait(HEARTBEAT)
                pulse.last = time.monotonic()
                silent_for = 0.0
            await asyncio.sleep(interval - silent_for)

    @staticmethod
    def _without_engine(started: TurnStarted) -> list[TurnEvent]:
        """A human has the conversation (stored only), or an idempotent replay of a finished answer."""
        answer = started.assistant_message
        events: list[TurnEvent] = []
        if started.replayed and answer is not None and answer.content:
            events.append(("delta", answer.content))
        events.append(("done", DoneEvent(message=answer, conversation=started.conversation)))
        return events

    # --- the answer -------------------------------------------------------------------------------------------
    async def _produce(self, turn: StartedTurn, queue: asyncio.Queue[TurnEvent]) -> None:
        assert turn.started.assistant_message is not None
        answer_started = asyncio.Event()  # the classifier waits for it: it never delays the first token
        classification = self._classify_in_background(turn, after=answer_started)
        progress = _Progress()
        error: ProblemError | None = None
        cancelled = False
        answer = self._safety.answer_filter(turn.inbound, turn.profile)
        try:
            async with asyncio.timeout(self._settings.engine_total_timeout_seconds):
                await self._answer(turn, queue, answer, progress, answer_started)
        except TimeoutError:
            error = EngineTimeoutError("The answer took longer than allowed; what was generated is kept.")
        except EngineStreamError as exc:
            error = EngineFailedError(f"The answer was cut short ({exc}); what was generated is kept.")
        except ProblemError as exc:
            error = exc
        except asyncio.CancelledError:
            cancelled = True  # the customer left: store what was generated, then end quietly
            task = asyncio.current_task()
            if task is not None:
                task.uncancel()
        finally:
            answer_started.set()  # an answer that failed to start is still classified (the escalation rules)
            if progress.stream is not None:
                await progress.stream.aclose()
        stream = progress.stream
        error = _outcome(stream, error)
        content = "".join(progress.pieces) or answer.stored_text(turn.inbound.policy.guardrails.safe_message)
        if error is None and not cancelled:
            content += progress.suffix
        finish = _finish_body(
            content, stream, progress.grounded, error=error, cancelled=cancelled, degradation=progress.degradation
        )
        stored = await self._finish(turn, finish)
        self._account(turn, stream.usage if stream is not None else None, stored)
        self._count_grounding(turn, progress.grounded)
        if cancelled:
            classification.cancel()
            return
        if answer.flag is not None:
            await self._record_output_flag(turn, stored.id, answer.flag.category, answer.flag.reason)
        forced = "output_guardrail" if answer.flag is not None else None
        if progress.degradation == Degradation.EVERYTHING_DOWN:
            forced = "engine_unavailable"  # the message waits for a person in the agents' queue
        await self._conclude(turn, queue, stored, classification, error, forced=forced)

    async def _answer(
        self,
        turn: StartedTurn,
        queue: asyncio.Queue[TurnEvent],
        answer: AnswerFilter,
        progress: _Progress,
        answer_started: asyncio.Event,
    ) -> None:
        """Ground the message, then answer it from the highest rung of the ladder that can, into ``progress``."""
        progress.grounded = await self._ground(turn)
        canned = progress.grounded.canned_text
        served = extractive(progress.grounded) if self._level(turn) == Level.SATURATED else None
        if canned is None and served is not None:  # saturated: the help centre's passage, not generated
            canned, progress.grounded = served
            progress.degradation = self._degraded(turn.profile.model, Degradation.SATURATED, "extractive")
        if canned is not None:  # a curated answer or "cannot answer": no model call, nothing to guess
            answer_started.set()
            progress.say(canned, queue)
            return
        progress.stream, progress.degradation = await self._open_on_the_ladder(turn, progress.grounded)
        answer_started.set()
        if progress.stream is None:  # everything down: the message is kept for a person
            progress.say(everything_down_text(self._settings.status_page_url), queue)
            return
        await _relay(progress.stream, answer, queue, safe_message=turn.inbound.policy.guardrails.safe_message)
        if progress.degradation == Degradation.CHAT_MODEL_DOWN:
            progress.suffix = FALLBACK_NOTE
            queue.put_nowait(("delta", FALLBACK_NOTE))

    async def _conclude(
        self,
        turn: StartedTurn,
        queue: asyncio.Queue[TurnEvent],
        stored: Message,
        classification: asyncio.Task[Classification | None] | None,
        error: ProblemError | None,
        *,
        forced: str | None = None,
    ) -> None:
        """The escalation rules, then the stream's last event: ``done`` with the stored answer (as the customer
        saw it), or the error."""
        conversation = await self._escalate_if_needed(turn, classification, error, forced=forced)
        if stored.created_at > conversation.updated_at:  # the turn ended: sessions moved updated_at to the answer
            conversation = conversation.model_copy(update={"updated_at": stored.created_at})
        if error is not None:
            queue.put_nowait(("error", error))
        else:
            shown = stored.model_copy(update={"content": turn.inbound.shown(stored.content)})
            queue.put_nowait(("done", DoneEvent(message=shown, conversation=conversation)))

    async def _record_output_flag(self, turn: StartedTurn, message_id: UUID, category: str, reason: str) -> None:
        await self._safety.events.add(
            tenant_id=turn.request.identity.tenant_id,
            conversation_id=turn.request.conversation_id,
            message_id=message_id,
            stage="output",
            category=category,
            action="replace",
            reason=reason,
        )

    async def _answer_flagged_input(self, turn: StartedTurn, queue: asyncio.Queue[TurnEvent]) -> None:
        """The input guardrail's canned reply is the answer: stored, recorded, and handed over when the policy says."""
        inbound = turn.inbound
        assert inbound.verdict is not None
        queue.put_nowait(("delta", inbound.reply()))
        stored = await self._finish(
            turn,
            FinishAnswer(
                content=inbound.reply(), status=MessageStatus.COMPLETE, usage=None, finish_reason="stop", error=None
            ),
        )
        await self._safety.events.add(
            tenant_id=turn.request.identity.tenant_id,
            conversation_id=turn.request.conversation_id,
            message_id=turn.started.customer_message.id,
            stage="input",
            category=inbound.verdict.category,
            action=inbound.action or "refuse",
            reason=inbound.verdict.reason,
        )
        forced = "guardrail" if inbound.action == "handoff" else None
        await self._conclude(turn, queue, stored, None, None, forced=forced)

    # --- the degradation ladder ---------------------------------------------------------------------------------
    def _level(self, turn: StartedTurn) -> Level:
        if not self._settings.degradation_ladder:
            return Level.NORMAL
        level = self._ladder.level(turn.profile.model, turn.request.identity.tier)
        if level == Level.NORMAL and turn.request.gateway_saturated:
            return Level.SATURATED  # the gateway sees the whole queue (it sheds before chat sees anything)
        return level

    async def _open_on_the_ladder(
        self, turn: StartedTurn, grounded: GroundedTurn
    ) -> tuple[FailoverAnswer | None, Degradation | None]:
        """The chat model's answer; if it cannot start one, the fallback model's; if neither can, no stream
        (everything down). Without the ladder a failure to start is the turn's error, as it always was."""
        model = turn.profile.model
        if not self._settings.degradation_ladder:
            return await self._open_answer(turn, grounded), None
        try:
            with self._ladder.waiting(model):
                stream = await self._open_answer(turn, grounded)
        except MODEL_DOWN_ERRORS as exc:
            log.warning("chat model cannot answer; trying the fallback", model=model, error=type(exc).__name__)
        else:
            self._ladder.first_token(model, time.perf_counter() - turn.request.received_at)
            return stream, None
        fallback = self._ladder.fallback_model
        if fallback is not None and fallback != model:
            try:
                stream = await self._open_answer(turn, grounded, fallback=fallback)
            except MODEL_DOWN_ERRORS as exc:
                log.warning("fallback model cannot answer either", model=fallback, error=type(exc).__name__)
            else:
                return stream, self._degraded(fallback, Degradation.CHAT_MODEL_DOWN, "fallback")
        return None, self._degraded("none", Degradation.EVERYTHING_DOWN, "message_taken")

    @staticmethod
    def _degraded(model: str, level: Degradation, kind: str) -> Degradation:
        METRICS.degraded_answers_total.labels(model=model, level=level.value, kind=kind).inc()
        return level

    async def _open_answer(
        self, turn: StartedTurn, grounded: GroundedTurn, *, fallback: str | None = None
    ) -> FailoverAnswer:
        """The engine's answer to the (grounded) prompt, continued on another replica if its replica fails; from
        ``fallback`` (within its smaller context and answer cap) instead of the profile's model when named. Under a
        token budget (the tenant's quota) the history and ``max_tokens`` are fitted into it."""
        profile = turn.profile
        budget = self.budget(profile, fallback=fallback is not None)
        prompt, history = grounded_messages(profile.system_prompt, turn.started.history, grounded)
        quota_capped = False
        if turn.request.token_budget is not None:
            essential = budget.estimate(prompt) + budget.estimate(history[-1].content)
            fitted = within_token_budget(budget, turn.request.token_budget, essential)
            if fitted is None:
                raise TokenBudgetExhaustedError("The tenant's token quota ran out before this answer could start.")
            quota_capped = fitted.max_tokens < budget.max_tokens
            budget = fitted
        request = AnswerRequest(
            model=fallback or profile.model,
            messages=build_messages(prompt, history, budget),
            temperature=profile.temperature,
            max_tokens=budget.max_tokens,
            session_id=str(turn.request.conversation_id),
        )
        return FailoverAnswer(
            self._engine,
            request,
            await self._engine.open_answer(request),
            max_failovers=self._settings.engine_failovers,
            stall_seconds=self._settings.engine_stall_seconds,
            quota_capped=quota_capped,
        )

    # --- grounding ------------------------------------------------------------------------------------------------
    async def _ground(self, turn: StartedTurn) -> GroundedTurn:
        """What the tenant's knowledge says about the customer's message. A knowledge service that cannot answer
        means "cannot answer" (and a person offered), never an ungrounded guess."""
        if self._knowledge is None:
            return GroundedTurn(Grounding.UNGROUNDED)
        request = RetrieveRequest(
            query=turn.inbound.content,  # placeholders: PII does not reach the knowledge service or embeddings
            limit=self._settings.knowledge_passages,
            token_budget=self._settings.knowledge_token_budget,
        )
        try:
            async with asyncio.timeout(self._settings.knowledge_timeout_seconds):
                return decide(await self._knowledge.retrieve(request))
        except (ProblemError, TimeoutError) as exc:
            log.warning("knowledge_unavailable", error=type(exc).__name__)
            return GroundedTurn(Grounding.NO_ANSWER)

    def _count_grounding(self, turn: StartedTurn, grounded: GroundedTurn) -> None:
        if self._knowledge is None:
            return
        METRICS.knowledge_answers_total.labels(outcome=grounded.grounding.value).inc()
        if grounded.grounding == Grounding.NO_ANSWER:
            gap = self._record_gap(turn.inbound.content, turn.request.conversation_id)
            self._background.spawn(gap, name="content gap")

    async def _record_gap(self, question: str, conversation_id: UUID) -> None:
        assert self._knowledge is not None
        try:
            await self._knowledge.record_gap(question, conversation_id)
        except ProblemError as exc:  # a lost gap record is not worth failing anything for
            log.warning("content_gap_not_recorded", error=type(exc).__name__)

    async def _finish(self, turn: StartedTurn, finish: FinishAnswer) -> Message:
        assert turn.started.assistant_message is not None
        return await self._sessions.finish(
            turn.request.conversation_id,
            turn.started.assistant_message.id,
            finish,
            within_seconds=self._settings.finish_retry_seconds,
        )

    def _account(self, turn: StartedTurn, usage: dict[str, int] | None, stored: Message) -> None:
        if usage is None:
            return
        model = turn.profile.model
        identity = turn.request.identity
        count_tokens(model, identity.tenant_id, usage)
        record = Usage(
            tenant_id=identity.tenant_id,
            key_id=identity.key_id,
            conversation_id=turn.request.conversation_id,
            message_id=stored.id,
            kind="answer",
            model=model,
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
        )
        self._background.spawn(self._records.add_usage(record), name="usage record")

    # --- classification and escalation --------------------------------------------------------------------------
    def _classify_in_background(
        self, turn: StartedTurn, *, after: asyncio.Event
    ) -> asyncio.Task[Classification | None]:
        """Intent and emotion of the customer's message, alongside the answer once ``after`` is set (its first
        token): started with the answer, the classifier call was built and sent first on this event loop and
        delayed the answer's request."""
        return asyncio.create_task(self._classify(turn, after), name="classify")

    async def _classify(self, turn: StartedTurn, after: asyncio.Event) -> Classification | None:
        """One classifier request gives both labels (a JSON object), so one usage row."""
        model = self._settings.classifier_model
        if model is None:
            return None
        await after.wait()
        answer, usage = await self._engine.classify(
            model, CLASSIFY_INSTRUCTION, turn.inbound.content, CLASSIFIER_SCHEMA
        )
        if usage is not None:
            record = Usage(
                tenant_id=turn.request.identity.tenant_id,
                key_id=turn.request.identity.key_id,
                conversation_id=turn.request.conversation_id,
                message_id=turn.started.customer_message.id,
                kind="classification",
                model=model,
                prompt_tokens=usage["prompt_tokens"],
                completion_tokens=usage["completion_tokens"],
            )
            self._background.spawn(self._records.add_usage(record), name="classifier usage")
        return classification_of(answer)

    async def _escalate_if_needed(
        self,
        turn: StartedTurn,
        classification: asyncio.Task[Classification | None] | None,
        error: ProblemError | None,
        *,
        forced: str | None = None,
    ) -> Conversation:
        conversation = turn.started.conversation
        reason = forced
        verdict = await self._verdict(classification) if classification is not None else None
        if verdict is not None and reason is None:
            previous = await self._records.classify(
                tenant_id=turn.request.identity.tenant_id,
                conversation_id=turn.request.conversation_id,
                message_id=turn.started.customer_message.id,
                verdict=verdict,
                history=NEGATIVE_STREAK - 1,
            )
            reason = escalation_reason(verdict, previous)
        engine_down = isinstance(error, EngineUnavailableError | EngineTimeoutError)
        if reason is None and engine_down and self._settings.escalate_on_engine_failure:
            reason = "engine_unavailable"
        if reason is None:
            return conversation
        log.info("escalating to a human", reason=reason)
        return await self._sessions.escalate(turn.request.conversation_id, reason)

    async def _verdict(self, classification: asyncio.Task[Classification | None]) -> Classification | None:
        try:
            async with asyncio.timeout(self._settings.classifier_timeout_seconds):
                return await classification
        except TimeoutError:
            log.warning("classifier too slow; no escalation check for this message")
            return None


async def _relay(
    stream: FailoverAnswer, answer: AnswerFilter, queue: asyncio.Queue[TurnEvent], *, safe_message: str
) -> None:
    """The engine's text through the answer filter into the customer's stream; a flagged answer stops being read
    and ends with the safe message."""
    async for text in stream.texts():
        if shown := answer.feed(text):
            queue.put_nowait(("delta", shown))
        if answer.flag is not None:
            break
    if shown := answer.finish():
        queue.put_nowait(("delta", shown))
    if answer.flag is not None:
        queue.put_nowait(("delta", answer.stored_text(safe_message)[len(answer.released_model_text) :]))


def coalesce_deltas(first: TurnEvent, queue: asyncio.Queue[TurnEvent]) -> tuple[TurnEvent, TurnEvent | None]:
    """``first`` (a delta) joined with the deltas already waiting behind it, and the next other event if one
    ended the run. A consumer that keeps up gets one event per token; one that falls behind (a loaded process,
    a slow client) gets fewer, larger events instead of a backlog: per-event work (framing, the ASGI send chain,
    the gateway's relay) no longer grows with the load that made it fall behind."""
    if queue.empty():
        return first, None
    texts = [str(first[1])]
    while not queue.empty():
        following = queue.get_nowait()
        if following[0] != "delta":
            return ("delta", "".join(texts)), following
        texts.append(following[1])
    return ("delta", "".join(texts)), None


def _end_stream_if_failed(queue: asyncio.Queue[TurnEvent], producer: asyncio.Task[None]) -> None:
    """A producer that raised (storing the answer failed, sessions timed out) has put no ``done``/``error``: end
    the customer's stream with an error event instead of leaving it open on heartbeats forever."""
    if producer.cancelled() or (failure := producer.exception()) is None:
        return
    if isinstance(failure, ProblemError):
        problem = failure
    elif isinstance(failure, TimeoutError):
        problem = ProblemError.of(problems.DEPENDENCY_TIMEOUT, "Storing the answer took too long; please retry.")
    else:
        problem = ProblemError.of(problems.INTERNAL_ERROR, "The answer could not be completed; please retry.")
    queue.put_nowait(("error", problem))


def _outcome(stream: FailoverAnswer | None, error: ProblemError | None) -> ProblemError | None:
    """How the answer ended. An answer the tenant's token budget cut short (``finish_reason: length`` under a
    ``max_tokens`` the quota lowered) ends with ``quota-exceeded``; an error carries the usage when it is known
    (nothing was generated without a stream), so the gateway settles the quota to it."""
    usage = stream.usage if stream is not None else None
    if error is None and stream is not None and stream.quota_capped and stream.finish_reason == "length":
        error = TokenBudgetExhaustedError(
            "The tenant's token quota for today ran out during this answer; what was generated is kept."
        )
    if error is not None and (usage is not None or stream is None):
        spent = usage or {"prompt_tokens": 0, "completion_tokens": 0}
        error.extra["usage"] = {**spent, "total_tokens": spent["prompt_tokens"] + spent["completion_tokens"]}
    return error


def _finish_body(
    content: str,
    stream: FailoverAnswer | None,
    grounded: GroundedTurn,
    *,
    error: ProblemError | None,
    cancelled: bool,
    degradation: Degradation | None = None,
) -> FinishAnswer:
    """What is stored however the answer ended: its text, status, usage, why it ended, and its sources."""
    if cancelled:
        reason: str | None = "customer disconnected"
    else:
        reason = error.detail if error is not None else None
    return FinishAnswer(
        content=content,
        status=MessageStatus.COMPLETE if error is None and not cancelled else MessageStatus.PARTIAL,
        usage=_api_usage(stream.usage if stream is not None else None),
        finish_reason=stream.finish_reason if stream is not None else ("stop" if grounded.canned_text else None),
        error=reason,
        sources=grounded.sources,
        no_answer=grounded.grounding == Grounding.NO_ANSWER,
        degradation=degradation,
    )


def _api_usage(usage: dict[str, int] | None) -> ApiUsage | None:
    if usage is None:
        return None
    return ApiUsage(
        prompt_tokens=usage["prompt_tokens"],
        completion_tokens=usage["completion_tokens"],
        total_tokens=usage["prompt_tokens"] + usage["completion_tokens"],
    )
