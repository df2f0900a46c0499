"""Conversations, messages, feedback and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "sessions"


def _status(name: str, *values: str, length: int = 16) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=length)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("customer_ref", sa.String(128), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            _status("conversation_status", "bot", "waiting_human", "with_agent", "resolved", "closed"),
            nullable=False,
        ),
        sa.Column("assigned_agent_id", sa.Uuid(), nullable=True),
        sa.Column("handoff_reason", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("status_changed_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversations_tenant_id_status_status_changed_at_id",
        "conversations",
        ["tenant_id", "status", "status_changed_at", "id"],
        schema=SCHEMA,
    )
    op.create_index(
        "ix_conversations_tenant_id_customer_ref", "conversations", ["tenant_id", "customer_ref"], schema=SCHEMA
    )
    op.create_index("ix_conversations_status_updated_at", "conversations", ["status", "updated_at"], schema=SCHEMA)

    op.create_table(
        "messages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("role", _status("message_role", "customer", "assistant", "agent", "system"), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", _status("message_status", "complete", "streaming", "partial"), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=True),
        sa.Column("completion_tokens", sa.Integer(), nullable=True),
        sa.Column("finish_reason", sa.String(32), nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name="fk_messages_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_messages_conversation_id_id", "messages", ["conversation_id", "id"], schema=SCHEMA)
    op.create_index(
        "ix_messages_streaming",
        "messages",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'streaming'"),
        sqlite_where=sa.text("status = 'streaming'"),
    )

    op.create_table(
        "feedback",
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("rating", _status("rating", "up", "down", length=8), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("message_id", name="pk_feedback"),
        sa.ForeignKeyConstraint(
            ["message_id"], [f"{SCHEMA}.messages.id"], name="fk_feedback_message_id_messages", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("customer_message_id", sa.Uuid(), nullable=False),
        sa.Column("assistant_message_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "key", name="pk_idempotency_keys"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            [f"{SCHEMA}.conversations.id"],
            name="fk_idempotency_keys_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_message_id"],
            [f"{SCHEMA}.messages.id"],
            name="fk_idempotency_keys_customer_message_id_messages",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["assistant_message_id"],
            [f"{SCHEMA}.messages.id"],
            name="fk_idempotency_keys_assistant_message_id_messages",
            ondelete="CASCADE",
        ),
        schema=SCHEMA,
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_table("idempotency_keys", schema=SCHEMA)
    op.drop_table("feedback", schema=SCHEMA)
    op.drop_table("messages", schema=SCHEMA)
    op.drop_table("conversations", schema=SCHEMA)
