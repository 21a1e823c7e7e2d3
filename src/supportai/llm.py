"""The LLM backend protocol: what core asks of a model, and the events it streams back.

Core owns the conversation, the tool loop, quota and filtering; a backend only
turns a :class:`BackendRequest` into an async stream of :data:`BackendEvent`.
That keeps backends small (a knowledge base, an OpenAI-compatible server, a
scripted fake for tests) and makes every one of them get the same guarantees.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from supportai.caller import Caller


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class ToolCallRequest:
    """The model asks core to run a registered tool. ``id`` links the result back."""

    id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Citation:
    """A source the answer relies on (a help article, a document)."""

    source_id: str
    title: str
    url: str | None = None
    snippet: str | None = None


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens consumed by this backend call; core prices them with the settings."""

    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class Finish:
    """The backend is done with this call: ``stop``, ``tool_calls`` or ``length``.

    ``not_found`` says the answer is the backend's "not in the help center"
    fallback: saved with the answer, it is what the analytics' not-found rate and
    unanswered questions count (only the backend knows it answered from nothing).
    """

    reason: Literal["stop", "tool_calls", "length"] = "stop"
    not_found: bool = False


BackendEvent = TextDelta | ToolCallRequest | Citation | Usage | Finish


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of the history handed to a backend (OpenAI chat roles)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCallRequest, ...] = ()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as the model sees it: a name, a description and a JSON schema."""

    name: str
    description: str
    parameters: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ContextDocument:
    """Retrieved grounding (``supportai_retrieve_context``): text plus where it came from."""

    source_id: str
    title: str
    text: str
    score: float = 0.0
    url: str | None = None
    #: The whole source the excerpt ``text`` comes from (a help article), when larger:
    #: output filters treat values in it as public for this turn (docs/plugins/filters.md).
    grounding: str | None = None
    #: Close to the question but not an answer to it: shown next to a not-found answer,
    #: never cited. Output filters still treat it as grounding (the turn shows it), but
    #: backends do not receive it and the turn counts as found nothing.
    suggestion: bool = False


def answering(documents: Sequence[ContextDocument]) -> list[ContextDocument]:
    """The documents that answer the question: what backends ground on and cite."""
    return [document for document in documents if not document.suggestion]


def grounding_texts(documents: Sequence[ContextDocument]) -> tuple[str, ...]:
    """What output filters count as published for a turn: every document it may show,
    suggestions included, each as its whole source when the hook gave one."""
    return tuple(document.grounding or document.text for document in documents)


@dataclass(frozen=True, slots=True)
class BackendRequest:
    """Everything a backend needs for one call."""

    messages: Sequence[ChatMessage]
    caller: Caller
    conversation_id: int
    max_output_tokens: int
    tools: Sequence[ToolSpec] = ()
    context: Sequence[ContextDocument] = field(default_factory=tuple)
    #: The user's preferred language (``Accept-Language``), for texts a backend
    #: writes itself (``hooks.user_strings(tenant_id, locale)``); ``None`` if unknown.
    locale: str | None = None


class BackendError(Exception):
    """A backend failure core can type: ``vendor_outage`` or a configuration problem.

    ``retryable`` is advisory: core never retries after text reached the user.
    """

    def __init__(self, message: str, *, configuration: bool = False) -> None:
        super().__init__(message)
        self.configuration = configuration


@runtime_checkable
class LLMBackend(Protocol):
    """A registered backend. ``model`` names the price entry in the settings."""

    name: str
    model: str

    def stream(self, request: BackendRequest) -> AsyncIterator[BackendEvent]:
        """Stream events for one call. Raise :class:`BackendError` on failure."""
        ...
