"""Settings for one supportai app, read from ``SUPPORTAI_*`` environment variables.

A host can also build :class:`Settings` in code and pass it to
:func:`supportai.create_app`; keyword arguments win over the environment. Every
field is validated when the app starts, so a typo in an environment variable
fails start-up with the variable's name instead of surfacing mid-conversation.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Intents that are refused unless the host configures otherwise.
DEFAULT_REFUSED_INTENTS = ("prompt_injection", "jailbreak", "abusive")

#: What ``disclosure/status`` shows users until the host writes its own.
DEFAULT_DISCLOSURE_TEXT = (
    "You are talking to an AI assistant, not a person. Its answers are generated "
    "automatically from our help center and can be wrong: check anything important, and "
    "ask for a human whenever you want one. Your messages are stored to answer you and "
    "to improve the assistant."
)


class ModelPrice(BaseModel):
    """What one model costs, in integer micro-dollars per 1,000 tokens.

    Integers keep money exact: 1 USD = 1_000_000 micro-dollars.
    """

    input_per_1k_micros: int = Field(ge=0)
    output_per_1k_micros: int = Field(ge=0)

    def cost_micros(self, input_tokens: int, output_tokens: int) -> int:
        """Cost of a call, rounded up so that we never under-charge a reservation."""
        total = input_tokens * self.input_per_1k_micros + output_tokens * self.output_per_1k_micros
        return -(-total // 1000)


class Settings(BaseSettings):
    """Core settings. Plugins declare their own models (see ``docs/configuration.md``)."""

    model_config = SettingsConfigDict(
        env_prefix="SUPPORTAI_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    # -- storage ----------------------------------------------------------------
    database_url: str = Field(
        default="sqlite+aiosqlite:///./supportai.db",
        description="SQLAlchemy-style URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    auto_migrate: bool | None = Field(
        default=None,
        description="Run migrations at start-up. Default: on for SQLite, off for PostgreSQL.",
    )

    # -- product switches -------------------------------------------------------
    master_flag: bool = Field(default=True, description="Global kill switch for AI turns.")
    disclosure_version: str = Field(default="2026-01", min_length=1, max_length=64)
    disclosure_required: bool = Field(
        default=True, description="Refuse turns until the current disclosure is accepted."
    )
    disclosure_text: str = Field(
        default=DEFAULT_DISCLOSURE_TEXT,
        min_length=1,
        max_length=10_000,
        description="The disclosure users accept, returned by disclosure/status (plain text).",
    )
    disclosure_url: str | None = Field(
        default=None,
        max_length=2000,
        description="Link to the full disclosure or policy page, returned by disclosure/status.",
    )
    required_scope: str | None = Field(
        default=None, description="If set, callers need this role/scope to use the assistant."
    )
    admin_role: str = "support_ai_admin"

    # -- plugins ----------------------------------------------------------------
    plugins: list[str] | None = Field(
        default=None, description="Allow-list of entry-point names to load (None: all)."
    )
    disable_plugins: list[str] = Field(default_factory=list)
    plugin_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-plugin settings overrides keyed by the plugin's settings key.",
    )

    # -- providers, chosen by name ----------------------------------------------
    llm_backend: str | None = Field(default=None, description="Registered LLM backend name.")
    classifiers: list[str] = Field(default_factory=list)
    output_filters: list[str] = Field(default_factory=list)
    quota_store: str = "sql"
    tools: list[str] | None = Field(
        default=None, description="Tools offered to the model (None: every registered tool)."
    )
    refused_intents: list[str] = Field(default_factory=lambda: list(DEFAULT_REFUSED_INTENTS))

    storage_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=120,
        description=(
            "How long a request waits to connect to the database or get a pooled connection "
            "before it answers 503 storage_unavailable (with Retry-After)."
        ),
    )
    database_statement_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="PostgreSQL: the longest any one statement may run (asyncpg command_timeout).",
    )

    # -- the turn ---------------------------------------------------------------
    max_message_chars: int = Field(default=4000, ge=1, le=100_000)
    max_title_chars: int = Field(default=200, ge=1, le=1000)
    max_output_tokens: int = Field(default=1024, ge=1)
    history_char_budget: int = Field(
        default=12_000, ge=100, description="Characters of history sent to the backend."
    )
    tool_max_rounds: int = Field(default=4, ge=0, le=20)
    tool_timeout_s: float = Field(default=10.0, gt=0)
    backend_first_token_timeout_s: float = Field(default=30.0, gt=0)
    backend_idle_timeout_s: float = Field(default=30.0, gt=0)
    heartbeat_s: float = Field(default=15.0, gt=0)
    turn_max_duration_s: float = Field(
        default=240.0,
        gt=0,
        description=(
            "Hard limit on one answer's generation (finish reason max_duration). A turn "
            "also stops a margin (20% of the TTL, at least 1 s) before its reservation "
            "could expire, so no turn outlives its hold."
        ),
    )
    turn_events_ttl_s: int = Field(
        default=3600,
        ge=0,
        description=(
            "How long a turn's events stay in the event log for streams that resume with "
            "Last-Event-ID (docs/sse.md). 0 turns the log off: a client that disconnects "
            "then interrupts its turn, and a resume gets only the final state."
        ),
    )
    turn_events_flush_s: float = Field(
        default=0.1,
        gt=0,
        le=5,
        description=(
            "Longest a running turn's events wait in memory before the event log once its "
            "client left (2 s while it is connected)."
        ),
    )
    turn_events_poll_s: float = Field(
        default=0.1,
        gt=0,
        le=5,
        description="How often a resume on another worker reads the event log.",
    )
    system_prompt: str = (
        "You are a helpful, honest support assistant. Answer from the help center when you "
        "can, say so when you cannot, and offer a human when the user asks for one."
    )

    # -- quota ------------------------------------------------------------------
    rate_limit_user_turns: int = Field(default=20, ge=0, description="Turns per window, per user.")
    rate_limit_tenant_turns: int = Field(default=1000, ge=0)
    rate_limit_window_s: int = Field(default=60, ge=1)
    user_daily_cost_cap_micros: int = Field(default=2_000_000, ge=0)
    tenant_monthly_cost_cap_micros: int = Field(default=500_000_000, ge=0)
    reservation_ttl_s: int = Field(
        default=300,
        ge=1,
        description=(
            "A reservation's lease, renewed by the running turn. A hold whose lease ran "
            "out is charged in full (never simply released) until its turn's real cost "
            "settles it."
        ),
    )
    prices: dict[str, ModelPrice] = Field(
        default_factory=dict, description="Price per model name; see ModelPrice."
    )
    default_price: ModelPrice = Field(
        default_factory=lambda: ModelPrice(input_per_1k_micros=1000, output_per_1k_micros=2000)
    )

    # -- escalation -------------------------------------------------------------
    escalation_url_template: str = Field(
        default="/support/tickets/new?conversation_id={conversation_id}",
        description="Where the front end sends the user after escalating.",
    )

    # -- feedback / improvement loop --------------------------------------------
    queue_refusals_for_review: bool = False
    queue_blocked_for_review: bool = True
    sensitive_terms: list[str] = Field(
        default_factory=list, description="Extra words (names...) redacted from candidates."
    )

    # -- knowledge base ----------------------------------------------------------
    kb_import_max_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest body of POST /admin/articles/import (other bodies: 256 KiB).",
    )

    # -- analytics (docs/analytics.md) -------------------------------------------
    analytics_resolution_window_s: int = Field(
        default=86400,
        ge=60,
        le=30 * 86400,
        description="A conversation ends once it has had no message for this long; "
        "it is resolved if no escalation, case or negative feedback came before then.",
    )
    analytics_max_range_days: int = Field(
        default=366, ge=1, le=3660, description="Longest from-to range of an analytics report."
    )
    analytics_embedder: str = Field(
        default="wordllama",
        description="Embedder (supportai_register_embedders) that groups unanswered "
        "questions; none groups identical questions only.",
    )
    analytics_group_similarity: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Cosine similarity from which two unanswered questions share a group.",
    )
    analytics_unanswered_scan: int = Field(
        default=2000,
        ge=10,
        le=20000,
        description="Newest unanswered questions of the range that are grouped; also the "
        "newest answers read for an article's question suggestions.",
    )

    # -- pagination ---------------------------------------------------------------
    page_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="Items per page of the lists (conversations, cases, admin lists) when "
        "the request gives no limit.",
    )
    message_page_size: int = Field(
        default=50,
        ge=1,
        le=200,
        description="Messages per page of GET /conversations/{conversation_id} "
        "when the request gives no limit (the newest first page).",
    )

    @field_validator("escalation_url_template")
    @classmethod
    def _template_is_formattable(cls, value: str) -> str:
        try:
            value.format(conversation_id=1, tenant_id="t", reason="other")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"escalation_url_template cannot be formatted: {exc}") from exc
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def should_auto_migrate(self) -> bool:
        return self.is_sqlite if self.auto_migrate is None else self.auto_migrate

    def price_for(self, model: str) -> ModelPrice:
        return self.prices.get(model, self.default_price)
