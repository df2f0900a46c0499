"""Tenants' assistant profiles: read on every turn from a short cache, written by tenant admins."""

from __future__ import annotations

import time
from uuid import UUID

from app.chat.models import AssistantProfile as ProfileRow
from app.chat.settings import ChatSettings
from app.contracts import problems
from app.contracts.api import AssistantProfile
from app.core.db import Database, utcnow
from app.core.errors import ProblemError


class UnknownModelError(ProblemError):
    """A profile naming a model the engine does not serve would break every answer of the tenant."""

    problem = problems.VALIDATION_ERROR


class ProfileStore:
    def __init__(self, database: Database, settings: ChatSettings) -> None:
        self._database = database
        self._settings = settings
        self._cache: dict[UUID, tuple[float, AssistantProfile]] = {}

    @property
    def default(self) -> AssistantProfile:
        return AssistantProfile(
            system_prompt=self._settings.default_system_prompt,
            model=self._settings.chat_model,
            temperature=self._settings.default_temperature,
            max_tokens=self._settings.default_max_tokens,
        )

    async def get(self, tenant_id: UUID) -> AssistantProfile:
        """The tenant's profile (the default when it has none), at most ``profile_cache_seconds`` old."""
        now = time.monotonic()
        cached = self._cache.get(tenant_id)
        if cached is not None and now - cached[0] < self._settings.profile_cache_seconds:
            return cached[1]
        async with self._database.transaction() as session:
            row = await session.get(ProfileRow, tenant_id)
        profile = self.default if row is None else _view(row)
        self._cache[tenant_id] = (now, profile)
        return profile

    async def put(self, tenant_id: UUID, profile: AssistantProfile) -> AssistantProfile:
        allowed = self._settings.assistant_models or [self._settings.chat_model]
        if profile.model not in allowed:
            raise UnknownModelError(
                f"The model {profile.model!r} is not served; choose one of {', '.join(allowed)}.",
                errors=[{"loc": ["body", "model"], "msg": f"must be one of {allowed}", "type": "value_error"}],
            )
        async with self._database.transaction() as session:
            row = await session.get(ProfileRow, tenant_id)
            if row is None:
                row = ProfileRow(tenant_id=tenant_id)
                session.add(row)
            row.system_prompt = profile.system_prompt
            row.model = profile.model
            row.temperature = profile.temperature
            row.max_tokens = profile.max_tokens
            row.updated_at = utcnow()
        self._cache.pop(tenant_id, None)
        return profile


def _view(row: ProfileRow) -> AssistantProfile:
    return AssistantProfile(
        system_prompt=row.system_prompt, model=row.model, temperature=row.temperature, max_tokens=row.max_tokens
    )
