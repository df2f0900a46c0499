"""Alembic environment of the sessions schema (see app.core.migrations)."""

from app.core.migrations import run_env
from app.sessions.models import Base

run_env(Base.metadata)
