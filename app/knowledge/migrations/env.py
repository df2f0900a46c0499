"""Alembic environment of the knowledge schema (see app.core.migrations)."""

from app.core.migrations import run_env
from app.knowledge.models import Base

run_env(Base.metadata)
