"""Outcomes and read-model values as the HTTP contract's bodies (gateway/models.py).

The one mapping from the read model's views (readmodel/) and the domain's outcomes to what the
API answers: routes fetch, this module shapes. Amounts gain their decimal rendering here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from gateway.amounts import to_decimal_string
from gateway.models import (
    AccountBalancesOut,
    AssetTotalsOut,
    BalanceOut,
    HistoryEntryOut,
    HistoryOut,
    PostingOut,
    ProblemOut,
    QualifyingAssetOut,
    QualifyingPointsOut,
    TotalsOut,
    TransactionOut,
)
from gateway.problems import PROBLEM_MEDIA_TYPE, PROBLEMS, problem_body
from ledger.model import Request, Status
from ledger.programs import Program
from ledger.qualifying import WINDOW_DAYS, day_of, rolling_total
from readmodel.history import HistoryEntry
from readmodel.keys import Outcome
from readmodel.reader import BalanceView, ProgramTotals

REPLAYED_HEADER = "Idempotent-Replayed"


def json_body(model: BaseModel) -> Response:
    """A 200 with `model` as JSON, serialized once by pydantic's own encoder. Routes still
    declare their response model (the OpenAPI document, and what the tests hold the bodies
    to); returning a Response skips FastAPI validating and re-encoding what render built."""
    return Response(model.model_dump_json(), media_type="application/json")


def status_url(program: str, account_id: str, request_id: str) -> str:
    return f"/v1/programs/{program}/accounts/{account_id}/requests/{request_id}"


def balance_out(program: Program, asset: str, available: int, held: int) -> BalanceOut:
    configured = program.assets.get(asset)
    scale = configured.scale if configured else 0
    return BalanceOut(
        asset=asset,
        scale=scale,
        available=available,
        held=held,
        available_decimal=to_decimal_string(available, scale),
        held_decimal=to_decimal_string(held, scale),
    )


def outcome_out(program: Program, outcome: Outcome) -> TransactionOut:
    return TransactionOut(
        request_id=outcome.request_id,
        program=outcome.program,
        account_id=outcome.account_id,
        status=outcome.status,  # type: ignore[arg-type]  # APPLIED | REJECTED | DUPLICATE
        operation=outcome.operation,
        reason=outcome.reason,
        sequence=outcome.sequence,
        event_id=outcome.event_id,
        processed_at_ms=outcome.processed_at_ms,
        original_sequence=outcome.original_sequence,
        balances=[balance_out(program, b.asset, b.available, b.held) for b in outcome.balances],
        status_url=status_url(outcome.program, outcome.account_id, outcome.request_id),
    )


def pending_out(
    program: str, account_id: str, request_id: str, operation: str | None = None
) -> TransactionOut:
    """A request known to the gateway whose outcome is not known yet (202, or a status read)."""
    return TransactionOut(
        request_id=request_id,
        program=program,
        account_id=account_id,
        status="PENDING",
        operation=operation,
        status_url=status_url(program, account_id, request_id),
    )


def balances_out(
    program: Program, account_id: str, stored: Sequence[BalanceView]
) -> AccountBalancesOut:
    """Every asset of the program, stored or not (an asset never touched reads 0)."""
    by_asset = {b.asset: b for b in stored}
    assets = sorted({*program.assets, *by_asset})
    return AccountBalancesOut(
        program=program.name,
        account_id=account_id,
        sequence=stored[0].sequence if stored else 0,
        balances=[
            balance_out(
                program,
                asset,
                by_asset[asset].available if asset in by_asset else 0,
                by_asset[asset].held if asset in by_asset else 0,
            )
            for asset in assets
        ],
    )


def history_out(
    program: str, account_id: str, page: Sequence[HistoryEntry], more: bool
) -> HistoryOut:
    return HistoryOut(
        program=program,
        account_id=account_id,
        entries=[
            HistoryEntryOut(
                sequence=e.sequence,
                event_id=e.event_id,
                request_id=e.request_id,
                operation=e.operation,
                status=e.status,
                reason=e.reason,
                asset=e.asset,
                amount=e.amount,
                postings=[
                    PostingOut(account=p.account, asset=p.asset, amount=p.amount)
                    for p in e.postings
                ],
                processed_at_ms=e.processed_at_ms,
            )
            for e in page
        ],
        next_before_sequence=page[-1].sequence if more and page else None,
    )


def qualifying_out(
    program: Program,
    account_id: str,
    days: Mapping[int, Mapping[str, int]],
    updated_at_ms: int | None,
    folded_to_ms: int,
    now_ms: int,
) -> QualifyingPointsOut:
    totals = rolling_total(days, day_of(now_ms))
    assets = []
    for code, amount in sorted(totals.items()):
        asset = program.assets.get(code)  # None: an asset this process has not seen yet
        assets.append(
            QualifyingAssetOut(
                asset=code,
                scale=None if asset is None else asset.scale,
                earned=amount,
                earned_decimal=None if asset is None else to_decimal_string(amount, asset.scale),
            )
        )
    return QualifyingPointsOut(
        program=program.name,
        account_id=account_id,
        window_days=WINDOW_DAYS,
        as_of_ms=now_ms,
        updated_at_ms=updated_at_ms,
        folded_to_ms=folded_to_ms,
        assets=assets,
    )


def totals_out(program: Program, totals: Mapping[str, ProgramTotals]) -> TotalsOut:
    return TotalsOut(
        program=program.name,
        assets=[
            AssetTotalsOut(
                asset=t.asset,
                scale=program.assets[t.asset].scale if t.asset in program.assets else None,
                issued=t.issued,
                redeemed=t.redeemed,
                expired=t.expired,
                adjusted=t.adjusted,
                outstanding=t.outstanding,
                held=t.held,
                in_transit=t.in_transit,
            )
            for t in totals.values()
        ],
    )


def rejection_body(outcome: Outcome, instance: str | None) -> dict[str, Any]:
    reason = outcome.reason or "operation_unknown"
    code = reason if reason in PROBLEMS else "operation_unknown"
    return problem_body(
        code,
        f"{outcome.operation} {outcome.request_id!r} was rejected: {reason}",
        instance,
        extras={
            "reason": reason,
            "request_id": outcome.request_id,
            "account_id": outcome.account_id,
            "event_id": outcome.event_id,
            "status_url": status_url(outcome.program, outcome.account_id, outcome.request_id),
        },
    )


@dataclass(frozen=True, slots=True)
class WrittenAnswer:
    """What one write answers: 201 applied, 4xx rejected (problem), 202 pending."""

    status: int
    result: TransactionOut | None
    problem: dict[str, Any] | None
    headers: dict[str, str]

    def response(self) -> JSONResponse:
        if self.problem is not None:
            return JSONResponse(
                self.problem, self.status, self.headers, media_type=PROBLEM_MEDIA_TYPE
            )
        assert self.result is not None
        return JSONResponse(self.result.model_dump(mode="json"), self.status, self.headers)


def written_answer(
    program: Program, request: Request, outcome: Outcome | None, replayed: bool, instance: str
) -> WrittenAnswer:
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    if outcome is None:
        pending = pending_out(
            request.program, request.account_id, request.request_id, request.operation.value
        )
        return WrittenAnswer(202, pending, None, {**headers, "Location": pending.status_url})
    # A DUPLICATE with a reason repeats a rejection: the same problem as the first answer.
    if outcome.status == Status.REJECTED or (outcome.status == Status.DUPLICATE and outcome.reason):
        problem = rejection_body(outcome, instance)
        return WrittenAnswer(problem["status"], None, problem, headers)
    result = outcome_out(program, outcome)
    return WrittenAnswer(201, result, None, {**headers, "Location": result.status_url})


def as_problem_out(body: dict[str, Any]) -> ProblemOut:
    return ProblemOut.model_validate(body)
