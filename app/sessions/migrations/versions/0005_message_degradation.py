"""Messages record the degradation level they were answered on (the degradation ladder, issue 13).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "sessions"


def _schema() -> str | None:
    """ALTER TABLE is not rewritten by the schema translation SQLite runs with: name the schema on Postgres only."""
    return SCHEMA if op.get_context().dialect.name == "postgresql" else None


def upgrade() -> None:
    # Nullable, no default: existing rows are normal answers, and the column is added without a table rewrite.
    op.add_column("messages", sa.Column("degradation", sa.String(32), nullable=True), schema=_schema())


def downgrade() -> None:
    op.drop_column("messages", "degradation", schema=_schema())
