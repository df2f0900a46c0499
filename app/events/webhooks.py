"""Per-tenant webhooks fed from JetStream: signed POSTs, retried with backoff, dead letters an admin can replay.

Two loops. ``intake`` reads events from a durable JetStream pull consumer and writes one delivery row per
matching webhook (unique per event and webhook, so an event JetStream redelivers after a crash is not queued
twice), then acks. ``deliver_due`` POSTs due deliveries with the HMAC signature (``signing``); a failure (no
answer, or a status other than 2xx) schedules the next attempt after an exponential backoff with jitter, and
after ``max_attempts`` the delivery is ``dead``: listed for the tenant's admin, who can replay it. Each attempt
re-signs with the current time, so a retry is inside the receiver's replay window.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import orjson
from nats.errors import TimeoutError as NatsTimeoutError
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.db import Database, utcnow
from app.core.logging import get_logger
from app.core.metrics import METRICS
from app.events.signing import SIGNATURE_HEADER, sign
from app.sessions.models import Webhook, WebhookDelivery

log = get_logger(__name__)

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"
EVENT_ID_HEADER = "Helpline-Event-Id"
EVENT_TYPE_HEADER = "Helpline-Event-Type"


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    cap_seconds: float

    def delay(self, attempts: int) -> float:
        """Before attempt ``attempts + 1``: base * 2^(attempts-1), capped, with +-20% jitter (no thundering herd)."""
        return min(self.cap_seconds, self.base_seconds * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311


def wants(webhook: Webhook, event_type: str) -> bool:
    return not webhook.event_types or event_type in webhook.event_types


class WebhookDispatcher:
    def __init__(
        self,
        database: Database,
        jetstream: JetStreamContext,
        http: httpx.AsyncClient,
        *,
        stream: str,
        subject_prefix: str,
        consumer: str,
        retry: RetryPolicy,
        batch_size: int = 50,
    ) -> None:
        self._database = database
        self._jetstream = jetstream
        self._http = http
        self._stream = stream
        self._filter = f"{subject_prefix}.>"
        self._consumer = consumer
        self._retry = retry
        self._batch_size = batch_size
        self._subscription: JetStreamContext.PullSubscription | None = None

    async def _pull(self) -> JetStreamContext.PullSubscription:
        if self._subscription is None:
            self._subscription = await self._jetstream.pull_subscribe(
                self._filter,
                durable=self._consumer,
                stream=self._stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=30, max_ack_pending=1000),
            )
        return self._subscription

    # --- intake: JetStream -> delivery rows ---------------------------------------------------------------------
    async def intake(self, wait_seconds: float) -> int:
        subscription = await self._pull()
        try:
            messages = await subscription.fetch(self._batch_size, timeout=wait_seconds)
        except NatsTimeoutError:
            return 0
        for message in messages:
            await self._queue(orjson.loads(message.data))
            await message.ack()  # after the rows are committed: a crash before it means a redelivery, not a loss
        return len(messages)

    async def _queue(self, event: dict[str, Any]) -> None:
        tenant_id, event_id, event_type = UUID(event["tenant_id"]), UUID(event["id"]), str(event["type"])
        async with self._database.transaction() as session:
            hooks = (await session.scalars(select(Webhook).where(Webhook.tenant_id == tenant_id))).all()
            for hook in hooks:
                if not wants(hook, event_type):
                    continue
                delivery = WebhookDelivery(
                    tenant_id=tenant_id,
                    webhook_id=hook.id,
                    event_id=event_id,
                    event_type=event_type,
                    body=orjson.dumps(event).decode(),
                    status=PENDING,
                    attempts=0,
                    next_attempt_at=utcnow(),
                    created_at=utcnow(),
                )
                try:
                    async with session.begin_nested():
                        session.add(delivery)
                except IntegrityError:  # already queued: JetStream redelivered an event whose ack was lost
                    log.info("webhook_delivery_already_queued", event_id=str(event_id))

    # --- delivery: rows -> HTTP ---------------------------------------------------------------------------------
    async def deliver_due(self) -> int:
        async with self._database.transaction() as session:
            query = (
                select(WebhookDelivery, Webhook)
                .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
                .where(WebhookDelivery.status == PENDING, WebhookDelivery.next_attempt_at <= utcnow())
                .order_by(WebhookDelivery.next_attempt_at)
                .limit(self._batch_size)
                .with_for_update(of=WebhookDelivery, skip_locked=True)
            )
            due = [(row[0], row[1]) for row in (await session.execute(query)).all()]
            outcomes = await asyncio.gather(*(self._attempt(delivery, hook) for delivery, hook in due))
            for (delivery, _hook), (status_code, error) in zip(due, outcomes, strict=True):
                self._record(delivery, status_code, error)
            return len(due)

    async def _attempt(self, delivery: WebhookDelivery, hook: Webhook) -> tuple[int | None, str | None]:
        body = delivery.body.encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(hook.secret, body),
            EVENT_ID_HEADER: str(delivery.event_id),
            EVENT_TYPE_HEADER: delivery.event_type,
            "User-Agent": "Helpline-Webhooks/1",
        }
        try:
            response = await self._http.post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {str(exc)[:200]}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    def _record(self, delivery: WebhookDelivery, status_code: int | None, error: str | None) -> None:
        now = utcnow()
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if error is None:
            delivery.status, delivery.delivered_at = DELIVERED, now
            outcome = DELIVERED
        elif delivery.attempts >= self._retry.max_attempts:
            delivery.status = outcome = DEAD
            log.warning("webhook_delivery_dead", event_id=str(delivery.event_id), attempts=delivery.attempts)
        else:
            delivery.next_attempt_at = now + timedelta(seconds=self._retry.delay(delivery.attempts))
            outcome = "retry"
        METRICS.webhook_deliveries_total.labels(outcome=outcome).inc()

    async def run(self, interval_seconds: float) -> None:
        """Intake and deliver until cancelled; failures are logged and retried on the next tick."""
        while True:
            try:
                await self.intake(interval_seconds)
                await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("webhook_dispatch_failed", error=type(exc).__name__, reason=str(exc)[:200])
                await asyncio.sleep(interval_seconds)
