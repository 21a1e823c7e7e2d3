"""Initial schema: every table of the first release.

Revision 0001, the first. Its DDL is frozen here, written out column by column:
never build it from tables.py, which describes the latest schema, not this one
(a column added there later must come from a later revision, not from this one).
Databases made by the runner this replaced are at exactly this schema and get
stamped 0001 (supportai.store.migrations).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# UTC timestamps (tables.UTCDateTime) and JSON text (tables.JSONText) as stored.
TIMESTAMP = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), primary_key=True)


def _owner() -> list[sa.Column[str]]:
    return [
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
    ]


def _fk(column: str, target: str, on_delete: str, *, nullable: bool = True) -> sa.Column[int]:
    return sa.Column(
        column, sa.Integer(), sa.ForeignKey(target, ondelete=on_delete), nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "support_ai_conversations",
        _id(),
        *_owner(),
        sa.Column("title", sa.String(1000)),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("escalation_reason", sa.String(40)),
        sa.Column("escalation_note", sa.Text()),
        sa.Column("escalated_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_conversations_owner",
        "support_ai_conversations",
        ["tenant_id", "user_id", "id"],
    )
    op.create_index(
        "ix_support_ai_conversations_flagged",
        "support_ai_conversations",
        ["tenant_id", "flagged", "id"],
    )

    op.create_table(
        "support_ai_messages",
        _id(),
        _fk("conversation_id", "support_ai_conversations.id", "CASCADE", nullable=False),
        *_owner(),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="complete"),
        sa.Column("finish_reason", sa.String(40)),
        sa.Column("idempotency_key", sa.String(128)),
        _fk("reply_to_id", "support_ai_messages.id", "CASCADE"),
        sa.Column("citations", sa.Text()),
        sa.Column("input_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("output_tokens", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint(
            "conversation_id", "idempotency_key", name="uq_support_ai_messages_idempotency"
        ),
    )
    op.create_index(
        "ix_support_ai_messages_conversation", "support_ai_messages", ["conversation_id", "id"]
    )

    op.create_table(
        "support_ai_intent_classifications",
        _id(),
        _fk("message_id", "support_ai_messages.id", "CASCADE", nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("intent", sa.String(64), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("refused", sa.Boolean(), nullable=False),
        sa.Column("classifier", sa.String(64), nullable=False),
        sa.Column("details", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_intent_classifications_message",
        "support_ai_intent_classifications",
        ["message_id"],
    )

    op.create_table(
        "support_ai_tool_calls",
        _id(),
        _fk("message_id", "support_ai_messages.id", "CASCADE", nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("call_id", sa.String(128), nullable=False),
        sa.Column("tool_name", sa.String(128), nullable=False),
        sa.Column("arguments", sa.Text()),
        sa.Column("result", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_support_ai_tool_calls_message", "support_ai_tool_calls", ["message_id"])

    op.create_table(
        "support_ai_feedback",
        _id(),
        _fk("conversation_id", "support_ai_conversations.id", "CASCADE", nullable=False),
        _fk("message_id", "support_ai_messages.id", "CASCADE"),
        *_owner(),
        sa.Column("helpful", sa.Boolean()),
        sa.Column("rating", sa.Integer()),
        sa.Column("comment", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_feedback_conversation", "support_ai_feedback", ["conversation_id"]
    )
    # One feedback per caller and subject; NULL message_id means the conversation.
    op.create_index(
        "uq_support_ai_feedback_subject",
        "support_ai_feedback",
        ["tenant_id", "user_id", "conversation_id", sa.text("coalesce(message_id, 0)")],
        unique=True,
    )

    op.create_table(
        "support_ai_training_candidates",
        _id(),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        _fk("conversation_id", "support_ai_conversations.id", "CASCADE"),
        _fk("message_id", "support_ai_messages.id", "CASCADE"),
        _fk("feedback_id", "support_ai_feedback.id", "CASCADE"),
        sa.Column("candidate_type", sa.String(40), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
        sa.Column("comment", sa.Text()),
        sa.Column("snapshot", sa.Text()),
        sa.Column("reviewer_id", sa.String(128)),
        sa.Column("review_note", sa.Text()),
        sa.Column("corrected_answer", sa.Text()),
        sa.Column("reviewed_at", TIMESTAMP),
        sa.Column("exported_at", TIMESTAMP),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_training_candidates_status",
        "support_ai_training_candidates",
        ["tenant_id", "status", "id"],
    )
    op.create_index(
        "uq_support_ai_training_candidates_feedback",
        "support_ai_training_candidates",
        ["feedback_id"],
        unique=True,
    )

    op.create_table(
        "support_ai_disclosure_acceptances",
        _id(),
        *_owner(),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("accepted_at", TIMESTAMP, nullable=False),
        sa.UniqueConstraint(
            "tenant_id", "user_id", "version", name="uq_support_ai_disclosure_acceptance"
        ),
    )

    op.create_table(
        "support_ai_cases",
        _id(),
        *_owner(),
        _fk("conversation_id", "support_ai_conversations.id", "SET NULL"),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False, server_default="open"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_support_ai_cases_owner", "support_ai_cases", ["tenant_id", "user_id", "id"])
    op.create_index("ix_support_ai_cases_tenant", "support_ai_cases", ["tenant_id", "status", "id"])

    op.create_table(
        "support_ai_case_comments",
        _id(),
        _fk("case_id", "support_ai_cases.id", "CASCADE", nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("author_id", sa.String(128), nullable=False),
        sa.Column("author_role", sa.String(20), nullable=False),
        sa.Column("visibility", sa.String(20), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_case_comments_case", "support_ai_case_comments", ["case_id", "id"]
    )

    op.create_table(
        "support_ai_audit_events",
        _id(),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("actor_id", sa.String(128), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("before_status", sa.String(40)),
        sa.Column("after_status", sa.String(40)),
        sa.Column("details", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index(
        "ix_support_ai_audit_events_tenant", "support_ai_audit_events", ["tenant_id", "id"]
    )

    op.create_table(
        "support_ai_usage",
        _id(),
        *_owner(),
        _fk("conversation_id", "support_ai_conversations.id", "SET NULL"),
        _fk("message_id", "support_ai_messages.id", "SET NULL"),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=False),
        sa.Column("output_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_support_ai_usage_tenant", "support_ai_usage", ["tenant_id", "created_at"])

    op.create_table(
        "support_ai_quota_buckets",
        sa.Column("bucket_key", sa.String(300), primary_key=True),
        sa.Column("used", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("reserved", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
    )

    op.create_table(
        "support_ai_quota_reservations",
        sa.Column("id", sa.String(64), primary_key=True),
        *_owner(),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bucket_keys", sa.Text(), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index(
        "ix_support_ai_quota_reservations_expiry",
        "support_ai_quota_reservations",
        ["state", "expires_at"],
    )


def downgrade() -> None:
    # Referencing tables first; dropping a table drops its indexes.
    for table in (
        "support_ai_quota_reservations",
        "support_ai_quota_buckets",
        "support_ai_usage",
        "support_ai_audit_events",
        "support_ai_case_comments",
        "support_ai_cases",
        "support_ai_disclosure_acceptances",
        "support_ai_training_candidates",
        "support_ai_feedback",
        "support_ai_tool_calls",
        "support_ai_intent_classifications",
        "support_ai_messages",
        "support_ai_conversations",
    ):
        op.drop_table(table)
