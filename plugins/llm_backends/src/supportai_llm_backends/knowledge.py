"""The searchable help center: articles, their BM25 index, and passage selection.

Built once (at factory time, or on the first ``supportai_retrieve_context`` call)
and immutable afterwards, so any number of concurrent turns can read it without
locks. Queries touch only dicts and small lists: no I/O on the hot path.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from supportai.errors import ConfigurationError
from supportai.llm import ContextDocument
from supportai_llm_backends.articles import Article, load_articles
from supportai_llm_backends.bm25 import BM25Index, tokenize
from supportai_llm_backends.settings import KnowledgeBaseSettings

#: Passages scoring below this share of an article's best passage are not quoted:
#: they only share a common word with the question.
PASSAGE_RATIO = 0.5

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class Hit:
    """An article that matched a query, with its BM25 score."""

    article: Article
    score: float


class KnowledgeBase:
    """Articles plus a BM25 index over ``title * title_weight + sections + body``."""

    def __init__(self, articles: list[Article], settings: KnowledgeBaseSettings) -> None:
        self.articles = articles
        self.settings = settings
        documents: list[list[str]] = []
        passage_terms: list[list[list[str]]] = []
        for article in articles:
            terms = tokenize(article.title) * settings.title_weight
            per_passage = []
            for passage in article.passages:
                words = tokenize(passage.text)
                if passage.section:
                    words += tokenize(passage.section)
                terms.extend(words)
                per_passage.append(words)
            documents.append(terms)
            passage_terms.append(per_passage)
        self.index = BM25Index(documents, k1=settings.k1, b=settings.b)
        self._vocabulary = [frozenset(terms) for terms in documents]
        lengths = [len(words) for per_passage in passage_terms for words in per_passage]
        average = sum(lengths) / len(lengths) if lengths else 0.0
        # One small index per article over its passages, with the global IDF.
        self._passage_index = [
            BM25Index(
                per_passage,
                k1=settings.k1,
                b=settings.b,
                idf_from=self.index,
                average_length=average,
            )
            for per_passage in passage_terms
        ]
        self._position = {id(article): i for i, article in enumerate(articles)}
        # A word no article contains counts half as much as the rarest known word:
        # enough to sink "tell me a joke", not enough to sink a real question
        # phrased with words the help center happens not to use.
        self._unknown_weight = self.index.term_idf("") / 2

    @classmethod
    def from_settings(cls, settings: KnowledgeBaseSettings) -> KnowledgeBase:
        """Load the articles folder; a missing or empty folder is a configuration error."""
        folder = settings.articles_dir
        if folder is None:
            raise ConfigurationError(
                "the knowledge_base backend needs SUPPORTAI_KB_ARTICLES_DIR "
                "(a folder of Markdown help articles)"
            )
        if not folder.is_dir():
            raise ConfigurationError(f"SUPPORTAI_KB_ARTICLES_DIR={folder} is not a folder")
        articles = load_articles(folder)
        if not articles:
            raise ConfigurationError(f"SUPPORTAI_KB_ARTICLES_DIR={folder} holds no *.md article")
        return cls(articles, settings)

    # -- retrieval ---------------------------------------------------------------

    def search(self, query: str, limit: int) -> list[Hit]:
        """Articles that answer ``query``, best first (see :meth:`search_terms`)."""
        return self.search_terms(query_terms(query), limit)

    def search_terms(self, terms: Collection[str], limit: int) -> list[Hit]:
        """Articles that answer a tokenised query, best first.

        An article must reach ``min_score`` *and* contain the words that carry at
        least ``min_coverage`` of the query's IDF weight. The second rule is what
        keeps "tell me a joke" from being answered with an article that happens to
        say "tell": a high score on one common word is not an answer.
        """
        if not terms:
            return []
        threshold = self.settings.min_score
        weights = {term: self.index.idf.get(term, self._unknown_weight) for term in terms}
        needed = sum(weights.values()) * self.settings.min_coverage
        hits = []
        for doc_id, score in self.index.search(terms, limit):
            if score < threshold:
                continue
            vocabulary = self._vocabulary[doc_id]
            if sum(w for term, w in weights.items() if term in vocabulary) >= needed:
                hits.append(Hit(self.articles[doc_id], score))
        return hits

    def answer_hits(self, terms: Collection[str]) -> list[Hit]:
        """The articles an answer quotes: the best one, plus close runners-up."""
        hits = self.search_terms(terms, self.settings.max_articles)
        if not hits:
            return []
        floor = hits[0].score * self.settings.second_article_ratio
        return [hit for hit in hits if hit.score >= floor]

    def passages_for(
        self,
        article: Article,
        terms: Collection[str],
        max_chars: int,
        *,
        allow_cut: bool = True,
    ) -> tuple[list[str], bool]:
        """The article's passages that best answer the query ``terms``, in reading order.

        Returns the texts and whether the budget shortened the quote (a relevant
        passage left out, or the best one cut: cutting needs ``allow_cut``,
        otherwise nothing fitting means nothing is quoted).
        An article that matched on its title only starts with its first passage,
        which by convention says what the article is about.
        """
        if not article.passages or max_chars <= 0:
            return [], False
        scored = self._passage_index[self._position[id(article)]].scores(terms)
        if not scored:
            ranked = [0]
        else:
            best = max(scored.values())
            ranked = [
                i
                for i, score in sorted(scored.items(), key=lambda item: (-item[1], item[0]))
                if score >= best * PASSAGE_RATIO
            ]
        chosen: list[int] = []
        used = 0
        left_out = False
        for i in ranked:
            size = len(article.passages[i].text) + (2 if chosen else 0)
            if used + size > max_chars:
                left_out = True
                continue
            chosen.append(i)
            used += size
        if not chosen:
            if not allow_cut:
                return [], False
            # Even the best passage is too long: quote its beginning, cut cleanly.
            return [truncate(article.passages[ranked[0]].text, max_chars)], True
        return [article.passages[i].text for i in sorted(chosen)], left_out

    def context_documents(self, query: str, limit: int) -> list[ContextDocument]:
        """Grounding for other backends: best passages of the best articles."""
        documents = []
        terms = query_terms(query)
        for hit in self.search_terms(terms, limit):
            texts, _ = self.passages_for(hit.article, terms, self.settings.context_max_chars)
            if not texts:
                continue
            documents.append(
                ContextDocument(
                    source_id=hit.article.source_id,
                    title=hit.article.title,
                    text="\n\n".join(texts),
                    score=round(hit.score, 4),
                    url=self.url_for(hit.article),
                )
            )
        return documents

    def url_for(self, article: Article) -> str | None:
        template = self.settings.url_template
        return template.format(source_id=article.source_id) if template else None


def query_terms(query: str) -> frozenset[str]:
    """The distinct index terms of a question (BM25 counts a query word once)."""
    return frozenset(tokenize(query))


def truncate(text: str, max_chars: int) -> str:
    """Cut ``text`` to ``max_chars`` at a sentence, else a word boundary, marking the cut."""
    if len(text) <= max_chars:
        return text
    room = max(max_chars - 1, 1)
    head = text[:room]
    sentences = [m.start() for m in _SENTENCE_END.finditer(head)]
    if sentences and sentences[-1] > room // 2:
        return head[: sentences[-1]].rstrip()
    space = head.rfind(" ")
    if space > room // 2:
        head = head[:space]
    return head.rstrip() + "…"


# -- one index per distinct configuration -----------------------------------------

_cache: dict[str, KnowledgeBase] = {}
_cache_lock = threading.Lock()


def knowledge_base_for(settings: KnowledgeBaseSettings) -> KnowledgeBase:
    """The knowledge base for these settings, built on first use and then shared.

    Sharing is safe because a :class:`KnowledgeBase` is immutable; it lets the
    backend and the retrieval hook of one app (or many test apps) index the
    folder once. Articles edited on disk are picked up on the next process start.
    """
    folder = settings.articles_dir.resolve() if settings.articles_dir else Path()
    key = f"{folder}\n{settings.model_dump_json()}"
    knowledge_base = _cache.get(key)
    if knowledge_base is None:
        with _cache_lock:
            knowledge_base = _cache.get(key)
            if knowledge_base is None:
                knowledge_base = KnowledgeBase.from_settings(settings)
                _cache[key] = knowledge_base
    return knowledge_base
