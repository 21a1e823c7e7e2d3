"""The ``knowledge_base`` backend: extractive answers from the help center, offline.

It is the embedded default (no network, no API key) and an honest one: it only
ever says what an article says, cites every article it quotes, and when nothing
matches well enough it says so and points to a human instead of guessing.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from supportai.llm import (
    BackendEvent,
    BackendRequest,
    Citation,
    Finish,
    TextDelta,
    Usage,
)
from supportai_llm_backends.knowledge import Hit, KnowledgeBase, query_terms, truncate
from supportai_llm_backends.tokens import CHARS_PER_TOKEN, approx_tokens

_WORD_WITH_SPACE = re.compile(r"\S+\s*")

#: Length of the quote shown with a citation.
SNIPPET_CHARS = 200


@dataclass(frozen=True, slots=True)
class Answer:
    """What the backend will say: the text and the articles it quotes."""

    query: str
    text: str
    quoted: tuple[tuple[Hit, str], ...] = ()
    #: True when ``max_output_tokens`` made the quote shorter than it would have been.
    length_limited: bool = False


class KnowledgeBaseBackend:
    """Streams the best passages of the best-matching articles, then cites them."""

    name = "knowledge_base"
    #: Price entry name in ``SUPPORTAI_PRICES``; by convention priced at zero.
    model = "knowledge-base"

    def __init__(self, knowledge_base: KnowledgeBase) -> None:
        self.knowledge_base = knowledge_base
        self.settings = knowledge_base.settings

    def compose(self, request: BackendRequest) -> Answer:
        """Decide the whole answer before streaming it.

        The query is the latest user message; a follow-up too short to match on
        its own ("and on mobile?") is retried together with the previous user
        message, the way a person reads a follow-up.
        """
        user_texts = [m.content for m in request.messages if m.role == "user" and m.content]
        if not user_texts:
            return Answer("", self.settings.not_found_message)
        query = user_texts[-1]
        terms = query_terms(query)
        hits = self.knowledge_base.answer_hits(terms)
        if not hits and len(user_texts) > 1:
            query = f"{user_texts[-2]}\n{user_texts[-1]}"
            terms = query_terms(query)
            hits = self.knowledge_base.answer_hits(terms)
        if not hits:
            return Answer(query, self.settings.not_found_message)

        token_budget = request.max_output_tokens * CHARS_PER_TOKEN
        budget = min(self.settings.max_answer_chars, token_budget)
        parts: list[str] = []
        quoted: list[tuple[Hit, str]] = []
        cut = False
        for hit in hits:
            room = budget - sum(len(p) + 2 for p in parts)
            # Only the best article may be cut to fit; a runner-up is quoted
            # whole or not at all (a dangling half-sentence helps nobody).
            texts, shortened = self.knowledge_base.passages_for(
                hit.article, terms, room, allow_cut=not parts
            )
            if not texts:
                continue
            parts.extend(texts)
            quoted.append((hit, texts[0]))
            cut = cut or shortened
        if not parts:  # matching articles with nothing quotable (a title and no body)
            return Answer(query, self.settings.not_found_message)
        length_limited = cut and token_budget < self.settings.max_answer_chars
        return Answer(query, "\n\n".join(parts), tuple(quoted), length_limited)

    async def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        answer = self.compose(request)
        delay = self.settings.delta_delay_s
        for delta in chunk_words(answer.text, self.settings.words_per_delta):
            yield TextDelta(delta)
            # Yield control between deltas even without a delay, so one long
            # answer never starves the other turns sharing the event loop.
            await asyncio.sleep(delay)
        for hit, first_quote in answer.quoted:
            yield Citation(
                source_id=hit.article.source_id,
                title=hit.article.title,
                url=self.knowledge_base.url_for(hit.article),
                snippet=truncate(first_quote, SNIPPET_CHARS),
            )
        yield Usage(
            input_tokens=approx_tokens(answer.query), output_tokens=approx_tokens(answer.text)
        )
        yield Finish("length" if answer.length_limited else "stop")


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
