"""Top unanswered questions: grouped by meaning, redacted, and one click from an article draft.

The questions come from SQL (:func:`supportai.store.analytics.unanswered_questions`,
the newest ``SUPPORTAI_ANALYTICS_UNANSWERED_SCAN`` of the range). They are grouped
with an embedder found through ``supportai_register_embedders``, the way the
knowledge base finds its own, so core never imports a plugin: with the
``llm_backends`` distribution installed that is the offline ``wordllama``
model. Without an embedder (``none``, not installed, failing) identical
questions still group together, and the response says which way it grouped.

Grouping is greedy and deterministic: questions are taken oldest first; each
joins the group whose first question is most similar, if that similarity
reaches ``SUPPORTAI_ANALYTICS_GROUP_SIMILARITY``, and otherwise starts a group.
A group's id is the message id of its first question, so the same range gives
the same ids, and the draft endpoint finds the group the page showed.

Only what is shown is redacted (the examples and the draft's text): the raw
questions are embedded in memory and never leave the process.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from databases.core import Connection

from supportai.analytics import schemas
from supportai.caller import Caller
from supportai.embeddings import Embedder, EmbeddingError
from supportai.knowledge import changes
from supportai.knowledge.articles import (
    MAX_QUESTION_CHARS,
    MAX_TITLE_CHARS,
    Article,
    ArticleDraft,
    normalise_question,
)
from supportai.plugins import Registry
from supportai.redaction import redact
from supportai.runtime import Runtime
from supportai.store import analytics as sql
from supportai.store import audit

log = logging.getLogger("supportai.analytics")

#: Examples shown per group, and questions quoted in a draft.
EXAMPLES = 5
DRAFT_QUESTIONS = 20
#: The embedder name that turns grouping by meaning off.
NO_EMBEDDER = "none"
_STATE_KEY = "supportai.analytics.embedder"
_SPACES = re.compile(r"\s+")
_EDGE_PUNCTUATION = " \t\n.?!,;:"


@dataclass
class Group:
    """Questions that ask the same thing; ``members`` oldest first."""

    members: list[dict[str, Any]] = field(default_factory=list)

    @property
    def group_id(self) -> int:
        return int(self.members[0]["id"])

    @property
    def last_asked_at(self) -> datetime:
        return max(m["created_at"] for m in self.members)  # type: ignore[no-any-return]


@dataclass(frozen=True)
class Grouping:
    groups: list[Group]
    questions: int
    grouped_by: str


def normalised(text: str) -> str:
    """What "the same question" means without an embedder: case, spacing, end punctuation."""
    return _SPACES.sub(" ", text).strip(_EDGE_PUNCTUATION).casefold()


def embedder_of(runtime: Runtime) -> Embedder | None:
    """The embedder named by ``SUPPORTAI_ANALYTICS_EMBEDDER``, built once per app.

    ``None`` when it is ``none``, no installed plugin registers it, or numpy (which
    the grouping's arithmetic uses, and every embedder plugin brings) is missing.
    """
    state = runtime.context.state
    if _STATE_KEY in state:
        return state[_STATE_KEY]  # type: ignore[no-any-return]
    name = runtime.settings.analytics_embedder
    embedder: Embedder | None = None
    if name != NO_EMBEDDER and importlib.util.find_spec("numpy") is not None:
        registry = Registry("embedder")
        runtime.hooks.register_embedders(registry.register)
        if name in registry.factories:
            embedder = registry.build(name, runtime.context, "SUPPORTAI_ANALYTICS_EMBEDDER")
        else:
            log.warning("SUPPORTAI_ANALYTICS_EMBEDDER=%r is not registered: grouping by text", name)
    state[_STATE_KEY] = embedder
    return embedder


def group_by_text(questions: list[dict[str, Any]]) -> list[Group]:
    groups: dict[str, Group] = {}
    for question in questions:
        groups.setdefault(normalised(question["content"]), Group()).members.append(question)
    return list(groups.values())


def group_by_vectors(
    questions: list[dict[str, Any]], vectors: Any, threshold: float
) -> list[Group]:
    """Greedy grouping against each group's first question (cosine similarity)."""
    import numpy as np

    matrix = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = matrix / np.where(norms == 0, 1, norms)
    seeds = np.empty((0, matrix.shape[1]), dtype=np.float64)
    groups: list[Group] = []
    for question, vector in zip(questions, matrix, strict=True):
        if len(groups):
            similarity = seeds @ vector
            best = int(np.argmax(similarity))
            if float(similarity[best]) >= threshold:
                groups[best].members.append(question)
                continue
        groups.append(Group([question]))
        seeds = np.vstack([seeds, vector])
    return groups


async def group_questions(runtime: Runtime, questions: list[dict[str, Any]]) -> Grouping:
    """``questions`` (any order) grouped by meaning when an embedder is there, else by text."""
    ordered = sorted(questions, key=lambda q: q["id"])
    embedder = embedder_of(runtime)
    if embedder is not None and ordered:
        try:
            vectors = await embedder.embed([q["content"] for q in ordered])
        except EmbeddingError as exc:
            log.warning("the analytics embedder failed (%s): grouping by text", exc)
        else:
            threshold = runtime.settings.analytics_group_similarity
            return Grouping(
                group_by_vectors(ordered, vectors, threshold), len(ordered), embedder.model
            )
    return Grouping(group_by_text(ordered), len(ordered), "text")


async def top_groups(runtime: Runtime, conn: Connection, window: sql.Range) -> Grouping:
    """The range's unanswered questions, grouped, largest groups first (then most recent)."""
    questions = await sql.unanswered_questions(
        conn, window, runtime.settings.analytics_unanswered_scan
    )
    grouping = await group_questions(runtime, questions)
    grouping.groups.sort(key=lambda g: (-len(g.members), -g.last_asked_at.timestamp(), g.group_id))
    return grouping


async def examples_of(runtime: Runtime, tenant_id: str, group: Group, limit: int) -> list[str]:
    """Up to ``limit`` distinct questions of the group, newest first, PII-redacted."""
    shown: list[str] = []
    seen: set[str] = set()
    for member in reversed(group.members):
        key = normalised(member["content"])
        if key in seen:
            continue
        seen.add(key)
        shown.append(await redact(runtime.hooks, tenant_id, member["content"]))
        if len(shown) == limit:
            break
    return shown


async def group_out(runtime: Runtime, tenant_id: str, group: Group) -> schemas.UnansweredGroup:
    """A group as the API shows it: counts, last time asked, redacted examples."""
    return schemas.UnansweredGroup(
        group_id=group.group_id,
        size=len(group.members),
        not_found=sum(1 for m in group.members if m["not_found"]),
        disliked=sum(1 for m in group.members if m["disliked"]),
        examples=await examples_of(runtime, tenant_id, group, EXAMPLES),
        last_asked_at=group.last_asked_at,
    )


async def find_group(
    runtime: Runtime, conn: Connection, window: sql.Range, group_id: int
) -> Group | None:
    """The group of the range whose id is ``group_id`` (the tenant's own questions only)."""
    grouping = await top_groups(runtime, conn, window)
    return next((g for g in grouping.groups if g.group_id == group_id), None)


def _title(question: str) -> str:
    line = _SPACES.sub(" ", question).strip()
    return line if len(line) <= MAX_TITLE_CHARS else line[: MAX_TITLE_CHARS - 1].rstrip() + "…"


def draft_of(group: Group, questions: list[str]) -> ArticleDraft:
    """An unpublished article: the group's question as title, what people asked as its brief
    and as its past questions.

    The past questions (``Article.questions``, decision 0032) are how these readers asked:
    once the article is written and published, retrieval recognises the next such
    question by them. They are the redacted ones the body lists; one longer than an
    article's question may be stays in the body only.
    """
    asked = "\n".join(f"- {q}" for q in questions)
    body = (
        f"# {_title(questions[0])}\n\n"
        f"{len(group.members)} question(s) like these got no answer from the help center "
        "(or an answer users rated down):\n\n"
        f"{asked}\n\n"
        "Write the answer here, then publish the article.\n"
    )
    return ArticleDraft(
        slug=f"unanswered-{group.group_id}",
        title=_title(questions[0]),
        body=body,
        published=False,
        questions=tuple(q for q in questions if len(normalise_question(q)) <= MAX_QUESTION_CHARS),
    )


async def create_draft(runtime: Runtime, conn: Connection, admin: Caller, group: Group) -> Article:
    """Create the group's draft article and its audit event, in one transaction.

    The slug names the group (``unanswered-<group_id>``), so a second click is a
    409 ``slug_taken`` instead of a second draft.
    """
    questions = await examples_of(runtime, admin.tenant_id, group, DRAFT_QUESTIONS)
    draft = draft_of(group, questions)
    async with conn.transaction():
        article = await changes.create(
            conn, admin, draft, is_sqlite=runtime.database.is_sqlite, source="analytics"
        )
        await audit.record(
            conn,
            admin,
            "analytics.draft_created",
            target_type="article",
            target_id=article.id,
            after_status="draft",
            details={"group_id": group.group_id, "group_size": len(group.members)},
        )
    return article
