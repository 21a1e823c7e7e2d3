"""Settings models of the two backends, one pydantic-settings model each.

Both are declared through ``supportai_settings_models()`` so core validates them
at start-up (a wrong ``SUPPORTAI_KB_MIN_SCORE`` fails the app, not a turn) and
shows them with secrets redacted. Every field has a default that validates, because
core instantiates *both* models even when only one backend is selected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

NOT_FOUND_MESSAGE = "I could not find this in the help center; you can ask for a human."


class KnowledgeBaseSettings(BaseSettings):
    """The offline ``knowledge_base`` backend and the ``supportai_retrieve_context`` hook."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_KB_", extra="forbid")

    articles_dir: Path | None = Field(
        default=None,
        description="Folder of Markdown help articles (*.md). Unset: the knowledge base is off.",
    )
    url_template: str | None = Field(
        default=None,
        description="Citation URL, formatted with {source_id} (the file stem). Unset: no URL.",
    )
    min_score: float = Field(
        default=1.0,
        ge=0,
        description="BM25 score an article needs to count as an answer (below: honest not-found).",
    )
    min_coverage: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Share of the question's IDF weight an article must contain (0 turns it off).",
    )
    max_articles: int = Field(
        default=2, ge=1, le=10, description="Articles an answer may quote (and cite)."
    )
    second_article_ratio: float = Field(
        default=0.75,
        gt=0,
        le=1,
        description="A further article is quoted only if it scores this share of the best one.",
    )
    max_answer_chars: int = Field(
        default=900, ge=80, description="Upper bound on the quoted text of one answer."
    )
    words_per_delta: int = Field(default=4, ge=1, le=100, description="Words per TextDelta.")
    delta_delay_s: float = Field(
        default=0.0,
        ge=0,
        le=1,
        description="Pause between deltas; 0 streams as fast as possible (demos may like 0.02).",
    )
    context_max_chars: int = Field(
        default=1200,
        ge=100,
        description="Text of one ContextDocument handed to other backends for grounding.",
    )
    k1: float = Field(default=1.2, ge=0, description="BM25 term-frequency saturation.")
    b: float = Field(default=0.75, ge=0, le=1, description="BM25 length normalisation.")
    title_weight: int = Field(
        default=3, ge=1, le=10, description="A title word counts this many times in its article."
    )
    not_found_message: str = Field(default=NOT_FOUND_MESSAGE, min_length=1)

    @field_validator("url_template")
    @classmethod
    def _template_is_formattable(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                value.format(source_id="article")
            except (KeyError, IndexError, ValueError) as exc:
                raise ValueError(
                    f"url_template cannot be formatted with {{source_id}}: {exc}"
                ) from exc
        return value

    @property
    def configured(self) -> bool:
        """True when the articles folder is set and exists: the hook serves context only then."""
        return self.articles_dir is not None and self.articles_dir.is_dir()


class OpenAISettings(BaseSettings):
    """The ``openai`` backend: any server speaking the OpenAI chat-completions API."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_OPENAI_", extra="forbid")

    base_url: str = Field(
        default="https://api.openai.com/v1",
        description="Root of the API (vLLM, Ollama, LiteLLM, Azure-compatible proxies...).",
    )
    api_key: SecretStr | None = Field(
        default=None,
        description="Bearer key. Required; servers without auth accept any non-empty value.",
    )
    model: str = Field(default="gpt-4o-mini", min_length=1)
    organization: str | None = None
    project: str | None = None
    timeout_s: float = Field(default=60.0, gt=0, description="Read timeout of one HTTP read.")
    connect_timeout_s: float = Field(default=5.0, gt=0)
    max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="The client's own retries (connection errors, 408/409/429/5xx) "
        "before a response starts.",
    )
    connect_retries: int = Field(
        default=1,
        ge=0,
        le=5,
        description="Extra attempts when the connection breaks after the response started "
        "but before any event was yielded.",
    )
    idle_timeout_s: float | None = Field(
        default=None,
        gt=0,
        description="Stalled stream: no chunk for this long fails the call. "
        "Unset: core's backend_idle_timeout_s.",
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens_param: Literal["max_tokens", "max_completion_tokens"] = Field(
        default="max_tokens",
        description="How the output limit is sent: most compatible servers take max_tokens, "
        "OpenAI reasoning models need max_completion_tokens.",
    )
    citations: Literal["marked", "all"] = Field(
        default="marked",
        description="marked: cite context documents the answer refers to as [n]; "
        "all: cite every context document handed to the model.",
    )
    context_prompt: str = Field(
        default=(
            "Help-center articles that may answer the user's question follow. Answer from them "
            "when they are relevant and cite each one you use with its number in brackets, "
            "like [1]. If they do not answer the question, say so."
        ),
        min_length=1,
    )
