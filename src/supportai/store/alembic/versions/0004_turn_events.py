"""The turn event log, for resumable streams.

Revision 0004 (issue 15, docs/decisions/0011-resumable-turn-events.md):
``support_ai_turn_events`` holds the events of running and recently finished
turns (one row per batch of events, keyed by the user message and the batch's last
sequence number), so a client that lost its stream resumes it with ``Last-Event-ID`` on
any worker. Rows cascade with their user message (GDPR deletes) and expire after
``SUPPORTAI_TURN_EVENTS_TTL_S``.

DDL frozen here, as every revision's is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_ai_turn_events",
        sa.Column(
            "message_id",
            sa.Integer(),
            sa.ForeignKey("support_ai_messages.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("last_seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_support_ai_turn_events_created", "support_ai_turn_events", ["created_at"])


def downgrade() -> None:
    op.drop_table("support_ai_turn_events")
