"""Alembic environment of the chat schema (see app.core.migrations)."""

from app.chat.models import Base
from app.core.migrations import run_env

run_env(Base.metadata)
