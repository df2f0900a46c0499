"""Alembic environment of the auth schema (see app.core.migrations)."""

from app.auth.models import Base
from app.core.migrations import run_env

run_env(Base.metadata)
