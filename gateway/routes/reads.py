"""Reads from the Redis read model: balances, history, request status, program totals."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response

from gateway.access import Access, program_access
from gateway.auth import Scope
from gateway.models import (
    ACCOUNT_ID_PATTERN,
    REQUEST_ID_PATTERN,
    AccountBalancesOut,
    HistoryOut,
    QualifyingPointsOut,
    TotalsOut,
    TransactionOut,
)
from gateway.problems import GatewayError
from gateway.render import (
    balances_out,
    history_out,
    json_body,
    outcome_out,
    pending_out,
    qualifying_out,
    totals_out,
)
from gateway.routes import PROBLEM_RESPONSES

router = APIRouter(tags=["reads"])
HISTORY_PAGE_MAX = 100

AccountId = Annotated[str, Path(pattern=ACCOUNT_ID_PATTERN, description="customer account id")]
reader = program_access(Scope.BALANCES_READ)
status_reader = program_access(
    Scope.BALANCES_READ, Scope.TRANSACTIONS_WRITE, Scope.ADJUSTMENTS_WRITE
)


@router.get(
    "/v1/programs/{program}/accounts/{account_id}/balances",
    summary="Balances of an account: every asset of the program, available and held",
    response_model=AccountBalancesOut,
    responses=PROBLEM_RESPONSES,
)
async def get_balances(
    account_id: AccountId, access: Annotated[Access, Depends(reader)]
) -> Response:
    program = access.program
    located = await access.services.regional.locate(program.name, account_id)
    answer = balances_out(program, account_id, located.balances)
    return json_body(answer.model_copy(update=located.stated()))


@router.get(
    "/v1/programs/{program}/accounts/{account_id}/history",
    summary="Recent events of an account, newest first, paged backwards by sequence",
    response_model=HistoryOut,
    responses=PROBLEM_RESPONSES,
)
async def get_history(
    account_id: AccountId,
    access: Annotated[Access, Depends(reader)],
    limit: Annotated[int, Query(ge=1, le=HISTORY_PAGE_MAX)] = 20,
    before_sequence: Annotated[
        int | None, Query(ge=1, description="only events with a lower sequence (next page)")
    ] = None,
) -> Response:
    program = access.program.name
    located = await access.services.regional.locate(program, account_id)
    entries = await located.model.history(program, account_id, limit + 1, before_sequence)
    page, more = entries[:limit], len(entries) > limit
    answer = history_out(program, account_id, page, more)
    return json_body(answer.model_copy(update=located.stated()))


@router.get(
    "/v1/programs/{program}/accounts/{account_id}/requests/{request_id}",
    summary="Status of a request: PENDING, APPLIED, REJECTED or DUPLICATE",
    description="Readable with balances:read, or with the write scopes (to poll a 202).",
    response_model=TransactionOut,
    responses=PROBLEM_RESPONSES,
)
async def get_request_status(
    account_id: AccountId,
    request_id: Annotated[str, Path(pattern=REQUEST_ID_PATTERN)],
    access: Annotated[Access, Depends(status_reader)],
) -> Response:
    program = access.program
    found = access.services
    stored = await found.regional.request_status(program.name, account_id, request_id)
    if stored is not None:
        return json_body(outcome_out(program, stored))
    if await found.claims.pending_account(program.name, request_id) == account_id:
        return json_body(pending_out(program.name, account_id, request_id))
    raise GatewayError("not_found", f"no request {request_id!r} for account {account_id!r}")


@router.get(
    "/v1/programs/{program}/accounts/{account_id}/qualifying-points",
    summary="Points an account earned over the last 12 months (the input of tier rules)",
    description=(
        "Accruals less reversed accruals per asset over the last 365 UTC days, folded from "
        "the journal by the qualifying_points extension (LEDGER_EXTENSIONS); 503 when that "
        "extension is not running."
    ),
    response_model=QualifyingPointsOut,
    responses=PROBLEM_RESPONSES,
)
async def get_qualifying_points(
    account_id: AccountId, access: Annotated[Access, Depends(reader)]
) -> Response:
    store = access.services.qualifying
    beat = await store.heartbeat()
    if beat is None:
        raise GatewayError(
            "unavailable",
            "the qualifying_points extension is not running (LEDGER_EXTENSIONS=qualifying_points)",
            headers={"Retry-After": "5"},
        )
    program = access.program
    days, updated_at_ms = await store.days(program.name, account_id)
    now_ms = int(time.time() * 1000)
    folded_to_ms = int(beat.get("folded_to_ms", 0))
    return json_body(qualifying_out(program, account_id, days, updated_at_ms, folded_to_ms, now_ms))


@router.get(
    "/v1/programs/{program}/totals",
    summary="Program totals per asset: issued, redeemed, expired, adjusted, outstanding",
    description="Needs the admin scope.",
    response_model=TotalsOut,
    responses=PROBLEM_RESPONSES,
)
async def get_totals(
    access: Annotated[Access, Depends(program_access(Scope.ADMIN))],
) -> Response:
    program = access.program
    totals = await access.services.read_model.totals(program.name)
    return json_body(totals_out(program, totals))
