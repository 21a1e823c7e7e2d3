"""AI-disclosure acceptance, versioned: a new version in settings asks everyone again."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from supportai import schemas
from supportai.routes.deps import CallerDep, ConnectionDep, RuntimeDep, UserStringsDep
from supportai.settings import Settings
from supportai.store import disclosure as store

router = APIRouter(tags=["disclosure"])


@router.get(
    "/disclosure/status", summary="Disclosure Status", response_model=schemas.DisclosureStatus
)
async def disclosure_status(
    caller: CallerDep, conn: ConnectionDep, runtime: RuntimeDep, strings: UserStringsDep
) -> schemas.DisclosureStatus:
    """Has the user accepted the current AI-disclosure version?"""
    current = runtime.settings.disclosure_version
    row = await store.latest(conn, caller, current)
    return _status(
        runtime.settings,
        strings,
        accepted_version=row["version"] if row else None,
        accepted_at=row["accepted_at"] if row else None,
    )


@router.post(
    "/disclosure/accept", summary="Accept Disclosure", response_model=schemas.DisclosureStatus
)
async def accept_disclosure(
    body: schemas.AcceptDisclosureRequest,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
    strings: UserStringsDep,
) -> schemas.DisclosureStatus:
    """Pin AI-disclosure acceptance for the user.

    Idempotent: re-accepting the same version is a no-op (the latest accepted_at
    simply moves forward). Only the current version can be accepted, so a client
    holding a stale disclosure text is told to reload it.
    """
    current = runtime.settings.disclosure_version
    if body.version != current:
        # A 422 keeps the one validation shape (a ``detail`` list naming the
        # field, docs/errors.md), so clients handle it like any other bad body.
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "version"),
                    "msg": f"{body.version!r} is not the current disclosure version "
                    f"{current!r}; reload the disclosure text and accept it",
                    "type": "disclosure_version_not_current",
                    "input": body.version,
                }
            ]
        )
    accepted_at = await store.accept(conn, caller, current, runtime.database.is_sqlite)
    return _status(runtime.settings, strings, accepted_version=current, accepted_at=accepted_at)


def _status(
    settings: Settings,
    strings: dict[str, str],
    *,
    accepted_version: str | None,
    accepted_at: datetime | None,
) -> schemas.DisclosureStatus:
    """The status both endpoints answer, with the text (in the user's words) and link."""
    current = settings.disclosure_version
    return schemas.DisclosureStatus(
        accepted=accepted_version == current,
        accepted_version=accepted_version,
        current_version=current,
        accepted_at=accepted_at,
        required=settings.disclosure_required,
        text=strings["disclosure.text"],
        url=settings.disclosure_url,
    )
