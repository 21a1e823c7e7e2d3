"""Observer hooks receive their app's provider context, and the turn event's new keys."""

from __future__ import annotations

from typing import Any

from supportai.plugins import ProviderContext
from supportai.settings import Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin, plugin


async def test_each_app_s_observers_get_that_app_s_context_and_state(
    supportai_app: Any, supportai_settings: Settings, supportai_client: Any
) -> None:
    """``supportai_turn_completed(event, context)``: per-app state lives in ``context.state``."""
    seen: list[tuple[ProviderContext, dict[str, Any]]] = []

    def supportai_turn_completed(event: Any, context: ProviderContext) -> None:
        context.state["turns"] = context.state.get("turns", 0) + 1
        seen.append((context, dict(event)))

    observer = plugin(supportai_turn_completed=supportai_turn_completed)
    apps = [
        supportai_app(
            supportai_settings.model_copy(update={"llm_backend": "scripted"}),
            plugins=[
                backend_plugin(ScriptedBackend([ScriptedBackend.answer("Hi there.")])),
                observer,
            ],
        )
        for _ in range(2)
    ]
    for turns, app in zip((2, 1), apps, strict=True):
        client = supportai_client(app)
        cid = (await client.post("/conversations", headers=as_user())).json()["conversation_id"]
        for _ in range(turns):
            r = await client.post(
                f"/conversations/{cid}/messages",
                json={"content": "hello"},
                headers={**as_user(), "accept": "application/json"},
            )
            assert r.status_code == 200
    first, second = (app.state.supportai.context for app in apps)
    assert first.state["turns"] == 2 and second.state["turns"] == 1
    assert [context for context, _ in seen] == [first, first, second]
    event = seen[0][1]
    assert event["finish_reason"] == "stop"
    assert event["first_delta_ms"] is not None
    assert 0 < event["first_delta_ms"] <= sum(event["timings_ms"].values()) + 1000
