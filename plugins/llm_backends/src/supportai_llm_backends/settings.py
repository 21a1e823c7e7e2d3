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

from supportai.user_strings import DEFAULTS

NOT_FOUND_MESSAGE = DEFAULTS["answer.not_found"]


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
    embedder: str = Field(
        default="wordllama",
        min_length=1,
        description="Embedder (registered by name) for dense retrieval: wordllama (offline), "
        "minilm (offline, contextual, 1.2-9 ms a question at p50 by CPU; `pip install "
        "'supportai-llm-backends[minilm]'`), openai, a plugin's, or none (BM25 only).",
    )
    # 0.739 since coverage joined the fusion (decision 0019): `supportai kb-calibrate`'s
    # recommendation on the example's dev half (honesty 1; 0.64 to 0.77 within one outcome).
    min_score: float = Field(
        default=0.739,
        description="Fused score the best article needs to count as an answer (below: honest "
        "not-found). Choose it with `supportai kb-calibrate`; see docs/knowledge.md.",
    )
    suggest_min_score: float | None = Field(
        default=None,
        description="Fused score at which a question below min_score still gets the closest "
        "section as a suggestion, after the not-found text and without a citation (unset: "
        "never; the minilm calibration sets 1.05).",
    )
    # 2.85, not the 4.0 of earlier releases: `supportai kb-calibrate` on the dev half of the
    # example question set (honesty 3: this is the fallback path, where a wrong answer costs
    # most) put the best threshold at 2.83 and everything from 2.81 to 2.89 within one
    # outcome: 62 of 104 right answers against 35 at 4.0, 17 of 19 honest refusals against 18.
    lexical_min_score: float = Field(
        default=2.85,
        ge=0,
        description="Without vectors (embedder none or failing): BM25 score the best section "
        "needs to count as an answer.",
    )
    weight_dense_chunk: float = Field(default=1.0, ge=0, description="Fusion: section cosine.")
    weight_dense_heading: float = Field(
        default=0.25, ge=0, description="Fusion: cosine with the title and heading path."
    )
    weight_dense_article: float = Field(
        default=1.0, ge=0, description="Fusion: cosine with the whole article."
    )
    weight_dense_tags: float = Field(
        default=0.0,
        ge=0,
        description="Fusion: cosine with the article's title and tags (its title alone "
        "without tags).",
    )
    weight_dense_phrase: float = Field(
        default=0.0,
        ge=0,
        description="Fusion: cosine with the article's closest phrase (its title, one of its "
        "tags or one of its sections' headings, each embedded alone).",
    )
    weight_coverage: float = Field(
        default=0.5,
        ge=0,
        description="Fusion: the article's coverage of the question (the share of the "
        "question's words, weighted by rarity, that the article and its tags hold).",
    )
    weight_alignment: float = Field(
        default=0.0,
        ge=0,
        description="Reranking: how much the word-piece alignment with the question counts "
        "in choosing the first of the best articles and the section quoted (embedders with "
        "word-piece vectors: minilm; 0: off, nothing extra is embedded or stored).",
    )
    weight_questions: float = Field(
        default=2.0,
        ge=0,
        description="Reranking: how much an article's closest past question (its "
        "`questions`, what readers asked that it answered) counts in choosing the first of "
        "the best articles (0: off, the questions are not embedded).",
    )
    alignment_max_articles: int = Field(
        default=500,
        ge=0,
        description="Help centers with more articles skip the word-piece alignment (its "
        "vectors take about 45 KB an article plus 11 KB a section in memory).",
    )
    feature_coverage: float = Field(
        default=0.2,
        ge=0,
        le=1,
        description='A question asking whether the product has something ("is there a workload '
        'view?") is answered only when the best article holds at least this share of the '
        "thing's words (weighted by rarity, tags included) or has a phrase close to the thing "
        "(feature_phrase); otherwise it gets the honest not-found (0: off).",
    )
    feature_phrase: float = Field(
        default=0.5,
        ge=0,
        description="With phrase vectors (weight_dense_phrase above 0): cosine between the "
        "thing a feature question asks for (embedded alone) and the best article's closest "
        "phrase (title, tag or heading) that lets the question through whatever its words "
        "(the host's own word for the feature).",
    )
    product_names: str | None = Field(
        default=None,
        description='Comma-separated words that name the product ("Lumen"), left out of a '
        "question before it is embedded: a name every article says brings any question "
        "that holds it close to every article. Unset: a word most articles write with a "
        "capital is taken; empty: none (decision 0028).",
    )
    weight_lexical_chunk: float = Field(
        default=0.0, ge=0, description="Fusion: section BM25 (scaled by the query's best)."
    )
    weight_lexical_article: float = Field(
        default=0.2, ge=0, description="Fusion: article BM25 (scaled by the query's best)."
    )
    second_article_margin: float = Field(
        default=0.25,
        ge=0,
        description="A further article is quoted only if its fused score is this close to the "
        "best one's.",
    )
    second_section_margin: float = Field(
        default=0.3,
        ge=0,
        description="A further section of the best article is quoted if its section score is "
        "within this of the best section's.",
    )
    paragraph_cutoff: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="A paragraph of a quoted section is dropped when its word overlap with the "
        "question is below this share of the section's best block (the first block, lists, "
        "tables and code blocks always stay).",
    )
    spelling: bool = Field(
        default=True,
        description="Correct a question's misspelt words (one letter off) to words the help "
        "center uses before searching; English words and names are left alone.",
    )
    blas_threads: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Threads numpy's BLAS (OpenBLAS, MKL) may use in this process, set by the "
        "thread that ranks the first time it ranks; 0 leaves BLAS as it is. Ranking multiplies "
        "small matrices, and BLAS's idle workers spin on the CPUs the next question's embedding "
        "needs: one thread took minilm's retrieval p99 from 5-17 to 4-5 ms on a 2-vCPU machine.",
    )
    max_tenants: int = Field(
        default=64, ge=1, description="Tenant indexes kept in memory (least recently used go)."
    )
    version_check_s: float = Field(
        default=2.0,
        ge=0,
        description="How often a worker asks the article source whether the help center changed.",
    )
    embeddings_cache_dir: Path | None = Field(
        default=None,
        description="Folder for persisted embeddings when the database holds none "
        "(file-based help centers). Unset: a `.supportai-embeddings` folder next to the articles.",
    )
    max_articles: int = Field(
        default=2, ge=1, le=10, description="Articles an answer may quote (and cite)."
    )
    max_answer_chars: int = Field(
        default=1200, ge=80, description="Upper bound on the quoted text of one answer."
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


class EmbeddingSettings(BaseSettings):
    """The built-in embedders (``SUPPORTAI_KB_EMBEDDER`` picks one)."""

    model_config = SettingsConfigDict(env_prefix="SUPPORTAI_EMBEDDINGS_", extra="forbid")

    wordllama_dim: Literal[64, 128, 256] = Field(
        default=256,
        description="wordllama: dimensions kept (truncated from the bundled 256-d model).",
    )
    minilm_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="minilm: ONNX Runtime threads per embedding, at most the CPUs the process "
        "may use. Unset: 1 on a CPU with VNNI (its int8 products are quick, and a second "
        "thread adds more hand-offs than it saves), 2 on one without (1.5x faster where a core "
        "is idle). The vectors are identical whatever the count.",
    )
    openai_base_url: str = Field(
        default="https://api.openai.com/v1",
        description="openai: root of an OpenAI-compatible API with /embeddings "
        "(vLLM, Ollama, TEI, LiteLLM, OpenAI).",
    )
    openai_api_key: SecretStr | None = Field(default=None, description="openai: bearer key.")
    openai_model: str = Field(default="text-embedding-3-small", min_length=1)
    openai_batch_size: int = Field(default=64, ge=1, le=2048, description="Texts per request.")
    openai_timeout_s: float = Field(default=30.0, gt=0)
    openai_max_retries: int = Field(default=2, ge=0, le=10)


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
    http_client: Literal["auto", "aiohttp", "httpx"] = Field(
        default="auto",
        description="HTTP client under the openai SDK: aiohttp (the SDK's DefaultAioHttpClient; "
        "its C HTTP parser reads a streamed answer for about half the CPU), httpx (the SDK's "
        "default), or auto: aiohttp when openai's aiohttp extra is installed (it is a "
        "dependency of this plugin).",
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
