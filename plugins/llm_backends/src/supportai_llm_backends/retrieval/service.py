"""Per-tenant retrieval: lazy indexes, bounded memory, change detection, persistence.

* An index is built the first time a tenant asks, not at start-up (an app with a
  thousand tenants starts in the same time as one with none).
* At most ``max_tenants`` indexes stay in memory; the least recently used goes.
* Every ``version_check_s`` a worker asks the source for the tenant's version (a
  number in the database, or the files' digest). Any change rebuilds the index
  from the articles, but only sections whose text changed are embedded again:
  the others keep their vectors (in memory, else from the embedding store). Other
  workers notice the same version change on their next check.
* A failing embedder never fails a turn: the index (or the query) falls back to
  BM25 alone and says so in the log; the next rebuild tries the embedder again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import cast

import numpy as np
from supportai_llm_backends.retrieval.alignment import (
    ArticlePieces,
    HelpCenterPieces,
    PieceEmbedder,
    alignments,
    article_pieces,
    rerank,
)
from supportai_llm_backends.retrieval.blas import limit_blas_threads_once
from supportai_llm_backends.retrieval.chunking import Chunk, chunk_article, parse_markdown
from supportai_llm_backends.retrieval.dense import Matrix, from_bytes, normalise, to_bytes
from supportai_llm_backends.retrieval.index import (
    ArticleHit,
    Phrases,
    TenantIndex,
    Vectors,
    Weights,
)
from supportai_llm_backends.retrieval.lexical import tokenize
from supportai_llm_backends.retrieval.names import without_names
from supportai_llm_backends.retrieval.query import asked, asked_thing, clean_query
from supportai_llm_backends.retrieval.questions import (
    QUESTIONS_MODEL_SUFFIX,
    PastQuestions,
    past_questions,
)
from supportai_llm_backends.retrieval.questions import texts_of as questions_texts
from supportai_llm_backends.retrieval.source import ArticleSource, SourceArticle
from supportai_llm_backends.retrieval.store import EmbeddingStore, text_key

from supportai.embeddings import Embedder, EmbeddingError

log = logging.getLogger("supportai.knowledge")

#: Recent (tenant, version, query) results: the context hook and the backend of one
#: turn search the same question; the second search is a dictionary look-up.
RESULT_CACHE = 256
#: How many of an article's best sections the word-piece alignment reorders (an answer
#: quotes one or two of them).
SECTION_RERANK_DEPTH = 4
#: How many of the fused ranking's best articles the word-piece alignment reorders,
#: whatever number the caller asks for (so ``kb-calibrate``'s one and a turn's three
#: agree on which article comes first). With 5, a fourth or fifth article moved into
#: the top 3 as often as one fell out of it (example question set, decision 0025).
RERANK_DEPTH = 3


@dataclass(frozen=True, slots=True)
class SearchResult:
    """What a query found, and whether the best article is good enough to answer.

    ``suggested``: not good enough to answer, but close enough to show as a
    suggestion next to the honest fallback (``suggest_min_score``).
    ``score``: what decided ``answered``: the best article's fused score, compared with
    ``min_score``, or (``lexical``, the question was not embedded) the best BM25
    score, compared with ``lexical_min_score``. ``supportai kb-calibrate`` reads it.
    """

    query: str
    tokens: tuple[str, ...]
    hits: tuple[ArticleHit, ...]
    answered: bool
    index: TenantIndex
    suggested: bool = False
    score: float = 0.0
    lexical: bool = False


@dataclass
class _Entry:
    index: TenantIndex
    checked_at: float


class RetrievalService:
    """The knowledge base of every tenant of one app."""

    def __init__(
        self,
        source: ArticleSource,
        embedder: Callable[[], Embedder | None],
        store: EmbeddingStore,
        *,
        weights: Weights,
        min_score: float,
        lexical_min_score: float,
        suggest_min_score: float | None = None,
        max_tenants: int = 64,
        version_check_s: float = 2.0,
        spelling: bool = True,
        alignment_max_articles: int = 500,
        feature_coverage: float = 0.0,
        feature_phrase: float = 1.0,
        product_names: frozenset[str] | None = None,
        blas_threads: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self._embedder_factory = embedder
        self._embedder: Embedder | None = None
        self._embedder_built = False
        self.store = store
        self.weights = weights
        self.min_score = min_score
        self.suggest_min_score = suggest_min_score
        self.lexical_min_score = lexical_min_score
        self.max_tenants = max_tenants
        #: Correct a question's typos to the help center's words (:mod:`.spelling`).
        self.spelling = spelling
        #: Larger help centers skip the word-piece alignment (its vectors cost memory).
        self.alignment_max_articles = alignment_max_articles
        #: A question asking whether the product has something is answered only by an
        #: article that holds this share of its words, or whose closest phrase is at least
        #: ``feature_phrase`` close to the feature (:meth:`_names_feature`; 0: off).
        self.feature_coverage = feature_coverage
        self.feature_phrase = feature_phrase
        #: Words left out of a question before it is embedded (:mod:`.names`); ``None``:
        #: each tenant's, found in its articles.
        self.product_names = product_names
        #: numpy's BLAS threads for the ranking thread (:mod:`.blas`; 0: left alone).
        self.blas_threads = blas_threads
        self.version_check_s = version_check_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._locks: dict[str, asyncio.Lock] = {}
        self._results: OrderedDict[tuple[str, str, str, int], SearchResult] = OrderedDict()
        #: Sections embedded (not found in memory or the store): tests and the bench read it.
        self.embedded_count = 0
        #: Sections run for their word pieces (:mod:`.alignment`), likewise.
        self.pieces_embedded_count = 0

    @property
    def embedder(self) -> Embedder | None:
        if not self._embedder_built:
            self._embedder = self._embedder_factory()
            self._embedder_built = True
        return self._embedder

    # -- indexes -------------------------------------------------------------------------

    async def index_for(self, tenant_id: str) -> TenantIndex:
        """The tenant's current index, built or refreshed if needed."""
        entry = self._entries.get(tenant_id)
        now = self._clock()
        if entry is not None and now - entry.checked_at < self.version_check_s:
            self._entries.move_to_end(tenant_id)
            return entry.index
        version = await self.source.version(tenant_id)
        if entry is not None and entry.index.version == version:
            entry.checked_at = now
            self._entries.move_to_end(tenant_id)
            return entry.index
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:
            entry = self._entries.get(tenant_id)
            if entry is not None and entry.index.version == version:
                return entry.index
            index = await self._build(tenant_id, version)
            self._entries[tenant_id] = _Entry(index, self._clock())
            self._entries.move_to_end(tenant_id)
            while len(self._entries) > self.max_tenants:
                dropped, _ = self._entries.popitem(last=False)
                self._locks.pop(dropped, None)
            return index

    def cached_tenants(self) -> list[str]:
        """Tenants whose index is in memory, least recently used first."""
        return list(self._entries)

    async def _build(self, tenant_id: str, version: str) -> TenantIndex:
        started = time.perf_counter()
        articles = await self.source.articles(tenant_id)
        chunks = chunks_of(articles)
        vectors = None
        embedder = self.embedder
        model = embedder.model if embedder is not None else None
        if embedder is not None and chunks:
            try:
                vectors = await self._vectors(tenant_id, embedder, chunks)
            except EmbeddingError as exc:
                log.warning(
                    "embedding the help center of tenant %s failed (%s); using BM25 only",
                    tenant_id,
                    exc,
                )
                model = None
        pieces = None
        if vectors is not None and isinstance(embedder, PieceEmbedder):
            pieces = await self._pieces(tenant_id, embedder, chunks)
        index = TenantIndex(
            chunks,
            vectors,
            self.weights,
            version,
            model,
            spelling=self.spelling,
            pieces=pieces.articles if pieces is not None else None,
            section_pieces=sections_by_chunk(chunks, pieces) if pieces is not None else None,
        )
        if vectors is not None and embedder is not None and self.weights.questions > 0:
            asked = {article.article_id: article.questions for article in articles}
            names = index.product_names if self.product_names is None else self.product_names
            index.questions = await self._past_questions(tenant_id, embedder, asked, names)
        log.info(
            "indexed %d sections of %d articles for tenant %s in %.0f ms",
            len(chunks),
            len(articles),
            tenant_id,
            (time.perf_counter() - started) * 1000,
        )
        return index

    async def _pieces(
        self, tenant_id: str, embedder: PieceEmbedder, chunks: Sequence[Chunk]
    ) -> HelpCenterPieces | None:
        """The help center's word pieces, when the fusion reads them and the help center is
        within ``alignment_max_articles`` (``None`` otherwise, or when embedding fails:
        the ranking goes on without them)."""
        articles = {chunk.article_id for chunk in chunks}
        if self.weights.alignment <= 0 or len(articles) > self.alignment_max_articles:
            return None
        sections = [(c.article_id, text_key(c.search_text), c.search_text) for c in chunks]
        try:
            pieces = await article_pieces(self.store, tenant_id, embedder, sections)
        except EmbeddingError as exc:
            log.warning(
                "word pieces of tenant %s failed (%s); ranking without them", tenant_id, exc
            )
            return None
        self.pieces_embedded_count += pieces.embedded
        return pieces

    async def _past_questions(
        self,
        tenant_id: str,
        embedder: Embedder,
        asked: Mapping[str, Sequence[str]],
        names: frozenset[str],
    ) -> PastQuestions | None:
        """The articles' past questions' vectors (:mod:`.questions`), embedding only those
        not stored; ``None`` when no article has any, or when embedding them fails (the
        ranking goes on without them)."""
        keyed = questions_texts(asked, names)
        texts = {key: text for by_key in keyed.values() for key, text in by_key.items()}
        model = embedder.model + QUESTIONS_MODEL_SUFFIX
        try:
            known = await self._embedded(tenant_id, embedder, model, texts)
        except EmbeddingError as exc:
            log.warning(
                "past questions of tenant %s failed (%s); ranking without them", tenant_id, exc
            )
            return None
        return past_questions(keyed, known)

    async def _embedded(
        self, tenant_id: str, embedder: Embedder, model: str, texts: Mapping[str, str]
    ) -> dict[str, bytes]:
        """The vectors of ``texts`` (by content key) in the store's ``model`` space,
        embedding only those not stored, and forgetting the stored ones no longer among
        them (edited away or deleted)."""
        # a help center without past questions reads nothing (and still prunes)
        known = await self.store.load(tenant_id, model, list(texts)) if texts else {}
        missing = [key for key in texts if key not in known]
        if missing:
            raw = await embedder.embed([texts[key] for key in missing])
            if len(raw) != len(missing):
                raise EmbeddingError(f"{len(raw)} vectors for {len(missing)} texts")
            fresh = normalise(np.asarray(raw, dtype=np.float32))
            new = {key: to_bytes(fresh[i]) for i, key in enumerate(missing)}
            self.embedded_count += len(missing)
            known.update(new)
            await self.store.save(tenant_id, model, new)
        await self.store.prune(tenant_id, model, list(texts))
        return known

    async def _vectors(
        self,
        tenant_id: str,
        embedder: Embedder,
        chunks: Sequence[Chunk],
    ) -> Vectors:
        """Vectors of every chunk text, heading text and passage (and, when the fusion reads
        them, each article's title and tags together, and each of its phrases alone),
        embedding only those not stored.

        The store (the database, a file cache, or memory) holds every vector ever
        embedded for the tenant under its text's content key: an unchanged section
        is never embedded twice, across edits and across restarts.
        """
        # the title-and-tags vector is embedded only when the fusion reads it
        tagged = self.weights.dense_tags > 0
        # the phrases are embedded only when the fusion reads them
        phrases = article_phrases(chunks) if self.weights.dense_phrase > 0 else {}
        texts: dict[str, str] = {}
        for chunk in chunks:
            texts[text_key(chunk.search_text)] = chunk.search_text
            texts[text_key(chunk.heading_text)] = chunk.heading_text
            for passage in chunk.passages:
                texts[text_key(passage)] = passage
            if tagged:
                texts[text_key(chunk.tags_text)] = chunk.tags_text
        for keyed in phrases.values():
            texts.update(keyed)
        known = await self._embedded(tenant_id, embedder, embedder.model, texts)
        chunk_matrix = np.stack([from_bytes(known[text_key(c.search_text)]) for c in chunks])
        heading_matrix = np.stack([from_bytes(known[text_key(c.heading_text)]) for c in chunks])
        passage_matrix = np.stack(
            [from_bytes(known[text_key(p)]) for c in chunks for p in c.passages]
        )
        tag_vectors = None
        if tagged:  # one per article: every chunk of an article carries the same text
            tags_texts = {chunk.article_id: chunk.tags_text for chunk in chunks}
            tag_vectors = {a: from_bytes(known[text_key(t)]) for a, t in tags_texts.items()}
        return Vectors(
            chunk_matrix,
            heading_matrix,
            passage_matrix,
            tag_vectors,
            phrases_of(phrases, known) if phrases else None,
        )

    # -- queries ---------------------------------------------------------------------------

    async def search(self, tenant_id: str, query: str, limit: int = 3) -> SearchResult:
        """The best articles for ``query`` and whether they answer it."""
        index = await self.index_for(tenant_id)
        key = (tenant_id, index.version, query, limit)
        cached = self._results.get(key)
        if cached is not None:
            return cached
        limit_blas_threads_once(self.blas_threads)
        cleaned = clean_query(query)
        if index.speller is not None:
            cleaned = index.speller.correct(cleaned)
        question = asked(cleaned)  # what BM25, coverage and the feature check read
        tokens = tuple(dict.fromkeys(tokenize(question)))
        names = index.product_names if self.product_names is None else self.product_names
        vector, pieces = await self._query_vectors(index, without_names(cleaned, names))
        hits, best = self._ranked(index, tokens, vector, pieces, limit)
        suggested = False
        if vector is not None:
            score = best  # the best fused score decides whether to answer, whatever the order
            answered = bool(hits) and score >= self.min_score
            suggested = (
                not answered
                and bool(hits)
                and self.suggest_min_score is not None
                and score >= self.suggest_min_score
            )
        else:
            score = self._lexical_best(index, tokens) if hits else 0.0
            answered = bool(hits) and score >= self.lexical_min_score
        if answered and not await self._names_feature(index, question, hits[0], vector):
            # what it would have quoted stays a suggestion, as for a score just below
            answered, suggested = False, self.suggest_min_score is not None and vector is not None
        lexical = vector is None
        result = SearchResult(cleaned, tokens, hits, answered, index, suggested, score, lexical)
        self._results[key] = result
        if len(self._results) > RESULT_CACHE:
            self._results.popitem(last=False)
        return result

    def _ranked(
        self,
        index: TenantIndex,
        tokens: Sequence[str],
        vector: Matrix | None,
        question: Matrix | None,
        limit: int,
    ) -> tuple[tuple[ArticleHit, ...], float]:
        """The ``limit`` best articles, and the best fused score among those ranked (what
        decides whether to answer). With word pieces or past questions, the first of the
        fused ranking's best :data:`RERANK_DEPTH` is chosen with their alignment with the
        question (:mod:`.alignment`) and their closest past question (:mod:`.questions`),
        so the best fused article may be cut when ``limit`` is 1."""
        if not tokens and vector is None:
            return (), 0.0
        pieced = question is not None and index.pieces is not None
        if not pieced and (vector is None or index.questions is None):
            hits = index.search(tokens, vector, limit)
            return tuple(hits), max((hit.score for hit in hits), default=0.0)
        fused = index.search(tokens, vector, max(limit, RERANK_DEPTH))
        bonus: dict[str, float] = {}
        by_section: dict[str, float] | None = None
        if question is not None and index.pieces is not None:
            by_article, by_section = aligned_with(
                question, fused, index.pieces, index.section_pieces or {}
            )
            bonus = {a: self.weights.alignment * value for a, value in by_article.items()}
        if vector is not None and index.questions is not None:
            competing = (hit.article_id for hit in fused[:RERANK_DEPTH])
            for article_id, cosine in index.questions.closest(competing, vector).items():
                bonus[article_id] = bonus.get(article_id, 0.0) + self.weights.questions * cosine
        hits = rerank(fused, bonus, RERANK_DEPTH)
        if by_section is not None:
            hits = [sections_aligned(hit, by_section, self.weights.alignment) for hit in hits]
        best = max((hit.score for hit in hits), default=0.0)
        return tuple(hits[:limit]), best

    async def _query_vectors(
        self, index: TenantIndex, text: str
    ) -> tuple[Matrix | None, Matrix | None]:
        """The question's vector, and its word pieces when the index has articles' pieces."""
        embedder = self.embedder
        if embedder is None or not index.has_vectors or embedder.model != index.model or not text:
            return None, None
        question = None
        raw: Sequence[float] | Matrix
        try:
            if index.pieces is not None:
                # pieces exist only when this embedder gave them at build (same model):
                # no protocol check on every question (~13 µs each)
                pieced = cast(PieceEmbedder, embedder)
                raw, question = await pieced.embed_query_pieces(text)
            else:
                raw = (await embed_query(embedder, text))[0]
        except EmbeddingError as exc:
            log.warning("embedding a question failed (%s); ranking it with BM25 only", exc)
            return None, None
        vector: Matrix = normalise(np.asarray(raw, dtype=np.float32))[0]
        return vector, question

    async def _names_feature(
        self, index: TenantIndex, question: str, best: ArticleHit, vector: Matrix | None
    ) -> bool:
        """Whether ``best`` speaks of what ``question`` (what the message asks,
        :func:`.query.asked`, so that a long message's greeting and thanks name no feature)
        asks the product to have, when it asks that ("is there a workload view?",
        :func:`.query.asked_feature`); true for any other question.

        The article must hold at least ``feature_coverage`` of the feature's words
        (weighted by rarity, tags included), or, when the index has phrase vectors, have a
        phrase (title, tag, heading) at least ``feature_phrase`` close to the feature,
        which lets the host's own word for it ("keyboard shortcuts" for "hotkeys") count.
        Should embedding the feature fail, the article answers as before the check.
        Decision 0026 has the measurements.

        A question whether the product works with another one ("does it integrate with
        Salesforce?", :func:`.query.asked_tool`) is answered only by the coverage: a tool
        has no other word for it, and its name sits close to the words for what
        it does ("Calendly" at 0.52 from the tag "calendar sync"; decision 0027).
        """
        if self.feature_coverage <= 0:
            return True
        thing = asked_thing(question)
        if thing is None:
            return True
        feature, tool = thing
        words = tuple(dict.fromkeys(tokenize(feature)))
        if index.article_coverage(best.article_id, words) >= self.feature_coverage:
            return True
        if tool or vector is None or index.phrases is None or self.embedder is None:
            return False
        try:
            own = await self._feature_vector(feature)
        except EmbeddingError as exc:
            log.warning("embedding a question's feature failed (%s); it is answered", exc)
            return True
        closest = index.closest_phrase(best.article_id, own)
        return closest is not None and closest >= self.feature_phrase

    async def _feature_vector(self, feature: str) -> Matrix:
        """The feature's own vector, without the question around it.

        The question's vector would do without a second run, but its frame counts:
        "does Lumen have burndown charts?" sits at 0.62 from a title that says
        "Lumen", and its feature at 0.20 (decision 0026). Only a feature question
        whose words the best article lacks gets here: 10 of the example's 652
        questions, 9 of them out of scope (a tool question never does, decision 0027).
        """
        assert self.embedder is not None
        raw = (await embed_query(self.embedder, feature))[0]
        vector: Matrix = normalise(np.asarray(raw, dtype=np.float32))[0]
        return vector

    @staticmethod
    def _lexical_best(index: TenantIndex, tokens: Sequence[str]) -> float:
        scores = index.lexical.scores(tokens)
        return float(scores.max()) if len(scores) else 0.0

    async def aclose(self) -> None:
        closer = getattr(self._embedder, "aclose", None)
        if closer is not None:
            await closer()


async def embed_query(embedder: Embedder, text: str) -> Sequence[Sequence[float]]:
    """A question's vector: through ``embed_query`` when the embedder has one (a
    shorter token budget for questions than for passages), else ``embed``."""
    one = getattr(embedder, "embed_query", None)
    if one is not None:
        return [await one(text)]
    return await embedder.embed([text])


def article_phrases(chunks: Sequence[Chunk]) -> dict[str, dict[str, str]]:
    """Each article's phrases by content key: its title and tags (every chunk carries
    them) and the heading of each of its sections.

    The headings are there for help centers without tags: a section's heading ("What
    guests can do") is often the short phrase a reader's question is closest to, and
    without them an untagged article's only phrase was its title. Measured with the
    example's articles stripped of their tags (``docs/knowledge.md``); with tags the
    figures did not move.
    """
    phrases: dict[str, dict[str, str]] = {}
    for chunk in chunks:
        keyed = phrases.get(chunk.article_id)
        if keyed is None:
            keyed = phrases[chunk.article_id] = {text_key(p): p for p in chunk.phrases}
        keyed.update((text_key(heading), heading) for heading in chunk.headings)
    return phrases


def phrases_of(phrases: Mapping[str, Mapping[str, str]], known: Mapping[str, bytes]) -> Phrases:
    """Each distinct phrase's vector once, and each article's rows of them
    (``phrases``: article id -> its phrases by content key)."""
    rows: dict[str, int] = {}
    of_article = {
        article_id: [rows.setdefault(key, len(rows)) for key in keyed]
        for article_id, keyed in phrases.items()
    }
    vectors = np.stack([from_bytes(known[key]) for key in rows])
    return Phrases(vectors, of_article)


def chunks_of(articles: Sequence[SourceArticle]) -> list[Chunk]:
    chunks: list[Chunk] = []
    for article in articles:
        parsed = parse_markdown(article.article_id, article.body, article.title)
        chunks.extend(chunk_article(parsed, article.url, article.tags))
    return chunks


def sections_by_chunk(
    chunks: Sequence[Chunk], pieces: HelpCenterPieces
) -> dict[str, ArticlePieces]:
    """Each chunk's word pieces, by :attr:`Chunk.chunk_id` (chunks of one text share them)."""
    found = {}
    for chunk in chunks:
        section = pieces.sections.get(text_key(chunk.search_text))
        if section is not None:
            found[chunk.chunk_id] = section
    return found


def aligned_with(
    question: Matrix,
    hits: Sequence[ArticleHit],
    articles: Mapping[str, ArticlePieces],
    sections: Mapping[str, ArticlePieces],
) -> tuple[dict[str, float], dict[str, float]]:
    """The question's alignment with each hit's article (by article id) and with each
    hit's best :data:`SECTION_RERANK_DEPTH` sections (by chunk id), computed together
    (:func:`.alignment.alignments`). Those without pieces are left out."""
    keys: list[tuple[bool, str]] = []
    candidates: list[ArticlePieces] = []
    for hit in hits:
        article = articles.get(hit.article_id)
        if article is not None:
            keys.append((True, hit.article_id))
            candidates.append(article)
        for chunk_hit in hit.chunks[:SECTION_RERANK_DEPTH]:
            section = sections.get(chunk_hit.chunk.chunk_id)
            if section is not None:
                keys.append((False, chunk_hit.chunk.chunk_id))
                candidates.append(section)
    by_article: dict[str, float] = {}
    by_section: dict[str, float] = {}
    for (is_article, key), value in zip(keys, alignments(question, candidates), strict=True):
        (by_article if is_article else by_section)[key] = value
    return by_article, by_section


def sections_aligned(hit: ArticleHit, aligned: Mapping[str, float], weight: float) -> ArticleHit:
    """``hit`` with its best :data:`SECTION_RERANK_DEPTH` sections ranked by their section
    score plus ``weight`` times their own alignment with the question (``aligned``, by
    chunk id): which section of the first article answers is the same question as which
    article does."""
    head, tail = hit.chunks[:SECTION_RERANK_DEPTH], hit.chunks[SECTION_RERANK_DEPTH:]
    scored = [
        replace(c, section_score=c.section_score + weight * aligned.get(c.chunk.chunk_id, 0.0))
        for c in head
    ]
    scored.sort(key=lambda c: c.section_score, reverse=True)
    return replace(hit, chunks=(*scored, *tail))
