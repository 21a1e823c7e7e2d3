"""The ``pii`` filter respects grounding, end to end in Lumen (knowledge_base, example articles).

A value quoted verbatim from the help-center articles retrieved for the turn is
the host's public contact detail, not a leak; the user's own personal data in
the same answer is still redacted, and the same address is redacted in a turn
whose retrieved articles do not hold it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from host_app import create_host_app
from host_app_testing import make_config, sign_in
from starlette.applications import Starlette

from supportai.testing import ScriptedBackend, backend_plugin

API = "/api/support/ai"
SUPPORT_ADDRESS = "support@lumen.example"  # examples/host_app/articles/contacting-support.md


async def _ready(client: httpx.AsyncClient, email: str = "alice@acme.example") -> int:
    await sign_in(client, email)
    disclosure = (await client.get(f"{API}/disclosure/status")).json()
    await client.post(f"{API}/disclosure/accept", json={"version": disclosure["current_version"]})
    created = await client.post(f"{API}/conversations", json={})
    return int(created.json()["conversation_id"])


async def _ask(client: httpx.AsyncClient, conversation_id: int, content: str) -> dict[str, object]:
    r = await client.post(
        f"{API}/conversations/{conversation_id}/messages",
        json={"content": content},
        headers={"accept": "application/json"},
    )
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    assert body["status"] == "complete", body
    return body


async def test_the_help_centers_public_address_is_not_redacted(client: httpx.AsyncClient) -> None:
    conversation_id = await _ready(client)
    answer = await _ask(client, conversation_id, "What email address can I use to contact support?")
    content = str(answer["content"])
    assert SUPPORT_ADDRESS in content, content
    assert "[redacted email]" not in content
    stored = (await client.get(f"{API}/conversations/{conversation_id}")).json()
    assert stored["messages"][-1]["content"] == content


@pytest.fixture
async def scripted_app(
    tmp_path: Path, host_env: None, seeded_data: Path
) -> AsyncIterator[tuple[Starlette, ScriptedBackend]]:
    """Lumen with the example articles for retrieval, and a model that quotes both addresses."""
    import os
    import shutil

    data = tmp_path / "data"
    shutil.copytree(seeded_data, data)
    os.environ["SUPPORTAI_LLM_BACKEND"] = "scripted"
    backend = ScriptedBackend(
        [
            ScriptedBackend.answer(
                f"Write to {SUPPORT_ADDRESS} from the address you use for Lumen; we will "
                "also reply to jane.doe@gmail.com as you asked.",
                pieces=9,
            )
        ]
    )
    app = create_host_app(make_config(data), plugins=(backend_plugin(backend),))
    async with app.router.lifespan_context(app):
        yield app, backend


async def _client(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://lumen.test")


async def test_the_users_own_address_is_still_redacted_next_to_the_public_one(
    scripted_app: tuple[Starlette, ScriptedBackend],
) -> None:
    app, backend = scripted_app
    async with await _client(app) as client:
        conversation_id = await _ready(client)
        answer = await _ask(
            client,
            conversation_id,
            # (The address itself is not in the question: retrieving with an e-mail
            # address in the query is issue 14's query cleaning, not this test.)
            "What email address can I use to contact support? Reply to my own address too.",
        )
    content = str(answer["content"])
    # The article with the address was retrieved for this turn (the model was handed
    # an excerpt of it; the whole article is this turn's grounding)...
    context = backend.requests[-1].context
    assert any(SUPPORT_ADDRESS in (d.grounding or d.text) for d in context)
    # ...so the address quoted from it stays, while the user's own is redacted.
    assert SUPPORT_ADDRESS in content
    assert "jane.doe@gmail.com" not in content
    assert "[redacted email]" in content


async def test_the_same_address_is_redacted_when_this_turns_articles_do_not_hold_it(
    scripted_app: tuple[Starlette, ScriptedBackend],
) -> None:
    app, backend = scripted_app
    async with await _client(app) as client:
        conversation_id = await _ready(client)
        answer = await _ask(client, conversation_id, "Which keyboard shortcut opens search?")
    context = backend.requests[-1].context
    assert not any(SUPPORT_ADDRESS in (d.grounding or d.text) for d in context)
    content = str(answer["content"])
    assert SUPPORT_ADDRESS not in content and "jane.doe@gmail.com" not in content
    assert content.count("[redacted email]") == 2


@pytest.fixture
async def suggesting_app(
    tmp_path: Path, host_env: None, seeded_data: Path
) -> AsyncIterator[Starlette]:
    """Lumen where no question is answered and every one gets a suggestion: a threshold
    above any fused score, and a suggestion band from zero."""
    import os
    import shutil

    data = tmp_path / "data"
    shutil.copytree(seeded_data, data)
    os.environ["SUPPORTAI_KB_MIN_SCORE"] = "10"
    os.environ["SUPPORTAI_KB_SUGGEST_MIN_SCORE"] = "0"
    app = create_host_app(make_config(data))
    async with app.router.lifespan_context(app):
        yield app


async def test_a_suggested_articles_public_address_is_not_redacted(
    suggesting_app: Starlette,
) -> None:
    """The closest article shown after the not-found text is this turn's grounding too:
    its public address stays, though nothing is cited."""
    async with await _client(suggesting_app) as client:
        conversation_id = await _ready(client)
        answer = await _ask(
            client, conversation_id, "What email address can I use to contact support?"
        )
    content = str(answer["content"])
    assert "[Contact" in content and answer["citations"] == [], answer
    assert SUPPORT_ADDRESS in content, content
    assert "[redacted email]" not in content
