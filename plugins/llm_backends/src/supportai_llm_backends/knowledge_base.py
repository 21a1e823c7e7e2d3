"""The ``knowledge_base`` backend: extractive answers from the help center, offline.

It is the embedded default (no network, no API key) and an honest one: it only
ever says what an article says, quotes the best section(s) with their headings
and whole lists, cites every article it quotes right after that article's text
(a citation always falls between paragraphs, never inside Markdown), and when
retrieval finds nothing good enough it says so and points to a human; when it came
close, it then shows the closest section as an uncited suggestion.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from supportai.llm import (
    BackendEvent,
    BackendRequest,
    Citation,
    ContextDocument,
    Finish,
    TextDelta,
    Usage,
)
from supportai.user_strings import DEFAULTS
from supportai_llm_backends.knowledge import truncate
from supportai_llm_backends.settings import KnowledgeBaseSettings
from supportai_llm_backends.tokens import CHARS_PER_TOKEN, approx_tokens

if TYPE_CHECKING:
    from supportai.hookcalls import Hooks

    # numpy and bm25s stay out of start-up: imported on first use (or by the warm-up).
    from supportai_llm_backends.retrieval.answer import Quote
    from supportai_llm_backends.retrieval.index import ArticleHit
    from supportai_llm_backends.retrieval.service import RetrievalService, SearchResult

_WORD_WITH_SPACE = re.compile(r"\S+\s*")

#: Length of the quote shown with a citation.
SNIPPET_CHARS = 200

#: Room kept for the line that introduces a suggestion (its lead-in and link).
SUGGESTION_LINE_CHARS = 200


@dataclass(frozen=True, slots=True)
class Answer:
    """What the backend will say: one quote per article, or the not-found message.

    A not-found answer may carry a ``suggestion``: the closest section, shown after
    the not-found text and its ``lead_in`` but never cited, because a citation says
    "this answers you" and retrieval was not sure enough to say so.
    """

    query: str
    quotes: tuple[Quote, ...] = ()
    fallback: str | None = None
    #: True when ``max_output_tokens`` made the quote shorter than it would have been.
    length_limited: bool = False
    suggestion: Quote | None = None
    lead_in: str = DEFAULTS["answer.suggestion"]

    @property
    def text(self) -> str:
        if self.fallback is None:
            return "\n\n".join(quote.text for quote in self.quotes)
        if self.suggestion is None:
            return self.fallback
        return "\n\n".join(
            (self.fallback, f"{self.lead_in} {article_link(self.suggestion)}", self.suggestion.text)
        )


def article_link(quote: Quote) -> str:
    """The quoted article's title, as a Markdown link when it has a URL."""
    title = quote.hit.title
    return f"[{title}]({quote.hit.url})" if quote.hit.url else f"**{title}**"


#: Words and openings by which an English message leans on the one before it: a
#: conjunction or "what about" at its start, a pronoun or "too" standing for what
#: was said. Other languages get no retry: a standalone reading, so at worst the
#: honest fallback, never another question's answer.
FOLLOW_UP_WORDS = frozenset(
    {"and", "also", "too", "then", "same", "else", "instead"}
    | {"it", "its", "that", "this", "these", "those", "they", "them", "there"}
)
FOLLOW_UP_OPENINGS = ("what about", "how about", "what if", "ok", "okay", "so", "but")
_WORDS = re.compile(r"[a-z']+")


def reads_as_follow_up(text: str) -> bool:
    """Whether ``text`` refers back to the conversation ("and on mobile?", "is that
    refunded?") rather than asking something new ("what's the weather in Paris?")."""
    words = _WORDS.findall(text.lower())
    opening = " ".join(words[:2])
    return any(w in FOLLOW_UP_WORDS for w in words) or any(
        opening == cue or opening.startswith(cue + " ") for cue in FOLLOW_UP_OPENINGS
    )


class KnowledgeBaseBackend:
    """Streams the best sections of the best-matching articles, citing each after its text."""

    name = "knowledge_base"
    #: Price entry name in ``SUPPORTAI_PRICES``; by convention priced at zero.
    model = "knowledge-base"

    @staticmethod
    def count_tokens(text: str) -> int:
        """Tokens as this backend reports them in its usage (so core's output bound agrees).

        Without it core assumes one token per character and would cut an answer
        composed for ``max_output_tokens`` at a quarter of its length.
        """
        return approx_tokens(text)

    def __init__(
        self,
        service: RetrievalService | Callable[[], RetrievalService],
        settings: KnowledgeBaseSettings,
        hooks: Hooks | None = None,
    ) -> None:
        self._service = service
        self.settings = settings
        self._hooks = hooks

    @property
    def service(self) -> RetrievalService:
        """The app's retrieval service, created on first use (not at start-up)."""
        if callable(self._service):
            self._service = self._service()
        return self._service

    async def aclose(self) -> None:
        """Close the embedder's connections (the ``openai`` embedder's pool) at app shutdown."""
        if not callable(self._service):
            await self._service.aclose()

    async def compose(self, request: BackendRequest) -> Answer:
        """Decide the whole answer before streaming it.

        The query is the latest user message; a follow-up too vague to be answered
        on its own ("and on mobile?") is retried together with the previous user
        message, the way a person reads a follow-up. Only a message that reads as a
        follow-up (:func:`reads_as_follow_up`) is: a new question the help center
        does not cover ("what's the weather tomorrow?") must get the honest
        fallback, not the previous question's answer again.
        """
        user_texts = [m.content for m in request.messages if m.role == "user" and m.content]
        if not user_texts:
            return Answer("", fallback=self.settings.not_found_message)
        tenant = request.caller.tenant_id
        limit = self.settings.max_articles
        query = user_texts[-1]
        result = await self.service.search(tenant, query, limit + 1)
        if not result.answered and len(user_texts) > 1 and reads_as_follow_up(query):
            query = f"{user_texts[-2]}\n{user_texts[-1]}"
            result = await self.service.search(tenant, query, limit + 1)
        if not result.answered:
            return self._not_found(query, result, request)
        quotes = self._quotes(result, self._char_budget(request))
        if not quotes:
            return Answer(query, fallback=self.settings.not_found_message)
        from supportai_llm_backends.retrieval.answer import choose_articles

        token_limited = request.max_output_tokens * CHARS_PER_TOKEN < self.settings.max_answer_chars
        limited = token_limited and len(quotes) < len(
            choose_articles(result.hits, self.settings.second_article_margin, limit)
        )
        return Answer(query, tuple(quotes), length_limited=limited)

    def _not_found(self, query: str, result: SearchResult, request: BackendRequest) -> Answer:
        """The honest fallback, with the closest section when retrieval came close."""
        fallback = Answer(query, fallback=self.settings.not_found_message)
        if not result.suggested:
            return fallback
        room = (
            self._char_budget(request)
            - len(self.settings.not_found_message)
            - SUGGESTION_LINE_CHARS
        )
        quote = self._quote(result, result.hits[0], room) if room > 0 else None
        return fallback if quote is None else replace(fallback, suggestion=quote)

    def _char_budget(self, request: BackendRequest) -> int:
        """Characters an answer may take: the host's cap, or the output token budget."""
        return min(self.settings.max_answer_chars, request.max_output_tokens * CHARS_PER_TOKEN)

    def _quote(self, result: SearchResult, hit: ArticleHit, max_chars: int) -> Quote | None:
        """``hit``'s best sections for this question, within ``max_chars``."""
        return quote_hit(result, hit, self.settings, max_chars)

    def _quotes(self, result: SearchResult, budget: int) -> list[Quote]:
        from supportai_llm_backends.retrieval.answer import choose_articles

        quotes: list[Quote] = []
        used = 0
        for hit in choose_articles(
            result.hits, self.settings.second_article_margin, self.settings.max_articles
        ):
            quote = self._quote(result, hit, budget - used - (2 if quotes else 0))
            if quote is None:
                break
            quotes.append(quote)
            used += len(quote.text) + (2 if len(quotes) > 1 else 0)
        return quotes

    async def worded(self, answer: Answer, request: BackendRequest) -> Answer:
        """A not-found answer in the tenant's and locale's words.

        ``answer.not_found`` and ``answer.suggestion`` come from the
        ``supportai_user_strings`` plugins; ``SUPPORTAI_KB_NOT_FOUND_MESSAGE`` is the
        host's one not-found text for everybody, which a plugin's wording still beats.
        """
        if answer.fallback is None or self._hooks is None:
            return answer
        strings = await self._hooks.user_strings(request.caller.tenant_id, request.locale)
        text = strings["answer.not_found"]
        if text == DEFAULTS["answer.not_found"]:
            text = self.settings.not_found_message
        return replace(answer, fallback=text, lead_in=strings["answer.suggestion"])

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        answer = await self.worded(await self.compose(request), request)
        delay = self.settings.delta_delay_s
        quotes = answer.quotes
        parts = [quote.text for quote in quotes] if quotes else [answer.text]
        for number, part in enumerate(parts):
            text = part + ("\n\n" if number < len(parts) - 1 else "")
            for delta in chunk_words(text, self.settings.words_per_delta):
                yield TextDelta(delta)
                # Yield control between deltas even without a delay, so one long
                # answer never starves the other turns sharing the event loop.
                await asyncio.sleep(delay)
            if quotes:
                yield citation_of(quotes[number])
        yield Usage(
            input_tokens=approx_tokens(answer.query), output_tokens=approx_tokens(answer.text)
        )
        yield Finish(
            "length" if answer.length_limited else "stop", not_found=answer.fallback is not None
        )


def citation_of(quote: Quote) -> Citation:
    return Citation(
        source_id=quote.hit.article_id,
        title=quote.hit.title,
        url=quote.hit.url,
        snippet=truncate(quote.first_block, SNIPPET_CHARS),
    )


async def context_documents(
    service: RetrievalService,
    settings: KnowledgeBaseSettings,
    tenant_id: str,
    query: str,
    limit: int,
) -> list[ContextDocument] | None:
    """Grounding for other backends: the quoted sections of the best articles, headings kept.

    ``None`` when the tenant has no help center at all (no article anywhere), so the
    hook stays silent exactly as if this distribution were not installed. Below
    ``min_score`` but within ``suggest_min_score``, the closest article alone, as a
    suggestion: the ``knowledge_base`` backend shows it after its not-found text, so
    the output filters must count it as published; no backend cites it.
    """
    result = await service.search(tenant_id, query, limit)
    if not result.index.chunks:
        return None
    if result.answered:
        hits, suggestion = result.hits[:limit], False
    elif result.suggested:
        hits, suggestion = result.hits[:1], True
    else:
        return []
    documents = []
    for hit in hits:
        document = context_document(result, hit, settings, suggestion)
        if document is not None:
            documents.append(document)
    return documents


def context_document(
    result: SearchResult, hit: ArticleHit, settings: KnowledgeBaseSettings, suggestion: bool
) -> ContextDocument | None:
    """``hit``'s quoted sections as a document, the whole article as its grounding."""
    quote = quote_hit(result, hit, settings, settings.context_max_chars)
    if quote is None:
        return None
    return ContextDocument(
        source_id=hit.article_id,
        title=hit.title,
        text=quote.text,
        score=round(hit.score, 4),
        url=hit.url,
        grounding=result.index.article_text(hit.article_id),
        suggestion=suggestion,
    )


def quote_hit(
    result: SearchResult, hit: ArticleHit, settings: KnowledgeBaseSettings, max_chars: int
) -> Quote | None:
    """``hit``'s best sections for this question, within ``max_chars``: what the backend
    streams and what the hook hands other backends are quoted alike."""
    from supportai_llm_backends.retrieval.answer import quote_article

    return quote_article(
        hit,
        result.tokens,
        result.index,
        section_margin=settings.second_section_margin,
        cutoff=settings.paragraph_cutoff,
        max_chars=max_chars,
    )


def chunk_words(text: str, words_per_chunk: int) -> list[str]:
    """Split ``text`` into pieces of ``words_per_chunk`` words, whitespace kept.

    Joining the pieces gives back ``text`` exactly (apart from leading
    whitespace, which an answer never starts with).
    """
    words = _WORD_WITH_SPACE.findall(text)
    return [
        "".join(words[start : start + words_per_chunk])
        for start in range(0, len(words), words_per_chunk)
    ]
