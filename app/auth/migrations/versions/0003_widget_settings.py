"""Each tenant's embeddable widget settings: allowed embedding origins and branding.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from app.core.db import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "auth"


def upgrade() -> None:
    op.create_table(
        "widget_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("allowed_origins", sa.JSON(), nullable=False),
        sa.Column("brand_name", sa.String(80), nullable=True),
        sa.Column("accent_colour", sa.String(7), nullable=False),
        sa.Column("avatar", sa.Text(), nullable=True),
        sa.Column("greeting", sa.String(500), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_widget_settings"),
        sa.ForeignKeyConstraint(
            ["tenant_id"], [f"{SCHEMA}.tenants.id"], name="fk_widget_settings_tenant_id_tenants", ondelete="CASCADE"
        ),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_table("widget_settings", schema=SCHEMA)
