"""What a write sends: one content hash for idempotency, ordered request ids."""

from __future__ import annotations

from gateway.writes import new_request_id
from ledger.idempotency import content_hash
from ledger.model import Operation, Request


def test_one_content_hash_ignores_who_when_and_labels_but_not_what() -> None:
    """The gateway's idempotency records use the ledger's hash: one rule on both paths."""
    base = Request(
        "r", "acme", "ann", Operation.ACCRUE, "points", 5, requested_at_ms=1, principal="a"
    )
    same = Request(
        "r",
        "acme",
        "ann",
        Operation.ACCRUE,
        "points",
        5,
        requested_at_ms=2,
        principal="b",
        metadata={"trace": "t-2"},
    )
    other = Request("r", "acme", "ann", Operation.ACCRUE, "points", 6)
    assert content_hash(base) == content_hash(same) != content_hash(other)


def test_generated_request_ids_are_uuid7_and_ordered() -> None:
    first, second = new_request_id(), new_request_id()
    assert first[14] == "7" and first[:8] <= second[:8]
