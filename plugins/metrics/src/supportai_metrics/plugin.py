"""The hook implementations (entry point ``metrics``): observer events into metrics.

Observers run after the user's response is decided (``turn_completed`` after the
turn is persisted), and each update is a few dictionary look-ups and additions:
nothing here waits, locks across awaits or opens a connection.
"""

from __future__ import annotations

from supportai import hookimpl
from supportai.events import (
    ConversationEscalatedEvent,
    FeedbackReceivedEvent,
    RetrievalCompletedEvent,
    TurnCompletedEvent,
    TurnRejectedEvent,
)
from supportai.plugins import ProviderContext
from supportai_metrics.collectors import metrics_for


@hookimpl
def supportai_turn_completed(event: TurnCompletedEvent, context: ProviderContext) -> None:
    metrics_for(context).turn_completed(event)


@hookimpl
def supportai_turn_rejected(event: TurnRejectedEvent, context: ProviderContext) -> None:
    metrics_for(context).turn_rejected(event)


@hookimpl
def supportai_conversation_escalated(
    event: ConversationEscalatedEvent, context: ProviderContext
) -> None:
    metrics_for(context).conversation_escalated(event)


@hookimpl
def supportai_retrieval_completed(event: RetrievalCompletedEvent, context: ProviderContext) -> None:
    metrics_for(context).retrieval_completed(event)


@hookimpl
def supportai_feedback_received(event: FeedbackReceivedEvent, context: ProviderContext) -> None:
    metrics_for(context).feedback_received(event)
