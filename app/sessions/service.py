"""The sessions use cases: conversations, customer turns, answers, feedback, handoffs and the agent desk.

Every method takes the request's database session (one transaction: all its writes commit together after the
endpoint returns, or none do) and the caller's identity, from which the tenant and customer scope follow.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.contracts import api
from app.contracts.api import ConversationStatus, MessageRole, MessageStatus
from app.contracts.internal import (
    ESCALATION_REASONS,
    CreateConversation,
    Escalate,
    FinishAnswer,
    IdentityClaims,
    TurnStart,
    TurnStarted,
)
from app.contracts.widget import Csat as CsatView
from app.contracts.widget import CsatCreate
from app.core.db import utcnow
from app.core.errors import NotFoundError
from app.core.identity import MissingScopeError
from app.core.ids import uuid7
from app.core.logging import bind_log_context, get_logger
from app.core.metrics import METRICS
from app.events import outbox
from app.events.catalog import EventType
from app.sessions import lifecycle, repository
from app.sessions.errors import FeedbackNotAllowedError, IdempotencyKeyReusedError, IdempotentRequestInProgressError
from app.sessions.models import Conversation, Csat, Feedback, IdempotencyKey, Message
from app.sessions.pagination import decode_id_cursor, decode_time_cursor, encode_id_cursor, encode_time_cursor
from app.sessions.repository import Scope
from app.sessions.views import conversation_view, csat_view, feedback_view, history_view, message_view

log = get_logger(__name__)

#: Notices stored as system messages, so a transcript shows who had the conversation when.
NOTICE_WAITING = "A human agent has been requested and will join shortly."
NOTICE_CLAIMED = "An agent joined the conversation."
NOTICE_RESOLVED = "The agent resolved the conversation."
NOTICE_HANDED_BACK = "The assistant is back: it answers your next message."
#: Handoff metric label for a customer's explicit request (chat's rules use ESCALATION_REASONS).
CUSTOMER_HANDOFF = "customer_request"


def customer_scope(identity: IdentityClaims) -> Scope:
    """End users (widget tokens) see only their own conversations; keys and users see the whole tenant's."""
    return Scope(identity.tenant_id, identity.subject if identity.principal == "end_user" else None)


def agent_id(identity: IdentityClaims) -> UUID:
    """The agent desk acts as a person (``Agent`` admits user credentials only), whose subject is a user id."""
    try:
        return UUID(identity.subject)
    except ValueError as exc:
        raise MissingScopeError("The agent desk needs an agent's credential.") from exc


def _dump(view: BaseModel) -> dict[str, Any]:
    return view.model_dump(mode="json")


def request_fingerprint(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def handoff_metric_reason(reason: str) -> str:
    """A bounded label for the handoff metric (free text would explode its cardinality)."""
    return reason if reason in ESCALATION_REASONS or reason == CUSTOMER_HANDOFF else "other"


class SessionsService:
    # --- conversations ------------------------------------------------------------------------------------------
    async def create_conversation(
        self, session: AsyncSession, identity: IdentityClaims, body: CreateConversation
    ) -> api.Conversation:
        # A widget user's conversations are theirs by construction: the reference is the token's subject.
        customer_ref = identity.subject if identity.principal == "end_user" else body.customer_ref
        now = utcnow()
        conversation = Conversation(
            tenant_id=identity.tenant_id,
            customer_ref=customer_ref,
            metadata_=dict(body.metadata),
            status=ConversationStatus.BOT,
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        session.add(conversation)
        await session.flush()
        bind_log_context(conversation_id=str(conversation.id))
        METRICS.conversation_transitions_total.labels(to_status=ConversationStatus.BOT.value).inc()
        view = conversation_view(conversation)
        self._event(session, conversation, EventType.CONVERSATION_CREATED, {"conversation": _dump(view)})
        return view

    async def get_conversation(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID
    ) -> api.Conversation:
        return conversation_view(await self._conversation(session, customer_scope(identity), conversation_id))

    async def list_conversations(
        self,
        session: AsyncSession,
        identity: IdentityClaims,
        *,
        status: ConversationStatus | None,
        limit: int,
        cursor: str | None,
    ) -> api.ConversationPage:
        """The caller's own conversations, newest first: an end user's, or the whole tenant's for keys and users."""
        before = decode_id_cursor(cursor) if cursor else None
        rows = await repository.page_own_conversations(
            session, customer_scope(identity), status=status, before=before, limit=limit + 1
        )
        items = [conversation_view(row) for row in rows[:limit]]
        next_cursor = encode_id_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return api.ConversationPage(items=items, next_cursor=next_cursor)

    async def list_messages(
        self,
        session: AsyncSession,
        identity: IdentityClaims,
        conversation_id: UUID,
        *,
        limit: int,
        cursor: str | None,
        scope: Scope | None = None,
    ) -> api.MessagePage:
        conversation = await self._conversation(session, scope or customer_scope(identity), conversation_id)
        after = decode_id_cursor(cursor) if cursor else None
        rows = await repository.page_messages(session, conversation.id, after=after, limit=limit + 1)
        items = [message_view(row) for row in rows[:limit]]
        next_cursor = encode_id_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return api.MessagePage(items=items, next_cursor=next_cursor)

    async def close(self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID) -> api.Conversation:
        conversation = await self._conversation(session, customer_scope(identity), conversation_id, for_update=True)
        target = lifecycle.close(conversation.status)
        self._move(conversation, target)
        if target is not None:
            self._conversation_event(session, conversation, EventType.CONVERSATION_CLOSED)
        return conversation_view(conversation)

    async def request_human(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, reason: str | None
    ) -> api.Conversation:
        """The customer asks for a person (the public ``handoff`` route)."""
        return await self._hand_off(session, customer_scope(identity), conversation_id, reason, CUSTOMER_HANDOFF)

    async def escalate(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, body: Escalate
    ) -> api.Conversation:
        """Chat's rules decided a person should take over."""
        scope = customer_scope(identity)
        return await self._hand_off(session, scope, conversation_id, body.reason, handoff_metric_reason(body.reason))

    async def _hand_off(
        self, session: AsyncSession, scope: Scope, conversation_id: UUID, reason: str | None, metric_reason: str
    ) -> api.Conversation:
        conversation = await self._conversation(session, scope, conversation_id, for_update=True)
        target = lifecycle.request_human(conversation.status)
        if target is not None:
            conversation.handoff_reason = reason or metric_reason
            self._move(conversation, target)
            self._notice(session, conversation, NOTICE_WAITING)
            self._conversation_event(session, conversation, EventType.CONVERSATION_ESCALATED, reason=metric_reason)
            METRICS.handoffs_total.labels(reason=metric_reason).inc()
            log.info("conversation handed off", reason=metric_reason)
        return conversation_view(conversation)

    # --- customer turns -----------------------------------------------------------------------------------------
    async def start_turn(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, body: TurnStart
    ) -> TurnStarted:
        """Store the customer's message (before any engine call) and tell chat how to answer it.

        In bot mode an assistant placeholder (``streaming``) is created in the same transaction, so the answer
        has a row to land in however the turn ends; chat fills it with ``finish_answer``. With an
        ``Idempotency-Key`` seen before, the original messages come back instead (``replayed``).
        """
        conversation = await self._conversation(session, customer_scope(identity), conversation_id, for_update=True)
        fingerprint = request_fingerprint(body.content)
        if body.idempotency_key is not None:
            earlier = await repository.get_idempotency_key(session, conversation.id, body.idempotency_key)
            if earlier is not None:
                return await self._replay(session, conversation, earlier, fingerprint, body.history_limit)
        mode = lifecycle.turn_mode(conversation.status)
        now = utcnow()
        customer_message = self._add_message(session, conversation, MessageRole.CUSTOMER, body.content, now=now)
        assistant_message = None
        if mode == "bot":
            assistant_message = self._add_message(
                session, conversation, MessageRole.ASSISTANT, "", now=now, status=MessageStatus.STREAMING
            )
        conversation.updated_at = now
        self._message_event(session, conversation, customer_message)
        await session.flush()  # the messages first: the key row refers to them (no ORM relationship orders it)
        if body.idempotency_key is not None:
            await self._remember_key(
                session,
                conversation,
                key=body.idempotency_key,
                fingerprint=fingerprint,
                customer_message=customer_message,
                assistant_message=assistant_message,
            )
        rows = await repository.history(session, conversation.id, limit=body.history_limit) if mode == "bot" else []
        return TurnStarted(
            customer_message=message_view(customer_message),
            conversation=conversation_view(conversation),
            mode=mode,
            history=[history_view(role, content) for role, content in rows],
            assistant_message=message_view(assistant_message) if assistant_message is not None else None,
        )

    @staticmethod
    async def _remember_key(
        session: AsyncSession,
        conversation: Conversation,
        *,
        key: str,
        fingerprint: str,
        customer_message: Message,
        assistant_message: Message | None,
    ) -> None:
        """Record the key with the turn's messages (the conversation row lock makes a concurrent twin wait)."""
        session.add(
            IdempotencyKey(
                conversation_id=conversation.id,
                key=key,
                request_hash=fingerprint,
                customer_message_id=customer_message.id,
                assistant_message_id=assistant_message.id if assistant_message is not None else None,
            )
        )
        try:
            await session.flush()
        except IntegrityError as exc:  # a concurrent twin with the same key won (only where rows cannot be locked)
            raise IdempotentRequestInProgressError(
                "A request with this Idempotency-Key is being answered.", headers={"Retry-After": "1"}
            ) from exc

    async def _replay(
        self,
        session: AsyncSession,
        conversation: Conversation,
        earlier: IdempotencyKey,
        fingerprint: str,
        history_limit: int,
    ) -> TurnStarted:
        """The original turn again. If its answer never produced a word (the engine was down, the answering
        process died) and the bot still has the conversation, the retry answers it now, into the same
        placeholder: the customer's message is never stored twice, and a failure is not replayed forever."""
        if earlier.request_hash != fingerprint:
            raise IdempotencyKeyReusedError("This Idempotency-Key was already used with a different message.")
        customer_message = await repository.get_message(session, conversation.id, earlier.customer_message_id)
        assistant = None
        if earlier.assistant_message_id is not None:
            assistant = await repository.get_message(session, conversation.id, earlier.assistant_message_id)
        if customer_message is None:  # pragma: no cover - cascades delete keys with their messages
            raise NotFoundError("The original message no longer exists.")
        unanswered = assistant is not None and assistant.status == MessageStatus.PARTIAL and not assistant.content
        if unanswered and assistant is not None and conversation.status == ConversationStatus.BOT:
            assistant.status = MessageStatus.STREAMING
            assistant.error = None
            assistant.updated_at = utcnow()
            await session.flush()
            rows = await repository.history(session, conversation.id, limit=history_limit)
            log.info("idempotent retry answers an unanswered turn", customer_message_id=str(customer_message.id))
            return TurnStarted(
                customer_message=message_view(customer_message),
                conversation=conversation_view(conversation),
                mode="bot",
                history=[history_view(role, content) for role, content in rows],
                assistant_message=message_view(assistant),
                replayed=False,
            )
        log.info("idempotent replay", customer_message_id=str(customer_message.id))
        return TurnStarted(
            customer_message=message_view(customer_message),
            conversation=conversation_view(conversation),
            mode="bot" if assistant is not None else "human",
            history=[],
            assistant_message=message_view(assistant) if assistant is not None else None,
            replayed=True,
        )

    async def finish_answer(
        self,
        session: AsyncSession,
        identity: IdentityClaims,
        conversation_id: UUID,
        message_id: UUID,
        body: FinishAnswer,
    ) -> api.Message:
        """Write the answer into its placeholder, once: the first finish wins, later ones change nothing.

        An answer the sweeper already marked partial (its chat process looked dead) still takes the text if it
        had none: the text is what the customer saw. The answer's ``created_at`` becomes the moment it was
        complete (what a transcript shows beside it, and after the customer message it answers), and the
        conversation's ``updated_at`` moves with it.
        """
        conversation = await self._conversation(session, customer_scope(identity), conversation_id, for_update=True)
        message = await repository.get_message(session, conversation.id, message_id)
        if message is None or message.role != MessageRole.ASSISTANT:
            raise NotFoundError("No such answer in this conversation.")
        swept_empty = message.status == MessageStatus.PARTIAL and not message.content
        if message.status == MessageStatus.STREAMING or swept_empty:
            now = utcnow()
            message.content = body.content
            message.status = body.status
            message.finish_reason = body.finish_reason
            message.error = body.error
            message.sources = [source.model_dump(mode="json") for source in body.sources]
            message.no_answer = body.no_answer
            message.degradation = body.degradation.value if body.degradation is not None else None
            if body.usage is not None:
                message.prompt_tokens = body.usage.prompt_tokens
                message.completion_tokens = body.usage.completion_tokens
            message.created_at = now
            message.updated_at = now
            conversation.updated_at = now
            self._message_event(session, conversation, message)
        return message_view(message)

    # --- feedback -----------------------------------------------------------------------------------------------
    async def give_feedback(
        self,
        session: AsyncSession,
        identity: IdentityClaims,
        conversation_id: UUID,
        message_id: UUID,
        body: api.FeedbackCreate,
    ) -> tuple[api.Feedback, bool]:
        """Rate an answer; rating it again replaces the earlier rating. Returns (feedback, created)."""
        conversation = await self._conversation(session, customer_scope(identity), conversation_id)
        message = await repository.get_message(session, conversation.id, message_id)
        if message is None:
            raise NotFoundError("No such message in this conversation.")
        if message.role != MessageRole.ASSISTANT or message.status == MessageStatus.STREAMING:
            raise FeedbackNotAllowedError("Feedback can only be given on a finished assistant answer.")
        now = utcnow()
        feedback = await repository.get_feedback(session, message.id)
        created = feedback is None
        if feedback is None:
            feedback = Feedback(message_id=message.id, tenant_id=conversation.tenant_id, created_at=now)
            session.add(feedback)
        feedback.rating = body.rating
        feedback.comment = body.comment
        feedback.updated_at = now
        await session.flush()
        METRICS.feedback_total.labels(rating=body.rating.value).inc()
        view = feedback_view(feedback)
        self._event(session, conversation, EventType.FEEDBACK_SUBMITTED, {"feedback": _dump(view)})
        return view, created

    async def give_csat(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, body: CsatCreate
    ) -> tuple[CsatView, bool]:
        """Rate a resolved or closed conversation (1-5); rating again replaces it. Returns (csat, created)."""
        conversation = await self._conversation(session, customer_scope(identity), conversation_id)
        if conversation.status not in (ConversationStatus.RESOLVED, ConversationStatus.CLOSED):
            raise FeedbackNotAllowedError("A conversation can be rated once it is resolved or closed.")
        now = utcnow()
        row = await session.get(Csat, conversation.id)
        created = row is None
        if row is None:
            row = Csat(conversation_id=conversation.id, tenant_id=conversation.tenant_id, created_at=now)
            session.add(row)
        row.score = body.score
        row.comment = body.comment
        row.updated_at = now
        await session.flush()
        view = csat_view(row)
        self._event(session, conversation, EventType.CSAT_SUBMITTED, {"csat": _dump(view)})
        return view, created

    # --- agent desk ---------------------------------------------------------------------------------------------
    async def list_for_agents(
        self,
        session: AsyncSession,
        identity: IdentityClaims,
        *,
        status: ConversationStatus,
        mine: bool = False,
        limit: int,
        cursor: str | None,
    ) -> api.ConversationPage:
        """``mine``: only the conversations assigned to the calling agent."""
        after = decode_time_cursor(cursor) if cursor else None
        assigned = agent_id(identity) if mine else None
        rows = await repository.page_conversations(
            session, identity.tenant_id, status, assigned_to=assigned, after=after, limit=limit + 1
        )
        items = [conversation_view(row) for row in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_time_cursor(last.status_changed_at, last.id)
        return api.ConversationPage(items=items, next_cursor=next_cursor)

    async def agent_messages(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, *, limit: int, cursor: str | None
    ) -> api.MessagePage:
        scope = Scope(identity.tenant_id)
        return await self.list_messages(session, identity, conversation_id, limit=limit, cursor=cursor, scope=scope)

    async def claim(self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID) -> api.Conversation:
        agent = agent_id(identity)
        conversation = await self._conversation(session, Scope(identity.tenant_id), conversation_id, for_update=True)
        target = lifecycle.claim(conversation.status, conversation.assigned_agent_id, agent)
        if target is not None:
            conversation.assigned_agent_id = agent
            self._move(conversation, target)
            self._notice(session, conversation, NOTICE_CLAIMED)
            self._conversation_event(session, conversation, EventType.CONVERSATION_CLAIMED)
        return conversation_view(conversation)

    async def agent_reply(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID, body: api.AgentReply
    ) -> api.Message:
        agent = agent_id(identity)
        conversation = await self._conversation(session, Scope(identity.tenant_id), conversation_id, for_update=True)
        lifecycle.agent_reply(
            conversation.status, conversation.assigned_agent_id, agent, is_admin=identity.role == api.Role.ADMIN
        )
        message = self._add_message(session, conversation, MessageRole.AGENT, body.content, now=utcnow())
        conversation.updated_at = message.created_at
        self._message_event(session, conversation, message)
        await session.flush()
        return message_view(message)

    async def resolve(self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID) -> api.Conversation:
        agent = agent_id(identity)
        conversation = await self._conversation(session, Scope(identity.tenant_id), conversation_id, for_update=True)
        target = lifecycle.resolve(
            conversation.status, conversation.assigned_agent_id, agent, is_admin=identity.role == api.Role.ADMIN
        )
        if target is not None:
            self._move(conversation, target)
            self._notice(session, conversation, NOTICE_RESOLVED)
            self._conversation_event(session, conversation, EventType.CONVERSATION_RESOLVED)
        return conversation_view(conversation)

    async def hand_back(
        self, session: AsyncSession, identity: IdentityClaims, conversation_id: UUID
    ) -> api.Conversation:
        agent = agent_id(identity)
        conversation = await self._conversation(session, Scope(identity.tenant_id), conversation_id, for_update=True)
        target = lifecycle.hand_back(
            conversation.status, conversation.assigned_agent_id, agent, is_admin=identity.role == api.Role.ADMIN
        )
        if target is not None:
            conversation.assigned_agent_id = None
            self._move(conversation, target)
            self._notice(session, conversation, NOTICE_HANDED_BACK)
            self._conversation_event(session, conversation, EventType.CONVERSATION_HANDED_BACK)
        return conversation_view(conversation)

    # --- helpers ------------------------------------------------------------------------------------------------
    async def _conversation(
        self, session: AsyncSession, scope: Scope, conversation_id: UUID, *, for_update: bool = False
    ) -> Conversation:
        conversation = await repository.get_conversation(session, scope, conversation_id, for_update=for_update)
        if conversation is None:
            raise NotFoundError("No such conversation.")
        bind_log_context(conversation_id=str(conversation.id))
        return conversation

    @staticmethod
    def _move(conversation: Conversation, target: ConversationStatus | None) -> None:
        if target is None:
            return
        now = utcnow()
        conversation.status = target
        conversation.status_changed_at = now
        conversation.updated_at = now
        METRICS.conversation_transitions_total.labels(to_status=target.value).inc()
        log.info("conversation status changed", to_status=target.value)

    @staticmethod
    def _add_message(
        session: AsyncSession,
        conversation: Conversation,
        role: MessageRole,
        content: str,
        *,
        now: datetime,
        status: MessageStatus = MessageStatus.COMPLETE,
    ) -> Message:
        message = Message(
            id=uuid7(),  # now, not at flush: other rows written in this transaction refer to it
            conversation_id=conversation.id,
            tenant_id=conversation.tenant_id,
            role=role,
            content=content,
            status=status,
            created_at=now,
            updated_at=now,
        )
        session.add(message)
        return message

    @staticmethod
    def _event(session: AsyncSession, conversation: Conversation, event_type: EventType, data: dict[str, Any]) -> None:
        """Record a lifecycle event in this transaction (the outbox): it exists if and only if the change does."""
        outbox.record(
            session,
            tenant_id=conversation.tenant_id,
            conversation_id=conversation.id,
            event_type=event_type,
            data=data,
        )

    def _conversation_event(
        self, session: AsyncSession, conversation: Conversation, event_type: EventType, **extra: str
    ) -> None:
        self._event(
            session, conversation, event_type, {"conversation": _dump(conversation_view(conversation)), **extra}
        )

    def _message_event(self, session: AsyncSession, conversation: Conversation, message: Message) -> None:
        self._event(session, conversation, EventType.MESSAGE_CREATED, {"message": _dump(message_view(message))})

    def _notice(self, session: AsyncSession, conversation: Conversation, text: str) -> None:
        self._add_message(session, conversation, MessageRole.SYSTEM, text, now=utcnow())
