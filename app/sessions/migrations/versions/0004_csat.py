"""Customers' 1-5 satisfaction ratings of finished conversations (CSAT, asked by the widget).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UtcDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "sessions"


def upgrade() -> None:
    op.create_table(
        "csat",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_csat"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name="fk_csat_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.CheckConstraint("score BETWEEN 1 AND 5", name="ck_csat_score"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("csat", schema=SCHEMA)
