"""The events machinery of a sessions process: the NATS connection, the stream, the relay and the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

from app.core.db import Database
from app.events.outbox import OutboxRelay
from app.events.webhooks import RetryPolicy, WebhookDispatcher


@dataclass(frozen=True)
class EventsConfig:
    nats_url: str
    stream: str
    subject_prefix: str
    consumer: str
    duplicate_window_seconds: float
    max_age_days: int
    relay_interval_seconds: float
    retry: RetryPolicy
    webhook_timeout_seconds: float


class EventsRuntime:
    """Started by the sessions app's lifespan when ``events_nats_url`` is set; ``stop`` cancels and closes all."""

    def __init__(self, config: EventsConfig, database: Database) -> None:
        self.config = config
        self.database = database
        self._nats: NatsClient | None = None
        self._http: httpx.AsyncClient | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.relay: OutboxRelay | None = None
        self.dispatcher: WebhookDispatcher | None = None

    async def start(self, *, background: bool = True) -> None:
        config = self.config
        self._nats = await nats.connect(config.nats_url, name="helpline-sessions", max_reconnect_attempts=-1)
        jetstream = self._nats.jetstream()
        stream = StreamConfig(
            name=config.stream,
            subjects=[f"{config.subject_prefix}.>"],
            duplicate_window=config.duplicate_window_seconds,
            max_age=config.max_age_days * 86400.0,
        )
        with contextlib.suppress(BadRequestError):  # exists with other settings (an operator's): keep it
            await jetstream.add_stream(stream)
        self._http = httpx.AsyncClient(timeout=config.webhook_timeout_seconds, follow_redirects=False)
        self.relay = OutboxRelay(self.database, jetstream, subject_prefix=config.subject_prefix)
        self.dispatcher = WebhookDispatcher(
            self.database,
            jetstream,
            self._http,
            stream=config.stream,
            subject_prefix=config.subject_prefix,
            consumer=config.consumer,
            retry=config.retry,
        )
        if background:
            interval = config.relay_interval_seconds
            self._tasks = [
                asyncio.create_task(self.relay.run(interval), name="outbox relay"),
                asyncio.create_task(self.dispatcher.run(interval), name="webhook dispatcher"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._http is not None:
            await self._http.aclose()
        if self._nats is not None:
            await self._nats.close()

    async def forget(self, tenant_id: UUID, fragments: Sequence[str]) -> int:
        """Delete the tenant's stream messages whose envelope contains any of ``fragments``; returns how many.

        Reads the tenant's subjects message by message (one request each): an erasure is rare, and the stream
        keeps ``max_age_days`` at most.
        """
        if self._nats is None or not fragments:
            return 0
        manager = self._nats.jsm()
        subject = f"{self.config.subject_prefix}.{tenant_id}.>"
        needles = [fragment.encode() for fragment in fragments]
        deleted, seq = 0, 1
        while True:
            try:
                message = await manager.get_msg(self.config.stream, seq=seq, subject=subject, next=True)
            except NotFoundError:
                return deleted
            assert message.seq is not None
            data = message.data or b""
            if any(needle in data for needle in needles):
                await manager.delete_msg(self.config.stream, message.seq)
                deleted += 1
            seq = message.seq + 1
