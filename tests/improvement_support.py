"""Shared helpers of the improvement-loop tests (feedback, admin, export).

Personal data used here is fake but shaped like the real thing, so the
redaction assertions exercise the same patterns a production leak would.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx
import sqlalchemy as sa

from supportai.store.database import row_dict
from supportai.testing import ScriptedBackend, backend_plugin, plugin

#: A question full of personal data, and every fragment that must never be stored.
PII_QUESTION = (
    "Hi, I am Zebulon Quartermaine, mail jane.doe@example.com or call +1 (415) 555-0134. "
    "Card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00, SSN 123-45-6789, "
    "logged in from 203.0.113.42 and 2001:db8::1 for project Nightjar."
)
PII_COMMENT = (
    "Wrong! Write to zeb.q@mail.example.org, phone 030 1234 5678, card 5500-0000-0000-0004, "
    "IBAN GB82WEST12345698765432, SSN 078-05-1120, IP 198.51.100.7, ask Quartermaine."
)
PII_ANSWER = "I updated the address jane.doe@example.com for Zebulon and card 4111111111111111."
PII_FRAGMENTS = (
    # fragments long or punctuated enough never to occur in ids or timestamps
    "jane.doe",
    "example.com",
    "zeb.q",
    "mail.example.org",
    "555-0134",
    "(415)",
    "1234 5678",
    "4111 1111",
    "4111111111111111",
    "1111 1111",
    "5500-0000",
    "0000-0004",
    "DE89",
    "3704 0044",
    "0532 0130",
    "GB82",
    "WEST1234",
    "98765432",
    "123-45",
    "45-6789",
    "078-05",
    "05-1120",
    "203.0.113",
    "113.42",
    "198.51.100",
    "100.7",
    "2001:db8",
    "Zebulon",
    "Quartermaine",
    "Nightjar",
)
#: Names the host marks as sensitive: one through settings, one through the hook.
SENSITIVE_SETTING = ["Zebulon Quartermaine", "Zebulon", "Quartermaine"]
SENSITIVE_HOOK = ["Nightjar"]


def sensitive_terms_plugin(terms: Sequence[str] = SENSITIVE_HOOK) -> object:
    def supportai_sensitive_terms(tenant_id: str) -> list[str]:
        return list(terms)

    return plugin(supportai_sensitive_terms=supportai_sensitive_terms)


def loop_app(
    supportai_app: Any, answer: str = "Here is how to do that.", *extra: object, **overrides: Any
) -> Any:
    """An app answering ``answer`` to every turn, with the host's sensitive terms set."""
    backend = ScriptedBackend([ScriptedBackend.answer(answer)])
    overrides.setdefault("sensitive_terms", SENSITIVE_SETTING)
    return supportai_app(
        plugins=[backend_plugin(backend), sensitive_terms_plugin(), *extra],
        llm_backend="scripted",
        **overrides,
    )


async def conversation(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    response = await client.post("/conversations", json={"title": "help"}, headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["conversation_id"])


async def turn(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, content: str
) -> dict[str, Any]:
    response = await client.post(
        f"/conversations/{conversation_id}/messages", json={"content": content}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def chat(
    client: httpx.AsyncClient, headers: dict[str, str], content: str = "How do I export?"
) -> tuple[int, dict[str, Any]]:
    """A new conversation with one answered turn: ``(conversation_id, turn)``."""
    cid = await conversation(client, headers)
    return cid, await turn(client, headers, cid, content)


async def feedback(
    client: httpx.AsyncClient, headers: dict[str, str], conversation_id: int, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/conversations/{conversation_id}/feedback", json=body, headers=headers
    )


async def rows(app: Any, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
    """Read a table straight from the database (what is *stored*, not what the API shows)."""
    async with app.state.supportai.database.connection() as conn:
        query = sa.select(table).order_by(table.c.id)
        if where:
            query = query.where(*where)
        return [row_dict(r) for r in await conn.fetch_all(query)]


def leaked(stored: Any) -> list[str]:
    """The personal-data fragments found anywhere in ``stored`` (rows, dicts, strings)."""
    text = json.dumps(stored, default=str)
    return [fragment for fragment in PII_FRAGMENTS if fragment in text]
