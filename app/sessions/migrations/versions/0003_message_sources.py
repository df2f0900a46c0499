"""Messages carry their citations and whether the assistant could not answer (knowledge, issue 12).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "sessions"


def _schema() -> str | None:
    """ALTER TABLE is not rewritten by the schema translation SQLite runs with: name the schema on Postgres only."""
    return SCHEMA if op.get_context().dialect.name == "postgresql" else None


def upgrade() -> None:
    # Server defaults: existing rows get an empty list and false without a rewrite of the table's values.
    # (plain ADD COLUMN: SQLite supports it with a constant default, no table copy needed)
    op.add_column(
        "messages", sa.Column("sources", sa.JSON(), nullable=False, server_default=sa.text("'[]'")), schema=_schema()
    )
    op.add_column(
        "messages", sa.Column("no_answer", sa.Boolean(), nullable=False, server_default=sa.false()), schema=_schema()
    )


def downgrade() -> None:
    op.drop_column("messages", "no_answer", schema=_schema())
    op.drop_column("messages", "sources", schema=_schema())
