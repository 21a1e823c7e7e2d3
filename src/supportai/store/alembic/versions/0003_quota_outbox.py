"""Quota settlements that survive faults: the outbox, and one ledger row per reservation.

Revision 0003 (issue 13, docs/decisions/0010-leases-and-outbox.md):

* ``support_ai_quota_outbox``: settlements queued for a quota store outside the app
  database (Redis), written with the answer, deleted once the store applied them;
* ``support_ai_usage.reservation_id`` (unique): the reservation a ledger row
  settles, so a retried write cannot count twice and the row the sweep writes
  for a hold it charged in full is replaced by the turn's real figures.

DDL frozen here, as every revision's is.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("support_ai_usage") as batch:
        batch.add_column(sa.Column("reservation_id", sa.String(64), nullable=True))
        batch.create_index("uq_support_ai_usage_reservation", ["reservation_id"], unique=True)

    op.create_table(
        "support_ai_quota_outbox",
        sa.Column("reservation_id", sa.String(64), primary_key=True),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("bucket_keys", sa.Text(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_support_ai_quota_outbox_created", "support_ai_quota_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_table("support_ai_quota_outbox")
    with op.batch_alter_table("support_ai_usage") as batch:
        batch.drop_index("uq_support_ai_usage_reservation")
        batch.drop_column("reservation_id")
