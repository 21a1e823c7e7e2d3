"""AI-disclosure acceptance, versioned: a new version in settings asks everyone again."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.exceptions import RequestValidationError

from supportai import schemas
from supportai.routes.deps import CallerDep, ConnectionDep, RuntimeDep
from supportai.store import disclosure as store

router = APIRouter(tags=["disclosure"])


@router.get(
    "/disclosure/status", summary="Disclosure Status", response_model=schemas.DisclosureStatus
)
async def disclosure_status(
    caller: CallerDep, conn: ConnectionDep, runtime: RuntimeDep
) -> schemas.DisclosureStatus:
    """Has the user accepted the current AI-disclosure version?"""
    current = runtime.settings.disclosure_version
    row = await store.latest(conn, caller, current)
    return schemas.DisclosureStatus(
        accepted=row is not None and row["version"] == current,
        accepted_version=row["version"] if row else None,
        current_version=current,
        accepted_at=row["accepted_at"] if row else None,
        required=runtime.settings.disclosure_required,
    )


@router.post(
    "/disclosure/accept", summary="Accept Disclosure", response_model=schemas.DisclosureStatus
)
async def accept_disclosure(
    body: schemas.AcceptDisclosureRequest,
    caller: CallerDep,
    conn: ConnectionDep,
    runtime: RuntimeDep,
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
    return schemas.DisclosureStatus(
        accepted=True,
        accepted_version=current,
        current_version=current,
        accepted_at=accepted_at,
        required=runtime.settings.disclosure_required,
    )
