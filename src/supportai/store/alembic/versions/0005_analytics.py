"""What the analytics reports read, and the indexes that keep them fast.

Revision 0005 (issue 18, docs/decisions/0012-analytics.md):

* ``support_ai_messages.first_delta_ms``: the time to the first answer text the
  turn sent (what ``turn.completed`` already reported), persisted with the answer;
* ``support_ai_messages.not_found``: the backend answered with its "not found in
  the help center" fallback (``Finish(not_found=True)``);
* indexes by tenant and time on messages, conversations and feedback, on a case's
  conversation, and a partial one on refused intent classifications: every report
  is a range scan of one tenant's rows. On PostgreSQL the messages index and the
  usage ledger's (re-created) carry the counted columns (``INCLUDE``), so the scans
  are index-only once autovacuum has marked the pages all-visible.

Chained after 0004 (the turn event log). DDL frozen here, as every revision's is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("support_ai_messages") as batch:
        batch.add_column(sa.Column("first_delta_ms", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("not_found", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_index(
        "ix_support_ai_messages_tenant_created",
        "support_ai_messages",
        ["tenant_id", "created_at"],
        postgresql_include=["role", "not_found", "first_delta_ms"],
    )
    # cost per day reads the amount from the index on PostgreSQL
    op.drop_index("ix_support_ai_usage_tenant", "support_ai_usage")
    op.create_index(
        "ix_support_ai_usage_tenant",
        "support_ai_usage",
        ["tenant_id", "created_at"],
        postgresql_include=["cost_micros"],
    )
    op.create_index(
        "ix_support_ai_conversations_tenant_created",
        "support_ai_conversations",
        ["tenant_id", "created_at"],
    )
    op.create_index(
        "ix_support_ai_feedback_tenant_created",
        "support_ai_feedback",
        ["tenant_id", "created_at"],
    )
    op.create_index("ix_support_ai_cases_conversation", "support_ai_cases", ["conversation_id"])
    refused = (
        sa.text("refused IS true")
        if op.get_context().dialect.name == "postgresql"
        else sa.text("refused IS 1")
    )
    op.create_index(
        "ix_support_ai_intent_classifications_refused",
        "support_ai_intent_classifications",
        ["tenant_id", "created_at"],
        sqlite_where=refused,
        postgresql_where=refused,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_support_ai_intent_classifications_refused", "support_ai_intent_classifications"
    )
    op.drop_index("ix_support_ai_cases_conversation", "support_ai_cases")
    op.drop_index("ix_support_ai_feedback_tenant_created", "support_ai_feedback")
    op.drop_index("ix_support_ai_conversations_tenant_created", "support_ai_conversations")
    op.drop_index("ix_support_ai_messages_tenant_created", "support_ai_messages")
    op.drop_index("ix_support_ai_usage_tenant", "support_ai_usage")
    op.create_index("ix_support_ai_usage_tenant", "support_ai_usage", ["tenant_id", "created_at"])
    with op.batch_alter_table("support_ai_messages") as batch:
        batch.drop_column("not_found")
        batch.drop_column("first_delta_ms")
