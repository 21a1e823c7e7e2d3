"""The texts users see, with their English defaults in one place.

A host translates or rewords them per tenant and locale with the
``supportai_user_strings`` hook (``docs/hooks.md``). The locale is the request's
``Accept-Language``: browsers send it on every request, so the widget needs no
setting, and a host that knows better (a user profile) returns strings for the
tenant regardless of ``locale`` or sets the header on its proxy.

Keys:

* ``error.<reason code>``: the ``detail`` of a typed error (``docs/errors.md``).
  Only ``error.intent_refused`` (the refusal of a refused intent) has a default
  here; other reasons keep the specific English detail core raised them with
  (``"requires the support scope"``) unless a plugin overrides them;
* ``answer.not_found``: the answer of a retrieval backend that found nothing;
* ``answer.suggestion``: the line after it that introduces the closest article
  when one came close (the ``knowledge_base`` backend's suggestion);
* ``disclosure.text``: the disclosure ``disclosure/status`` shows
  (``SUPPORTAI_DISCLOSURE_TEXT`` until a plugin overrides it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING

from supportai.errors import Reason, SupportAIError
from supportai.settings import DEFAULT_DISCLOSURE_TEXT

if TYPE_CHECKING:
    from supportai.hookcalls import Hooks

log = logging.getLogger("supportai.user_strings")

DEFAULTS: dict[str, str] = {
    "error.intent_refused": (
        "I can't help with that request. You can rephrase it or ask for a human."
    ),
    "answer.not_found": "I could not find this in the help center; you can ask for a human.",
    "answer.suggestion": "The closest article I found may still help:",
    "disclosure.text": DEFAULT_DISCLOSURE_TEXT,
}

#: Every key a plugin may override: the defaults, plus a detail per reason code.
KEYS: frozenset[str] = frozenset(DEFAULTS) | {f"error.{reason.value}" for reason in Reason}

_TAG = re.compile(r"^[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*$")


def preferred_locale(accept_language: str | None) -> str | None:
    """The highest-weighted language tag of an ``Accept-Language`` header, as sent.

    ``"de-CH, de;q=0.9, en;q=0.8"`` -> ``"de-CH"``. ``*``, malformed tags and
    ``q=0`` entries are skipped; ties keep the header's order. ``None`` when
    nothing usable is left, so hooks see one clear "no preference".
    """
    best: tuple[float, int, str] | None = None
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.match(tag):
            continue
        weight = _weight(params)
        if weight is None or weight <= 0:
            continue
        candidate = (-weight, position, tag)
        if best is None or candidate < best:
            best = candidate
    return best[2] if best else None


def _weight(params: str) -> float | None:
    """The ``q`` of a tag's parameters (1 without one), ``None`` when it is malformed."""
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return None
    return 1.0


def detail_for(strings: Mapping[str, str], reason: Reason, detail: str) -> str:
    """The detail users see for a typed error: an override, else the one raised."""
    return strings.get(f"error.{reason.value}", detail)


async def in_user_words(
    hooks: Hooks, error: SupportAIError, tenant_id: str | None, locale: str | None
) -> SupportAIError:
    """``error`` with the tenant's and locale's ``error.<reason>`` text, if a plugin has one.

    A failing ``supportai_user_strings`` plugin must not turn a typed refusal into a
    500 or break a stream's end: the English detail stands and the log has the failure.
    """
    try:
        strings = await hooks.user_strings(tenant_id, locale)
    except Exception:
        log.exception("supportai_user_strings failed; the English detail is sent")
        return error
    detail = detail_for(strings, error.reason, error.detail)
    if detail == error.detail:
        return error
    return SupportAIError(
        error.reason, detail, retry_after_s=error.retry_after_s, status=error.status
    )
