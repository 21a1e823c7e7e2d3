"""The intent classifier protocol.

Classifiers run concurrently before any backend call. A refused intent never
reaches the LLM: core persists the user turn and the classification, answers a
typed refusal, and spends nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from supportai.caller import Caller
    from supportai.llm import ChatMessage


@dataclass(frozen=True, slots=True)
class ClassifierInput:
    """A user message to classify, with the past turns the model will be sent before it.

    ``history`` is oldest first and within the history budget; it holds only
    turns that were answered (refused and failed ones are left out), so a
    classifier can judge an attack split across several messages as a whole.
    """

    text: str
    caller: Caller
    conversation_id: int
    history: Sequence[ChatMessage] = ()


@dataclass(frozen=True, slots=True)
class Classification:
    """One classifier's verdict. ``refused`` follows that classifier's configuration."""

    intent: str
    confidence: float
    refused: bool
    classifier: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Classifier(Protocol):
    name: str

    async def classify(self, message: ClassifierInput) -> Classification: ...


def combine(results: Sequence[Classification], refused_intents: Sequence[str]) -> Classification:
    """Merge concurrent verdicts: any refusal wins, then the most confident intent.

    An intent listed in the core setting ``refused_intents`` is refused whatever
    the classifier said, so a host can tighten policy without touching plugins.
    """
    if not results:
        return Classification(
            intent="unclassified", confidence=0.0, refused=False, classifier="none"
        )
    policy = set(refused_intents)
    marked = [r if (r.refused or r.intent not in policy) else _refused(r) for r in results]
    refused = [r for r in marked if r.refused]
    pool = refused or marked
    return max(pool, key=lambda r: r.confidence)


def _refused(result: Classification) -> Classification:
    return Classification(
        intent=result.intent,
        confidence=result.confidence,
        refused=True,
        classifier=result.classifier,
        details=result.details,
    )
