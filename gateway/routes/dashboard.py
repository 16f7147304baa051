"""The operations dashboard: `/dashboard` (the page, no key needed: it holds no data) and
`GET /v1/dashboard` (its figures; needs a key with the `admin` scope)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from gateway.access import api_key, charge, process_state
from gateway.auth import ApiKey, Scope
from gateway.dashboard.page import PAGE
from gateway.dashboard.snapshot import snapshot
from gateway.problems import GatewayError
from gateway.process_state import ProcessState
from gateway.routes import PROBLEM_RESPONSES

router = APIRouter(tags=["operations"])


@router.get(
    "/dashboard",
    summary="Live operations dashboard (HTML; asks for an admin key, polls /v1/dashboard)",
    response_class=HTMLResponse,
)
async def dashboard_page() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-store"})


@router.get(
    "/v1/dashboard",
    summary="Figures of the dashboard: throughput, rejections, freshness, lag, totals, audit",
    responses=PROBLEM_RESPONSES,
)
async def dashboard_data(
    key: Annotated[ApiKey, Depends(api_key)],
    found: Annotated[ProcessState, Depends(process_state)],
) -> dict[str, Any]:
    """Only the programs the key is bound to: their outcome counts, totals and audit
    problems. Rate-limited like every other call of the key."""
    if not key.allows(Scope.ADMIN):
        raise GatewayError("scope_missing", f"this needs the {Scope.ADMIN.value} scope")
    await charge(found, key, 1)
    return await snapshot(
        found.activity,
        found.lag,
        found.read_model,
        found.redis,
        found.settings.redis_key_prefix,
        key.programs,
    )
