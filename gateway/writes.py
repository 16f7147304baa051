"""The write use case: a validated transaction in, its outcome (or "still pending") out.

`Writer.submit` does, in order:
1. claim the idempotency record (same key + other content: `idempotency_conflict`, 409,
   nothing produced); a retry reuses the first attempt's `requested_at_ms`;
2. register interest in the outcome (before producing, so the message cannot be missed);
3. on a retry whose outcome is already stored: answer it (replayed), produce nothing;
4. produce the Avro TransactionRequest and wait for the broker's ack (`unavailable`, 503,
   when Kafka does not take it; a first attempt's claim is released so a retry starts over);
   ADJUST goes to the operator topic (the route checked the adjustments scope), every other
   operation to the public requests topic;
5. wait for the outcome up to the timeout; a DUPLICATE (the core had decided it already,
   applied or rejected) is answered with the stored original outcome; on timeout, one last
   look at the stored status, else None: the caller answers 202 with the status URL.
Errors: GatewayError("idempotency_conflict" | "unavailable"), redis errors (503 at the edge).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import msgspec

from gateway.amounts import AmountError, to_minor_units
from gateway.dashboard.activity import Activity
from gateway.idempotency import IdempotencyStore
from gateway.models import Transaction
from gateway.outcomes import OutcomeWaiter
from gateway.problems import GatewayError
from gateway.producer import ProduceError, RequestProducer
from gateway.regional import RegionalModels
from ledger.model import Operation, Request, Status
from ledger.programs import Program
from ledger.reasons import Reason
from readmodel.keys import Outcome
from schemas.contracts import WireContracts
from schemas.partitioning import account_key


def new_request_id() -> str:
    """A UUIDv7 (time-ordered, RFC 9562), as the domain recommends for request ids."""
    value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10))
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return str(uuid.UUID(int=value))


def to_request(
    body: Transaction, program: Program, request_id: str, principal: str, now_ms: int
) -> Request:
    """The domain request of a validated body. Raises GatewayError for amounts that cannot
    be converted exactly (validation_error) or need an asset's scale it does not have."""
    amount_raw = getattr(body, "amount", 0)
    asset = program.assets.get(body.asset)
    if isinstance(amount_raw, str) and asset is None:
        raise GatewayError(
            Reason.ASSET_UNKNOWN,
            f"asset {body.asset!r} is not configured in program {program.name!r}, so a "
            "decimal amount cannot be converted",
        )
    try:
        amount = to_minor_units(amount_raw, asset.scale if asset else 0)
    except AmountError as error:
        raise GatewayError(
            "validation_error",
            f"body.amount: {error}",
            extras={"errors": [{"field": "body.amount", "message": str(error), "type": "amount"}]},
        ) from None
    return Request(
        request_id=request_id,
        program=program.name,
        account_id=body.account_id,
        operation=Operation(body.operation),
        asset=body.asset,
        amount=amount,
        reference=getattr(body, "reference", None),
        counterparty_account_id=getattr(body, "counterparty_account_id", None),
        expires_at_ms=getattr(body, "expires_at_ms", None),
        reason=getattr(body, "reason", None),
        requested_at_ms=now_ms,
        principal=principal,
        metadata=dict(body.metadata),
    )


@dataclass(frozen=True, slots=True)
class Written:
    outcome: Outcome | None
    """None: accepted, outcome not known within the timeout."""
    replayed: bool


class Writer:
    def __init__(
        self,
        producer: RequestProducer,
        contracts: WireContracts,
        claims: IdempotencyStore,
        waiter: OutcomeWaiter,
        statuses: RegionalModels,
        programs: Mapping[str, Program],
        timeout_s: float,
        activity: Activity | None = None,
    ) -> None:
        self.producer = producer
        self.contracts = contracts
        self.claims = claims
        self.waiter = waiter
        self.statuses = statuses
        """Stored outcomes: this region's, and (with regions) those decided at other homes."""
        self.programs = programs
        self.timeout_s = timeout_s
        self.activity = activity
        """Told how long each produced request took to become visible (freshness)."""

    async def submit(self, request: Request, wait: bool = True) -> Written:
        window_ms = self.programs[request.program].idempotency_window_ms
        claim = await self.claims.claim(request, window_ms)
        if claim.conflict:
            raise GatewayError(
                Reason.IDEMPOTENCY_CONFLICT,
                f"request_id {request.request_id!r} was used for a different request",
                extras={"request_id": request.request_id},
            )
        retry = not claim.fresh
        if retry:
            request = msgspec.structs.replace(request, requested_at_ms=claim.requested_at_ms)
        key = (request.program, request.account_id, request.request_id)
        arrived = self.waiter.expect(key)
        try:
            if retry and (known := await self._stored(request)) is not None:
                return Written(known, True)
            produced_at = time.monotonic()
            await self._produce(request, claim.fresh)
            if not wait:
                return Written(None, retry)
            try:
                outcome = await asyncio.wait_for(arrived, self.timeout_s)
            except TimeoutError:
                return Written(await self._stored(request), retry)
            if self.activity is not None and outcome.status != Status.DUPLICATE:
                self.activity.freshness(request.program, time.monotonic() - produced_at)
            if outcome.status == Status.DUPLICATE:
                return Written(await self._stored(request) or outcome, True)
            return Written(outcome, retry)
        finally:
            self.waiter.forget(key, arrived)

    async def _produce(self, request: Request, fresh: bool) -> None:
        topic = self.producer.topic_for(request.operation)
        value = self.contracts.encode_request(request, topic)
        try:
            await self.producer.send(topic, account_key(request.program, request.account_id), value)
        except ProduceError as error:
            if fresh:
                await self.claims.release(request.program, request.request_id)
            raise GatewayError(
                "unavailable",
                f"Kafka did not accept the request ({error}); retry with the same request_id",
                headers={"Retry-After": "1"},
            ) from error

    async def _stored(self, request: Request) -> Outcome | None:
        return await self.statuses.request_status(
            request.program, request.account_id, request.request_id
        )
