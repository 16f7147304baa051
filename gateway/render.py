"""Outcomes and read-model values as the HTTP contract's bodies (gateway/models.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.responses import JSONResponse

from gateway.amounts import to_decimal_string
from gateway.models import BalanceOut, ProblemOut, TransactionOut
from gateway.problems import PROBLEM_MEDIA_TYPE, PROBLEMS, problem_body
from ledger.model import Request, Status
from ledger.programs import Program
from readmodel.keys import Outcome

REPLAYED_HEADER = "Idempotent-Replayed"


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


def pending_out(request: Request) -> TransactionOut:
    return TransactionOut(
        request_id=request.request_id,
        program=request.program,
        account_id=request.account_id,
        status="PENDING",
        operation=request.operation.value,
        status_url=status_url(request.program, request.account_id, request.request_id),
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
        pending = pending_out(request)
        return WrittenAnswer(202, pending, None, {**headers, "Location": pending.status_url})
    # A DUPLICATE with a reason repeats a rejection: the same problem as the first answer.
    if outcome.status == Status.REJECTED or (outcome.status == Status.DUPLICATE and outcome.reason):
        problem = rejection_body(outcome, instance)
        return WrittenAnswer(problem["status"], None, problem, headers)
    result = outcome_out(program, outcome)
    return WrittenAnswer(201, result, None, {**headers, "Location": result.status_url})


def as_problem_out(body: dict[str, Any]) -> ProblemOut:
    return ProblemOut.model_validate(body)
