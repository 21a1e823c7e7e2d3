"""Run a question set through an app's hooks and backend.

Retrieval goes through ``supportai_retrieve_context`` (every plugin's results,
merged, as a turn gets them); answers go through the configured backend and the
output filters, as a turn streams them, with the caller of ``--tenant``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from supportai.caller import Caller
from supportai.evaluation import percentile
from supportai.evaluation.metrics import ratio
from supportai.evaluation.questions import Question, contains_fact
from supportai.filters import FilterContext
from supportai.llm import (
    BackendRequest,
    ChatMessage,
    Citation,
    TextDelta,
    answering,
    grounding_texts,
)
from supportai.pipeline.filtering import FilterChain
from supportai.runtime import Runtime

#: Articles a retrieval result is scored on (hit@1, hit@3, MRR over these).
RANKED = 3
EVAL_USER = "supportai-eval"


@dataclass
class RetrievalReport:
    questions: int = 0
    in_scope: int = 0
    hit_at_1: int = 0
    hit_at_3: int = 0
    reciprocal_ranks: float = 0.0
    out_of_scope: int = 0
    no_answer_predicted: int = 0
    no_answer_correct: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "questions": self.questions,
            "in_scope": self.in_scope,
            "out_of_scope": self.out_of_scope,
            "hit@1": ratio(self.hit_at_1, self.in_scope),
            "hit@3": ratio(self.hit_at_3, self.in_scope),
            "mrr": round(self.reciprocal_ranks / self.in_scope, 4) if self.in_scope else None,
            "no_answer_precision": ratio(self.no_answer_correct, self.no_answer_predicted),
            "no_answer_recall": ratio(self.no_answer_correct, self.out_of_scope),
            "latency_p50_ms": round(percentile(self.latencies_ms, 0.5), 3),
            "latency_p99_ms": round(percentile(self.latencies_ms, 0.99), 3),
            "counts": {"hit@1": self.hit_at_1, "hit@3": self.hit_at_3},
        }


@dataclass
class AnswerReport:
    in_scope: int = 0
    fact_found: int = 0
    out_of_scope: int = 0
    honest: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "in_scope": self.in_scope,
            "fact_in_answer": ratio(self.fact_found, self.in_scope),
            "out_of_scope": self.out_of_scope,
            "out_of_scope_honest": ratio(self.honest, self.out_of_scope),
            "counts": {"fact_in_answer": self.fact_found, "out_of_scope_honest": self.honest},
        }


#: What the retrieval eval searches before timing: not one of the questions, so that no
#: timed search is served from a cache the warm-up filled (the knowledge base keeps its
#: recent results), and worded like a question, so that it runs every stage.
WARM_UP_QUERY = "how do I get started with the warm-up?"


def caller_for(tenant_id: str) -> Caller:
    return Caller(tenant_id=tenant_id, user_id=EVAL_USER)


async def ranked_sources(runtime: Runtime, caller: Caller, query: str) -> list[str]:
    """Article ids the context hook returns for ``query``, best first, each once."""
    found: list[str] = []
    for document in answering(await runtime.hooks.retrieve_context(query, caller, RANKED)):
        if document.source_id not in found:
            found.append(document.source_id)
    return found


async def evaluate_retrieval(
    runtime: Runtime, questions: list[Question], tenant_id: str
) -> RetrievalReport:
    report = RetrievalReport()
    caller = caller_for(tenant_id)
    if questions:  # the first search builds the tenant's index: not a query's latency
        await ranked_sources(runtime, caller, WARM_UP_QUERY)
    for question in questions:
        started = time.perf_counter()
        sources = await ranked_sources(runtime, caller, question.question)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        report.questions += 1
        if not sources:
            report.no_answer_predicted += 1
        if not question.in_scope:
            report.out_of_scope += 1
            if not sources:
                report.no_answer_correct += 1
            else:
                report.misses.append({"id": question.id, "answered_with": sources[:RANKED]})
            continue
        report.in_scope += 1
        rank = sources.index(question.article) + 1 if question.article in sources else None
        if rank is not None:
            report.hit_at_1 += rank == 1
            report.hit_at_3 += rank <= RANKED
            report.reciprocal_ranks += 1 / rank
        if rank != 1:
            report.misses.append(
                {"id": question.id, "expected": question.article, "got": sources[:RANKED]}
            )
    return report


async def answer(runtime: Runtime, caller: Caller, question: str) -> tuple[str, list[Citation]]:
    """What a turn would say to ``question``: backend output through the output filters."""
    backend = runtime.backend
    if backend is None:
        from supportai.errors import ConfigurationError

        raise ConfigurationError("`supportai eval answers` needs SUPPORTAI_LLM_BACKEND")
    system_prompt = await runtime.hooks.system_prompt(caller, 0)
    context = await runtime.hooks.retrieve_context(question, caller, RANKED)
    messages = [ChatMessage("system", system_prompt)] if system_prompt else []
    messages.append(ChatMessage("user", question))
    request = BackendRequest(
        messages=tuple(messages),
        caller=caller,
        conversation_id=0,
        max_output_tokens=runtime.settings.max_output_tokens,
        context=tuple(answering(context)),
    )
    grounding = grounding_texts(context)
    chain = FilterChain(
        runtime.filters, FilterContext(caller, 0, system_prompt or "", grounding=grounding)
    )
    text = ""
    citations: list[Citation] = []
    async for event in backend.stream(request):
        if isinstance(event, TextDelta):
            text += await chain.push(event.text)
        elif isinstance(event, Citation):
            citations.append(event)
    text += await chain.close()
    if chain.blocked:
        text += chain.blocked.message
    return text, citations


async def evaluate_answers(
    runtime: Runtime, questions: list[Question], tenant_id: str, fallback_markers: list[str]
) -> AnswerReport:
    """Fact found for in-scope questions; honest fallback (no citation, offers a human) else."""
    report = AnswerReport()
    caller = caller_for(tenant_id)
    markers = [marker.lower() for marker in fallback_markers]
    for question in questions:
        text, citations = await answer(runtime, caller, question.question)
        if question.in_scope:
            report.in_scope += 1
            if question.fact is None or contains_fact(text, question.fact):
                report.fact_found += 1
            else:
                report.misses.append({"id": question.id, "fact": question.fact, "answer": text})
        else:
            report.out_of_scope += 1
            honest = not citations and any(marker in text.lower() for marker in markers)
            report.honest += honest
            if not honest:
                report.misses.append({"id": question.id, "answer": text})
    return report
