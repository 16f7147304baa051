"""The gateway's pure parts: amounts, the problem table, tokens, request models, OpenAPI."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from gateway.amounts import AmountError, to_decimal_string, to_minor_units
from gateway.app import create_app
from gateway.auth import ApiKey, Scope, digest, new_token, split_token
from gateway.models import TRANSACTION_EXAMPLES, Transaction
from gateway.problems import PROBLEMS
from gateway.writes import new_request_id
from ledger.idempotency import content_hash
from ledger.model import INT64_MAX, Operation, Request
from ledger.reasons import Reason
from ledger.settings import Settings


@pytest.mark.parametrize(
    ("amount", "scale", "minor"),
    [
        (150, 2, 150),
        ("1.50", 2, 150),
        ("1.5", 2, 150),
        ("2", 2, 200),
        ("-0.07", 2, -7),
        ("12", 0, 12),
        ("0.000000000000000001", 18, 1),
        (str(INT64_MAX), 0, INT64_MAX),
    ],
)
def test_amounts_convert_exactly(amount: int | str, scale: int, minor: int) -> None:
    assert to_minor_units(amount, scale) == minor


@pytest.mark.parametrize(
    ("amount", "scale"),
    [
        ("1.505", 2),
        ("1.5", 0),
        ("1e3", 2),
        ("", 2),
        (" 1", 2),
        ("1.", 2),
        ("9223372036854775808", 0),
        (True, 0),
    ],
)
def test_amounts_refuse_what_is_not_exact(amount: int | str, scale: int) -> None:
    with pytest.raises(AmountError):
        to_minor_units(amount, scale)


@pytest.mark.parametrize(
    ("minor", "scale", "text"), [(150, 2, "1.50"), (-7, 2, "-0.07"), (0, 2, "0.00"), (42, 0, "42")]
)
def test_decimal_rendering_round_trips(minor: int, scale: int, text: str) -> None:
    assert to_decimal_string(minor, scale) == text
    assert to_minor_units(text, scale) == minor


def test_every_reason_has_exactly_one_http_status() -> None:
    assert set(Reason) <= set(PROBLEMS)
    assert PROBLEMS[Reason.INSUFFICIENT_FUNDS].status == 422
    assert PROBLEMS[Reason.IDEMPOTENCY_CONFLICT].status == 409
    assert all(400 <= kind.status < 600 for kind in PROBLEMS.values())


def test_tokens_parse_and_hash_without_keeping_the_secret() -> None:
    key_id, token = new_token()
    split = split_token(token)
    assert split is not None and split[0] == key_id
    assert split[1] not in digest(*split)
    assert split_token(token + "x") is None and split_token("rlk_zz_" + split[1]) is None


def test_admin_has_every_scope_and_keys_see_only_their_programs() -> None:
    admin = ApiKey("a" * 12, frozenset({"acme"}), frozenset({Scope.ADMIN}), "", 0)
    reader = ApiKey("b" * 12, frozenset({"acme"}), frozenset({Scope.BALANCES_READ}), "", 0)
    assert all(admin.allows(scope) for scope in Scope)
    assert not reader.allows(Scope.TRANSACTIONS_WRITE)
    assert reader.sees("acme") and not reader.sees("beta")


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


def test_openapi_documents_every_route_with_problems() -> None:
    spec = create_app(Settings()).openapi()
    assert {
        "/v1/programs/{program}/transactions",
        "/v1/programs/{program}/transactions:batch",
        "/v1/programs/{program}/accounts/{account_id}/balances",
        "/v1/programs/{program}/accounts/{account_id}/history",
        "/v1/programs/{program}/accounts/{account_id}/requests/{request_id}",
        "/v1/programs/{program}/totals",
        "/healthz",
        "/readyz",
    } <= set(spec["paths"])
    assert "/metrics" not in spec["paths"]
    for path, item in spec["paths"].items():
        if path.startswith("/v1/"):
            for operation in item.values():
                assert "4XX" in operation["responses"], path


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
