"""The schema: SQLAlchemy Core tables with the spec's names.

Ownership columns (``tenant_id``, ``user_id``) are denormalised onto every table
a caller can reach, so every query filters by tenant and owner *in SQL*.
Money is integer micro-dollars. Times are timezone-aware UTC.

Foreign keys encode the GDPR delete: removing a conversation cascades to its
messages, and from them to classifications, tool calls and feedback; derived
rows (training candidates) cascade too; rows that must outlive it (cases, usage
for billing) have their reference set to NULL. Audit events have no foreign key
on purpose: they are retained.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData()


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Timezone-aware UTC on both engines (SQLite hands back naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value  # type: ignore[no-any-return]


class JSONText(sa.types.TypeDecorator[Any]):
    """JSON stored as text: the same bytes and the same decoding on every engine."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else json.dumps(value, separators=(",", ":"), default=str)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else json.loads(value)


ts = UTCDateTime()


def _fk(target: str, on_delete: str) -> sa.ForeignKey:
    return sa.ForeignKey(target, ondelete=on_delete)


conversations = sa.Table(
    "support_ai_conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("title", sa.String(1000)),
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("flagged", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("escalation_reason", sa.String(40)),
    sa.Column("escalation_note", sa.Text),
    sa.Column("escalated_at", ts),
    sa.Column("created_at", ts, nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.Index("ix_support_ai_conversations_owner", "tenant_id", "user_id", "id"),
    # the admin's review list: a tenant's flagged conversations, newest first
    sa.Index("ix_support_ai_conversations_flagged", "tenant_id", "flagged", "id"),
    # the analytics reports: one tenant's conversations started in a time range
    sa.Index("ix_support_ai_conversations_tenant_created", "tenant_id", "created_at"),
)

messages = sa.Table(
    "support_ai_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.Integer,
        _fk("support_ai_conversations.id", "CASCADE"),
        nullable=False,
    ),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("content", sa.Text, nullable=False),
    # complete | interrupted | refused | blocked | error
    sa.Column("status", sa.String(20), nullable=False, server_default="complete"),
    sa.Column("finish_reason", sa.String(40)),
    sa.Column("idempotency_key", sa.String(128)),
    sa.Column("reply_to_id", sa.Integer, _fk("support_ai_messages.id", "CASCADE")),
    sa.Column("citations", JSONText),
    sa.Column("input_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("output_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cost_micros", sa.BigInteger, nullable=False, server_default="0"),
    # An answer's time to its first text, and whether the backend said it found
    # nothing in the help center: what the analytics reports read (issue 18).
    sa.Column("first_delta_ms", sa.Float),
    sa.Column("not_found", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_messages_conversation", "conversation_id", "id"),
    # the analytics reports: one tenant's messages over a time range; on PostgreSQL the
    # columns they count are in the index too (index-only scans, no heap visit per row)
    sa.Index(
        "ix_support_ai_messages_tenant_created",
        "tenant_id",
        "created_at",
        postgresql_include=["role", "not_found", "first_delta_ms"],
    ),
    sa.UniqueConstraint(
        "conversation_id", "idempotency_key", name="uq_support_ai_messages_idempotency"
    ),
)

intent_classifications = sa.Table(
    "support_ai_intent_classifications",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, _fk("support_ai_messages.id", "CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("intent", sa.String(64), nullable=False),
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Column("refused", sa.Boolean, nullable=False),
    sa.Column("classifier", sa.String(64), nullable=False),
    sa.Column("details", JSONText),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_intent_classifications_message", "message_id"),
)
# The analytics' refusals by intent: only the refused few, by tenant and time.
sa.Index(
    "ix_support_ai_intent_classifications_refused",
    intent_classifications.c.tenant_id,
    intent_classifications.c.created_at,
    sqlite_where=intent_classifications.c.refused.is_(True),
    postgresql_where=intent_classifications.c.refused.is_(True),
)

tool_calls = sa.Table(
    "support_ai_tool_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.Integer, _fk("support_ai_messages.id", "CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("call_id", sa.String(128), nullable=False),
    sa.Column("tool_name", sa.String(128), nullable=False),
    sa.Column("arguments", JSONText),
    sa.Column("result", JSONText),
    sa.Column("error", sa.Text),
    sa.Column("duration_ms", sa.Float, nullable=False),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_tool_calls_message", "message_id"),
)

feedback = sa.Table(
    "support_ai_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "conversation_id",
        sa.Integer,
        _fk("support_ai_conversations.id", "CASCADE"),
        nullable=False,
    ),
    sa.Column("message_id", sa.Integer, _fk("support_ai_messages.id", "CASCADE")),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("helpful", sa.Boolean),
    sa.Column("rating", sa.Integer),
    sa.Column("comment", sa.Text),
    sa.Column("created_at", ts, nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.Index("ix_support_ai_feedback_conversation", "conversation_id"),
    sa.Index("ix_support_ai_feedback_tenant_created", "tenant_id", "created_at"),
)
# One feedback per caller and subject (a message, or the whole conversation when
# ``message_id`` is NULL): a second submission updates the first. NULLs are
# distinct in a plain unique index on both engines, hence the expression.
sa.Index(
    "uq_support_ai_feedback_subject",
    feedback.c.tenant_id,
    feedback.c.user_id,
    feedback.c.conversation_id,
    sa.func.coalesce(feedback.c.message_id, 0),
    unique=True,
)

training_candidates = sa.Table(
    "support_ai_training_candidates",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("conversation_id", sa.Integer, _fk("support_ai_conversations.id", "CASCADE")),
    sa.Column("message_id", sa.Integer, _fk("support_ai_messages.id", "CASCADE")),
    sa.Column("feedback_id", sa.Integer, _fk("support_ai_feedback.id", "CASCADE")),
    # negative_feedback | output_blocked | intent_refused
    sa.Column("candidate_type", sa.String(40), nullable=False),
    # queued | approved | rejected | exported
    sa.Column("status", sa.String(20), nullable=False, server_default="queued"),
    sa.Column("comment", sa.Text),
    sa.Column("snapshot", JSONText),
    sa.Column("reviewer_id", sa.String(128)),
    sa.Column("review_note", sa.Text),
    # the reviewer's better answer: what the openai-chat export trains on
    sa.Column("corrected_answer", sa.Text),
    sa.Column("reviewed_at", ts),
    sa.Column("exported_at", ts),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_training_candidates_status", "tenant_id", "status", "id"),
    # one candidate per feedback row, however often the feedback is updated
    sa.Index("uq_support_ai_training_candidates_feedback", "feedback_id", unique=True),
)

disclosure_acceptances = sa.Table(
    "support_ai_disclosure_acceptances",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("version", sa.String(64), nullable=False),
    sa.Column("accepted_at", ts, nullable=False),
    sa.UniqueConstraint(
        "tenant_id", "user_id", "version", name="uq_support_ai_disclosure_acceptance"
    ),
)

cases = sa.Table(
    "support_ai_cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("conversation_id", sa.Integer, _fk("support_ai_conversations.id", "SET NULL")),
    sa.Column("subject", sa.String(300), nullable=False),
    sa.Column("description", sa.Text, nullable=False),
    sa.Column("priority", sa.String(20), nullable=False),
    # open | pending | resolved | closed
    sa.Column("status", sa.String(20), nullable=False, server_default="open"),
    sa.Column("created_at", ts, nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.Index("ix_support_ai_cases_owner", "tenant_id", "user_id", "id"),
    # the admin's tenant-wide case list
    sa.Index("ix_support_ai_cases_tenant", "tenant_id", "status", "id"),
    # resolution analytics: does a conversation have a case
    sa.Index("ix_support_ai_cases_conversation", "conversation_id"),
)

case_comments = sa.Table(
    "support_ai_case_comments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, _fk("support_ai_cases.id", "CASCADE"), nullable=False),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("author_id", sa.String(128), nullable=False),
    sa.Column("author_role", sa.String(20), nullable=False),  # user | agent
    sa.Column("visibility", sa.String(20), nullable=False),  # public | internal
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_case_comments_case", "case_id", "id"),
)

audit_events = sa.Table(
    "support_ai_audit_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("actor_id", sa.String(128), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("target_type", sa.String(40), nullable=False),
    sa.Column("target_id", sa.Integer, nullable=False),
    sa.Column("before_status", sa.String(40)),
    sa.Column("after_status", sa.String(40)),
    sa.Column("details", JSONText),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_audit_events_tenant", "tenant_id", "id"),
)

usage = sa.Table(
    "support_ai_usage",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("conversation_id", sa.Integer, _fk("support_ai_conversations.id", "SET NULL")),
    sa.Column("message_id", sa.Integer, _fk("support_ai_messages.id", "SET NULL")),
    sa.Column("model", sa.String(128), nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cost_micros", sa.BigInteger, nullable=False),
    sa.Column("created_at", ts, nullable=False),
    # The quota reservation this spend settles: one ledger row per reservation, so a
    # retried write cannot count twice, and the row the expiry sweep writes for a hold
    # it charged in full is replaced by the turn's real figures (issue 13).
    sa.Column("reservation_id", sa.String(64)),
    sa.Index(
        "ix_support_ai_usage_tenant",
        "tenant_id",
        "created_at",
        postgresql_include=["cost_micros"],  # cost per day without a heap visit (issue 18)
    ),
    sa.Index("uq_support_ai_usage_reservation", "reservation_id", unique=True),
)

quota_buckets = sa.Table(
    "support_ai_quota_buckets",
    metadata,
    sa.Column("bucket_key", sa.String(300), primary_key=True),
    sa.Column("used", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reserved", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)

quota_reservations = sa.Table(
    "support_ai_quota_reservations",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("bucket_keys", JSONText, nullable=False),
    # held | charged (lease ran out: counted in full) | settled | released_by_caller
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Index("ix_support_ai_quota_reservations_expiry", "state", "expires_at"),
)

# -- the knowledge base (docs/articles.md) ---------------------------------------------------
# Articles are the tenant's help center: public text written by the tenant's admins,
# never a user's personal data. Tags live in their own table so that a list can
# filter by tag in SQL on both engines (questions in theirs, loaded the same way);
# the version row tells every worker that a tenant's articles changed (its retrieval
# index is stale); embeddings are keyed by the content hash the retrieval side chose,
# so an unchanged chunk is never re-embedded.

articles = sa.Table(
    "support_ai_articles",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("slug", sa.String(128), nullable=False),
    sa.Column("locale", sa.String(35), nullable=False),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("url", sa.String(2000)),
    sa.Column("published", sa.Boolean, nullable=False, server_default=sa.true()),
    # bumped by every change: the optimistic-concurrency token of the admin API
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", ts, nullable=False),
    sa.Column("updated_at", ts, nullable=False),
    sa.UniqueConstraint("tenant_id", "locale", "slug", name="uq_support_ai_articles_slug"),
    sa.Index("ix_support_ai_articles_tenant", "tenant_id", "id"),
    # SQLite would reuse the id of the newest article once it is deleted; the audit
    # trail and retrieval caches name articles by id, so ids are never reused.
    sqlite_autoincrement=True,
)

article_tags = sa.Table(
    "support_ai_article_tags",
    metadata,
    sa.Column(
        "article_id",
        sa.Integer,
        _fk("support_ai_articles.id", "CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("tag", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Index("ix_support_ai_article_tags_tag", "tenant_id", "tag"),
)

# Questions users asked that an article answers, in their words and in the order the
# admin gave them (``position``): rows rather than a JSON column, like tags, so they
# load for many articles in one query and go with their article by cascade.
article_questions = sa.Table(
    "support_ai_article_questions",
    metadata,
    sa.Column(
        "article_id",
        sa.Integer,
        _fk("support_ai_articles.id", "CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("question", sa.String(300), nullable=False),
    sa.Column("tenant_id", sa.String(128), nullable=False),
)

knowledge_versions = sa.Table(
    "support_ai_knowledge_versions",
    metadata,
    sa.Column("tenant_id", sa.String(128), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", ts, nullable=False),
)

embeddings = sa.Table(
    "support_ai_embeddings",
    metadata,
    sa.Column("tenant_id", sa.String(128), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("vector", sa.LargeBinary, nullable=False),
    sa.Column("created_at", ts, nullable=False),
)

# Settlements not yet applied to a quota store outside this database (Redis): written
# in the transaction that saves the answer and its usage row, deleted once the store
# applied them. Any worker's sweep retries what is left (docs/decisions/0010).
quota_outbox = sa.Table(
    "support_ai_quota_outbox",
    metadata,
    sa.Column("reservation_id", sa.String(64), primary_key=True),
    sa.Column("tenant_id", sa.String(128), nullable=False),
    sa.Column("user_id", sa.String(128), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("bucket_keys", JSONText, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("cost_micros", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", ts, nullable=False),
    sa.Index("ix_support_ai_quota_outbox_created", "created_at"),
)

# The events of running and recently finished turns, for streams that resume with
# Last-Event-ID on any worker (docs/decisions/0011). One row per batch of a turn's
# events (supportai/resume/batch.py), written by the producing worker, the last one
# inside the answer's transaction; rows older than SUPPORTAI_TURN_EVENTS_TTL_S are
# deleted by the sweep. Cascades with the user message.
turn_events = sa.Table(
    "support_ai_turn_events",
    metadata,
    sa.Column(
        "message_id",
        sa.Integer,
        _fk("support_ai_messages.id", "CASCADE"),
        primary_key=True,
    ),
    sa.Column("last_seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("first_seq", sa.Integer, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Index("ix_support_ai_turn_events_created", "created_at"),
)
