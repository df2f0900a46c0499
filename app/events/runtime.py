"""The events machinery of a sessions process: the NATS connection, the stream, the relay and the dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

import httpx
import nats
from nats.aio.client import Client as NatsClient
from nats.js.api import StreamConfig
from nats.js.errors import BadRequestError

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
