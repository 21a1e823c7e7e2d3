"""The metrics plugin through a real app: what each event counts, per app, on /metrics.

Uses core's pytest plugin (``supportai.testing``): a real app on a fresh SQLite
file, an ASGI client and a scripted LLM backend; the plugin is loaded from its
installed entry point (``SUPPORTAI_PLUGINS=["metrics"]``), the way a host deploys it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.routing import Mount
from supportai_metrics import metrics_app, metrics_for

from supportai.classifiers import Classification, ClassifierInput
from supportai.llm import ContextDocument
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin, plugin

QUESTION = "How do I reset my password?"


class Fixed:
    """A classifier that gives every message one intent."""

    def __init__(self, intent: str) -> None:
        self.intent = intent

    async def classify(self, message: ClassifierInput) -> Classification:
        return Classification(intent=self.intent, confidence=0.9, refused=False, classifier="fixed")


def classifier_plugin(intent: str) -> object:
    def supportai_register_classifiers(register: Any) -> None:
        register("fixed", lambda context: Fixed(intent))

    return plugin(supportai_register_classifiers=supportai_register_classifiers)


def build(
    factory: Any, settings: Settings, *extra: object, intent: str = "how_to", **kw: Any
) -> Any:
    backend = ScriptedBackend([ScriptedBackend.answer("Open Settings, then Security.", 3)])
    return factory(
        settings.model_copy(
            update={
                "plugins": ["metrics"],
                "llm_backend": "scripted",
                "classifiers": ["fixed"],
                **kw,
            }
        ),
        plugins=[backend_plugin(backend), classifier_plugin(intent), *extra],
        load_entry_points=True,
    )


async def conversation(client: httpx.AsyncClient) -> int:
    r = await client.post("/conversations", json={"title": "Help"}, headers=as_user())
    assert r.status_code == 200, r.text
    return int(r.json()["conversation_id"])


async def send(client: httpx.AsyncClient, cid: int, content: str = QUESTION) -> httpx.Response:
    return await client.post(
        f"/conversations/{cid}/messages",
        json={"content": content},
        headers={**as_user(), "accept": "application/json"},
    )


async def scrape(app: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples ``metrics_app(app)`` serves, mounted in a host app like the docs say."""
    host = Starlette(routes=[Mount("/metrics", metrics_app(app))])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=host), base_url="http://ops"
    ) as ops:
        r = await ops.get("/metrics/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(r.text)
        for sample in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_a_completed_turn_counts_status_intent_stages_first_delta_cost_and_tokens(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    app = build(supportai_app, supportai_settings)
    client = supportai_client(app)
    cid = await conversation(client)
    assert (await send(client, cid)).status_code == 200
    assert (await send(client, cid)).status_code == 200

    samples = await scrape(app)
    assert value(samples, "supportai_turns_total", status="complete", intent="how_to") == 2
    for stage in ("quota", "classify", "persist", "backend", "filter"):
        assert value(samples, "supportai_turn_stage_seconds_count", stage=stage) == 2, stage
    assert value(samples, "supportai_time_to_first_delta_seconds_count") == 2
    assert value(samples, "supportai_time_to_first_delta_seconds_sum") > 0
    price = supportai_settings.price_for("scripted-model").cost_micros(10, 20)
    assert value(samples, "supportai_cost_micros_total") == 2 * price
    assert value(samples, "supportai_tokens_total", direction="input") == 20
    assert value(samples, "supportai_tokens_total", direction="output") == 40
    assert value(samples, "supportai_refusals_total", stage="intent") == 0


async def test_refused_intents_and_quota_rejections_are_counted_by_reason(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    app = build(
        supportai_app,
        supportai_settings,
        intent="jailbreak",
        refused_intents=["jailbreak"],
        rate_limit_user_turns=2,
    )
    client = supportai_client(app)
    cid = await conversation(client)
    assert (await send(client, cid)).json()["status"] == "refused"
    await send(client, cid)
    rejected = await send(client, cid)
    assert rejected.status_code == 429 and rejected.json()["reason"] == "rate_limited"

    samples = await scrape(app)
    assert value(samples, "supportai_turns_total", status="refused", intent="jailbreak") == 2
    assert value(samples, "supportai_refusals_total", stage="intent") == 2
    assert value(samples, "supportai_turn_rejections_total", reason="rate_limited") == 1
    assert value(samples, "supportai_quota_rejections_total", reason="rate_limited") == 1
    assert value(samples, "supportai_time_to_first_delta_seconds_count") == 0  # nothing streamed


async def test_a_rejection_that_is_not_the_quota_is_not_a_quota_rejection(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    """``supportai_turn_rejected``: a switched-off assistant is a rejection, not a quota one."""
    app = build(supportai_app, supportai_settings, master_flag=False)
    client = supportai_client(app)
    cid = await conversation(client)
    assert (await send(client, cid)).json()["reason"] == "master_flag_off"
    samples = await scrape(app)
    assert value(samples, "supportai_turn_rejections_total", reason="master_flag_off") == 1
    assert not any(name == "supportai_quota_rejections_total" for name, _ in samples)


async def test_escalations_and_feedback(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    app = build(supportai_app, supportai_settings)
    client = supportai_client(app)
    cid = await conversation(client)
    answer = (await send(client, cid)).json()
    r = await client.post(
        f"/conversations/{cid}/feedback",
        json={"message_id": answer["assistant_message_id"], "helpful": False},
        headers=as_user(),
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"/conversations/{cid}/escalate", json={}, headers=as_user())
    assert r.status_code == 200, r.text
    await client.post(f"/conversations/{cid}/escalate", json={}, headers=as_user())  # again

    samples = await scrape(app)
    escalated = sum(v for (name, _), v in samples.items() if name == "supportai_escalations_total")
    assert escalated == 1  # the second request changed nothing
    assert value(samples, "supportai_feedback_total", negative="true") == 1


def retrieval(found: Sequence[str]) -> object:
    def supportai_retrieve_context(query: str, caller: Any, limit: int, context: Any) -> Any:
        return [ContextDocument(source_id=s, title=s, text="Settings > Security.") for s in found]

    return plugin(supportai_retrieve_context=supportai_retrieve_context)


async def test_retrieval_without_documents_counts_as_no_answer(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    """``supportai_retrieval_completed``, sent by core after the context hook."""
    empty = build(supportai_app, supportai_settings, retrieval([]))
    found = build(supportai_app, supportai_settings, retrieval(["kb-1"]))
    for app in (empty, found):
        client = supportai_client(app)
        assert (await send(client, await conversation(client))).status_code == 200
    key = {"source": "supportai_retrieve_context"}
    empty_samples, found_samples = await scrape(empty), await scrape(found)
    assert value(empty_samples, "supportai_retrievals_total", outcome="no_answer", **key) == 1
    assert value(empty_samples, "supportai_retrievals_total", outcome="answered", **key) == 0
    assert value(found_samples, "supportai_retrievals_total", outcome="answered", **key) == 1


async def test_two_apps_in_one_process_keep_their_own_registries(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    first, second = (
        build(supportai_app, supportai_settings),
        build(supportai_app, supportai_settings),
    )
    client = supportai_client(first)
    await send(client, await conversation(client))
    assert metrics_for(first.state.supportai.context) is not metrics_for(
        second.state.supportai.context
    )
    assert (
        value(await scrape(first), "supportai_turns_total", status="complete", intent="how_to") == 1
    )
    assert (
        value(await scrape(second), "supportai_turns_total", status="complete", intent="how_to")
        == 0
    )


async def test_a_scrape_before_any_turn_lists_the_metrics_and_the_sub_app_does_not_serve_them(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    app = build(supportai_app, supportai_settings)
    samples = await scrape(app)
    assert value(samples, "supportai_cost_micros_total") == 0
    # The operator endpoint is never part of the public sub-app.
    r = await supportai_client(app).get("/metrics", headers=as_user())
    assert r.status_code == 404


def test_metrics_app_refuses_something_that_is_not_a_supportai_app() -> None:
    import pytest

    with pytest.raises(TypeError, match="create_app"):
        metrics_app(Starlette())


def test_a_classifier_inventing_intents_cannot_grow_the_label_set_without_bound() -> None:
    from supportai_metrics.collectors import MAX_INTENTS, SupportMetrics

    metrics = SupportMetrics()
    for n in range(MAX_INTENTS + 10):
        metrics.turn_completed({"status": "complete", "intent": f"intent-{n}"})
    intents = {
        sample.labels["intent"]
        for family in metrics.registry.collect()
        if family.name == "supportai_turns"
        for sample in family.samples
        if sample.name == "supportai_turns_total"
    }
    assert len(intents) == MAX_INTENTS + 1 and "other" in intents
