"""POST /v1/programs/{program}/transactions and .../transactions:batch."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Request
from fastapi.responses import JSONResponse

from gateway.access import Access, program_access
from gateway.auth import Scope
from gateway.models import (
    REQUEST_ID_PATTERN,
    TRANSACTION_EXAMPLES,
    BatchIn,
    BatchItemOut,
    BatchOut,
    Transaction,
    TransactionOut,
)
from gateway.problems import GatewayError, problem_body
from gateway.render import REPLAYED_HEADER, as_problem_out, written_answer
from gateway.routes import PROBLEM_RESPONSES
from gateway.strict_json import StrictJsonRoute
from gateway.writes import Written, new_request_id, to_request
from ledger.model import Request as LedgerRequest

router = APIRouter(tags=["transactions"], route_class=StrictJsonRoute)
writer_access = program_access(Scope.TRANSACTIONS_WRITE, Scope.ADJUSTMENTS_WRITE)
batch_access = program_access(Scope.TRANSACTIONS_WRITE, Scope.ADJUSTMENTS_WRITE, cost=0)

_WRITE_RESPONSES = {
    201: {
        "model": TransactionOut,
        "description": "Applied; `balances` are the balances after.",
        "headers": {
            REPLAYED_HEADER: {
                "description": "`true` when this answers a retry with the original outcome",
                "schema": {"type": "string"},
            }
        },
    },
    202: {
        "model": TransactionOut,
        "description": "Accepted; the outcome was not known in time: poll `status_url`.",
    },
    **PROBLEM_RESPONSES,
}


def _scope_of(operation: str) -> Scope:
    return Scope.ADJUSTMENTS_WRITE if operation == "ADJUST" else Scope.TRANSACTIONS_WRITE


def _build(access: Access, body: Transaction, request_id: str | None) -> LedgerRequest:
    access.require(_scope_of(body.operation))
    return to_request(
        body,
        access.program,
        request_id or new_request_id(),
        access.key.principal,
        time.time_ns() // 1_000_000,
    )


def _observe(access: Access, written: Written) -> None:
    outcome = written.outcome
    status = "PENDING" if outcome is None else outcome.status
    reason = "" if outcome is None else (outcome.reason or "")
    access.services.metrics.outcomes.labels(status, reason).inc()


@router.post(
    "/v1/programs/{program}/transactions",
    summary="Submit one transaction and wait for its outcome",
    description=(
        "Produces the transaction to the ledger and, unless `Prefer: respond-async` is sent, "
        "waits for its outcome: 201 applied, 422 (409, 404) rejected with the reason code as "
        "problem+json, 202 with a status URL when the outcome is not known in time. Retrying "
        "with the same Idempotency-Key (or body request_id) answers the original outcome, "
        "applied or rejected, with `Idempotent-Replayed: true`; the same key with a different "
        "body (metadata aside) is 409 idempotency_conflict. A body naming a key twice is 400. "
        "ADJUST needs "
        "the adjustments:write scope, every other operation transactions:write."
    ),
    status_code=201,
    response_model=TransactionOut,
    responses=_WRITE_RESPONSES,
)
async def post_transaction(
    http: Request,
    body: Annotated[Transaction, Body(openapi_examples=TRANSACTION_EXAMPLES)],
    access: Annotated[Access, Depends(writer_access)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            pattern=REQUEST_ID_PATTERN,
            description="becomes the request_id; retry with the same key",
        ),
    ] = None,
    prefer: Annotated[
        str | None, Header(description="`respond-async`: answer 202 once Kafka has it")
    ] = None,
) -> JSONResponse:
    if idempotency_key and body.request_id and idempotency_key != body.request_id:
        raise GatewayError(
            "validation_error",
            "the Idempotency-Key header and body.request_id differ; give one of them",
        )
    access = await access.knowing((body.asset,))
    request = _build(access, body, idempotency_key or body.request_id)
    wait = "respond-async" not in (prefer or "").lower()
    written = await access.services.writer.submit(request, wait)
    _observe(access, written)
    answer = written_answer(
        access.program, request, written.outcome, written.replayed, http.url.path
    )
    return answer.response()


@router.post(
    "/v1/programs/{program}/transactions:batch",
    summary="Submit up to 1000 transactions; one answer per item",
    description=(
        "Each item is handled like a single POST (same idempotency rules, waiting for its "
        "outcome in parallel with the others) and answered at its index with the HTTP status "
        "the single call would have given, and the result or the problem. Costs one rate-limit "
        "token per item (413 batch_exceeds_burst when that is more than the key's burst)."
    ),
    response_model=BatchOut,
    responses=PROBLEM_RESPONSES,
)
async def post_batch(
    http: Request,
    body: BatchIn,
    access: Annotated[Access, Depends(batch_access)],
) -> BatchOut:
    await access.charge(len(body.requests))
    access = await access.knowing({item.asset for item in body.requests})

    async def one(index: int, item: Transaction) -> BatchItemOut:
        request_id = item.request_id or new_request_id()
        try:
            request = _build(access, item, request_id)
            written = await access.services.writer.submit(request)
        except GatewayError as error:
            problem = problem_body(error.code, error.detail, http.url.path, error.extras)
            return BatchItemOut(
                index=index,
                request_id=request_id,
                http_status=error.status,
                problem=as_problem_out(problem),
            )
        _observe(access, written)
        answer = written_answer(
            access.program, request, written.outcome, written.replayed, http.url.path
        )
        return BatchItemOut(
            index=index,
            request_id=request_id,
            http_status=answer.status,
            result=answer.result,
            problem=None if answer.problem is None else as_problem_out(answer.problem),
            replayed=written.replayed,
        )

    results = await asyncio.gather(*(one(i, item) for i, item in enumerate(body.requests)))
    return BatchOut(results=list(results))
