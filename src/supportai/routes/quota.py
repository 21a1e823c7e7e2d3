"""The caller's quota: limits, use, holds and reset times of the four buckets."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter

from supportai import schemas
from supportai.pipeline.budget import worst_case_cost
from supportai.quota.base import BucketStatus, QuotaStoreUnavailable, quota_store_unavailable
from supportai.routes.deps import CallerDep, RuntimeDep

router = APIRouter(tags=["quota"])


def _bucket(b: BucketStatus) -> schemas.QuotaBucketOut:
    return schemas.QuotaBucketOut(
        limit=b.limit,
        used=b.used,
        reserved=b.reserved,
        remaining=b.remaining,
        resets_at=datetime.fromtimestamp(b.resets_at, UTC),
    )


@router.get(
    "/quota",
    summary="Get Quota Status",
    response_model=schemas.QuotaStatusResponse,
    responses={503: {"model": schemas.DegradedResponse, "description": "quota_store_unavailable"}},
)
async def get_quota_status(caller: CallerDep, runtime: RuntimeDep) -> schemas.QuotaStatusResponse:
    """Return the caller's current AI Support quota status."""
    try:
        status = await runtime.quota.status(caller, time.time())
    except QuotaStoreUnavailable as exc:
        raise quota_store_unavailable(exc) from None
    by_kind = {b.kind: _bucket(b) for b in status.buckets}
    return schemas.QuotaStatusResponse(
        user_turns=by_kind["user_turns"],
        tenant_turns=by_kind["tenant_turns"],
        user_cost_micros=by_kind["user_cost"],
        tenant_cost_micros=by_kind["tenant_cost"],
        window_s=runtime.settings.rate_limit_window_s,
        turn_reservation_micros=worst_case_cost(runtime, "x" * runtime.settings.max_message_chars),
    )
