"""An interrupted or failed migration on the local SQLite default leaves nothing half done.

Python's sqlite3 module commits before each ``CREATE TABLE``, so without a transaction around the DDL a ``make run``
stopped during its first migration left half a schema, and every later start failed with "table conversations
already exists". The sessions schema's real revisions run here, followed by one that fails.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from app.core.migrations import alembic_config, upgrade_to_head
from app.sessions.__main__ import MIGRATIONS, SCHEMA

FAILING_REVISION = '''"""A revision that fails after creating a table, as an interrupted run would."""
import sqlalchemy as sa
from alembic import op

revision = "zz_fails"
down_revision = "{head}"


def upgrade() -> None:
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    raise RuntimeError("interrupted")
'''


def tables(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


@pytest.fixture
def failing_migrations(tmp_path: Path) -> Path:
    """The sessions migrations with a failing revision on top of their head."""
    location = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, location)
    head = ScriptDirectory.from_config(alembic_config("sqlite://", location, SCHEMA)).get_current_head()
    (location / "versions" / "zz_fails.py").write_text(FAILING_REVISION.format(head=head))
    return location


def test_a_failed_first_migration_leaves_no_table_and_the_next_run_succeeds(
    tmp_path: Path, failing_migrations: Path
) -> None:
    database = tmp_path / "var" / "sessions.db"
    url = f"sqlite+aiosqlite:///{database}"

    with pytest.raises(RuntimeError, match="interrupted"):
        upgrade_to_head(url, failing_migrations, SCHEMA)
    assert tables(database) == set(), "the failed run left part of the schema behind"

    upgrade_to_head(url, MIGRATIONS, SCHEMA)
    assert {"conversations", "messages", "alembic_version"} <= tables(database)
