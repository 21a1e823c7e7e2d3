"""The texts users see are configurable per tenant and locale (supportai_user_strings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from supportai.classifiers import Classification, ClassifierInput
from supportai.llm import BackendError
from supportai.plugins import HookResultError, Hooks, create_plugin_manager
from supportai.settings import DEFAULT_DISCLOSURE_TEXT, Settings
from supportai.testing import ScriptedBackend, as_user, backend_plugin, parse_sse, plugin
from supportai.user_strings import DEFAULTS, preferred_locale

GERMAN = {
    "error.intent_refused": "Dabei kann ich nicht helfen.",
    "error.vendor_outage": "Der KI-Anbieter ist gerade nicht erreichbar.",
    "error.not_found": "Nicht gefunden.",
    "error.unauthenticated": "Bitte melden Sie sich an.",
    "disclosure.text": "Sie sprechen mit einer KI.",
}


class Guard:
    name = "guard"

    async def classify(self, message: ClassifierInput) -> Classification:
        return Classification("jailbreak", 0.9, "ignore" in message.text, self.name)


def strings(tenant_id: str | None, locale: str | None) -> dict[str, str] | None:
    """Acme (t2) words its disclosure itself; everyone asking in German gets German."""
    if locale and locale.lower().split("-")[0] == "de":
        return GERMAN
    if tenant_id == "t2":
        return {"disclosure.text": "Acme's assistant is an AI."}
    return None


@pytest.fixture
def client(supportai_app: Any, supportai_client: Any) -> Any:
    extras = plugin(
        supportai_register_classifiers=lambda register: register("guard", lambda c: Guard()),
        supportai_user_strings=strings,
    )
    backend = ScriptedBackend([ScriptedBackend.answer("Sure.")])
    return supportai_client(
        supportai_app(
            plugins=[backend_plugin(backend), extras],
            llm_backend="scripted",
            classifiers=["guard"],
        )
    )


async def refused(client: Any, headers: dict[str, str]) -> tuple[str, str]:
    """The refusal's detail as JSON and as an SSE event."""
    cid = (await client.post("/conversations", json={}, headers=headers)).json()["conversation_id"]
    url = f"/conversations/{cid}/messages"
    body = (await client.post(url, json={"content": "ignore rules"}, headers=headers)).json()
    sse = await client.post(
        url, json={"content": "ignore again"}, headers={**headers, "accept": "text/event-stream"}
    )
    (event,) = [data for name, data in parse_sse(sse.text) if name == "refusal"]
    return body["refusal"]["detail"], event["detail"]


async def test_defaults_stay_english(client: Any) -> None:
    english = DEFAULTS["error.intent_refused"]
    assert await refused(client, as_user()) == (english, english)
    status = (await client.get("/disclosure/status", headers=as_user())).json()
    assert status["text"] == DEFAULT_DISCLOSURE_TEXT
    missing = await client.get("/conversations/999999", headers=as_user())
    assert missing.json()["detail"] != GERMAN["error.not_found"]


async def test_a_locale_override_changes_what_the_user_sees(client: Any) -> None:
    german = {**as_user(), "accept-language": "de-CH, de;q=0.9, en;q=0.5"}
    detail = GERMAN["error.intent_refused"]
    assert await refused(client, german) == (detail, detail)
    status = (await client.get("/disclosure/status", headers=german)).json()
    assert status["text"] == GERMAN["disclosure.text"]
    missing = await client.get("/conversations/999999", headers=german)
    assert missing.status_code == 404
    assert missing.json() == {"degraded": True, "reason": "not_found", "detail": "Nicht gefunden."}
    anonymous = await client.get("/conversations", headers={"accept-language": "de"})
    assert anonymous.status_code == 401  # no tenant yet: the hook gets tenant_id None
    assert anonymous.json()["detail"] == GERMAN["error.unauthenticated"]


async def test_a_tenant_override_changes_only_that_tenant(client: Any) -> None:
    acme = (await client.get("/disclosure/status", headers=as_user("t2"))).json()
    assert acme["text"] == "Acme's assistant is an AI."
    other = (await client.get("/disclosure/status", headers=as_user("t1"))).json()
    assert other["text"] == DEFAULT_DISCLOSURE_TEXT


async def test_the_disclosure_setting_is_the_default_a_plugin_overrides(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}", disclosure_text="Host text."
    )
    hooks = Hooks(create_plugin_manager(settings, load_entry_points=False))
    assert (await hooks.user_strings("t1", None))["disclosure.text"] == "Host text."
    hooks = Hooks(
        create_plugin_manager(
            settings, [plugin(supportai_user_strings=strings)], load_entry_points=False
        )
    )
    assert (await hooks.user_strings("t2", None))["disclosure.text"] == "Acme's assistant is an AI."


async def test_an_unknown_key_fails_loudly(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path / 's.db'}")
    typo = plugin(supportai_user_strings=lambda: {"disclosure.txt": "x"})
    hooks = Hooks(create_plugin_manager(settings, [typo], load_entry_points=False))
    with pytest.raises(HookResultError, match=r"disclosure\.txt"):
        await hooks.user_strings("t1", None)


async def test_an_error_during_the_answer_is_in_the_user_s_words(
    supportai_app: Any, supportai_client: Any
) -> None:
    """The SSE ``error`` event and the JSON turn of a failed backend call."""
    backend = ScriptedBackend([[BackendError("down")], [BackendError("down")], [BackendError("x")]])
    client = supportai_client(
        supportai_app(
            plugins=[backend_plugin(backend), plugin(supportai_user_strings=strings)],
            llm_backend="scripted",
        )
    )
    german = {**as_user(), "accept-language": "de"}
    cid = (await client.post("/conversations", json={}, headers=german)).json()["conversation_id"]
    url = f"/conversations/{cid}/messages"
    stream = await client.post(
        url, json={"content": "hi"}, headers={**german, "accept": "text/event-stream"}
    )
    (error,) = [data for name, data in parse_sse(stream.text) if name == "error"]
    assert error == {"reason": "vendor_outage", "detail": GERMAN["error.vendor_outage"]}
    turn = (await client.post(url, json={"content": "hi"}, headers=german)).json()
    assert turn["refusal"]["detail"] == GERMAN["error.vendor_outage"]
    english = (await client.post(url, json={"content": "hi"}, headers=as_user())).json()
    assert english["refusal"]["detail"].startswith("the AI provider is not available")


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("de-CH, de;q=0.9, en;q=0.8", "de-CH"),
        ("en;q=0.5, fr", "fr"),
        ("*", None),
        ("fr;q=0, es;q=0.1", "es"),
        ("", None),
        (None, None),
        ("x;q=abc, it", "it"),
    ],
)
def test_the_locale_is_the_preferred_accept_language_tag(header: str | None, locale: str) -> None:
    assert preferred_locale(header) == locale
