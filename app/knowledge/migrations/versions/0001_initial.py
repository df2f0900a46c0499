"""Articles, versions, passages with their keyword and vector indexes, curated answers, settings, content gaps.

Revision ID: 0001
Revises:
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from pgvector.sqlalchemy import Vector
from sqlalchemy.dialects.postgresql import TSVECTOR

from app.core.db import UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "knowledge"
DIMENSIONS = 384


def _status(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.create_table(
        "articles",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("format", _status("body_format", "markdown", "html", "text"), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source_path", sa.String(500), nullable=True),
        sa.Column("status", _status("article_status", "draft", "published"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_articles"),
        sa.UniqueConstraint("tenant_id", "source_path", name="uq_articles_tenant_id_source_path"),
        schema=SCHEMA,
    )
    op.create_index("ix_articles_tenant_id_updated_at_id", "articles", ["tenant_id", "updated_at", "id"], schema=SCHEMA)
    op.create_table(
        "article_versions",
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", _status("article_status", "draft", "published"), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            [f"{SCHEMA}.articles.id"],
            name="fk_article_versions_article_id_articles",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "version", name="pk_article_versions"),
        schema=SCHEMA,
    )
    op.create_table(
        "passages",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("heading_path", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("embedding", Vector(DIMENSIONS) if postgres else sa.JSON(), nullable=False),
        sa.Column("search", TSVECTOR() if postgres else sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["article_id"], [f"{SCHEMA}.articles.id"], name="fk_passages_article_id_articles", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_passages"),
        schema=SCHEMA,
    )
    op.create_index("ix_passages_article_id_position", "passages", ["article_id", "position"], schema=SCHEMA)
    op.create_index("ix_passages_tenant_id_language", "passages", ["tenant_id", "language"], schema=SCHEMA)
    if postgres:
        op.execute(f'CREATE INDEX ix_passages_search ON "{SCHEMA}".passages USING gin (search)')
        op.execute(
            f'CREATE INDEX ix_passages_embedding ON "{SCHEMA}".passages USING hnsw (embedding vector_cosine_ops)'
        )
    else:
        # FTS5 with the Porter stemmer: "refunds" finds "refund", as Postgres' english configuration does.
        op.execute(
            "CREATE VIRTUAL TABLE passages_fts USING fts5("
            "text, passage_id UNINDEXED, tenant_id UNINDEXED, language UNINDEXED, tokenize='porter unicode61')"
        )
    op.create_table(
        "curated_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.String(500), nullable=False),
        sa.Column("normalized_question", sa.String(500), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("match", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_curated_answers"),
        sa.UniqueConstraint(
            "tenant_id", "normalized_question", name="uq_curated_answers_tenant_id_normalized_question"
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "tenant_settings",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("min_similarity", sa.Float(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", name="pk_tenant_settings"),
        schema=SCHEMA,
    )
    op.create_table(
        "content_gaps",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("normalized_question", sa.String(500), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("asked", sa.Integer(), nullable=False),
        sa.Column("last_asked_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "normalized_question", name="pk_content_gaps"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("content_gaps", "tenant_settings", "curated_answers"):
        op.drop_table(table, schema=SCHEMA)
    if op.get_context().dialect.name != "postgresql":
        op.execute("DROP TABLE passages_fts")
    for table in ("passages", "article_versions", "articles"):
        op.drop_table(table, schema=SCHEMA)
