"""Feedback and the candidates it queues, on SQLite and PostgreSQL.

The redaction tests read the candidate table directly: the promise is about
what is *stored*, not about what an endpoint shows. They run with core's
fallback redactor only (no pii plugin: the test apps load no entry points).
"""

from __future__ import annotations

from typing import Any

import pytest
from improvement_support import (
    PII_ANSWER,
    PII_COMMENT,
    PII_QUESTION,
    chat,
    conversation,
    feedback,
    leaked,
    loop_app,
    rows,
    turn,
)

from supportai.classifiers import Classification, ClassifierInput
from supportai.filters import Block, FilterContext, FilterOutput
from supportai.store import tables
from supportai.testing import as_user, plugin

ME = as_user("t1", "alice")
NEIGHBOUR = as_user("t1", "bob")
STRANGER = as_user("t2", "alice")

T = tables.training_candidates
F = tables.feedback
C = tables.conversations


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, None),
        ({"comment": "meh"}, None),
        ({"helpful": None, "rating": None}, None),
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"rating": 2.5}, "rating"),
        ({"helpful": "maybe"}, "helpful"),
        ({"helpful": True, "comment": "x" * 4001}, "comment"),
        ({"helpful": True, "message_id": 0}, "message_id"),
        ({"helpful": True, "message_id": 2**31}, "message_id"),
        ({"helpful": True, "mood": "grumpy"}, "mood"),
    ],
)
async def test_invalid_bodies_are_422_naming_the_field(
    supportai_app: Any, supportai_client: Any, body: dict[str, Any], field: str | None
) -> None:
    app = supportai_app()
    client = supportai_client(app)
    cid = await conversation(client, ME)
    response = await feedback(client, ME, cid, **body)
    assert response.status_code == 422, response.text
    payload = response.json()
    assert payload["reason"] == "validation_error"
    assert isinstance(payload["detail"], list) and payload["detail"]
    if field is not None:
        assert any(field in item["loc"] for item in payload["detail"]), payload
    else:
        assert "helpful or rating" in str(payload["detail"])
    assert await rows(app, F) == []


async def test_bad_conversation_id_is_422(supportai_app: Any, supportai_client: Any) -> None:
    client = supportai_client(supportai_app())
    for bad in ("0", "abc", str(2**31)):
        response = await client.post(
            f"/conversations/{bad}/feedback", json={"helpful": True}, headers=ME
        )
        assert response.status_code == 422, (bad, response.text)


async def test_without_caller_is_401(supportai_app: Any, supportai_client: Any) -> None:
    client = supportai_client(supportai_app())
    response = await client.post("/conversations/1/feedback", json={"helpful": True})
    assert response.status_code == 401
    assert response.json()["reason"] == "unauthenticated"


async def test_foreign_or_missing_objects_are_404(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, ME)
    _, other = await chat(client, ME)
    for headers in (NEIGHBOUR, STRANGER):
        response = await feedback(client, headers, cid, helpful=False, comment="x")
        assert response.status_code == 404, response.text
        assert response.json()["reason"] == "not_found"
    assert (await feedback(client, ME, 999_999, helpful=True)).status_code == 404
    # a message of another conversation of mine, and a message that does not exist
    for message_id in (other["assistant_message_id"], 999_999):
        response = await feedback(client, ME, cid, helpful=False, message_id=message_id)
        assert response.status_code == 404, response.text
        assert response.json()["detail"] == "message not found"
    assert await rows(app, F) == []
    assert await rows(app, T) == []


# -- storing and updating ---------------------------------------------------------------


async def test_positive_feedback_is_stored_without_candidate_or_flag(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, answered = await chat(client, ME)
    response = await feedback(
        client, ME, cid, helpful=True, rating=3, message_id=answered["assistant_message_id"]
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body == {
        "feedback_id": body["feedback_id"],
        "conversation_id": cid,
        "message_id": answered["assistant_message_id"],
        "helpful": True,
        "rating": 3,
        "training_candidate_id": None,
        "updated": False,
    }
    assert await rows(app, T) == []
    (conversation_row,) = await rows(app, C)
    assert conversation_row["flagged"] is False


@pytest.mark.parametrize(
    ("body", "negative"),
    [
        ({"helpful": False}, True),
        ({"rating": 1}, True),
        ({"rating": 2}, True),
        ({"rating": 3}, False),
        ({"helpful": True, "rating": 2}, True),
        ({"helpful": False, "rating": 5}, True),
        ({"helpful": True, "rating": 5}, False),
    ],
)
async def test_negative_means_unhelpful_or_rating_at_most_two(
    supportai_app: Any, supportai_client: Any, body: dict[str, Any], negative: bool
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, ME)
    response = await feedback(client, ME, cid, **body)
    assert response.status_code == 200, response.text
    assert (response.json()["training_candidate_id"] is not None) is negative
    assert len(await rows(app, T)) == (1 if negative else 0)
    (conversation_row,) = await rows(app, C)
    assert conversation_row["flagged"] is negative


async def test_negative_feedback_queues_one_candidate_about_the_exchange(
    supportai_app: Any, supportai_client: Any
) -> None:
    received: list[dict[str, Any]] = []

    async def supportai_feedback_received(event: dict[str, Any]) -> None:
        received.append(dict(event))

    app = loop_app(
        supportai_app,
        "Click Export in Settings.",
        plugin(supportai_feedback_received=supportai_feedback_received),
    )
    client = supportai_client(app)
    cid, first = await chat(client, ME, "How do I export my data?")
    await turn(client, ME, cid, "And how do I import it?")
    response = await feedback(
        client,
        ME,
        cid,
        helpful=False,
        rating=1,
        comment="Did not work",
        message_id=first["assistant_message_id"],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    (candidate,) = await rows(app, T)
    assert body["training_candidate_id"] == candidate["id"]
    assert candidate["candidate_type"] == "negative_feedback"
    assert candidate["status"] == "queued"
    assert candidate["tenant_id"] == "t1"
    assert candidate["conversation_id"] == cid
    assert candidate["message_id"] == first["assistant_message_id"]
    assert candidate["feedback_id"] == body["feedback_id"]
    assert candidate["comment"] == "Did not work"
    snapshot = candidate["snapshot"]
    # the exchange the feedback names, not the conversation's latest one
    assert snapshot["question"] == "How do I export my data?"
    assert snapshot["answer"] == "Click Export in Settings."
    assert snapshot["user_message_id"] == first["user_message_id"]
    assert snapshot["assistant_message_id"] == first["assistant_message_id"]
    assert snapshot["helpful"] is False and snapshot["rating"] == 1
    (conversation_row,) = await rows(app, C)
    assert conversation_row["flagged"] is True
    assert received == [
        {
            "tenant_id": "t1",
            "user_id": "alice",
            "conversation_id": cid,
            "message_id": first["assistant_message_id"],
            "feedback_id": body["feedback_id"],
            "helpful": False,
            "rating": 1,
            "has_comment": True,
            "negative": True,
            "training_candidate_id": candidate["id"],
            "updated": False,
        }
    ]


async def test_feedback_naming_a_user_message_snapshots_that_turn_and_its_answer(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app, "An answer.")
    client = supportai_client(app)
    cid, first = await chat(client, ME, "first question")
    await turn(client, ME, cid, "second question")
    response = await feedback(client, ME, cid, rating=1, message_id=first["user_message_id"])
    assert response.status_code == 200, response.text
    (candidate,) = await rows(app, T)
    assert candidate["snapshot"]["question"] == "first question"
    assert candidate["snapshot"]["answer"] == "An answer."
    assert candidate["message_id"] == first["assistant_message_id"]


async def test_conversation_level_feedback_snapshots_the_last_exchange(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app, "Same answer.")
    client = supportai_client(app)
    cid, _ = await chat(client, ME, "first question")
    last = await turn(client, ME, cid, "last question")
    response = await feedback(client, ME, cid, helpful=False)
    assert response.status_code == 200, response.text
    assert response.json()["message_id"] is None
    (candidate,) = await rows(app, T)
    assert candidate["snapshot"]["question"] == "last question"
    assert candidate["message_id"] == last["assistant_message_id"]


async def test_feedback_on_an_empty_conversation_keeps_an_empty_snapshot(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = supportai_app()
    client = supportai_client(app)
    cid = await conversation(client, ME)
    response = await feedback(client, ME, cid, helpful=False, comment="nothing happened")
    assert response.status_code == 200, response.text
    (candidate,) = await rows(app, T)
    assert candidate["message_id"] is None
    assert candidate["snapshot"]["question"] is None and candidate["snapshot"]["answer"] is None


async def test_second_submission_updates_and_keeps_one_candidate(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, answered = await chat(client, ME)
    mid = answered["assistant_message_id"]
    first = (await feedback(client, ME, cid, helpful=False, comment="bad", message_id=mid)).json()
    second = await feedback(client, ME, cid, rating=1, comment="really bad", message_id=mid)
    assert second.status_code == 200, second.text
    assert second.json()["updated"] is True
    assert second.json()["feedback_id"] == first["feedback_id"]
    assert second.json()["training_candidate_id"] == first["training_candidate_id"]
    # the latest submission replaces the earlier one as a whole
    (stored,) = await rows(app, F)
    assert (stored["helpful"], stored["rating"], stored["comment"]) == (None, 1, "really bad")
    (candidate,) = await rows(app, T)
    assert candidate["comment"] == "really bad"
    assert candidate["snapshot"]["rating"] == 1

    # conversation-level feedback is a separate subject from message-level feedback
    other = await feedback(client, ME, cid, helpful=False)
    assert other.json()["updated"] is False
    assert other.json()["feedback_id"] != first["feedback_id"]
    assert len(await rows(app, F)) == 2
    assert len(await rows(app, T)) == 2
    again = await feedback(client, ME, cid, helpful=False, comment="still")
    assert again.json()["updated"] is True
    assert len(await rows(app, T)) == 2


async def test_taking_back_negative_feedback_withdraws_a_queued_candidate(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, answered = await chat(client, ME)
    mid = answered["assistant_message_id"]
    await feedback(client, ME, cid, helpful=False, message_id=mid)
    assert len(await rows(app, T)) == 1
    response = await feedback(client, ME, cid, helpful=True, message_id=mid)
    assert response.json()["training_candidate_id"] is None
    assert await rows(app, T) == []
    # negative again: a fresh candidate
    response = await feedback(client, ME, cid, rating=2, message_id=mid)
    assert response.json()["training_candidate_id"] is not None
    assert len(await rows(app, T)) == 1


async def test_a_reviewed_candidate_is_not_changed_by_later_feedback(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, ME)
    created = (await feedback(client, ME, cid, helpful=False, comment="first")).json()
    candidate_id = created["training_candidate_id"]
    approve = await client.post(
        f"/admin/candidates/{candidate_id}/approve",
        json={"note": "good catch"},
        headers=as_user("t1", "root", ["support_ai_admin"]),
    )
    assert approve.status_code == 200, approve.text
    for body in ({"helpful": False, "comment": "edited"}, {"helpful": True}):
        response = await feedback(client, ME, cid, **body)
        assert response.json()["training_candidate_id"] == candidate_id
        (candidate,) = await rows(app, T)
        assert (candidate["status"], candidate["comment"]) == ("approved", "first")


async def test_two_users_feedback_on_their_own_conversations_is_independent(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    mine, _ = await chat(client, ME)
    theirs, _ = await chat(client, STRANGER)
    assert (await feedback(client, ME, mine, helpful=False)).json()["updated"] is False
    assert (await feedback(client, STRANGER, theirs, helpful=False)).json()["updated"] is False
    candidates = await rows(app, T)
    assert sorted(c["tenant_id"] for c in candidates) == ["t1", "t2"]


async def test_feedback_is_allowed_on_an_escalated_conversation(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, ME)
    assert (await client.post(f"/conversations/{cid}/escalate", headers=ME)).status_code == 200
    response = await feedback(client, ME, cid, helpful=False, comment="had to ask a human")
    assert response.status_code == 200, response.text


async def test_gdpr_delete_removes_feedback_and_candidates(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app)
    client = supportai_client(app)
    cid, _ = await chat(client, ME)
    keep, _ = await chat(client, ME)
    await feedback(client, ME, cid, helpful=False, comment="bad")
    await feedback(client, ME, keep, helpful=False, comment="also bad")
    assert (await client.delete(f"/conversations/{cid}", headers=ME)).status_code == 200
    assert [f["conversation_id"] for f in await rows(app, F)] == [keep]
    assert [c["conversation_id"] for c in await rows(app, T)] == [keep]


# -- redaction: no personal data reaches the candidate table ------------------------------


async def test_candidate_never_stores_personal_data(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(supportai_app, PII_ANSWER)
    client = supportai_client(app)
    cid, answered = await chat(client, ME, PII_QUESTION)
    response = await feedback(
        client,
        ME,
        cid,
        helpful=False,
        rating=1,
        comment=PII_COMMENT,
        message_id=answered["assistant_message_id"],
    )
    assert response.status_code == 200, response.text
    (candidate,) = await rows(app, T)
    assert leaked(candidate) == []
    # it was redacted, not dropped: placeholders stand where the data was
    question = candidate["snapshot"]["question"]
    for placeholder in ("[email]", "[number]", "[iban]", "[ip]", "[name]"):
        assert placeholder in question, (placeholder, question)
    assert "[email]" in candidate["comment"] and "[iban]" in candidate["comment"]
    assert "[email]" in candidate["snapshot"]["answer"]
    # the caller's own feedback row keeps their words (it is theirs, deleted with them)
    (stored,) = await rows(app, F)
    assert stored["comment"] == PII_COMMENT


async def test_the_redact_hook_replaces_the_fallback(
    supportai_app: Any, supportai_client: Any
) -> None:
    seen: list[str] = []

    def supportai_redact(tenant_id: str, text: str) -> str:
        seen.append(tenant_id)
        return "<<redacted by plugin>>"

    app = loop_app(supportai_app, "answer", plugin(supportai_redact=supportai_redact))
    client = supportai_client(app)
    cid, _ = await chat(client, ME, "question with jane.doe@example.com")
    await feedback(client, ME, cid, helpful=False, comment="comment")
    (candidate,) = await rows(app, T)
    assert candidate["comment"] == "<<redacted by plugin>>"
    assert candidate["snapshot"]["question"] == "<<redacted by plugin>>"
    assert set(seen) == {"t1"}


# -- candidates queued by the turn itself ---------------------------------------------------


class _Refuse:
    name = "refuse-all"

    async def classify(self, message: ClassifierInput) -> Classification:
        return Classification(
            intent="account_takeover", confidence=0.99, refused=True, classifier=self.name
        )


class _BlockStream:
    examined_chars = 0

    async def push(self, text: str) -> FilterOutput:
        return FilterOutput(blocked=Block(reason="test_block"))

    async def close(self) -> FilterOutput:
        return FilterOutput()


class _BlockAll:
    name = "block-all"

    def open(self, context: FilterContext) -> _BlockStream:
        return _BlockStream()


def _provider(hook: str, name: str, instance: object) -> object:
    def register(register: Any) -> None:
        register(name, lambda context: instance)

    return plugin(**{hook: register})


async def test_refused_intent_is_queued_redacted_when_configured(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(
        supportai_app,
        "never said",
        _provider("supportai_register_classifiers", "refuse-all", _Refuse()),
        classifiers=["refuse-all"],
        queue_refusals_for_review=True,
    )
    client = supportai_client(app)
    cid = await conversation(client, ME)
    answered = await turn(client, ME, cid, PII_QUESTION)
    assert answered["status"] == "refused"
    (candidate,) = await rows(app, T)
    assert candidate["candidate_type"] == "intent_refused"
    assert candidate["status"] == "queued"
    assert candidate["message_id"] == answered["user_message_id"]
    assert candidate["snapshot"]["intent"] == "account_takeover"
    assert candidate["snapshot"]["answer"] is None
    assert leaked(candidate) == []


async def test_refused_intent_is_not_queued_by_default(
    supportai_app: Any, supportai_client: Any
) -> None:
    app = loop_app(
        supportai_app,
        "never said",
        _provider("supportai_register_classifiers", "refuse-all", _Refuse()),
        classifiers=["refuse-all"],
    )
    client = supportai_client(app)
    cid = await conversation(client, ME)
    assert (await turn(client, ME, cid, "hello"))["status"] == "refused"
    assert await rows(app, T) == []


@pytest.mark.parametrize("enabled", [True, False])
async def test_blocked_output_is_queued_redacted_unless_switched_off(
    supportai_app: Any, supportai_client: Any, enabled: bool
) -> None:
    app = loop_app(
        supportai_app,
        PII_ANSWER,
        _provider("supportai_register_output_filters", "block-all", _BlockAll()),
        output_filters=["block-all"],
        queue_blocked_for_review=enabled,
    )
    client = supportai_client(app)
    cid = await conversation(client, ME)
    answered = await turn(client, ME, cid, PII_QUESTION)
    assert answered["status"] == "blocked", answered
    candidates = await rows(app, T)
    if not enabled:
        assert candidates == []
        return
    (candidate,) = candidates
    assert candidate["candidate_type"] == "output_blocked"
    assert candidate["message_id"] == answered["assistant_message_id"]
    assert candidate["snapshot"]["answer_status"] == "blocked"
    assert candidate["snapshot"]["question"] is not None
    assert leaked(candidate) == []
