"""The knowledge base: articles, their tags, the per-tenant knowledge version, embeddings.

Revision 0002. Frozen DDL, column by column (never from tables.py). Articles are a
tenant's help center (slug unique per tenant and locale); tags get their own table so
lists filter by tag in SQL on both engines; the version row is bumped in the
transaction of every article change so every worker's retrieval index notices;
embeddings cache vectors per tenant, model and chunk-content key.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# UTC timestamps (tables.UTCDateTime) as stored.
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "support_ai_articles",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("slug", sa.String(128), nullable=False),
        sa.Column("locale", sa.String(35), nullable=False),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("url", sa.String(2000)),
        sa.Column("published", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("revision", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint("tenant_id", "locale", "slug", name="uq_support_ai_articles_slug"),
        # ids are never reused (the audit trail names articles by id)
        sqlite_autoincrement=True,
    )
    op.create_index("ix_support_ai_articles_tenant", "support_ai_articles", ["tenant_id", "id"])

    op.create_table(
        "support_ai_article_tags",
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("support_ai_articles.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("tag", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
    )
    op.create_index(
        "ix_support_ai_article_tags_tag", "support_ai_article_tags", ["tenant_id", "tag"]
    )

    op.create_table(
        "support_ai_knowledge_versions",
        sa.Column("tenant_id", sa.String(128), primary_key=True),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )

    op.create_table(
        "support_ai_embeddings",
        sa.Column("tenant_id", sa.String(128), primary_key=True),
        sa.Column("model", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    # Referencing tables first; dropping a table drops its indexes.
    for table in (
        "support_ai_embeddings",
        "support_ai_knowledge_versions",
        "support_ai_article_tags",
        "support_ai_articles",
    ):
        op.drop_table(table)
