"""Every error the gateway answers with, as RFC 9457 problem+json, from ONE table.

`PROBLEMS` maps each problem code to its HTTP status and title: all 33 rejection reasons of
the ledger (`ledger.reasons.Reason`) and the gateway's own errors. Nothing else in the
gateway picks an error status; routes raise `GatewayError(code, detail)` and the handlers
installed by `install_problem_handlers` render it. Unexpected exceptions become a bare
`internal_error` (logged server-side with a correlation id, never a stack trace to clients).

    Exception
     └── GatewayError          carries a code of PROBLEMS, a detail, optional headers/extras
    redis.exceptions.RedisError  -> `unavailable` (503)

A problem body: `type` (`/problems/<code>`, served by GET /problems/{code}), `title`,
`status`, `detail`, `instance` (the request path), `code`, and per problem extras such as
`request_id`, `errors` (field errors) or `retry_after_s`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.errors import GatewayFailure
from ledger.model import Operation
from ledger.reasons import Reason

PROBLEM_MEDIA_TYPE = "application/problem+json"
log = logging.getLogger("ledger.gateway")


@dataclass(frozen=True, slots=True)
class ProblemKind:
    status: int
    title: str


_REJECTED = 422

PROBLEMS: Mapping[str, ProblemKind] = {
    # --- the ledger's rejections (docs/domain.md), in precedence order ----------------------
    Reason.PROGRAM_UNKNOWN: ProblemKind(404, "Program not found"),
    Reason.OPERATION_UNKNOWN: ProblemKind(_REJECTED, "Operation unknown"),
    Reason.OPERATION_NOT_PERMITTED: ProblemKind(403, "Operation not permitted on this channel"),
    Reason.REQUEST_ID_RESERVED: ProblemKind(_REJECTED, "Request id uses a reserved prefix"),
    Reason.ACCOUNT_ID_RESERVED: ProblemKind(_REJECTED, "Account id names a system account"),
    Reason.ACCOUNT_MOVED: ProblemKind(_REJECTED, "Account lives in another region"),
    Reason.STALE_REQUEST: ProblemKind(_REJECTED, "Request is older than the idempotency window"),
    # The same fact whether the gateway's own record or the ledger's receipt finds it.
    Reason.IDEMPOTENCY_CONFLICT: ProblemKind(409, "Request id already used with other content"),
    Reason.REQUESTED_IN_FUTURE: ProblemKind(_REJECTED, "Request is dated in the future"),
    Reason.ASSET_UNKNOWN: ProblemKind(_REJECTED, "Asset unknown in this program"),
    Reason.AMOUNT_MUST_BE_POSITIVE: ProblemKind(_REJECTED, "Amount must be positive"),
    Reason.AMOUNT_MUST_BE_NONZERO: ProblemKind(_REJECTED, "Amount must not be zero"),
    Reason.AMOUNT_EXCEEDS_LIMIT: ProblemKind(_REJECTED, "Amount exceeds the asset's limit"),
    Reason.REASON_REQUIRED: ProblemKind(_REJECTED, "A reason is required"),
    Reason.EXPIRY_IN_PAST: ProblemKind(_REJECTED, "Expiry is in the past"),
    Reason.HOLD_TIMEOUT_EXCEEDS_MAX: ProblemKind(_REJECTED, "Hold timeout exceeds the maximum"),
    Reason.REFERENCE_MISSING: ProblemKind(_REJECTED, "Reference missing"),
    Reason.COUNTERPARTY_MISSING: ProblemKind(_REJECTED, "Counterparty account missing"),
    Reason.TRANSFER_TO_SELF: ProblemKind(_REJECTED, "Transfer to the same account"),
    Reason.ASSET_NOT_TRANSFERABLE: ProblemKind(_REJECTED, "Asset is not transferable"),
    Reason.LOTS_INCONSISTENT: ProblemKind(_REJECTED, "Carried lots are inconsistent"),
    Reason.REGION_UNKNOWN: ProblemKind(_REJECTED, "Region unknown, or the account's home"),
    Reason.REFERENCE_NOT_FOUND: ProblemKind(_REJECTED, "Reference not found"),
    Reason.REFERENCE_WRONG_KIND: ProblemKind(_REJECTED, "Reference is of the wrong kind"),
    Reason.REFERENCE_ASSET_MISMATCH: ProblemKind(_REJECTED, "Asset differs from the reference's"),
    Reason.HOLD_NOT_OPEN: ProblemKind(_REJECTED, "Hold is not open"),
    Reason.HOLD_EXPIRED: ProblemKind(_REJECTED, "Hold has expired"),
    Reason.TIMER_NOT_DUE: ProblemKind(_REJECTED, "Timer not due"),
    Reason.CAPTURE_EXCEEDS_HOLD: ProblemKind(_REJECTED, "Capture exceeds the hold"),
    Reason.ALREADY_REVERSED: ProblemKind(_REJECTED, "Already reversed"),
    Reason.REVERSAL_EXCEEDS_ORIGINAL: ProblemKind(_REJECTED, "Reversal exceeds the original"),
    Reason.ACCRUAL_EXPIRED: ProblemKind(_REJECTED, "Accrual expired"),
    Reason.ACCOUNT_UNKNOWN: ProblemKind(_REJECTED, "Account unknown"),
    Reason.EPOCH_STALE: ProblemKind(_REJECTED, "Ownership epoch already reached"),
    Reason.INSUFFICIENT_FUNDS: ProblemKind(_REJECTED, "Insufficient funds"),
    Reason.ACCRUAL_ALREADY_SPENT: ProblemKind(_REJECTED, "Accrual already spent"),
    Reason.BALANCE_OVERFLOW: ProblemKind(_REJECTED, "Balance would overflow"),
    Reason.ACCOUNT_IN_DEBT: ProblemKind(_REJECTED, "Account is in debt"),
    Reason.OUTPUT_TOO_LARGE: ProblemKind(_REJECTED, "Outcome too large to record"),
    # --- the gateway's own ------------------------------------------------------------------
    "validation_error": ProblemKind(400, "Request is not valid"),
    "unauthenticated": ProblemKind(401, "API key missing or not valid"),
    "client_certificate_required": ProblemKind(
        401, "this API key is bound to a client certificate the connection did not present"
    ),
    "scope_missing": ProblemKind(403, "API key lacks the scope this needs"),
    "not_found": ProblemKind(404, "Not found"),
    "method_not_allowed": ProblemKind(405, "Method not allowed"),
    "body_too_large": ProblemKind(413, "Request body too large"),
    "batch_exceeds_burst": ProblemKind(413, "Batch larger than the key's burst"),
    "rate_limited": ProblemKind(429, "Rate limit exceeded"),
    # --- program administration (gateway/routes/programs.py) -------------------------------
    "program_invalid": ProblemKind(422, "Program definition is not valid"),
    "program_conflict": ProblemKind(409, "Program or asset exists already"),
    "version_conflict": ProblemKind(412, "Program changed since the version given"),
    "change_conflict": ProblemKind(409, "Another program change was made at the same time"),
    "internal_error": ProblemKind(500, "Internal error"),
    "unavailable": ProblemKind(503, "A backing service is unavailable"),
}

_STATUS_FALLBACK = {
    400: "validation_error",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


class GatewayError(GatewayFailure):
    def __init__(
        self,
        code: str,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extras: Mapping[str, Any] | None = None,
    ) -> None:
        assert code in PROBLEMS, f"problem code {code!r} is not in the table"
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})
        self.extras = dict(extras or {})

    @property
    def status(self) -> int:
        return PROBLEMS[self.code].status


def problem_body(
    code: str, detail: str, instance: str | None = None, extras: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    kind = PROBLEMS[code]
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": kind.title,
        "status": kind.status,
        "detail": detail,
        "code": code,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extras or {})
    return body


def problem_response(
    code: str,
    detail: str,
    instance: str | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    extras: Mapping[str, Any] | None = None,
) -> JSONResponse:
    return JSONResponse(
        problem_body(code, detail, instance, extras),
        status_code=PROBLEMS[code].status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    """Where and what, without echoing the input (it may be large or sensitive).

    Locations are given as the client wrote them (`body.amount`), without the union branch
    tags pydantic adds (`body.ACCRUE.amount.constrained-int`); alternatives are joined.
    """
    merged: dict[str, dict[str, str]] = {}
    for item in error.errors():
        field = ".".join(str(part) for part in item.get("loc", ()) if not _is_branch_tag(part))
        message = str(item.get("msg", ""))
        if item.get("type") == "json_invalid":
            # Unparseable or ambiguous JSON (gateway/strict_json.py): say what, not where in
            # the byte stream.
            field = "body"
            message = f"{message}: {item.get('ctx', {}).get('error', '')}".rstrip(": ")
        found = merged.get(field)
        if found is None:
            merged[field] = {"field": field, "message": message, "type": str(item.get("type"))}
        elif message not in found["message"]:
            found["message"] += f", or: {message}"
    return list(merged.values())


def _is_branch_tag(part: object) -> bool:
    text = str(part)
    return (
        text in Operation.__members__
        or text.startswith(("constrained-", "function-"))
        or "[" in text
    )


def install_problem_handlers(app: FastAPI) -> None:
    async def gateway_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, GatewayError)
        return problem_response(
            error.code,
            error.detail,
            request.url.path,
            headers=error.headers,
            extras=error.extras,
        )

    async def validation_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        errors = field_errors(error)
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
        return problem_response(
            "validation_error", detail, request.url.path, extras={"errors": errors}
        )

    async def http_error(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        code = _STATUS_FALLBACK.get(error.status_code)
        if code is None:
            return await unexpected(request, error)
        # Starlette's own headers matter: a 405 names the methods that are allowed (`Allow`).
        return problem_response(code, str(error.detail), request.url.path, headers=error.headers)

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        incident = uuid.uuid4().hex
        log.error(
            "incident %s on %s %s", incident, request.method, request.url.path, exc_info=error
        )
        return problem_response(
            "internal_error",
            f"unexpected error; quote incident {incident} to the operator",
            request.url.path,
            extras={"incident": incident},
        )

    async def backend_down(request: Request, error: Exception) -> JSONResponse:
        log.warning("Redis failed on %s %s: %r", request.method, request.url.path, error)
        return problem_response(
            "unavailable",
            "the read model is unavailable; retry shortly",
            request.url.path,
            headers={"Retry-After": "1"},
        )

    app.add_exception_handler(GatewayError, gateway_error)
    app.add_exception_handler(RedisError, backend_down)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
