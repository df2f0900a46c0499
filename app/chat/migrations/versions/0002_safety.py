"""Safety: per-tenant policies, encrypted per-conversation PII vaults, guardrail decisions.

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

SCHEMA = "chat"


def upgrade() -> None:
    op.create_table(
        "safety_policies",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_safety_policies"),
        schema=SCHEMA,
    )
    op.create_table(
        "pii_vaults",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=True),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_pii_vaults"),
        schema=SCHEMA,
    )
    op.create_table(
        "guardrail_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=True),
        sa.Column("stage", sa.String(8), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_guardrail_events"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_guardrail_events_conversation_id_id", "guardrail_events", ["conversation_id", "id"], schema=SCHEMA
    )


def downgrade() -> None:
    op.drop_table("guardrail_events", schema=SCHEMA)
    op.drop_table("pii_vaults", schema=SCHEMA)
    op.drop_table("safety_policies", schema=SCHEMA)
