"""What every generated workload shares: one account's history, and one way to put a request
on the wire.

Both workloads (`workload.py`, the mix the benchmarks send; `hostile.py`, every operation and
every abuse the tests send) draw their requests as `ModelRequest`s, which the model judges, and
encode them here, so a change of the request contract is made once for both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.kit.model import ModelRequest
from ledger.model import CarriedLot, Operation, Request
from schemas.contracts import WireContracts
from schemas.partitioning import account_key, partition_for

PROGRAM = "acme"
# A forged credit leg carries its lots as the core's own legs do: only its channel gives it away.
_CARRYING = ("TRANSFER_CREDIT", "TRANSFER_REFUND")


@dataclass
class AccountHistory:
    """What one account has sent so far, for the requests that refer to earlier ones."""

    name: str
    counter: int = 0
    sent: list[tuple[ModelRequest, bytes]] = field(default_factory=list)
    holds: list[ModelRequest] = field(default_factory=list)  # applied, not yet settled
    reversible: list[ModelRequest] = field(default_factory=list)  # applied accrues, redeems...
    rejected: list[tuple[ModelRequest, bytes]] = field(default_factory=list)

    def next_id(self) -> str:
        self.counter += 1
        return f"{self.name}-{self.counter}"

    def key(self) -> bytes:
        return account_key(PROGRAM, self.name)

    def owner(self, partitions: int) -> int:
        """The partition every project producer sends this account's requests to."""
        return partition_for(self.key(), partitions)


@dataclass(frozen=True)
class RequestEncoder:
    """Encodes model requests as the wire records a producer of `PROGRAM` would write."""

    contracts: WireContracts
    topic: str
    requested_at_ms: int
    principal: str

    def encode(self, request: ModelRequest, principal: str | None = None) -> bytes:
        carried = (CarriedLot(request.amount, None),) if request.operation in _CARRYING else ()
        return self.contracts.encode_request(
            Request(
                request_id=request.request_id,
                program=PROGRAM,
                account_id=request.account,
                operation=Operation(request.operation),
                asset=request.asset,
                amount=request.amount,
                reference=request.reference,
                counterparty_account_id=request.counterparty,
                reason=request.reason,
                requested_at_ms=self.requested_at_ms,
                principal=principal or self.principal,
                carried_lots=carried,
            ),
            self.topic,
        )
