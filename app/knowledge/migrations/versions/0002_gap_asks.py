"""Content gaps remember each ask's conversation, so an end user's erasure can remove their questions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "knowledge"


def upgrade() -> None:
    op.create_table(
        "content_gap_asks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("normalized_question", sa.String(500), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_content_gap_asks"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_content_gap_asks_tenant_id_conversation_id",
        "content_gap_asks",
        ["tenant_id", "conversation_id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_content_gap_asks_tenant_id_normalized_question",
        "content_gap_asks",
        ["tenant_id", "normalized_question"],
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("content_gap_asks", schema=SCHEMA)
