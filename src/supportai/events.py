"""The payloads of the observer hooks, as ``TypedDict``s.

Why typed dictionaries rather than dataclasses: observers already index events
as mappings (``event["status"]``), events are logged and forwarded as JSON by
plugins, and a ``TypedDict`` makes mypy check every key core *sends* against the
declared ones, where a ``Mapping[str, Any]`` let ``docs/hooks.md`` drift from the
code. ``docs/hooks.md`` renders each class below from its annotations and the
``Keys:`` list of its docstring (``scripts/docs/generate_hooks_reference.py``),
which must describe exactly the annotated keys.

This module imports nothing from supportai, so any module may use it.
"""

from __future__ import annotations

from typing import Any, TypedDict


class TokenUsage(TypedDict):
    """Tokens of a turn, as the backend reported them (or estimated them).

    Keys:
        input_tokens: tokens sent to the model, the history and grounding included.
        output_tokens: tokens the model produced.
    """

    input_tokens: int
    output_tokens: int


class TurnCompletedEvent(TypedDict):
    """Sent after every turn is persisted and settled, refused and interrupted ones included.

    Keys:
        tenant_id: the caller's tenant.
        user_id: the caller.
        conversation_id: the conversation of the turn.
        user_message_id: the user's message: the turn's id in logs and traces.
        message_id: the assistant's answer; ``None`` when none was saved (a refused intent).
        status: ``complete``, ``refused``, ``blocked``, ``interrupted`` or ``error``.
        intent: the classified intent of the user's message.
        usage: tokens of the backend calls.
        cost_micros: what the turn cost, in millionths of the currency unit.
        timings_ms: milliseconds per stage (``quota``, ``classify``, ``persist``, ``backend``,
            ``filter``, ``tools``).
        first_delta_ms: from the start of the pipeline to the first answer text sent;
            ``None`` when no text was sent.
        finish_reason: why the answer ended (``stop``, ``length``, ``output_blocked``,
            ``backend_error``, ``client_disconnected``, ``intent_refused``...), ``None``
            when the backend did not say.
    """

    tenant_id: str
    user_id: str
    conversation_id: int
    user_message_id: int
    message_id: int | None
    status: str
    intent: str
    usage: TokenUsage
    cost_micros: int
    timings_ms: dict[str, float]
    first_delta_ms: float | None
    finish_reason: str | None


class TurnRejectedEvent(TypedDict):
    """Sent when a turn is refused with a typed error before its answer starts.

    Keys:
        tenant_id: the caller's tenant.
        conversation_id: the conversation the message was sent to.
        reason: the reason code (``rate_limited``, ``cost_cap_exceeded``,
            ``quota_store_unavailable``, ``master_flag_off``, ``disclosure_required``,
            ``conversation_escalated``, ``not_found``...).
        status: the HTTP status of the refusal.
    """

    tenant_id: str
    conversation_id: int
    reason: str
    status: int


class ConversationEscalatedEvent(TypedDict):
    """Sent once, when a conversation is escalated to a human.

    Keys:
        tenant_id: the caller's tenant.
        user_id: the caller who escalated.
        conversation_id: the escalated conversation.
        reason: the escalation reason code the user chose.
        ticket_url: where the host's ticket form is (``supportai_escalation_url``).
        snapshot: the transcript and last classification, as the response's JSON.
    """

    tenant_id: str
    user_id: str
    conversation_id: int
    reason: str
    ticket_url: str | None
    snapshot: dict[str, Any]


class ConversationDeletedEvent(TypedDict):
    """Sent after a GDPR delete: ids only, the content is gone.

    Keys:
        tenant_id: the caller's tenant.
        user_id: the caller whose conversation it was.
        conversation_id: the deleted conversation.
    """

    tenant_id: str
    user_id: str
    conversation_id: int


class FeedbackReceivedEvent(TypedDict):
    """Sent after feedback on an answer is stored (a first submission or an update).

    Keys:
        tenant_id: the caller's tenant.
        user_id: the caller.
        conversation_id: the conversation of the answer.
        message_id: the message the feedback is about; ``None`` for feedback on the whole
            conversation.
        feedback_id: the stored feedback row.
        helpful: the thumbs up or down, ``None`` when only a rating was given.
        rating: 1 to 5, ``None`` when only ``helpful`` was given.
        has_comment: whether the user wrote a comment (the text itself is not sent).
        negative: whether the feedback counts as negative (and queued a training candidate).
        training_candidate_id: the queued candidate, ``None`` when none was.
        updated: ``True`` when an earlier feedback on the same answer was replaced.
    """

    tenant_id: str
    user_id: str
    conversation_id: int
    message_id: int | None
    feedback_id: int
    helpful: bool | None
    rating: int | None
    has_comment: bool
    negative: bool
    training_candidate_id: int | None
    updated: bool


class CaseCreatedEvent(TypedDict):
    """Sent after a human support case is created.

    Keys:
        tenant_id: the caller's tenant.
        user_id: the caller who opened the case.
        case_id: the new case.
        conversation_id: the conversation the case refers to, if any.
        priority: ``low``, ``normal``, ``high`` or ``urgent``.
    """

    tenant_id: str
    user_id: str
    case_id: int
    conversation_id: int | None
    priority: str


class CaseCommentedEvent(TypedDict):
    """Sent after a comment is added to a case.

    Keys:
        tenant_id: the case's tenant.
        case_id: the case.
        comment_id: the new comment.
        author_role: ``user`` (the case's owner) or ``agent`` (an admin).
        visibility: ``public`` or ``internal`` (agents only).
    """

    tenant_id: str
    case_id: int
    comment_id: int
    author_role: str
    visibility: str


class RetrievalCompletedEvent(TypedDict):
    """Sent after the grounding of a turn was looked up; ``documents == 0`` means no answer.

    Keys:
        tenant_id: the caller's tenant.
        conversation_id: the conversation of the turn.
        user_message_id: the user's message (the turn's id).
        source: who retrieved: ``supportai_retrieve_context`` for core's call of that hook,
            or a backend's name when it retrieves by itself.
        documents: how many grounding documents were found.
    """

    tenant_id: str
    conversation_id: int
    user_message_id: int
    source: str
    documents: int
