"""The request models and their examples."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from gateway.models import TRANSACTION_EXAMPLES, Transaction


def test_models_refuse_floats_unknown_fields_and_missing_references() -> None:
    adapter: TypeAdapter[Transaction] = TypeAdapter(Transaction)
    ok = {"operation": "ACCRUE", "account_id": "ann", "asset": "points", "amount": 1}
    adapter.validate_python(ok)
    for bad in (
        {**ok, "amount": 1.5},
        {**ok, "amount": True},
        {**ok, "colour": "red"},
        {**ok, "account_id": "@issuance"},
        {**ok, "account_id": "a:b"},
        {**ok, "operation": "EXPIRE"},
        {**ok, "operation": "CAPTURE"},
    ):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_every_example_is_a_valid_request_and_every_operation_has_one() -> None:
    adapter: TypeAdapter[Transaction] = TypeAdapter(Transaction)
    operations = {
        adapter.validate_python(e["value"]).operation for e in TRANSACTION_EXAMPLES.values()
    }
    client_operations = {
        "ACCRUE",
        "REDEEM",
        "HOLD",
        "CAPTURE",
        "RELEASE",
        "REVERSE",
        "ADJUST",
        "TRANSFER",
    }
    assert operations == client_operations
