"""Questions users asked that an article answers, in their own words.

Revision 0006: ``support_ai_article_questions`` holds them, one row per question
keyed by the article and its ``position`` (the order the admin gave), with the
tenant denormalised as on every table. Rows rather than a JSON column, like
``support_ai_article_tags``: one query loads them for many articles, and they go
with their article by cascade. Retrieval reads them to choose which article
comes first (docs/articles.md).

Chained after 0005 (analytics). DDL frozen here, as every revision's is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_ai_article_questions",
        sa.Column(
            "article_id",
            sa.Integer(),
            sa.ForeignKey("support_ai_articles.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        ),
        sa.Column("position", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("question", sa.String(300), nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("support_ai_article_questions")
