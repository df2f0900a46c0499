"""Safety in a turn: the tenant's policy, PII redaction before the message is stored or sent to the model, the
input guardrail's decision, and the answer filter (output guardrail, then placeholders restored for the customer).

Order on the way in: redact (so what is stored and what the model reads carry placeholders), then the input
rules on the original text (an injection hidden behind an email is still an injection). On the way out: the
engine's text (placeholders, never a value the customer gave) is checked by the ``StreamGuard``; only released
text is restored and shown; the stored answer is the released text as the model wrote it (masked), plus the safe
message if the guard stopped it: what the customer saw, in its masked form.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from sqlalchemy import delete, select

from app.chat.models import GuardrailEventRow, PiiVault, SafetyPolicyRow
from app.chat.settings import ChatSettings
from app.contracts.api import AssistantProfile
from app.contracts.safety import GuardrailAction, GuardrailEvent, SafetyPolicy
from app.core.db import Database, utcnow
from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.safety.guardrails.input import InputVerdict, check_input, topic_vocabulary
from app.safety.guardrails.output import OutputFlag, StreamGuard
from app.safety.pii.placeholders import PlaceholderMap, redact
from app.safety.pii.vault import VaultCipher, VaultKeyError

log = get_logger(__name__)


class SafetyPolicyStore:
    """Tenants' safety policies, read per turn from a short cache (like the assistant profile)."""

    def __init__(self, database: Database, settings: ChatSettings) -> None:
        self._database = database
        self._settings = settings
        self._cache: dict[UUID, tuple[float, SafetyPolicy]] = {}

    async def get(self, tenant_id: UUID) -> SafetyPolicy:
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self._settings.profile_cache_seconds:
            return cached[1]
        async with self._database.transaction() as session:
            row = await session.get(SafetyPolicyRow, tenant_id)
        policy = SafetyPolicy() if row is None else SafetyPolicy.model_validate(row.document)
        self._cache[tenant_id] = (now, policy)
        return policy

    async def put(self, tenant_id: UUID, policy: SafetyPolicy) -> SafetyPolicy:
        async with self._database.transaction() as session:
            row = await session.get(SafetyPolicyRow, tenant_id)
            if row is None:
                row = SafetyPolicyRow(tenant_id=tenant_id)
                session.add(row)
            row.document = policy.model_dump(mode="json")
            row.updated_at = utcnow()
        self._cache.pop(tenant_id, None)
        return policy


class VaultStore:
    """The conversations' encrypted placeholder values in the chat schema. Without a key nothing is kept (and
    answers keep their placeholders)."""

    def __init__(self, database: Database, cipher: VaultCipher | None) -> None:
        self._database = database
        self._cipher = cipher

    @property
    def enabled(self) -> bool:
        return self._cipher is not None

    async def load(self, tenant_id: UUID, conversation_id: UUID) -> PlaceholderMap:
        if self._cipher is None:
            return PlaceholderMap()
        async with self._database.transaction() as session:
            row = await session.get(PiiVault, conversation_id)
        if row is None or row.tenant_id != tenant_id or (row.expires_at is not None and row.expires_at < utcnow()):
            return PlaceholderMap()
        try:
            return self._cipher.open(row.sealed, tenant_id=tenant_id, conversation_id=conversation_id)
        except VaultKeyError:
            log.warning("pii vault does not open with the configured key; starting a new one")
            return PlaceholderMap()

    async def save(
        self, tenant_id: UUID, conversation_id: UUID, placeholders: PlaceholderMap, policy: SafetyPolicy
    ) -> None:
        if self._cipher is None or not placeholders.values:
            return
        sealed = self._cipher.seal(placeholders, tenant_id=tenant_id, conversation_id=conversation_id)
        now = utcnow()
        keep = policy.pii.store == "encrypted_raw"
        async with self._database.transaction() as session:
            row = await session.get(PiiVault, conversation_id)
            if row is None:
                row = PiiVault(conversation_id=conversation_id, tenant_id=tenant_id)
                session.add(row)
            row.sealed = sealed
            row.expires_at = None if keep else now + timedelta(hours=policy.pii.vault_hours)
            row.updated_at = now
            # Masked storage promises the values go: expired vaults of the tenant are removed as new ones are written.
            await session.execute(delete(PiiVault).where(PiiVault.tenant_id == tenant_id, PiiVault.expires_at < now))


class GuardrailEvents:
    def __init__(self, database: Database) -> None:
        self._database = database

    async def add(
        self,
        *,
        tenant_id: UUID,
        conversation_id: UUID,
        message_id: UUID | None,
        stage: str,
        category: str,
        action: str,
        reason: str,
    ) -> None:
        METRICS.guardrail_decisions_total.labels(stage=stage, category=category, action=action).inc()
        log.info("guardrail decision", stage=stage, category=category, action=action, reason=reason)
        async with self._database.transaction() as session:
            session.add(
                GuardrailEventRow(
                    tenant_id=tenant_id,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    stage=stage,
                    category=category,
                    action=action,
                    reason=reason,
                )
            )

    async def list(self, tenant_id: UUID, conversation_id: UUID, limit: int = 200) -> list[GuardrailEvent]:
        async with self._database.transaction() as session:
            rows = await session.scalars(
                select(GuardrailEventRow)
                .where(GuardrailEventRow.tenant_id == tenant_id, GuardrailEventRow.conversation_id == conversation_id)
                .order_by(GuardrailEventRow.id)
                .limit(limit)
            )
            return [
                GuardrailEvent(
                    id=row.id,
                    conversation_id=row.conversation_id,
                    message_id=row.message_id,
                    stage=row.stage,  # type: ignore[arg-type]
                    category=row.category,
                    action=row.action,
                    reason=row.reason,
                    created_at=row.created_at,
                )
                for row in rows
            ]


@dataclass(frozen=True)
class Inbound:
    """A customer message after the safety step: what to store and send on, and what the input guardrail said."""

    policy: SafetyPolicy
    placeholders: PlaceholderMap
    content: str  # with placeholders
    verdict: InputVerdict | None

    @property
    def action(self) -> GuardrailAction | None:
        if self.verdict is None:
            return None
        rules = self.policy.guardrails
        category = self.verdict.category
        return (
            rules.on_abuse
            if category == "abuse"
            else rules.on_off_topic
            if category == "off_topic"
            else rules.on_injection
        )

    def reply(self) -> str:
        """The canned answer for a flagged message."""
        rules = self.policy.guardrails
        return {"refuse": rules.refusal_message, "steer": rules.steer_message, "handoff": rules.handoff_message}[
            self.action or "refuse"
        ]

    def shown(self, text: str) -> str:
        """``text`` as the customer sees it: placeholders restored where the policy allows."""
        return self.placeholders.restore(text) if self.policy.pii.restore_in_answer else text


@dataclass
class AnswerFilter:
    """The streamed answer through the output guardrail: ``feed`` returns what to show now (restored)."""

    inbound: Inbound
    guard: StreamGuard | None
    _model_text: list[str] = field(default_factory=list)

    def feed(self, piece: str) -> str:
        if self.guard is None:
            self._model_text.append(piece)
            return self.inbound.shown(piece)  # unchecked: a placeholder split over two pieces stays as written
        return self.inbound.shown(self.guard.feed(piece))

    def finish(self) -> str:
        return "" if self.guard is None else self.inbound.shown(self.guard.finish())

    @property
    def flag(self) -> OutputFlag | None:
        return None if self.guard is None else self.guard.flag

    @property
    def released_model_text(self) -> str:
        return "".join(self._model_text) if self.guard is None else self.guard.released_text

    def stored_text(self, safe_message: str) -> str:
        """What is stored: the released text as the model wrote it, then the safe message if the answer was stopped."""
        released = self.released_model_text
        if self.flag is None:
            return released
        return f"{released}\n\n{safe_message}" if released.strip() else safe_message


class TurnSafety:
    def __init__(self, *, database: Database, settings: ChatSettings) -> None:
        key = settings.pii_vault_key
        self.policies = SafetyPolicyStore(database, settings)
        self.vaults = VaultStore(database, VaultCipher(key.get_secret_value()) if key is not None else None)
        self.events = GuardrailEvents(database)
        if key is None:
            log.warning("HELPLINE_PII_VAULT_KEY is not set: answers keep their PII placeholders")

    async def inbound(self, tenant_id: UUID, conversation_id: UUID, content: str, profile: AssistantProfile) -> Inbound:
        policy = await self.policies.get(tenant_id)
        placeholders = await self.vaults.load(tenant_id, conversation_id)
        before = dict(placeholders.values)
        redaction = await asyncio.to_thread(redact, content, placeholders, policy.pii.kinds)
        for finding in redaction.findings:
            METRICS.pii_redactions_total.labels(kind=finding.kind.value).inc()
        if placeholders.values != before:
            await self.vaults.save(tenant_id, conversation_id, placeholders, policy)
        topics = policy.guardrails.topics
        vocabulary = topic_vocabulary(topics, profile.system_prompt) if topics else None
        verdict = check_input(content, vocabulary=vocabulary)
        return Inbound(policy=policy, placeholders=placeholders, content=redaction.text, verdict=verdict)

    @staticmethod
    def answer_filter(inbound: Inbound, profile: AssistantProfile) -> AnswerFilter:
        if not inbound.policy.guardrails.check_output:
            return AnswerFilter(inbound, None)
        guard = StreamGuard(profile.system_prompt, allowed_values=inbound.placeholders.values.values())
        return AnswerFilter(inbound, guard)
