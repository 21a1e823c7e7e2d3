"""The limits that depend on settings, written into the served OpenAPI document.

The request models carry the fixed bounds (``schemas.py``); two rules depend on
the app's settings and are stated here, so that the document a client or a
fuzzer reads is the contract the app enforces:

* a message may be at most ``SUPPORTAI_MAX_MESSAGE_CHARS`` characters (the turn
  checks it; the model's own bound is the hard ceiling ``MAX_TEXT``);
* only the current disclosure version (``SUPPORTAI_DISCLOSURE_VERSION``) can be
  accepted.
"""

from __future__ import annotations

from typing import Any

from supportai.schemas import MAX_TEXT
from supportai.settings import Settings


def state_limits(doc: dict[str, Any], settings: Settings) -> None:
    """Edit ``doc`` (an OpenAPI document of this app) in place."""
    components = doc.get("components", {}).get("schemas", {})
    message = components.get("CreateMessageRequest", {}).get("properties", {}).get("content")
    if message is not None:
        limit = min(settings.max_message_chars, MAX_TEXT)
        message["maxLength"] = limit
        message["description"] = (
            f"The user's message: 1 to {limit} characters (SUPPORTAI_MAX_MESSAGE_CHARS), "
            "no NUL characters."
        )
    version = components.get("AcceptDisclosureRequest", {}).get("properties", {}).get("version")
    if version is not None:
        current = settings.disclosure_version
        version["enum"] = [current]
        version["description"] = (
            f"The current disclosure version, {current!r} (SUPPORTAI_DISCLOSURE_VERSION, "
            "also in disclosure/status as current_version); any other version is a 422."
        )
