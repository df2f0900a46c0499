"""Background jobs: answers abandoned by a dead chat process, expired idempotency keys, and retention.

They run in every sessions replica (each statement is idempotent and uses an index, so running them twice at
once costs a few cheap queries and changes nothing twice). A failure is logged and retried next round: a
database outage must not kill the service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.core.db import Database, utcnow
from app.core.logging import get_logger
from app.sessions import repository
from app.sessions.settings import SessionsSettings

log = get_logger(__name__)


@dataclass(frozen=True)
class SweepResult:
    abandoned_answers: int
    expired_keys: int


class Housekeeping:
    def __init__(self, database: Database, settings: SessionsSettings) -> None:
        self._database = database
        self._settings = settings

    async def sweep(self, now: datetime | None = None) -> SweepResult:
        """Mark answers stuck in ``streaming`` as partial; forget idempotency keys past their lifetime."""
        now = now or utcnow()
        async with self._database.transaction() as session:
            abandoned = await repository.mark_stale_answers_partial(
                session, started_before=now - timedelta(seconds=self._settings.stale_stream_seconds), now=now
            )
            expired = await repository.delete_expired_idempotency_keys(
                session, created_before=now - timedelta(hours=self._settings.idempotency_ttl_hours)
            )
        if abandoned or expired:
            log.info("sweep", abandoned_answers=abandoned, expired_idempotency_keys=expired)
        return SweepResult(abandoned, expired)

    async def enforce_retention(self, now: datetime | None = None) -> int:
        """Delete closed and resolved conversations older than their tenant's retention (with all they hold)."""
        now = now or utcnow()
        overrides = self._settings.tenant_retention_days
        async with self._database.transaction() as session:
            deleted = await repository.delete_ended_conversations(
                session,
                updated_before=now - timedelta(days=self._settings.retention_days),
                except_tenants=list(overrides),
            )
            for tenant_id, days in overrides.items():
                deleted += await repository.delete_ended_conversations(
                    session, updated_before=now - timedelta(days=days), tenant_id=tenant_id
                )
        if deleted:
            log.info("retention", deleted_conversations=deleted)
        return deleted

    async def run(self) -> None:
        """Both jobs on their own timers, until cancelled."""
        await asyncio.gather(
            self._every(self._settings.sweep_interval_seconds, self.sweep),
            self._every(self._settings.retention_interval_seconds, self.enforce_retention),
        )

    @staticmethod
    async def _every(seconds: float, job: Callable[[], Awaitable[object]]) -> None:
        while True:
            await asyncio.sleep(seconds)
            try:
                await job()
            except Exception as exc:  # a failed round is retried next time; the service keeps serving
                log.warning("housekeeping failed", job=getattr(job, "__name__", "job"), error=repr(exc))
